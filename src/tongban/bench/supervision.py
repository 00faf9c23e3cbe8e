"""``tongban bench supervision``: how long the 督办总览 takes (``cases.supervision.overview``) as
the number of cases grows, and how many queries it costs.

The data is sample data (``示例``) written in bulk: a province, a city and three districts with
four departments each, one item, and ``--cases`` cases (90 % decided or closed, the rest open
with deadlines from ten days overdue to twenty days ahead), two open review tasks per case under
review, clock stops on 2 % of open cases and red-card 督办 messages for a third of the overdue
tasks. Three viewers are timed ``--rounds`` times each, after one warm-up: the city supervisor
(everything), a district supervisor (one district) and a department head (one department); and
the city supervisor narrowed to one department. The figures are per call of the selector
(the page adds rendering), with the number of queries it made.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongban.bench.base import Benchmark, Log, Option, Stopwatch, benchmarks, percentiles
from tongban.bench.base import seeded_random as _seeded
from tongban.bench.calendar import enter_missing_years

CITY = ("330100", "杭州市")
DISTRICTS = (("330102", "上城区"), ("330106", "西湖区"), ("330108", "滨江区"))
KINDS = (
    ("SCJG", "市场监督管理局"),
    ("GA", "公安局"),
    ("ZJ", "住房和城乡建设局"),
    ("ZRZY", "规划和自然资源局"),
)
ITEM_CODE = "BENCH-SV-001"
BATCH = 2000


def _code(division: str, kind: str) -> str:
    return f"{division[:4] if division == CITY[0] else division}-{kind}"


def catalog_yaml() -> str:
    lines = [
        "schema: tongban-catalog/1",
        "divisions:",
        '  - {code: "330000", name: 浙江省, level: province}',
        f'  - {{code: "{CITY[0]}", name: {CITY[1]}, level: city, parent: "330000"}}',
    ]
    lines += [
        f'  - {{code: "{code}", name: {name}, level: district, parent: "{CITY[0]}"}}'
        for code, name in DISTRICTS
    ]
    lines.append("departments:")
    for division, place in (CITY, *DISTRICTS):
        for kind, name in KINDS:
            lines.append(
                f'  - {{code: {_code(division, kind)}, name: {place}{name}（示例）, division: "{division}"}}'
            )
    lines += [
        "items:",
        f"  - code: {ITEM_CODE}",
        "    name: 督办基准事项（示例）",
        "    type: licensing",
        f"    department: {_code(CITY[0], 'SCJG')}",
        "    legal_basis: 示例依据",
        "    acceptance_conditions: 示例条件",
        "    statutory_limit_days: 20",
        "    promised_limit_days: 10",
        "    applicant_types: [person]",
        "    materials:",
        "      - {key: application, name: 申请书}",
    ]
    return "\n".join(lines) + "\n"


def build(count: int, seed: int, log: Log) -> dict[str, Any]:
    """Write the catalog, the viewers and ``count`` cases; returns the viewers."""
    from tongban.cases.models import Case, CaseTask, ClockStop
    from tongban.catalog.models import Item
    from tongban.catalog.services import import_catalog
    from tongban.identity.models import AccountKind, Department, Division, StaffRole, User
    from tongban.notifications.models import Notification

    with tempfile.TemporaryDirectory(prefix="tongban-bench-supervision-") as folder:
        path = Path(folder) / "catalog.yaml"
        path.write_text(catalog_yaml(), encoding="utf-8")
        import_catalog([path])
    version = Item.objects.get(code=ITEM_CODE).current_version
    assert version is not None
    departments = {d.code: d for d in Department.objects.all()}
    divisions = {d.code: d for d in Division.objects.all()}
    applicant = User.objects.create(username="bench-applicant", kind=AccountKind.APPLICANT)

    def staff(username: str, role: str, department: str) -> Any:
        user = User.objects.create(
            username=username, kind=AccountKind.STAFF, department=departments[department]
        )
        StaffRole.objects.create(user=user, role=role, department=departments[department])
        return user

    viewers = {
        "city_supervisor": staff("bench-city", "supervisor", _code(CITY[0], "GA")),
        "district_supervisor": staff("bench-xihu", "supervisor", _code("330106", "GA")),
        "head": staff("bench-head", "department_head", _code(CITY[0], "SCJG")),
    }
    rng = _seeded(seed)
    today = timezone.localdate()
    now = timezone.now()
    places = [CITY[0], *(code for code, _ in DISTRICTS)]
    cases: list[Case] = []
    log(f"writing {count} cases …")
    for n in range(count):
        place = rng.choice(places)
        department = departments[_code(place, rng.choice(KINDS)[0])]
        draw = rng.random()
        state = (
            "closed"
            if draw < 0.85
            else "decided"
            if draw < 0.9
            else "in_review"
            if draw < 0.97
            else "awaiting_decision"
        )
        due = today + dt.timedelta(days=rng.randint(-10, 20))
        decided_at = None
        if state in ("closed", "decided"):
            decided_at = now - dt.timedelta(days=rng.randint(0, 90), hours=rng.randint(0, 8))
            due = timezone.localtime(decided_at).date() + dt.timedelta(days=rng.randint(-3, 10))
        cases.append(
            Case(
                number=f"{place}-BENCH-{n:08d}",
                item_version=version,
                item_code=ITEM_CODE,
                item_name="督办基准事项（示例）",
                division=divisions[place],
                department=department,
                submitted_by=applicant,
                state=state,
                promised_limit_days=10,
                submitted_at=now,
                received_at=now,
                accepted_at=now,
                due_date=due,
                decided_at=decided_at,
            )
        )
    Case.objects.bulk_create(cases, batch_size=BATCH)
    open_cases = list(
        Case.objects.filter(state__in=["in_review", "awaiting_decision"]).values_list(
            "pk", "division__code", "state"
        )
    )
    tasks: list[CaseTask] = []
    stops: list[ClockStop] = []
    for pk, place, state in open_cases:
        if rng.random() < 0.02:
            stops.append(ClockStop(case_id=pk, kind="hearing", reason="示例", started_on=today))
        if state != "in_review":
            continue
        for kind in rng.sample([k for k, _ in KINDS], 2):
            tasks.append(
                CaseTask(
                    case_id=pk,
                    stage=1,
                    stage_name="审查",
                    department=departments[_code(place, kind)],
                    limit_days=5,
                    state="open",
                    opened_at=now,
                    due_date=today + dt.timedelta(days=rng.randint(-5, 10)),
                )
            )
    ClockStop.objects.bulk_create(stops, batch_size=BATCH)
    CaseTask.objects.bulk_create(tasks, batch_size=BATCH)
    supervisor = viewers["city_supervisor"]
    messages = [
        Notification(
            recipient=supervisor,
            channel="in_app",
            template="case.task_overdue",
            language="zh-hans",
            subject="红牌督办（示例）",
            body="示例",
            dedupe_key=f"task:{pk}:red:{due}:{supervisor.pk}:in_app",
            status="sent",
            created_at=now - dt.timedelta(days=rng.randint(0, 40)),
            sent_at=now,
        )
        for pk, due in CaseTask.objects.filter(due_date__lt=today).values_list("pk", "due_date")
        if rng.random() < 0.33
    ]
    Notification.objects.bulk_create(messages, batch_size=BATCH)
    log(
        f"wrote {count} cases ({len(open_cases)} open), {len(tasks)} open tasks, "
        f"{len(stops)} clock stops, {len(messages)} 督办 messages"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # as a database in service has statistics
    viewers["_scjg"] = departments[_code(CITY[0], "SCJG")].pk
    viewers["_open_cases"] = len(open_cases)
    viewers["_open_tasks"] = len(tasks)
    return viewers


@benchmarks.register("supervision")
class SupervisionBenchmark(Benchmark):
    summary = "督办总览: latency of the overview selector and its queries, by viewer"
    options = {
        "cases": Option(int, 50_000, "cases to generate (90 % of them decided or closed)"),
        "rounds": Option(int, 20, "timed calls per viewer"),
        "seed": Option(int, 20261123, "random seed for the sample data"),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        from tongban.cases.supervision import OverviewFilters, overview
        from tongban.identity.models import User
        from tongban.identity.selectors import forget_staff_roles

        enter_missing_years(log)  # lights of deadlines ahead must fall in a known year
        viewers = build(options["cases"], options["seed"], log)
        figures: dict[str, Any] = {
            "benchmark": "supervision",
            "cases": options["cases"],
            "open_cases": viewers["_open_cases"],
            "open_tasks": viewers["_open_tasks"],
        }
        scenarios = [
            ("city_supervisor", OverviewFilters()),
            ("district_supervisor", OverviewFilters()),
            ("head", OverviewFilters()),
            ("city_supervisor_one_department", OverviewFilters(department=viewers["_scjg"])),
        ]
        for name, filters in scenarios:
            user = User.objects.get(pk=viewers[name.replace("_one_department", "")].pk)
            overview(user, filters)  # warm-up: calendar snapshot, plans
            watch = Stopwatch()
            for _round in range(options["rounds"]):
                forget_staff_roles(user)  # as a new request would
                watch.time(partial(overview, user, filters))
            forget_staff_roles(user)
            with CaptureQueriesContext(connection) as captured:
                result = overview(user, filters)
            figures.update(percentiles(watch.samples_ms, prefix=f"{name}_"))
            figures[f"{name}_queries"] = len(captured)
            figures[f"{name}_departments"] = len(result.lines)
            log(f"{name}: p50 {figures[f'{name}_p50_ms']} ms, {len(captured)} queries")
        return figures
