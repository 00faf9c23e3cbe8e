"""``tongban bench cases``: full case lifecycles per second on SQLite and PostgreSQL, side by side
with SpiffWorkflow running the same process as BPMN.

One lifecycle is what an applicant, the window, three reviewing departments and the department
head do to one case, each step one call of ``tongban.cases.services`` (one transaction, row lock,
event row): 草稿 (``check_create_draft``) → 提交 (``submit_draft``) → 受理 → three parallel
``approve_task`` (one per department, one stage) → 决定 (approved) → 送达 → 办结. The SpiffWorkflow
side executes an equivalent BPMN 2.0 process (start → 受理 → parallel gateway → three department
reviews → join → 决定 → 送达 → end) and, like tongban, persists after every step: each step is
one transaction that completes the ready user task, runs the engine and writes the workflow
serialised by ``BpmnWorkflowSerializer`` to a table in the same database. Two SpiffWorkflow
variants are measured: ``in_memory`` keeps the workflow object between steps and only writes it
(the headline figure, and the harder one to beat), ``reload`` reads and deserialises it at each
step as a stateless service does — tongban's ``perform`` also reads the case at every step.

``tongban bench cases`` measures both databases in one invocation: it runs ``tongban bench cases
--only sqlite --json`` (a temporary SQLite file) and ``--only postgresql`` (a throw-away database
on the server of ``--postgres-url``, else of ``DATABASE_URL`` when that is PostgreSQL, else
``postgres://postgres@127.0.0.1:5432/postgres``) one after the other in subprocesses, each
building its data and timing tongban and SpiffWorkflow lifecycles interleaved, so both engines
see the same machine noise. ``ratio_vs_spiffworkflow`` is tongban on PostgreSQL divided by
SpiffWorkflow (``in_memory``) on PostgreSQL. Each engine is timed twice: one client alone
(latency: every step waits for its commit) and ``--clients`` processes at once (throughput, the
headline ``lifecycles_per_s``: a server serves many people at the same time, and a database
overlaps their commits); SpiffWorkflow gets the same number of clients. Each concurrent run also
splits its CPU between the client processes and the database server (``tongban.bench.cpu``):
``cores × 1000 / database ms`` is the most lifecycles/s tongban's statements allow, however
fast its Python; adding what the SQL floor's client spends per statement to each of tongban's
gives the tighter ``statements_ceiling_lifecycles_per_s``. A database that cannot
be measured is an error
(named in the message, non-zero exit), never a silent skip. Targets: ≥ 200 lifecycles/s on
PostgreSQL and ≥ 10× SpiffWorkflow.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import override_settings
from django.utils import timezone

from tongban.bench import case_floor
from tongban.bench.base import Benchmark, BenchmarkFailed, Log, Option, benchmarks, percentiles
from tongban.bench.calendar import enter_missing_years
from tongban.bench.cpu import CpuMeter, CpuSplit, statements_ceiling_per_s
from tongban.bench.steps import StepTimes, timed_step

DATABASES = ("sqlite", "postgresql")
DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_POSTGRESQL_LIFECYCLES_PER_S = 200.0
TARGET_RATIO_VS_SPIFFWORKFLOW = 10.0

ITEM_CODE = "BENCH-CASES-001"
DIVISION_CODE = "330100"
HANDLING_DEPARTMENT = "3301-ZJ"
REVIEW_DEPARTMENTS = ("3301-ZJ", "3301-ZRZY", "3301-XF")
PROMISED_LIMIT_DAYS = 10
TASK_LIMIT_DAYS = 5
ANSWERS = {"project_kind": "new_building"}

# A small catalog (sample data, not from the seeds): one city, the handling department and two
# more departments, and one item reviewed by the three in parallel in a single stage.
CATALOG = f"""\
schema: tongban-catalog/1
divisions:
  - {{code: "330000", name: 浙江省, level: province}}
  - {{code: "{DIVISION_CODE}", name: 杭州市, level: city, parent: "330000"}}
departments:
  - {{code: {REVIEW_DEPARTMENTS[0]}, name: 杭州市住房和城乡建设局, short_name: 市住建局, division: "{DIVISION_CODE}"}}
  - {{code: {REVIEW_DEPARTMENTS[1]}, name: 杭州市规划和自然资源局, short_name: 市规划资源局, division: "{DIVISION_CODE}"}}
  - {{code: {REVIEW_DEPARTMENTS[2]}, name: 杭州市消防救援支队, short_name: 市消防支队, division: "{DIVISION_CODE}"}}
items:
  - code: {ITEM_CODE}
    name: 建筑工程施工许可证核发（基准测试）
    type: licensing
    department: {HANDLING_DEPARTMENT}
    legal_basis: 《中华人民共和国建筑法》第七条（示例）
    acceptance_conditions: 已办理用地批准手续、取得规划许可证（示例数据）
    statutory_limit_days: 15
    promised_limit_days: {PROMISED_LIMIT_DAYS}
    result: document
    result_name: 建筑工程施工许可决定书
    applicant_types: [person, enterprise]
    extension_max_days: 5
    sample_note: 基准测试用示例事项
    review_stages:
      - name: 并联审查
        tasks:
          - {{department: {REVIEW_DEPARTMENTS[0]}, name: 施工许可条件审查, limit_days: {TASK_LIMIT_DAYS}}}
          - {{department: {REVIEW_DEPARTMENTS[1]}, name: 规划符合性审查, limit_days: {TASK_LIMIT_DAYS}}}
          - {{department: {REVIEW_DEPARTMENTS[2]}, name: 消防设计审查, limit_days: {TASK_LIMIT_DAYS}}}
    questions:
      - key: project_kind
        text: 工程类别
        type: choice
        options: [{{value: new_building, label: 新建}}, {{value: extension, label: 改扩建}}]
    materials:
      - {{key: application, name: 建筑工程施工许可申请表}}
      - {{key: contract, name: 施工合同, when: {{q: project_kind, eq: new_building}}}}
"""

# The same process as BPMN 2.0 for SpiffWorkflow (written for this benchmark).
BPMN_PROCESS_ID = "construction_permit"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    id="tongban_bench_cases" targetNamespace="urn:tongban:bench:cases">
  <bpmn:process id="{BPMN_PROCESS_ID}" name="建筑工程施工许可证核发" isExecutable="true">
    <bpmn:startEvent id="submitted" name="已提交"/>
    <bpmn:sequenceFlow id="to_accept" sourceRef="submitted" targetRef="accept"/>
    <bpmn:userTask id="accept" name="受理"/>
    <bpmn:sequenceFlow id="to_fork" sourceRef="accept" targetRef="fork"/>
    <bpmn:parallelGateway id="fork" name="并联审查"/>
    <bpmn:sequenceFlow id="to_review_zj" sourceRef="fork" targetRef="review_zj"/>
    <bpmn:sequenceFlow id="to_review_zrzy" sourceRef="fork" targetRef="review_zrzy"/>
    <bpmn:sequenceFlow id="to_review_xf" sourceRef="fork" targetRef="review_xf"/>
    <bpmn:userTask id="review_zj" name="施工许可条件审查"/>
    <bpmn:userTask id="review_zrzy" name="规划符合性审查"/>
    <bpmn:userTask id="review_xf" name="消防设计审查"/>
    <bpmn:sequenceFlow id="from_review_zj" sourceRef="review_zj" targetRef="join"/>
    <bpmn:sequenceFlow id="from_review_zrzy" sourceRef="review_zrzy" targetRef="join"/>
    <bpmn:sequenceFlow id="from_review_xf" sourceRef="review_xf" targetRef="join"/>
    <bpmn:parallelGateway id="join"/>
    <bpmn:sequenceFlow id="to_decide" sourceRef="join" targetRef="decide"/>
    <bpmn:userTask id="decide" name="决定"/>
    <bpmn:sequenceFlow id="to_deliver" sourceRef="decide" targetRef="deliver"/>
    <bpmn:userTask id="deliver" name="送达"/>
    <bpmn:sequenceFlow id="to_end" sourceRef="deliver" targetRef="closed"/>
    <bpmn:endEvent id="closed" name="办结"/>
  </bpmn:process>
</bpmn:definitions>
"""
# (step name, user task id, data the step adds) in the order the lifecycle completes them
SPIFF_STEPS: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("accept", "accept", {"accepted": True}),
    ("approve_task", "review_zj", {"opinion_zj": "符合要求"}),
    ("approve_task", "review_zrzy", {"opinion_zrzy": "符合要求"}),
    ("approve_task", "review_xf", {"opinion_xf": "符合要求"}),
    ("decide", "decide", {"outcome": "approved"}),
    ("deliver", "deliver", {"method": "electronic"}),
)
SPIFF_TABLE = "bench_spiff_instance"


# --- data ---------------------------------------------------------------------------------------
@dataclass
class Actors:
    """Who takes the steps: the applicant, the window, one reviewer per department, the head."""

    applicant: Any
    window: Any
    head: Any
    reviewers: dict[int, Any]  # department id → reviewer


def _id_number(n: int) -> str:
    from tongban.core.identifiers import id_number_check_char

    body = f"33010619870817{n % 1000:03d}"
    return body + id_number_check_char(body)


def build_data(log: Log) -> Actors:
    """Import the catalog and create the six accounts through the identity services."""
    from tongban.catalog.services import import_catalog
    from tongban.identity.models import Department, Role
    from tongban.identity.services import (
        check_create_person,
        do_create_applicant_account,
        do_create_staff_account,
        do_grant_staff_role,
    )

    with tempfile.TemporaryDirectory(prefix="tongban-bench-cases-") as folder:
        path = Path(folder) / "cases.yaml"
        path.write_text(CATALOG, encoding="utf-8")
        import_catalog([path])
    departments = {d.code: d for d in Department.objects.filter(code__in=REVIEW_DEPARTMENTS)}
    handling = departments[HANDLING_DEPARTMENT]
    # throw-away accounts: a cheap hasher keeps set-up short on a production configuration
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        password = "bench-only-password"  # noqa: S105 - accounts in a throw-away database
        person = check_create_person(id_number=_id_number(7), name="王示例", mobile="13800000000")
        applicant = do_create_applicant_account(
            username="bench-applicant", password=password, person=person
        )
        window = do_create_staff_account(
            username="bench-window",
            password=password,
            display_name="综合窗口",
            department=handling,
            roles=[],
        )
        do_grant_staff_role(window, Role.WINDOW, handling)
        head = do_create_staff_account(
            username="bench-head",
            password=password,
            display_name="住建局负责人",
            department=handling,
            roles=[Role.DEPARTMENT_HEAD],
        )
        reviewers = {}
        for n, code in enumerate(REVIEW_DEPARTMENTS):
            reviewer = do_create_staff_account(
                username=f"bench-reviewer-{n}",
                password=password,
                display_name=f"审查人员{n}",
                department=departments[code],
                roles=[],
            )
            do_grant_staff_role(reviewer, Role.REVIEWER, departments[code])
            reviewers[departments[code].pk] = reviewer
    log(f"catalog item {ITEM_CODE} with 3 parallel department reviews, 6 accounts")
    return Actors(applicant=applicant, window=window, head=head, reviewers=reviewers)


def check_calendar(log: Log) -> None:
    """The case services take today from the clock: the throw-away database's working-day
    calendar must reach past every deadline a lifecycle sets (years past the shipped calendar
    are entered as benchmark data, see ``tongban.bench.calendar``)."""
    from tongban.workdays.errors import CalendarUnknown
    from tongban.workdays.selectors import add_workdays, forget_calendar

    enter_missing_years(log)
    forget_calendar()
    today = timezone.localdate()
    try:
        add_workdays(today, max(PROMISED_LIMIT_DAYS, TASK_LIMIT_DAYS))
    except CalendarUnknown as exc:
        raise CommandError(
            f"today is {today.isoformat()} and deadlines {PROMISED_LIMIT_DAYS} working days from "
            f"now fall in a year the working-day calendar does not know ({exc})."
        ) from None


# --- tongban ------------------------------------------------------------------------------------
class TongbanLifecycle:
    """Runs one case from draft to 办结 through ``tongban.cases.services``."""

    steps = 9  # service calls, each its own transaction

    def __init__(self, actors: Actors) -> None:
        self.actors = actors
        self.times = StepTimes()

    def _step(self, step: str, actor: Any, call: Callable[[], Any]) -> Any:
        from tongban.identity.selectors import forget_staff_roles

        forget_staff_roles(actor)  # each step is a request of its own: roles are read afresh
        with timed_step(self.times, step):
            return call()

    def run(self) -> float:
        """One lifecycle; returns its duration in ms."""
        from tongban.cases.models import CaseState, CaseTask, TaskState
        from tongban.cases.services import check_create_draft, perform, submit_draft

        a = self.actors
        started = time.perf_counter_ns()
        draft = self._step(
            "create_draft",
            a.applicant,
            partial(
                check_create_draft,
                a.applicant,
                item_code=ITEM_CODE,
                division_code=DIVISION_CODE,
                answers=ANSWERS,
            ),
        )
        case = self._step("submit", a.applicant, partial(submit_draft, a.applicant, draft.pk))
        number = case.number
        self._step("accept", a.window, partial(perform, a.window, number, "accept"))
        # each reviewer finds the case's open task in their department's work list
        open_tasks = CaseTask.objects.filter(case_id=case.pk, state=TaskState.OPEN)
        for task_id, department_id in open_tasks.values_list("pk", "department_id"):
            reviewer = a.reviewers[department_id]
            payload = {"task": task_id, "opinion": "符合要求"}
            self._step(
                "approve_task",
                reviewer,
                partial(perform, reviewer, number, "approve_task", payload),
            )
        decision = {"outcome": "approved", "reason": "材料齐全，符合法定条件"}
        self._step("decide", a.head, partial(perform, a.head, number, "decide", decision))
        delivery = {"method": "electronic"}
        self._step("deliver", a.window, partial(perform, a.window, number, "deliver", delivery))
        closed = self._step("close", a.window, partial(perform, a.window, number, "close"))
        elapsed = (time.perf_counter_ns() - started) / 1e6
        if closed.state != CaseState.CLOSED or closed.event_count < self.steps:
            raise RuntimeError(f"case {number} ended {closed.state} after {closed.event_count}")
        return elapsed


# --- SpiffWorkflow ------------------------------------------------------------------------------
def spiffworkflow_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("spiffworkflow")
    except PackageNotFoundError:
        raise CommandError(
            "SpiffWorkflow is not installed: .venv/bin/pip install -r requirements/test.txt"
        ) from None


class SpiffLifecycle:
    """Runs the BPMN process once, one transaction per step, the serialised workflow written
    to ``bench_spiff_instance`` in the same database after every step."""

    steps = 1 + len(SPIFF_STEPS)  # transactions: the start writes the new instance

    def __init__(self, *, reload: bool) -> None:
        from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnParser
        from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer

        parser = BpmnParser()
        parser.add_bpmn_str(BPMN.encode("utf-8"))
        self.spec = parser.get_spec(BPMN_PROCESS_ID)
        self.serializer = BpmnWorkflowSerializer()
        self.reload = reload
        self.times = StepTimes()
        self.state_bytes: list[int] = []
        postgres = connection.vendor == "postgresql"
        self.sql_value = "%s::jsonb" if postgres else "%s"
        self.sql_select = (
            f"SELECT state::text FROM {SPIFF_TABLE} WHERE id = %s FOR UPDATE"  # noqa: S608
            if postgres
            else f"SELECT state FROM {SPIFF_TABLE} WHERE id = %s"  # noqa: S608
        )

    @staticmethod
    def create_table() -> None:
        """(instance id, JSON state, updated_at), created with plain SQL."""
        if connection.vendor == "postgresql":
            ddl = (
                f"CREATE TABLE {SPIFF_TABLE} (id bigint GENERATED BY DEFAULT AS IDENTITY "
                "PRIMARY KEY, state jsonb NOT NULL, updated_at timestamptz NOT NULL)"
            )
        else:
            ddl = (
                f"CREATE TABLE {SPIFF_TABLE} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "state TEXT NOT NULL, updated_at TEXT NOT NULL)"
            )
        with connection.cursor() as cursor:
            cursor.execute(ddl)

    def _save(self, cursor: Any, instance_id: int, workflow: Any) -> None:
        state = self.serializer.serialize_json(workflow)
        self.state_bytes.append(len(state))  # ASCII: json.dumps escapes everything else
        cursor.execute(
            f"UPDATE {SPIFF_TABLE} SET state = {self.sql_value}, "  # noqa: S608
            "updated_at = CURRENT_TIMESTAMP WHERE id = %s",
            [state, instance_id],
        )

    def run(self) -> float:
        """One lifecycle; returns its duration in ms."""
        from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
        from SpiffWorkflow.util.task import TaskState

        started = time.perf_counter_ns()
        with timed_step(self.times, "start"), transaction.atomic(), connection.cursor() as cursor:
            workflow = BpmnWorkflow(self.spec)
            workflow.do_engine_steps()
            state = self.serializer.serialize_json(workflow)
            cursor.execute(
                f"INSERT INTO {SPIFF_TABLE} (state, updated_at) "  # noqa: S608
                f"VALUES ({self.sql_value}, CURRENT_TIMESTAMP) RETURNING id",
                [state],
            )
            instance_id = int(cursor.fetchone()[0])
        for step, task_id, data in SPIFF_STEPS:
            with timed_step(self.times, step), transaction.atomic(), connection.cursor() as cursor:
                if self.reload:
                    cursor.execute(self.sql_select, [instance_id])
                    workflow = self.serializer.deserialize_json(cursor.fetchone()[0])
                ready = workflow.get_tasks(state=TaskState.READY, manual=True)
                task = next((t for t in ready if t.task_spec.name == task_id), None)
                if task is None:
                    raise RuntimeError(f"SpiffWorkflow: user task {task_id} is not ready")
                task.data.update(data)
                task.run()
                workflow.do_engine_steps()
                self._save(cursor, instance_id, workflow)
        elapsed = (time.perf_counter_ns() - started) / 1e6
        if not workflow.is_completed():
            raise RuntimeError("SpiffWorkflow: the process did not reach its end event")
        return elapsed


# --- measuring one database (in the subprocess) ----------------------------------------------------
Engine = TongbanLifecycle | SpiffLifecycle | case_floor.SqlFloorLifecycle


def _engine_figures(durations_ms: list[float], times: StepTimes, steps: int) -> dict[str, Any]:
    total_s = sum(durations_ms) / 1000
    figures: dict[str, Any] = {
        "lifecycles": len(durations_ms),
        "lifecycles_per_s": round(len(durations_ms) / total_s, 2),
        "steps_per_lifecycle": steps,
        "steps_per_s": round(len(durations_ms) * steps / total_s, 1),
    }
    figures.update(percentiles(durations_ms, prefix="lifecycle_"))
    figures.update(percentiles(times.all_ms(), prefix="step_"))
    figures["steps"] = {
        step: {k: v for k, v in percentiles(samples).items() if k in ("p50_ms", "p95_ms")}
        for step, samples in times.samples_ms.items()
    }
    return figures


def _client_process(
    make_engine: Callable[[], Engine],
    lifecycles: int,
    barrier: Any,
    results: Any,
) -> None:
    """One concurrent client (a forked process with its own database connection)."""
    try:
        engine = make_engine()
        barrier.wait(timeout=120)
        started = time.perf_counter()
        for _ in range(lifecycles):
            engine.run()
        results.put(("ok", started, time.perf_counter()))
    except BaseException as exc:  # reported by the parent
        results.put(("error", f"{type(exc).__name__}: {exc}", 0.0))
    finally:
        connection.close()


def throughput(
    make_engine: Callable[[], Engine], clients: int, lifecycles: int
) -> tuple[float, CpuSplit | None]:
    """Lifecycles per second with ``clients`` processes working at once, each running
    ``lifecycles`` of them: the total over the time from the first start to the last finish.
    This is what a server sees when many people act on their cases at the same time. Also
    where the CPU went (``tongban.bench.cpu``), per lifecycle."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    connection.close()  # every child opens its own connection
    meter = CpuMeter()
    meter.start()
    barrier = context.Barrier(clients)
    results = context.Queue()
    processes = [
        context.Process(target=_client_process, args=(make_engine, lifecycles, barrier, results))
        for _ in range(clients)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=900) for _ in processes]
    for process in processes:
        process.join(60)
    errors = [str(o[1]) for o in outcomes if o[0] != "ok"]
    if errors:
        raise RuntimeError(f"a concurrent client failed: {errors[0]}")
    split = meter.stop(clients * lifecycles)
    first = min(float(o[1]) for o in outcomes)
    last = max(float(o[2]) for o in outcomes)
    return round(clients * lifecycles / (last - first), 2), split


def measure_database(options: dict[str, Any], log: Log) -> dict[str, Any]:
    """Build the data in the current (throw-away) database, then time tongban and SpiffWorkflow
    lifecycles interleaved; report both and their ratio."""
    check_calendar(log)
    version = spiffworkflow_version()
    lifecycles, warmup = options["lifecycles"], options["warmup"]
    if lifecycles < 1 or warmup < 0 or options["clients"] < 1:
        raise CommandError(
            "--lifecycles and --clients must be at least 1 and --warmup not negative"
        )
    # SpiffWorkflow logs every task state change at INFO; tongban logs nothing per step
    logging.getLogger("spiff").setLevel(logging.WARNING)
    tongban = TongbanLifecycle(build_data(log))
    SpiffLifecycle.create_table()
    case_floor.create_tables()
    spiff = SpiffLifecycle(reload=False)
    spiff_reload = SpiffLifecycle(reload=True)
    floor = case_floor.SqlFloorLifecycle()
    engines: list[tuple[str, Engine]] = [
        ("tongban", tongban),
        ("spiffworkflow", spiff),
        ("spiffworkflow_reload", spiff_reload),
        ("sql_floor", floor),
    ]
    for _ in range(warmup):
        for _, engine in engines:
            engine.run()
    for _, engine in engines:
        engine.times.clear()
    spiff.state_bytes.clear()
    log(f"{warmup} warm-up lifecycles per engine; timing {lifecycles} …")
    durations: dict[str, list[float]] = {name: [] for name, _ in engines}
    for _ in range(lifecycles):  # interleaved: every engine sees the same machine noise
        for name, engine in engines:
            durations[name].append(engine.run())
    # one more lifecycle each, not timed, counting the SQL statements Django sends
    for _, engine in engines:
        engine.times.queries = {}
        engine.run()

    def queries(engine: Engine) -> int:
        return sum((engine.times.queries or {}).values())

    clients = options["clients"]
    if connection.vendor == "sqlite":
        # the embedded database has one writer at a time: concurrent clients only queue (and
        # time out) on its lock, so SQLite is measured with one client
        clients = 1
    concurrent: dict[str, Any] = {"clients": clients}
    if clients > 1:
        per_client = max(1, lifecycles // clients)
        log(f"{clients} concurrent clients × {per_client} lifecycles per engine …")
        actors = tongban.actors
        concurrent["lifecycles_per_client"] = per_client
        runs: list[tuple[str, Callable[[], Engine]]] = [
            ("tongban", lambda: TongbanLifecycle(actors)),
            ("spiffworkflow", lambda: SpiffLifecycle(reload=False)),
            ("sql_floor", case_floor.SqlFloorLifecycle),
        ]
        cpu: dict[str, Any] = {}
        splits: dict[str, CpuSplit] = {}
        cores = os.cpu_count() or 1
        for name, make in runs:
            rate, split = throughput(make, clients, per_client)
            concurrent[f"{name}_lifecycles_per_s"] = rate
            if split is not None:
                splits[name] = split
                cpu[name] = split.as_dict(cores)
        if "tongban" in splits and "sql_floor" in splits:
            cpu["tongban"]["statements_ceiling_lifecycles_per_s"] = statements_ceiling_per_s(
                splits["tongban"], queries(tongban), splits["sql_floor"], queries(floor), cores
            )
        if cpu:
            concurrent["cpu"] = cpu
        concurrent["ratio_vs_spiffworkflow"] = round(
            concurrent["tongban_lifecycles_per_s"] / concurrent["spiffworkflow_lifecycles_per_s"],
            2,
        )
        concurrent["share_of_sql_floor"] = round(
            concurrent["tongban_lifecycles_per_s"] / concurrent["sql_floor_lifecycles_per_s"], 3
        )
        concurrent["sql_floor_ratio_vs_spiffworkflow"] = round(
            concurrent["sql_floor_lifecycles_per_s"] / concurrent["spiffworkflow_lifecycles_per_s"],
            2,
        )

    result: dict[str, Any] = {"benchmark": "cases", "database": connection.vendor}
    result.update(_engine_figures(durations["tongban"], tongban.times, tongban.steps))
    result["single_client_lifecycles_per_s"] = result["lifecycles_per_s"]
    result["queries_per_lifecycle"] = queries(tongban)
    result["queries_per_step"] = tongban.times.queries_per_call()
    spiff_figures = _engine_figures(durations["spiffworkflow"], spiff.times, spiff.steps)
    spiff_figures.update(
        {
            "version": version,
            "variant": "in_memory",
            "database": connection.vendor,
            "queries_per_lifecycle": queries(spiff),
            "state_bytes_p50": sorted(spiff.state_bytes)[len(spiff.state_bytes) // 2],
        }
    )
    reload_figures = _engine_figures(
        durations["spiffworkflow_reload"], spiff_reload.times, spiff_reload.steps
    )
    reload_figures["variant"] = "reload"
    reload_figures["queries_per_lifecycle"] = queries(spiff_reload)
    spiff_figures["reload"] = reload_figures
    result["spiffworkflow"] = spiff_figures
    floor_figures = _engine_figures(durations["sql_floor"], floor.times, floor.steps)
    floor_figures["queries_per_lifecycle"] = queries(floor)
    floor_figures["ratio_vs_spiffworkflow"] = round(
        floor_figures["lifecycles_per_s"] / spiff_figures["lifecycles_per_s"], 2
    )
    result["sql_floor"] = floor_figures
    result["share_of_sql_floor"] = round(
        result["lifecycles_per_s"] / floor_figures["lifecycles_per_s"], 3
    )
    result["ratio_vs_spiffworkflow"] = round(
        result["lifecycles_per_s"] / spiff_figures["lifecycles_per_s"], 2
    )
    result["ratio_vs_spiffworkflow_reload"] = round(
        result["lifecycles_per_s"] / reload_figures["lifecycles_per_s"], 2
    )
    result["single_client_ratio_vs_spiffworkflow"] = result["ratio_vs_spiffworkflow"]
    result["concurrent"] = concurrent
    if clients > 1:  # the headline: throughput with concurrent clients, both engines alike
        result["lifecycles_per_s"] = concurrent["tongban_lifecycles_per_s"]
        result["ratio_vs_spiffworkflow"] = concurrent["ratio_vs_spiffworkflow"]
        result["share_of_sql_floor"] = concurrent["share_of_sql_floor"]
        spiff_figures["single_client_lifecycles_per_s"] = spiff_figures["lifecycles_per_s"]
        spiff_figures["lifecycles_per_s"] = concurrent["spiffworkflow_lifecycles_per_s"]
        floor_figures["single_client_lifecycles_per_s"] = floor_figures["lifecycles_per_s"]
        floor_figures["lifecycles_per_s"] = concurrent["sql_floor_lifecycles_per_s"]
        floor_figures["ratio_vs_spiffworkflow"] = concurrent["sql_floor_ratio_vs_spiffworkflow"]
    result["debug"] = bool(settings.DEBUG)
    return result


# --- the comparison (in the command's own process) --------------------------------------------------
def postgres_url(option: str) -> str:
    """``--postgres-url``, else ``DATABASE_URL`` when it is PostgreSQL, else the local default."""
    if option:
        return option
    configured = os.environ.get("DATABASE_URL", "")
    if configured.startswith(("postgres://", "postgresql://")):
        return configured
    return DEFAULT_POSTGRES_URL


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return parts._replace(netloc=netloc).geturl()
    return url


def check_postgres(url: str) -> None:
    """Fail early, naming the server, when PostgreSQL cannot be reached."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        raise RuntimeError(
            f"PostgreSQL at {_redacted(url)} is not reachable: {str(exc).strip()}"
        ) from None


def run_child(database: str, url: str, options: dict[str, Any], log: Log) -> dict[str, Any]:
    """``tongban bench cases --only DATABASE --json`` in a subprocess; its JSON object."""
    env = {**os.environ}
    if database == "postgresql":
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
    command = [
        sys.executable,
        "-m",
        "tongban.cli",
        "bench",
        "cases",
        "--only",
        database,
        "--json",
        "--lifecycles",
        str(options["lifecycles"]),
        "--warmup",
        str(options["warmup"]),
        "--clients",
        str(options["clients"]),
    ]
    tail: list[str] = []
    with tempfile.TemporaryFile(mode="w+", encoding="utf-8") as out:
        child = subprocess.Popen(  # noqa: S603 - our own command with our own arguments
            command, stdout=out, stderr=subprocess.PIPE, text=True, env=env
        )
        assert child.stderr is not None
        for line in child.stderr:
            line = line.rstrip("\n")
            tail = [*tail[-15:], line]
            if line.startswith("[bench cases] "):
                log(f"{database}: {line.removeprefix('[bench cases] ')}")
        code = child.wait()
        out.seek(0)
        stdout = out.read()
    if code != 0:
        message = next((ln for ln in reversed(tail) if ln.strip()), "") or f"exit code {code}"
        raise RuntimeError(f"{database} measurement failed: {message.strip()}")
    value = json.loads(stdout)
    if not isinstance(value, dict):
        raise RuntimeError(f"{database} measurement printed no JSON object")
    return value


def compare(options: dict[str, Any], log: Log) -> dict[str, Any]:
    """Measure SQLite and PostgreSQL one after the other and put the figures side by side."""
    url = postgres_url(options["postgres_url"])
    result: dict[str, Any] = {
        "benchmark": "cases",
        "lifecycle": "create_draft → submit → accept → 3 × approve_task → decide → deliver → close",
        "lifecycles": options["lifecycles"],
        "warmup": options["warmup"],
        "postgres_server": _redacted(url),
    }
    errors: dict[str, str] = {}
    try:  # before anything is measured: an unreachable server fails the run at once
        check_postgres(url)
    except RuntimeError as exc:
        errors["postgresql"] = str(exc)
    for database in DATABASES:
        if errors:
            result[database] = {"error": errors.get(database, "not measured")}
            continue
        try:
            section = run_child(database, url, options, log)
        except (RuntimeError, ValueError, OSError) as exc:
            errors[database] = str(exc)
            result[database] = {"error": str(exc)}
            continue
        for key in ("benchmark", "database", "options", "wall_s"):
            section.pop(key, None)
        result[database] = section
    postgres = result["postgresql"]
    if "error" in postgres:
        result["spiffworkflow"] = {"error": "PostgreSQL was not measured"}
        result["ratio_vs_spiffworkflow"] = None
    else:
        result["spiffworkflow"] = postgres["spiffworkflow"]
        result["sql_floor"] = postgres["sql_floor"]
        result["ratio_vs_spiffworkflow"] = postgres["ratio_vs_spiffworkflow"]
        floor_per_s = postgres["sql_floor"]["lifecycles_per_s"]
        spiff_per_s = postgres["spiffworkflow"]["lifecycles_per_s"]
        result["targets"] = {
            # what the same run says any engine with nine committed steps can reach here
            "sql_floor_lifecycles_per_s": floor_per_s,
            "postgresql_lifecycles_per_s_reachable": floor_per_s
            >= TARGET_POSTGRESQL_LIFECYCLES_PER_S,
            "ratio_vs_spiffworkflow_reachable": floor_per_s / spiff_per_s
            >= TARGET_RATIO_VS_SPIFFWORKFLOW,
            "postgresql_lifecycles_per_s": TARGET_POSTGRESQL_LIFECYCLES_PER_S,
            "ratio_vs_spiffworkflow": TARGET_RATIO_VS_SPIFFWORKFLOW,
            "postgresql_lifecycles_per_s_met": postgres["lifecycles_per_s"]
            >= TARGET_POSTGRESQL_LIFECYCLES_PER_S,
            "ratio_vs_spiffworkflow_met": postgres["ratio_vs_spiffworkflow"]
            >= TARGET_RATIO_VS_SPIFFWORKFLOW,
        }
        tongban_cpu = (postgres.get("concurrent") or {}).get("cpu", {}).get("tongban")
        if tongban_cpu and tongban_cpu["database_cpu_ceiling_lifecycles_per_s"] is not None:
            # what tongban's own statements cost the server: the most any Python could reach
            ceiling = tongban_cpu["database_cpu_ceiling_lifecycles_per_s"]
            result["targets"]["tongban_database_cpu_ceiling_lifecycles_per_s"] = ceiling
            result["targets"]["postgresql_lifecycles_per_s_reachable_with_tongban_writes"] = (
                ceiling >= TARGET_POSTGRESQL_LIFECYCLES_PER_S
            )
            # and what sending them costs the client at the least (the floor's cost per statement)
            bound = tongban_cpu.get("statements_ceiling_lifecycles_per_s")
            if bound is not None:
                result["targets"]["tongban_statements_ceiling_lifecycles_per_s"] = bound
                result["targets"][
                    "postgresql_lifecycles_per_s_reachable_with_tongban_statements"
                ] = bound >= TARGET_POSTGRESQL_LIFECYCLES_PER_S
    if errors:
        result["errors"] = errors
        raise BenchmarkFailed("; ".join(errors.values()), result)
    return result


@benchmarks.register("cases")
class CasesBenchmark(Benchmark):
    summary = (
        "case lifecycles/s (draft → 受理 → 3 parallel reviews → 决定 → 办结) on SQLite and "
        "PostgreSQL vs SpiffWorkflow (targets: ≥ 200/s on PostgreSQL, ≥ 10× SpiffWorkflow)"
    )
    options = {
        "lifecycles": Option(int, 300, "timed lifecycles per engine and database"),
        "warmup": Option(int, 20, "untimed lifecycles per engine before timing"),
        "clients": Option(
            int,
            4,
            "concurrent client processes for the throughput figure (1: one client only)",
        ),
        "only": Option(str, "", "measure one database in this process: sqlite or postgresql"),
        "postgres_url": Option(
            str,
            "",
            f"PostgreSQL server (default: DATABASE_URL if PostgreSQL, else {DEFAULT_POSTGRES_URL})",
        ),
    }

    def uses_database(self, options: dict[str, Any]) -> bool:
        return bool(options["only"])  # the comparison only starts the two measuring processes

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        only = options["only"]
        if not only:
            return compare(options, log)
        if only not in DATABASES:
            raise CommandError(f"--only must be one of {', '.join(DATABASES)}")
        if connection.vendor != only:
            raise CommandError(
                f"--only {only}, but the configured database is {connection.vendor} "
                "(DATABASE_URL selects PostgreSQL)"
            )
        return measure_database(options, log)

    def report(self, result: dict[str, Any]) -> list[str]:
        if "database" in result:  # --only: one database
            return self._database_lines(result["database"], result)
        lines = [
            f"lifecycle: {result['lifecycle']} ({result['lifecycles']} timed per engine and "
            f"database, after {result['warmup']} warm-up)",
        ]
        for database in DATABASES:
            lines.extend(self._database_lines(database, result[database]))
        targets = result.get("targets")
        if targets:
            pg_ok = "met" if targets["postgresql_lifecycles_per_s_met"] else "MISSED"
            ratio_ok = "met" if targets["ratio_vs_spiffworkflow_met"] else "MISSED"
            lines.append(
                f"targets: ≥ {targets['postgresql_lifecycles_per_s']:.0f} lifecycles/s on "
                f"PostgreSQL: {pg_ok}; ≥ {targets['ratio_vs_spiffworkflow']:.0f}× SpiffWorkflow: "
                f"{ratio_ok} (ratio {result['ratio_vs_spiffworkflow']})"
            )
        return lines

    @staticmethod
    def _database_lines(database: str, figures: dict[str, Any]) -> list[str]:
        if "error" in figures:
            return [f"{database}: NOT MEASURED — {figures['error']}"]
        spiff = figures["spiffworkflow"]
        reload = spiff["reload"]
        steps = ", ".join(
            f"{step} {v['p50_ms']:.2f}/{v['p95_ms']:.2f}" for step, v in figures["steps"].items()
        )
        spiff_single = spiff.get("single_client_lifecycles_per_s", spiff["lifecycles_per_s"])
        lines = [
            f"{database}: one client: tongban {figures['single_client_lifecycles_per_s']:.1f} "
            f"lifecycles/s ({figures['steps_per_s']:.0f} steps/s, "
            f"{figures['queries_per_lifecycle']} queries per lifecycle)",
            f"    one client: SpiffWorkflow {spiff['version']}: {spiff_single:.1f} lifecycles/s "
            f"kept in memory, {reload['lifecycles_per_s']:.1f} reloaded per step "
            f"(state {spiff['state_bytes_p50'] / 1024:.1f} KiB); tongban is "
            f"{figures['single_client_ratio_vs_spiffworkflow']}× and "
            f"{figures['ratio_vs_spiffworkflow_reload']}×",
            f"    tongban step p50/p95 ms: {steps}; all steps p50 {figures['step_p50_ms']:.2f} "
            f"p95 {figures['step_p95_ms']:.2f}",
        ]
        concurrent = figures.get("concurrent") or {}
        if concurrent.get("clients", 1) > 1:
            lines.insert(
                0,
                f"{database}: {concurrent['clients']} concurrent clients: tongban "
                f"{concurrent['tongban_lifecycles_per_s']:.1f} lifecycles/s, SpiffWorkflow "
                f"{concurrent['spiffworkflow_lifecycles_per_s']:.1f} → "
                f"{concurrent['ratio_vs_spiffworkflow']}× (one client: "
                f"{figures['single_client_lifecycles_per_s']:.1f}/s, "
                f"{figures['single_client_ratio_vs_spiffworkflow']}×)",
            )
        for engine, split in (concurrent.get("cpu") or {}).items():
            lines.append(
                f"    CPU per lifecycle, {engine}: clients "
                f"{split['client_cpu_ms_per_lifecycle']:.2f} ms, database "
                f"{split['database_cpu_ms_per_lifecycle']:.2f} ms (the database work alone "
                f"allows {split['database_cpu_ceiling_lifecycles_per_s']}/s)"
            )
            if split.get("statements_ceiling_lifecycles_per_s") is not None:
                lines.append(
                    f"    {engine}'s statements, sent at the SQL floor's client cost each and "
                    f"with no other Python, allow {split['statements_ceiling_lifecycles_per_s']}/s"
                )
        machine = figures.get("machine")
        if machine:
            lines.append(
                f"    {machine['db_vendor']} {machine['db_version']}, load {machine['load_avg_1m']}"
            )
        return lines
