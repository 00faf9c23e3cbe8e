"""超时默认: an open task past its deadline is deemed approved (or escalated) exactly once."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from freezegun import freeze_time

from tests.catalog_fixtures import BODIES, FOOD, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases import deadlines
from tongban.cases.deadlines import apply_timeouts
from tongban.cases.models import Case, CaseState, TaskState
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.identity.models import Department
from tongban.workdays.services import do_sync_chinese_calendar

TIMEOUTS = FOOD.replace(
    "- {department: 3301-SCJG, name: 食品安全审查, limit_days: 3}",
    "- {department: 3301-SCJG, name: 食品安全审查, limit_days: 3, on_timeout: escalate}",
).replace(
    "- {department: 3301-GA, name: 消防安全核查, limit_days: 2}",
    "- {department: 3301-GA, name: 消防安全核查, limit_days: 2, on_timeout: approve}",
)


def accepted_case(tmp_path: Path) -> Case:
    assert TIMEOUTS != FOOD
    import_catalog(write_catalog(tmp_path, bodies=BODIES, food=TIMEOUTS))
    applicant = ApplicantFactory()
    window = StaffUserFactory(department=Department.objects.get(code="3301-SCJG"), roles=["window"])
    draft = check_create_draft(applicant, item_code="SC-FOOD-001", division_code="330100")
    case = submit_draft(applicant, draft.pk)
    return perform(window, case.number, "accept")


def province_supervisor() -> Any:
    """A supervisor in the province's 政务服务中心, above the city where the cases are."""
    from tongban.identity.models import Division

    province = Department.objects.create(
        code="33-ZWB", name="浙江省政务服务中心", division=Division.objects.get(code="330000")
    )
    return StaffUserFactory(department=province, roles=["supervisor"])


def another_accepted_case() -> Case:
    """A second case of the catalog ``accepted_case`` imported, accepted today."""
    applicant = ApplicantFactory()
    window = StaffUserFactory(department=Department.objects.get(code="3301-SCJG"), roles=["window"])
    draft = check_create_draft(applicant, item_code="SC-FOOD-001", division_code="330100")
    return perform(window, submit_draft(applicant, draft.pk).number, "accept")


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_deemed_approval_and_escalation_exactly_once(tmp_path: Path) -> None:
    case = accepted_case(tmp_path)
    ga = case.tasks.get(department__code="3301-GA")
    scjg = case.tasks.get(department__code="3301-SCJG", stage=1)
    assert ga.due_date == dt.date(2025, 3, 5)
    assert scjg.due_date == dt.date(2025, 3, 6)
    assert apply_timeouts(dt.date(2025, 3, 5)) == {}  # due today: not yet past
    report = apply_timeouts(dt.date(2025, 3, 6))
    assert report == {"deemed_approved": 1}
    ga.refresh_from_db()
    assert ga.state == TaskState.APPROVED
    assert ga.completed_by is None
    report = apply_timeouts(dt.date(2025, 3, 7))
    assert report == {"escalated": 1}
    assert apply_timeouts(dt.date(2025, 3, 7)) == {}  # nothing twice
    assert apply_timeouts(dt.date(2025, 3, 10)) == {}
    case.refresh_from_db()
    actions = list(case.events.values_list("action", flat=True))
    assert actions.count("deemed_approval") == 1
    assert actions.count("timeout_escalation") == 1
    escalation = case.events.get(action="timeout_escalation")
    assert not escalation.visible_to_applicant


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")
def test_a_stopped_clock_is_not_timed_out(tmp_path: Path) -> None:
    case = accepted_case(tmp_path)
    head = StaffUserFactory(
        department=Department.objects.get(code="3301-SCJG"), roles=["department_head"]
    )
    perform(head, case.number, "suspend", {"kind": "inspection", "reason": "送检"})
    assert apply_timeouts(dt.date(2025, 3, 20)) == {"clock_stopped": 2}
    assert case.tasks.filter(state=TaskState.OPEN).count() == 2


@pytest.mark.django_db(transaction=True)
def test_two_sweeps_at_once_apply_each_timeout_once(tmp_path: Path) -> None:
    do_sync_chinese_calendar()  # a transactional test starts from an emptied database
    with freeze_time("2025-03-03 10:00:00+08:00"):
        case = accepted_case(tmp_path)
    barrier = threading.Barrier(2)
    reports: list[Any] = []

    def sweep() -> None:
        try:
            barrier.wait()
            reports.append(apply_timeouts(dt.date(2025, 3, 7)))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    done = sum((r.get("deemed_approved", 0) + r.get("escalated", 0)) for r in reports)
    assert len(reports) == 2
    assert done == 2  # one deemed approval and one escalation, whichever sweep did them
    case = Case.objects.get(pk=case.pk)
    assert case.events.filter(action="deemed_approval").count() == 1
    assert case.events.filter(action="timeout_escalation").count() == 1
    assert case.state == CaseState.IN_REVIEW


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")
def test_yellow_warns_reviewers_and_red_escalates_once(tmp_path: Path) -> None:
    from tongban.cases.deadlines import warn_and_escalate
    from tongban.notifications.models import Notification

    case = accepted_case(tmp_path)
    ga_reviewer = StaffUserFactory(
        department=Department.objects.get(code="3301-GA"), roles=["reviewer"]
    )
    scjg = Department.objects.get(code="3301-SCJG")
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    supervisor = province_supervisor()
    outsider = StaffUserFactory(
        department=Department.objects.get(code="330106-SCJG"),
        roles=["supervisor", "department_head"],
    )
    # Monday 3 Mar: the 公安 check (2 working days, due 5 Mar) is already yellow.
    assert warn_and_escalate(dt.date(2025, 3, 3)) == {"warned": 1}
    warning = Notification.objects.get(recipient=ga_reviewer)
    assert warning.template == "case.task_warning"
    assert "2025-03-05" in warning.body
    warn_and_escalate(dt.date(2025, 3, 3))
    assert Notification.objects.filter(recipient=ga_reviewer).count() == 1  # once
    # Friday 7 Mar: both stage-1 tasks are overdue. The 公安 check gets its 红牌; the 市场监管
    # review escalates on timeout, so its 超时督办 is its red card and the sweep sends none.
    ga_head = StaffUserFactory(
        department=Department.objects.get(code="3301-GA"), roles=["department_head"]
    )
    assert warn_and_escalate(dt.date(2025, 3, 7)) == {"escalated": 1}
    assert Notification.objects.filter(recipient=ga_head, template="case.task_overdue").count() == 1
    assert not Notification.objects.filter(recipient=head).exists()
    assert Notification.objects.filter(recipient=supervisor).count() == 1
    assert not Notification.objects.filter(recipient=outsider).exists()
    warn_and_escalate(dt.date(2025, 3, 7))
    assert Notification.objects.filter(recipient=supervisor).count() == 1
    assert case.number in Notification.objects.filter(recipient=supervisor).first().body


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_a_deemed_approval_that_completes_the_stage_opens_the_next_one(tmp_path: Path) -> None:
    case = accepted_case(tmp_path)
    reviewer = StaffUserFactory(
        department=Department.objects.get(code="3301-SCJG"), roles=["reviewer"]
    )
    scjg = case.tasks.get(department__code="3301-SCJG", stage=1)
    perform(reviewer, case.number, "approve_task", {"task": scjg.pk, "opinion": "同意"})
    assert apply_timeouts(dt.date(2025, 3, 6)) == {"deemed_approved": 1}  # the 消防 task
    case.refresh_from_db()
    # the case moved on with the task: stage 2 is current, and its task is open
    assert (case.state, case.current_stage) == (CaseState.IN_REVIEW, 2)
    assert list(case.tasks.filter(stage=2).values_list("state", flat=True)) == [TaskState.OPEN]
    event = case.events.get(action="deemed_approval")
    assert event.sequence == case.event_count
    assert event.task.state == TaskState.APPROVED


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_a_timeout_escalation_tells_the_head_and_supervisors_once(tmp_path: Path) -> None:
    from tongban.notifications.models import Notification

    case = accepted_case(tmp_path)
    scjg = Department.objects.get(code="3301-SCJG")
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
    ga_head = StaffUserFactory(
        department=Department.objects.get(code="3301-GA"), roles=["department_head"]
    )
    supervisor = province_supervisor()
    assert apply_timeouts(dt.date(2025, 3, 7))["escalated"] == 1  # the 食品安全审查, due 6 March
    apply_timeouts(dt.date(2025, 3, 10))
    escalations = Notification.objects.filter(template="case.timeout_escalation")
    assert sorted(escalations.values_list("recipient", flat=True)) == sorted(
        [head.pk, supervisor.pk]
    )
    message = escalations.get(recipient=head)
    assert (case.number or "") in message.body
    assert "2025-03-06" in message.body
    task = case.tasks.get(department=scjg, stage=1)
    assert f"{task.stage_name}（杭州市市场监督管理局）" in message.body
    assert not Notification.objects.filter(recipient__in=[reviewer, ga_head]).exists()
    assert not escalations.filter(recipient=case.submitted_by).exists()


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_a_deemed_approval_tells_the_applicant_once(tmp_path: Path) -> None:
    from tongban.notifications.models import Notification

    case = accepted_case(tmp_path)
    assert apply_timeouts(dt.date(2025, 3, 6)) == {"deemed_approved": 1}  # the 消防 check
    apply_timeouts(dt.date(2025, 3, 6))
    told = Notification.objects.filter(
        recipient=case.submitted_by, template="case.deemed_approval", channel="in_app"
    )
    [message] = told
    assert (case.number or "") in message.body
    assert "杭州市公安局（消防安全核查）" in message.body
    assert "视为同意" in message.body
    event = case.events.get(action="deemed_approval")
    assert message.dedupe_key == f"case:{case.number}:{event.sequence}:in_app"


class WorkerKilled(BaseException):
    """Stands for the worker dying in the middle of the sweep (not an error the sweep logs and
    goes on from, as it does for one task's ``Exception``: the process is gone)."""


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_a_sweep_killed_half_way_is_rerun_and_applies_each_timeout_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four tasks are past their deadlines; the worker dies while writing the second deemed
    approval. That task's transaction leaves nothing behind; the next run does the other three,
    and a third run finds nothing to do."""
    first, second = accepted_case(tmp_path), another_accepted_case()
    second_ga = second.tasks.get(department__code="3301-GA")
    real = deadlines.update_then_insert

    def dying(updates: Any, event: Any) -> Any:
        written = real(updates, event)  # the rows are written in the task's transaction …
        if event.case_id == second.pk:
            raise WorkerKilled  # … and the worker dies before it commits
        return written

    monkeypatch.setattr(deadlines, "update_then_insert", dying)
    with pytest.raises(WorkerKilled):
        apply_timeouts(dt.date(2025, 3, 7))
    second_ga.refresh_from_db()
    assert second_ga.state == TaskState.OPEN
    assert not second.events.filter(action="deemed_approval").exists()
    assert first.events.filter(action="deemed_approval").count() == 1

    monkeypatch.setattr(deadlines, "update_then_insert", real)
    assert apply_timeouts(dt.date(2025, 3, 7)) == {"deemed_approved": 1, "escalated": 2}
    assert apply_timeouts(dt.date(2025, 3, 7)) == {}
    for case in (first, second):
        actions = list(case.events.values_list("action", flat=True))
        assert (actions.count("deemed_approval"), actions.count("timeout_escalation")) == (1, 1)
        case.refresh_from_db()
        assert list(case.events.values_list("sequence", flat=True)) == list(
            range(1, case.event_count + 1)
        )


ALL_DEEMED = FOOD.replace(
    "- {department: 3301-SCJG, name: 食品安全审查, limit_days: 3}",
    "- {department: 3301-SCJG, name: 食品安全审查, limit_days: 3, on_timeout: approve}",
).replace(
    "- {department: 3301-GA, name: 消防安全核查, limit_days: 2}",
    "- {department: 3301-GA, name: 消防安全核查, limit_days: 2, on_timeout: approve}",
)


@pytest.mark.django_db
@pytest.mark.shipped_calendar  # the known calendar ends on 31 December 2026
def test_a_timeout_past_the_known_calendar_is_left_alone_and_the_sweep_goes_on(
    tmp_path: Path,
) -> None:
    """Case A's stage 1 completes by silence in the sweep of 28 December 2026; its stage 2 (4
    working days) would be due in 2027, which nobody has entered. A is left exactly as it was,
    the heads and the administrators are told once, and case B's timeouts, later in the sweep,
    still apply. Once 2027 is entered, the next sweep deems A approved too."""
    from tests.test_workdays import SAMPLE_2027
    from tongban.notifications.models import Notification
    from tongban.workdays.services import check_import_year_file

    assert ALL_DEEMED != FOOD
    other = TIMEOUTS.replace("SC-FOOD-001", "SC-FOOD-002").replace("（餐饮服务）", "（单位食堂）")
    import_catalog(write_catalog(tmp_path, bodies=BODIES, food=ALL_DEEMED, canteen=other))
    scjg = Department.objects.get(code="3301-SCJG")
    window = StaffUserFactory(department=scjg, roles=["window"])
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    admin = StaffUserFactory(department=scjg, roles=["system_admin"])
    reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])

    def accepted(item: str, day: str) -> Case:
        applicant = ApplicantFactory()
        with freeze_time(f"{day} 10:00:00+08:00"):
            draft = check_create_draft(applicant, item_code=item, division_code="330100")
            case = submit_draft(applicant, draft.pk)
            return perform(window, case.number, "accept")

    a = accepted("SC-FOOD-001", "2026-12-14")  # GA due 16 Dec, SCJG due 17 Dec
    b = accepted("SC-FOOD-002", "2026-12-15")  # GA due 17 Dec, SCJG (escalate) due 18 Dec
    a_scjg = a.tasks.get(department=scjg, stage=1)
    assert a_scjg.due_date == dt.date(2026, 12, 17)
    today = dt.date(2026, 12, 28)

    report = apply_timeouts(today)
    assert report == {"deemed_approved": 2, "escalated": 1, "calendar_unknown": 1}
    a_scjg.refresh_from_db()
    assert a_scjg.state == TaskState.OPEN  # nothing half-written
    a.refresh_from_db()
    assert (a.state, a.current_stage) == (CaseState.IN_REVIEW, 1)
    assert a.tasks.get(stage=2).state == TaskState.WAITING
    assert a.events.filter(action="deemed_approval").count() == 1  # the GA task only
    assert b.tasks.get(department__code="3301-GA").state == TaskState.APPROVED
    assert b.events.filter(action="timeout_escalation").count() == 1
    told = Notification.objects.filter(template="case.timeout_calendar_unknown")
    assert sorted(told.values_list("recipient_id", flat=True)) == sorted([head.pk, admin.pk])
    assert "2027" in told.get(recipient=head).subject
    assert "tongban workdays import 2027.yaml" in told.get(recipient=admin).body
    assert not told.filter(recipient=reviewer).exists()

    assert apply_timeouts(today) == {"calendar_unknown": 1}  # the next run: still waiting
    assert told.count() == 2  # told once

    year_file = tmp_path / "2027.yaml"
    year_file.write_text(SAMPLE_2027, encoding="utf-8")
    check_import_year_file(year_file, entered_by="admin")
    assert apply_timeouts(today) == {"deemed_approved": 1}
    a.refresh_from_db()
    assert a.current_stage == 2
    assert a.tasks.get(stage=2).due_date == dt.date(2027, 1, 4)  # 29–31 Dec, then 元旦 off


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_a_task_done_while_the_sweep_runs_is_not_escalated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sweep reads the open tasks first and tells people afterwards. A reviewer who
    approves an overdue task in between (here: while the sweep looks up whom to escalate to)
    must not have the head and the supervisors told that it is overdue; a task transferred to
    another department meanwhile is left for the next sweep, which tells that department's
    head instead."""
    from tongban.cases.deadlines import _Recipients, warn_and_escalate
    from tongban.notifications.models import Notification

    case = accepted_case(tmp_path)
    scjg = Department.objects.get(code="3301-SCJG")
    reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    ga_head = StaffUserFactory(
        department=Department.objects.get(code="3301-GA"), roles=["department_head"]
    )
    scjg_task = case.tasks.get(department=scjg, stage=1)
    ga_task = case.tasks.get(department__code="3301-GA")
    real = _Recipients.escalation
    acted: list[int] = []

    def staff_act_meanwhile(self: Any, case_: Case, department_id: int) -> list[Any]:
        if not acted:
            acted.append(1)
            with freeze_time("2025-03-07 09:00:00+08:00"):
                perform(reviewer, case.number or "", "approve_task", {"task": scjg_task.pk})
                perform(
                    ga_head,
                    case.number or "",
                    "transfer_task",
                    {"task": ga_task.pk, "department": "3301-SCJG", "reason": "属市场监管职责"},
                )
        return real(self, case_, department_id)

    monkeypatch.setattr(_Recipients, "escalation", staff_act_meanwhile)
    report = warn_and_escalate(dt.date(2025, 3, 7))  # both stage-1 tasks overdue when read
    assert report.get("escalated", 0) == 0
    assert not Notification.objects.filter(template="case.task_overdue").exists()
    monkeypatch.setattr(_Recipients, "escalation", real)
    assert warn_and_escalate(dt.date(2025, 3, 7)) == {"escalated": 1}  # the transferred task
    told = Notification.objects.filter(template="case.task_overdue")
    assert list(told.values_list("recipient_id", flat=True)) == [head.pk]


def _escalations(case: Case) -> list[str]:
    """The deadlines ``case``'s timeout escalations were for, in order."""
    return [
        e.data["due_date"] for e in case.events.filter(action="timeout_escalation").order_by("id")
    ]


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_a_deadline_moved_by_a_clock_stop_is_escalated_again_once(tmp_path: Path) -> None:
    """The 食品安全审查 (escalate on timeout, due 6 March) is escalated on 7 March; the case is
    then stopped (中止) from 7 to 12 March, which moves the task's deadline three working days
    on, to 11 March. That deadline, missed too, is escalated once more — once."""
    from tongban.notifications.models import Notification

    case = accepted_case(tmp_path)
    scjg = Department.objects.get(code="3301-SCJG")
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    task = case.tasks.get(department=scjg, stage=1)
    assert apply_timeouts(dt.date(2025, 3, 7)) == {"deemed_approved": 1, "escalated": 1}
    with freeze_time("2025-03-07 10:00:00+08:00"):
        perform(head, case.number or "", "suspend", {"kind": "inspection", "reason": "送检"})
    assert apply_timeouts(dt.date(2025, 3, 10)) == {}  # that deadline was escalated already
    with freeze_time("2025-03-12 10:00:00+08:00"):
        perform(head, case.number or "", "resume")
    task.refresh_from_db()
    assert task.due_date == dt.date(2025, 3, 11)
    assert apply_timeouts(dt.date(2025, 3, 12)) == {"escalated": 1}
    assert apply_timeouts(dt.date(2025, 3, 12)) == {}  # a re-run: nothing twice
    assert apply_timeouts(dt.date(2025, 3, 13)) == {}
    assert _escalations(case) == ["2025-03-06", "2025-03-11"]
    told = Notification.objects.filter(recipient=head, template="case.timeout_escalation")
    assert [("2025-03-06" in m.body, "2025-03-11" in m.body) for m in told.order_by("id")] == [
        (True, False),
        (False, True),
    ]
    assert case.events.filter(action="deemed_approval").count() == 1  # the 消防 check, once


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_a_deadline_moved_by_an_extension_is_escalated_again_once(tmp_path: Path) -> None:
    case = accepted_case(tmp_path)
    scjg = Department.objects.get(code="3301-SCJG")
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    task = case.tasks.get(department=scjg, stage=1)
    assert apply_timeouts(dt.date(2025, 3, 7))["escalated"] == 1
    with freeze_time("2025-03-10 10:00:00+08:00"):  # the case is due 17 March: still in time
        perform(head, case.number or "", "extend", {"days": 5, "reason": "需现场核查"})
    task.refresh_from_db()
    assert task.due_date == dt.date(2025, 3, 13)
    assert apply_timeouts(dt.date(2025, 3, 13)) == {}  # due today
    assert apply_timeouts(dt.date(2025, 3, 14)) == {"escalated": 1}
    assert apply_timeouts(dt.date(2025, 3, 17)) == {}
    assert _escalations(case) == ["2025-03-06", "2025-03-13"]


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
@pytest.mark.parametrize("timeouts_first", [True, False])
def test_an_escalate_on_timeout_task_is_escalated_once_not_twice(
    tmp_path: Path, timeouts_first: bool
) -> None:
    """On 7 March both stage-1 tasks are overdue. The 食品安全审查 escalates on timeout: its head
    and the supervisors get the 超时督办 alone (naming how late it is), not a 红牌督办 besides,
    whichever sweep runs first; the 消防 check (deemed approved on timeout) still gets its 红牌
    when the warning sweep finds it open."""
    from tongban.cases.deadlines import warn_and_escalate
    from tongban.notifications.models import Notification

    case = accepted_case(tmp_path)
    scjg = Department.objects.get(code="3301-SCJG")
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    ga_head = StaffUserFactory(
        department=Department.objects.get(code="3301-GA"), roles=["department_head"]
    )
    supervisor = province_supervisor()
    today = dt.date(2025, 3, 7)
    if timeouts_first:
        apply_timeouts(today)
        assert warn_and_escalate(today) == {}  # the 消防 check was deemed approved
    else:
        assert warn_and_escalate(today) == {"escalated": 1}  # the 消防 check
        apply_timeouts(today)
    warn_and_escalate(today)
    apply_timeouts(today)
    [escalation] = Notification.objects.filter(recipient=head)
    assert escalation.template == "case.timeout_escalation"
    assert "2025-03-06" in escalation.body
    assert "超期 1 个工作日" in escalation.body
    # the review was due on 6 March, the 消防 check on 5 March
    about_review = Notification.objects.filter(recipient=supervisor, body__contains="2025-03-06")
    assert list(about_review.values_list("template", flat=True)) == ["case.timeout_escalation"]
    ga_red = Notification.objects.filter(recipient=ga_head, template="case.task_overdue")
    assert ga_red.count() == (0 if timeouts_first else 1)
    assert case.events.filter(action="timeout_escalation").count() == 1


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_one_task_failing_does_not_stop_the_sweep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cases' 消防 checks are past their deadline; deeming the second one approved fails
    with an unexpected error. That task is rolled back alone and logged with its case number
    and id; the sweep goes on with the other tasks, and the next run deems it approved."""
    from structlog.testing import capture_logs

    first, second = accepted_case(tmp_path), another_accepted_case()
    second_ga = second.tasks.get(department__code="3301-GA")
    real = deadlines.update_then_insert

    def failing(updates: Any, event: Any) -> Any:
        written = real(updates, event)
        if event.case_id == second.pk:
            raise RuntimeError("disk full")
        return written

    monkeypatch.setattr(deadlines, "update_then_insert", failing)
    with capture_logs() as logs:
        report = apply_timeouts(dt.date(2025, 3, 6))  # the 消防 checks (due 5 March) only
    assert report == {"deemed_approved": 1, "failed": 1}
    [failure] = [e for e in logs if e["event"] == "cases.timeout_failed"]
    assert (failure["case"], failure["task"]) == (second.number, second_ga.pk)
    assert failure["log_level"] == "error"
    second_ga.refresh_from_db()
    assert second_ga.state == TaskState.OPEN  # nothing half-written
    assert not second.events.filter(action="deemed_approval").exists()
    assert first.events.filter(action="deemed_approval").count() == 1

    monkeypatch.setattr(deadlines, "update_then_insert", real)
    assert apply_timeouts(dt.date(2025, 3, 6)) == {"deemed_approved": 1}  # retried
    assert apply_timeouts(dt.date(2025, 3, 6)) == {}
    second_ga.refresh_from_db()
    assert second_ga.state == TaskState.APPROVED


@pytest.mark.django_db
@freeze_time("2025-03-03 10:00:00+08:00")  # Monday
def test_tasks_escalated_before_the_upgrade_keep_the_deadline_they_were_escalated_for(
    tmp_path: Path,
) -> None:
    """The upgrade reads which deadline an earlier escalation was for from its event: a task
    escalated for 6 March whose deadline has moved since is escalated again for the new one,
    one escalated for its present deadline is not."""
    import importlib

    from django.apps import apps

    from tongban.cases import events
    from tongban.cases.models import CaseTask

    backfill = importlib.import_module(
        "tongban.cases.migrations.0015_task_escalated_due_date"
    ).from_events
    moved, kept = accepted_case(tmp_path), another_accepted_case()
    for case, due in ((moved, dt.date(2025, 3, 11)), (kept, dt.date(2025, 3, 6))):
        task = case.tasks.get(department__code="3301-SCJG", stage=1)
        events.record(case, "timeout_escalation", None, task=task, data={"due_date": "2025-03-06"})
        CaseTask.objects.filter(pk=task.pk).update(
            escalated_at=dt.datetime(2025, 3, 7, tzinfo=dt.UTC), due_date=due
        )
    backfill(apps, None)
    assert apply_timeouts(dt.date(2025, 3, 12)) == {"deemed_approved": 2, "escalated": 1}
    assert _escalations(Case.objects.get(pk=moved.pk)) == ["2025-03-06", "2025-03-11"]
    assert _escalations(Case.objects.get(pk=kept.pk)) == ["2025-03-06"]
