"""红黄牌 on a case's own deadlines: the 预审 period of a submitted case warns the window and
escalates to the head and supervisors; the due date of an accepted case warns the head (who
decides) and escalates likewise — each once per deadline and recipient, a moved deadline afresh,
and nothing while the clock is stopped (中止) or the applicant is correcting (补正)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory, answer_correction
from tongban.cases import deadlines
from tongban.cases.deadlines import warn_and_escalate
from tongban.cases.models import Case, CaseState, TaskState
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.identity.models import Department, Division
from tongban.notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with freeze_time("2025-03-03 10:00:00+08:00"):  # Monday
        yield


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        district = Department.objects.get(code="330106-SCJG")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.district_window = StaffUserFactory(department=district, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga = StaffUserFactory(department=ga, roles=["reviewer"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.ga_head = StaffUserFactory(department=ga, roles=["department_head"])
        self.district_head = StaffUserFactory(department=district, roles=["department_head"])
        province = Department.objects.create(
            code="33-ZWB", name="浙江省政务服务中心", division=Division.objects.get(code="330000")
        )
        self.supervisor = StaffUserFactory(department=province, roles=["supervisor"])
        self.district_supervisor = StaffUserFactory(department=district, roles=["supervisor"])

    def submitted(self) -> Case:
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"entity": "individual"},
        )
        return submit_draft(self.applicant, draft.pk)

    def awaiting_decision(self) -> Case:
        """Accepted on Monday 3 March (due in 10 working days: Monday 17 March), every review
        done the same day."""
        return self.awaiting_decision_on("2025-03-17")

    def awaiting_decision_on(self, due: str) -> Case:
        """Accepted today, every review done the same day; due on ``due``."""
        case = self.submitted()
        number = case.number or ""
        perform(self.window, number, "accept")
        for _stage in (1, 2):
            for task in Case.objects.get(pk=case.pk).tasks.filter(state=TaskState.OPEN):
                who = self.ga if task.department.code == "3301-GA" else self.reviewer
                perform(who, number, "approve_task", {"task": task.pk})
        case.refresh_from_db()
        assert case.state == CaseState.AWAITING_DECISION
        assert case.due_date == dt.date.fromisoformat(due)
        return case


@pytest.fixture
def people(tmp_path: Path) -> People:
    import_catalog(sample(tmp_path))
    return People()


def messages(user: object, template: str) -> list[Notification]:
    return list(Notification.objects.filter(recipient=user, template=template).order_by("id"))


# --- 预审 -------------------------------------------------------------------------------------------


def test_intake_yellow_warns_the_window_once(people: People) -> None:
    case = people.submitted()  # the 预审 period ends five working days on: Monday 10 March
    assert warn_and_escalate(dt.date(2025, 3, 5)) == {}  # 3 working days left: green
    assert warn_and_escalate(dt.date(2025, 3, 6)) == {"intake_warned": 1}
    assert warn_and_escalate(dt.date(2025, 3, 7)) == {"intake_warned": 1}  # still yellow …
    [warning] = messages(people.window, "case.intake_warning")  # … but told once
    assert "2025-03-10" in warning.body
    assert (case.number or "") in warning.body
    # the window of the division the case was filed in; nobody else yet
    assert Notification.objects.filter(template="case.intake_warning").count() == 1
    assert not messages(people.district_window, "case.intake_warning")


def test_intake_red_escalates_to_head_and_supervisors_once(people: People) -> None:
    people.submitted()
    assert warn_and_escalate(dt.date(2025, 3, 11)) == {"intake_escalated": 1}
    warn_and_escalate(dt.date(2025, 3, 12))
    assert len(messages(people.head, "case.intake_overdue")) == 1
    assert len(messages(people.supervisor, "case.intake_overdue")) == 1
    escalated = Notification.objects.filter(template="case.intake_overdue")
    assert set(escalated.values_list("recipient", flat=True)) == {
        people.head.pk,
        people.supervisor.pk,
    }  # not the other departments' heads, not the district's supervisor


def test_a_correction_stops_the_intake_watch_and_new_materials_restart_it(people: People) -> None:
    case = people.submitted()
    number = case.number or ""
    items = [{"material": "application", "problem": "缺少签字"}]
    perform(people.window, number, "request_correction", {"items": items})
    assert warn_and_escalate(dt.date(2025, 3, 20)) == {}  # with the applicant: not timed
    with freeze_time("2025-03-20 09:00:00+08:00"):  # Thursday: the period runs to 27 March
        answer_correction(people.applicant, number, "application")
    assert warn_and_escalate(dt.date(2025, 3, 21)) == {}
    assert warn_and_escalate(dt.date(2025, 3, 25)) == {"intake_warned": 1}
    [warning] = messages(people.window, "case.intake_warning")
    assert "2025-03-27" in warning.body


# --- the decision ---------------------------------------------------------------------------------


def test_decision_yellow_warns_the_head_and_red_escalates_once(people: People) -> None:
    case = people.awaiting_decision()
    assert warn_and_escalate(dt.date(2025, 3, 12)) == {}  # 3 working days left: green
    assert warn_and_escalate(dt.date(2025, 3, 13)) == {"decision_warned": 1}
    warn_and_escalate(dt.date(2025, 3, 14))
    [warning] = messages(people.head, "case.case_warning")
    assert "2025-03-17" in warning.body
    assert "待决定" in warning.body
    assert not messages(people.reviewer, "case.case_warning")
    assert not messages(people.supervisor, "case.case_warning")

    assert warn_and_escalate(dt.date(2025, 3, 18)) == {"decision_escalated": 1}
    warn_and_escalate(dt.date(2025, 3, 19))
    assert len(messages(people.head, "case.case_overdue")) == 1
    assert len(messages(people.supervisor, "case.case_overdue")) == 1
    for outsider in (people.ga_head, people.district_head, people.district_supervisor):
        assert not Notification.objects.filter(recipient=outsider).exists()

    with freeze_time("2025-03-19 16:00:00+08:00"):  # its 送达 period runs to 2 April
        perform(people.head, case.number or "", "decide", {"outcome": "approved"})
    assert warn_and_escalate(dt.date(2025, 3, 20)) == {}  # decided: no longer timed


def test_a_moved_deadline_is_watched_afresh(people: People) -> None:
    case = people.awaiting_decision()
    warn_and_escalate(dt.date(2025, 3, 13))
    with freeze_time("2025-03-13 10:00:00+08:00"):
        perform(people.head, case.number or "", "extend", {"days": 5, "reason": "需现场核查"})
    case.refresh_from_db()
    assert case.due_date == dt.date(2025, 3, 24)
    assert warn_and_escalate(dt.date(2025, 3, 14)) == {}  # green again
    assert warn_and_escalate(dt.date(2025, 3, 20)) == {"decision_warned": 1}
    warnings = messages(people.head, "case.case_warning")
    assert [("2025-03-17" in w.body, "2025-03-24" in w.body) for w in warnings] == [
        (True, False),
        (False, True),
    ]


def test_a_case_in_review_is_timed_by_its_due_date_too(people: People) -> None:
    case = people.submitted()
    perform(people.window, case.number or "", "accept")
    report = warn_and_escalate(dt.date(2025, 3, 18))
    assert report["decision_escalated"] == 1
    assert report["escalated"] == 2  # and its overdue stage-1 tasks, as before
    assert len(messages(people.head, "case.case_overdue")) == 1


def test_nothing_is_watched_while_the_clock_is_stopped(people: People) -> None:
    case = people.awaiting_decision()
    number = case.number or ""
    perform(people.head, number, "suspend", {"kind": "expert_review", "reason": "专家评审"})
    assert warn_and_escalate(dt.date(2025, 3, 13)) == {}
    assert warn_and_escalate(dt.date(2025, 3, 20)) == {}
    assert not Notification.objects.filter(template__startswith="case.case_").exists()
    with freeze_time("2025-03-20 10:00:00+08:00"):  # 13 working days stopped: due 3 April
        perform(people.head, number, "resume")
    case.refresh_from_db()
    assert case.due_date == dt.date(2025, 4, 3)
    assert warn_and_escalate(dt.date(2025, 4, 2)) == {"decision_warned": 1}


# --- 送达 -------------------------------------------------------------------------------------------


def test_delivery_yellow_warns_the_window_and_red_escalates_once(people: People) -> None:
    """Decided on Monday 3 March: the result is to be delivered within ten working days (行政许可法
    第四十四条), by Monday 17 March. The window (who delivers) is warned, then the head and the
    supervisors are told it is late — each once; delivered, the case is no longer watched."""
    case = people.awaiting_decision()
    number = case.number or ""
    perform(people.head, number, "decide", {"outcome": "approved"})
    assert warn_and_escalate(dt.date(2025, 3, 12)) == {}  # 3 working days left: green
    assert warn_and_escalate(dt.date(2025, 3, 13)) == {"delivery_warned": 1}
    assert warn_and_escalate(dt.date(2025, 3, 14)) == {"delivery_warned": 1}  # still yellow …
    [warning] = messages(people.window, "case.delivery_warning")  # … but told once
    assert "2025-03-17" in warning.body
    assert number in warning.body
    assert Notification.objects.filter(template="case.delivery_warning").count() == 1
    assert not messages(people.district_window, "case.delivery_warning")

    assert warn_and_escalate(dt.date(2025, 3, 18)) == {"delivery_escalated": 1}
    warn_and_escalate(dt.date(2025, 3, 19))
    [overdue] = messages(people.head, "case.delivery_overdue")
    assert "2025-03-17" in overdue.body
    assert "超期 1 个工作日" in overdue.body
    assert len(messages(people.supervisor, "case.delivery_overdue")) == 1
    escalated = Notification.objects.filter(template="case.delivery_overdue")
    assert set(escalated.values_list("recipient", flat=True)) == {
        people.head.pk,
        people.supervisor.pk,
    }

    perform(people.window, number, "deliver", {"method": "pickup"})
    assert warn_and_escalate(dt.date(2025, 3, 20)) == {}  # delivered: no longer watched


def test_a_case_delivered_while_the_sweep_runs_is_not_reported(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tongban.cases.deadlines import _Recipients

    case = people.awaiting_decision()
    number = case.number or ""
    perform(people.head, number, "decide", {"outcome": "approved"})
    real = _Recipients.escalation

    def delivered_meanwhile(self: _Recipients, case_: Case, department_id: int) -> list[object]:
        perform(people.window, number, "deliver", {"method": "electronic"})
        return real(self, case_, department_id)

    monkeypatch.setattr(_Recipients, "escalation", delivered_meanwhile)
    assert warn_and_escalate(dt.date(2025, 3, 18)) == {"changed_meanwhile": 1}
    assert not Notification.objects.filter(template="case.delivery_overdue").exists()


# --- one failure ----------------------------------------------------------------------------------


def test_one_case_failing_does_not_stop_the_sweep(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two submitted cases are yellow; warning about the second fails with an unexpected error
    after one message was queued. That case is rolled back alone and logged with its number;
    the sweep warns about the first, and the next sweep warns about the second, once."""
    from structlog.testing import capture_logs

    first, second = people.submitted(), people.submitted()
    real = deadlines.queue_notification

    def failing(user: Any, template: str, context: Any, *args: Any, **kwargs: Any) -> Any:
        written = real(user, template, context, *args, **kwargs)
        if context["number"] == second.number:
            raise RuntimeError("outbox full")
        return written

    monkeypatch.setattr(deadlines, "queue_notification", failing)
    with capture_logs() as logs:
        assert warn_and_escalate(dt.date(2025, 3, 6)) == {"intake_warned": 1, "failed": 1}
    [failure] = [e for e in logs if e["event"] == "cases.deadline_warning_failed"]
    assert (failure["case"], failure["case_id"]) == (second.number, second.pk)
    assert (failure["phase"], failure["log_level"]) == ("intake", "error")
    [warning] = messages(people.window, "case.intake_warning")  # nothing half-written
    assert (first.number or "") in warning.body

    monkeypatch.setattr(deadlines, "queue_notification", real)
    assert warn_and_escalate(dt.date(2025, 3, 6)) == {"intake_warned": 2}
    warnings = messages(people.window, "case.intake_warning")
    assert [(second.number or "") in w.body for w in warnings] == [False, True]  # once each


# --- past the known calendar ------------------------------------------------------------------------


@pytest.mark.shipped_calendar  # the known calendar ends on 31 December 2026
def test_overdue_work_is_still_escalated_once_today_is_past_the_known_calendar(
    people: People,
) -> None:
    """Nobody entered 2027 yet. A case due on 28 December 2026 is overdue on 5 January 2027
    whatever the new year's holidays: it stays red and is escalated, and the message says that
    the working days overdue cannot be counted instead of guessing a number."""
    with freeze_time("2026-12-14 10:00:00+08:00"):  # Monday: due 10 working days on, 28 Dec
        case = people.awaiting_decision_on("2026-12-28")
    report = warn_and_escalate(dt.date(2027, 1, 5))
    assert report["decision_escalated"] == 1
    [escalation] = messages(people.head, "case.case_overdue")
    assert (case.number or "") in escalation.body
    assert "2026-12-28" in escalation.body
    assert "超期 0 个工作日" not in escalation.body
    assert "无法计算" in escalation.body
    assert len(messages(people.supervisor, "case.case_overdue")) == 1
