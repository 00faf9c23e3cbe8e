"""Bulk data for the queue and load benchmarks: a small province (two cities, five districts,
five departments in each, a province-level office), a dozen items, and up to millions of cases
with their review tasks, correction notices and clock stops, written in bulk (``COPY`` on
PostgreSQL, batched ``INSERT`` on SQLite) — never through the ORM one case at a time.

Everything is sample data (``示例``): names of divisions and departments follow GB/T 2260 and
real department kinds, the items are invented for benchmarking. Cases are spread over divisions,
departments, items and states the way a mature deployment holds them (most closed, some tenths of
a percent waiting at each open step), with due dates from two weeks overdue to five weeks ahead,
and the same seed gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from tongban.bench.base import Log, seeded_random

PROVINCE = ("330000", "浙江省")
CITIES = (("330100", "杭州市"), ("330200", "宁波市"))
DISTRICTS = (
    ("330102", "上城区", "330100"),
    ("330106", "西湖区", "330100"),
    ("330108", "滨江区", "330100"),
    ("330203", "海曙区", "330200"),
    ("330212", "鄞州区", "330200"),
)
PROVINCE_OFFICE = "330000-ZWFW"
DEPARTMENT_KINDS = (
    ("SCJG", "市场监督管理局"),
    ("ZJ", "住房和城乡建设局"),
    ("GA", "公安局"),
    ("ZRZY", "规划和自然资源局"),
    ("RS", "人力资源和社会保障局"),
)
# (code, name, department kind, promised days, second reviewing department kind or "")
ITEMS = (
    ("QB-SCJG-001", "食品经营许可（示例）", "SCJG", 10, "GA"),
    ("QB-SCJG-002", "药品零售企业许可（示例）", "SCJG", 15, ""),
    ("QB-SCJG-003", "个体工商户设立登记（示例）", "SCJG", 3, ""),
    ("QB-ZJ-001", "建筑工程施工许可证核发（示例）", "ZJ", 7, "ZRZY"),
    ("QB-ZJ-002", "商品房预售许可（示例）", "ZJ", 10, ""),
    ("QB-GA-001", "户口迁移审批（示例）", "GA", 5, ""),
    ("QB-GA-002", "大型群众性活动安全许可（示例）", "GA", 7, "ZJ"),
    ("QB-ZRZY-001", "建设工程规划许可证核发（示例）", "ZRZY", 20, "ZJ"),
    ("QB-ZRZY-002", "不动产登记（示例）", "ZRZY", 5, ""),
    ("QB-RS-001", "失业保险金申领（示例）", "RS", 5, ""),
    ("QB-RS-002", "职业技能等级认定（示例）", "RS", 15, ""),
    ("QB-RS-003", "社会保险登记（示例）", "RS", 3, "SCJG"),
)
# share of cases per state, per thousand (a deployment a few years old: most are closed)
STATE_SHARES = (
    ("draft", 10),
    ("submitted", 10),
    ("correction", 10),
    ("refused", 10),
    ("in_review", 60),
    ("awaiting_decision", 20),
    ("decided", 10),
    ("delivered", 20),
    ("withdrawn", 10),
    ("closed", 840),
)
NUMBERED = {"submitted", "correction", "refused", "in_review", "awaiting_decision"} | {
    "decided",
    "delivered",
    "withdrawn",
    "closed",
}
ACCEPTED = {"in_review", "awaiting_decision", "decided", "delivered", "closed"}
PERSONS = 2000
BATCH = 5000


@dataclass
class World:
    """What the generated cases point at."""

    division_ids: dict[str, int]
    departments: dict[str, Any]  # code → Department
    versions: list[tuple[int, str, str, str, int, str]]  # (version id, code, name, kind, days, 2nd)
    person_ids: list[int]
    submitter_id: int


def department_code(division: str, kind: str) -> str:
    return f"{division[:4]}-{kind}" if division.endswith("00") else f"{division}-{kind}"


def catalog_yaml() -> str:
    lines = [
        "schema: tongban-catalog/1",
        "divisions:",
        f'  - {{code: "{PROVINCE[0]}", name: {PROVINCE[1]}, level: province}}',
    ]
    for code, name in CITIES:
        lines.append(f'  - {{code: "{code}", name: {name}, level: city, parent: "{PROVINCE[0]}"}}')
    for code, name, parent in DISTRICTS:
        lines.append(f'  - {{code: "{code}", name: {name}, level: district, parent: "{parent}"}}')
    lines += [
        "departments:",
        f'  - {{code: {PROVINCE_OFFICE}, name: 浙江省政务服务和数据管理局（示例）, division: "330000"}}',
    ]
    for division, division_name in [*CITIES, *((c, n) for c, n, _p in DISTRICTS)]:
        for kind, kind_name in DEPARTMENT_KINDS:
            code = department_code(division, kind)
            lines.append(
                f'  - {{code: {code}, name: {division_name}{kind_name}（示例）, division: "{division}"}}'
            )
    lines.append("items:")
    for code, name, kind, days, second in ITEMS:
        handling = department_code(CITIES[0][0], kind)
        tasks = [f"{{department: {handling}, name: 审查, limit_days: {max(2, days // 2)}}}"]
        if second:
            other = department_code(CITIES[0][0], second)
            tasks.append(
                f"{{department: {other}, name: 会同审查, limit_days: {max(2, days // 2)}}}"
            )
        lines += [
            f"  - code: {code}",
            f"    name: {name}",
            "    type: licensing",
            f"    department: {handling}",
            "    legal_basis: 基准测试示例依据",
            "    acceptance_conditions: 示例数据",
            f"    statutory_limit_days: {days * 2}",
            f"    promised_limit_days: {days}",
            "    result: document",
            f"    result_name: {name}决定书",
            "    applicant_types: [person, enterprise]",
            "    sample_note: 基准测试用示例事项",
            "    review_stages:",
            "      - name: 审查",
            "        tasks:",
            *(f"          - {task}" for task in tasks),
            "    materials:",
            "      - {key: application, name: 申请表}",
        ]
    return "\n".join(lines) + "\n"


def build_world(log: Log) -> World:
    """Import the catalog and make the persons and the applicant account the cases point at."""
    from tongban.catalog.models import ItemVersion
    from tongban.catalog.services import import_catalog
    from tongban.core.identifiers import id_number_check_char
    from tongban.identity.models import Department, Division, Person, User

    with tempfile.TemporaryDirectory(prefix="tongban-bench-queue-") as folder:
        path = Path(folder) / "queue.yaml"
        path.write_text(catalog_yaml(), encoding="utf-8")
        import_catalog([path])
    division_ids = dict(Division.objects.values_list("code", "pk"))
    departments = {d.code: d for d in Department.objects.select_related("division")}
    items = {code: (kind, days, second) for code, _n, kind, days, second in ITEMS}
    versions = []
    for version in ItemVersion.objects.filter(item__code__in=items).select_related("item"):
        kind, days, second = items[version.item.code]
        versions.append((version.pk, version.item.code, version.name, kind, days, second))
    versions.sort(key=lambda v: v[1])
    rng = seeded_random(20261123)
    surnames, given = (
        "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林",
        "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀英华",
    )
    persons = []
    for n in range(PERSONS):
        body = f"3301061985{(n % 12) + 1:02d}{(n % 28) + 1:02d}{n % 1000:03d}"
        persons.append(
            Person(
                id_number=body + id_number_check_char(body),
                name=rng.choice(surnames) + rng.choice(given) + rng.choice(given),
                gender="male" if n % 2 else "female",
                birth_date=dt.date(1985, (n % 12) + 1, (n % 28) + 1),
                mobile=f"138{n:08d}",
            )
        )
    created = Person.objects.bulk_create(persons, batch_size=BATCH)
    submitter = User.objects.create(
        username="bench-queue-applicant", kind="applicant", display_name="示例申请人"
    )
    log(
        f"catalog: {len(division_ids)} divisions, {len(departments)} departments, {len(versions)} items; {len(created)} persons"
    )
    return World(division_ids, departments, versions, [p.pk for p in created], submitter.pk)


# --- rows -------------------------------------------------------------------------------------


def _state_of(draw: int) -> str:
    for state, share in STATE_SHARES:
        if draw < share:
            return state
        draw -= share
    return "closed"


@dataclass
class CaseRow:
    id: int
    state: str
    division: str
    department_id: int
    due: dt.date | None
    kind: str
    second: str
    days: int
    submitted_at: dt.datetime | None


CASE_COLUMNS = (
    "id",
    "number",
    "item_version_id",
    "item_code",
    "item_name",
    "division_id",
    "department_id",
    "applicant_person_id",
    "submitted_by_id",
    "state",
    "promised_limit_days",
    "extension_max_days",
    "extended_days",
    "created_at",
    "submitted_at",
    "accepted_at",
    "due_date",
    "outcome",
    "decided_at",
    "delivered_at",
    "closed_at",
    "current_stage",
    "event_count",
    "received_at",
)
TASK_COLUMNS = (
    "case_id",
    "stage",
    "stage_name",
    "name",
    "department_id",
    "limit_days",
    "state",
    "opened_at",
    "due_date",
    "completed_at",
)


def generate_cases(
    world: World, count: int, today: dt.date, seed: int
) -> Iterator[tuple[CaseRow, tuple[Any, ...]]]:
    """``count`` cases as (summary, row in ``CASE_COLUMNS`` order), ids 1 … count."""
    rng = seeded_random(seed)
    divisions = [c for c, _n in CITIES] + [c for c, _n, _p in DISTRICTS]
    weights = [4, 3, 2, 2, 2, 2, 2]  # the cities handle more than each district
    now = timezone.now().replace(microsecond=0)
    sequence: dict[str, int] = {}
    tz = timezone.get_current_timezone()
    for case_id in range(1, count + 1):
        state = _state_of(rng.randrange(1000))
        division = rng.choices(divisions, weights)[0]
        version_id, code, name, kind, days, second = rng.choice(world.versions)
        department = world.departments[department_code(division, kind)]
        open_case = state in (
            "submitted",
            "correction",
            "in_review",
            "awaiting_decision",
            "decided",
        )
        age_days = rng.uniform(0, 30) if open_case else rng.uniform(0, 3 * 365)
        submitted = now - dt.timedelta(days=age_days) if state != "draft" else None
        accepted = (
            submitted + dt.timedelta(hours=rng.uniform(1, 72))
            if submitted and state in ACCEPTED
            else None
        )
        due = None
        if state in ("in_review", "awaiting_decision", "decided"):
            due = today + dt.timedelta(days=rng.randint(-15, 25))
        elif accepted is not None:
            due = accepted.astimezone(tz).date() + dt.timedelta(days=days + days // 2)
        number = None
        if submitted is not None:
            local = submitted.astimezone(tz)
            prefix = f"{division}-{local:%Y%m%d}"
            sequence[prefix] = sequence.get(prefix, 0) + 1
            number = f"{prefix}-{sequence[prefix]:05d}"
        done = state in ("decided", "delivered", "closed")
        decided = accepted + dt.timedelta(days=rng.uniform(1, days)) if done and accepted else None
        delivered = decided + dt.timedelta(days=1) if decided and state != "decided" else None
        closed = delivered + dt.timedelta(hours=1) if delivered and state == "closed" else None
        row = (
            case_id,
            number,
            version_id,
            code,
            name,
            world.division_ids[division],
            department.pk,
            rng.choice(world.person_ids),
            world.submitter_id,
            state,
            days,
            days,
            0,
            submitted or now,
            submitted,
            accepted,
            due,
            "approved" if done else "",
            decided,
            delivered,
            closed,
            1 if accepted else 0,
            3 if accepted else 1,
            submitted,  # 收件时间: fill() moves it to the 补正 answer where there is one
        )
        yield (
            CaseRow(case_id, state, division, department.pk, due, kind, second, days, submitted),
            row,
        )


def task_rows(world: World, case: CaseRow, today: dt.date, rng: Any) -> list[tuple[Any, ...]]:
    """The review tasks of an accepted case: the handling department's and, for items reviewed
    jointly, a second department's of the same division; open while the case is in review."""
    if case.state not in ACCEPTED:
        return []
    limit = max(2, case.days // 2)
    kinds = [case.kind] + ([case.second] if case.second else [])
    rows: list[tuple[Any, ...]] = []
    due: dt.date | None
    for n, kind in enumerate(kinds):
        department = world.departments[department_code(case.division, kind)]
        opened = case.submitted_at + dt.timedelta(days=1) if case.submitted_at else None
        if case.state == "in_review" and not (n == 0 and len(kinds) > 1 and rng.random() < 0.3):
            due = today + dt.timedelta(days=rng.randint(-10, 20))
            rows.append(
                (
                    case.id,
                    1,
                    "审查",
                    "审查" if n == 0 else "会同审查",
                    department.pk,
                    limit,
                    "open",
                    opened,
                    due,
                    None,
                )
            )
        else:
            due = case.due - dt.timedelta(days=limit) if case.due else None
            completed = opened + dt.timedelta(days=1) if opened else None
            rows.append(
                (
                    case.id,
                    1,
                    "审查",
                    "审查" if n == 0 else "会同审查",
                    department.pk,
                    limit,
                    "approved",
                    opened,
                    due,
                    completed,
                )
            )
    return rows


# --- writing ------------------------------------------------------------------------------------


def _table(model: type[Model]) -> str:
    return model._meta.db_table


def write_rows(model: type[Model], columns: Sequence[str], rows: Iterable[tuple[Any, ...]]) -> int:
    """Write ``rows`` into ``model``'s table: ``COPY`` on PostgreSQL, batched ``INSERT`` on SQLite.
    Columns of the model left out get their field default in every row."""
    fields = {f.attname: f for f in model._meta.concrete_fields}
    extra = [
        name
        for name, f in fields.items()
        if name not in columns and not f.null and not f.primary_key
    ]
    defaults = tuple(_db_default(fields[name]) for name in extra)
    names = [*columns, *extra]
    column_sql = ", ".join(connection.ops.quote_name(fields[n].column) for n in names)
    written = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {_table(model)} ({column_sql}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((*row, *defaults))
                    written += 1
            return written
        placeholders = ", ".join(["%s"] * len(names))
        sql = f"INSERT INTO {_table(model)} ({column_sql}) VALUES ({placeholders})"  # noqa: S608
        prep = [fields[n] for n in names]
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            values = (*row, *defaults)
            batch.append(
                tuple(f.get_db_prep_value(v, connection) for f, v in zip(prep, values, strict=True))
            )
            if len(batch) >= BATCH:
                cursor.executemany(sql, batch)
                written += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            written += len(batch)
    return written


def _db_default(field: Any) -> Any:
    value = field.get_default()
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value)
    return value


def reset_sequence(model: type[Model]) -> None:
    """After rows were written with explicit ids, the next id must follow the largest."""
    if connection.vendor != "postgresql":
        return
    table = _table(model)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1)) FROM {table}",  # noqa: S608
            [table],
        )


def fill(world: World, count: int, today: dt.date, log: Log, seed: int = 7) -> dict[str, int]:
    """Write ``count`` cases with their tasks, correction notices and clock stops; ANALYZE."""
    from tongban.cases.models import Case, CaseTask, ClockStop, CorrectionNotice

    rng = seeded_random(seed + 1)
    tasks: list[tuple[Any, ...]] = []
    corrections: list[tuple[Any, ...]] = []
    stops: list[tuple[Any, ...]] = []
    counts = {"cases": 0, "tasks": 0, "corrections": 0, "clock_stops": 0}

    def cases() -> Iterator[tuple[Any, ...]]:
        for summary, row in generate_cases(world, count, today, seed):
            tasks.extend(task_rows(world, summary, today, rng))
            if summary.state == "submitted" and summary.submitted_at and rng.random() < 0.1:
                answered = summary.submitted_at + dt.timedelta(days=rng.uniform(0.5, 3))
                corrections.append(
                    (summary.id, "[]", world.submitter_id, summary.submitted_at, answered)
                )
                row = (*row[:-1], answered)
            elif summary.state == "correction" and summary.submitted_at:
                corrections.append(
                    (summary.id, "[]", world.submitter_id, summary.submitted_at, None)
                )
            elif summary.state == "in_review" and rng.random() < 0.02:
                stops.append(
                    (
                        summary.id,
                        "expert_review",
                        "专家评审（示例）",
                        today - dt.timedelta(days=3),
                        None,
                        0,
                    )
                )
            yield row
            if summary.id % 200_000 == 0:
                log(f"… {summary.id:,} cases generated")

    counts["cases"] = write_rows(Case, CASE_COLUMNS, cases())
    counts["tasks"] = write_rows(CaseTask, TASK_COLUMNS, tasks)
    counts["corrections"] = write_rows(
        CorrectionNotice,
        ("case_id", "items", "issued_by_id", "issued_at", "answered_at"),
        corrections,
    )
    counts["clock_stops"] = write_rows(
        ClockStop, ("case_id", "kind", "reason", "started_on", "ended_on", "paused_workdays"), stops
    )
    for model in (Case, CaseTask, CorrectionNotice, ClockStop):
        reset_sequence(model)
    with connection.cursor() as cursor:
        # a steady-state database has been vacuumed (visibility map set, so index-only scans
        # skip the table) and analysed; right after a bulk load neither has happened yet
        vacuum = connection.vendor == "postgresql" and not connection.in_atomic_block
        cursor.execute("VACUUM ANALYZE" if vacuum else "ANALYZE")
    return counts
