"""告知承诺 核查: an approval on a commitment opens a verification task in the handling department,
due by the verification date; it is listed in the 待核查 queue with its traffic light, closes when
the commitment is found kept or broken, is warned about and escalated exactly once per deadline,
and only the handling department may close it. A bar imposed after the draft was made is
enforced again at submission and at approval (409 naming the bar's end)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.test import Client
from freezegun import freeze_time

from tests.catalog_fixtures import BODIES, DRAINAGE, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases import deadlines
from tongban.cases.applications import check_submit_application
from tongban.cases.deadlines import warn_and_escalate
from tongban.cases.materials import check_attach_material
from tongban.cases.models import (
    Case,
    CaseState,
    CaseTask,
    Commitment,
    CommitmentState,
    TaskKind,
    TaskState,
)
from tongban.cases.queues import QueueFilters, check_queue_access, queue_page
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import Conflict, NotFound, PermissionDenied
from tongban.identity.models import Department, Division
from tongban.notifications.models import Notification

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2025, 3, 3)
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
DUE = dt.date(2025, 3, 31)  # 20 working days after Monday 3 March 2025


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with freeze_time("2025-03-03 10:00:00+08:00"):
        yield


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.ga_reviewer = StaffUserFactory(department=ga, roles=["reviewer"])
        self.ga_head = StaffUserFactory(department=ga, roles=["department_head"])
        self.district_head = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["reviewer", "department_head"],
        )
        province = Department.objects.create(
            code="33-ZWB", name="浙江省政务服务中心", division=Division.objects.get(code="330000")
        )
        self.supervisor = StaffUserFactory(department=province, roles=["supervisor"])

    def draft(self) -> Case:
        return check_create_draft(
            self.applicant,
            item_code="SW-DRAIN-001",
            division_code="330100",
            commitment_materials=["drainage_plan"],
        )

    def submitted(self) -> Case:
        return submit_draft(self.applicant, self.draft().pk)

    def approved(self) -> Case:
        case = self.submitted()
        return perform(self.window, case.number or "", "approve_on_commitment")

    def delivered(self) -> Case:
        """Approved on the commitment and its result delivered the same day, so only the 核查
        is watched (not the 送达 period as well)."""
        case = self.approved()
        perform(self.window, case.number or "", "deliver", {"method": "electronic"})
        return case


@pytest.fixture
def people(tmp_path: Path) -> People:
    import_catalog(write_catalog(tmp_path, bodies=BODIES, drainage=DRAINAGE))
    return People()


def verification_of(case: Case) -> CaseTask:
    return CaseTask.objects.get(case=case, kind=TaskKind.VERIFICATION)


def numbers(actor: Any, **options: Any) -> list[str]:
    return [row.case.number or "" for row in queue_page(actor, "verification", **options).rows]


# --- the task -------------------------------------------------------------------------------------


def test_approval_on_a_commitment_opens_a_verification_task(people: People) -> None:
    case = people.approved()
    task = verification_of(case)
    assert (task.state, task.due_date, task.limit_days) == (TaskState.OPEN, DUE, 20)
    assert task.department.code == "3301-SCJG"  # the handling department
    assert task.on_timeout == "none"
    assert case.commitment.verification_due == DUE
    event = case.events.get(action="approve_on_commitment")
    assert event.task == task
    assert event.data["verification_due"] == DUE.isoformat()


def test_verifying_the_commitment_closes_the_task(people: People) -> None:
    case = people.approved()
    perform(people.reviewer, case.number or "", "verify_commitment", {"finding": "现场核查属实"})
    task = verification_of(case)
    assert task.state == TaskState.APPROVED
    assert (task.completed_by, task.opinion) == (people.reviewer, "现场核查属实")
    assert case.events.get(action="verify_commitment").task == task
    assert numbers(people.reviewer) == []
    with pytest.raises(Conflict) as info:
        perform(people.reviewer, case.number or "", "verify_commitment")
    assert info.value.code == "no_pending_commitment"  # checked once only


def test_a_broken_commitment_closes_the_task_and_revokes(people: People) -> None:
    case = people.approved()
    case = perform(
        people.head, case.number or "", "revoke_for_broken_commitment", {"reason": "管网未建成"}
    )
    assert (case.state, case.outcome) == (CaseState.CLOSED, "revoked")
    task = verification_of(case)
    assert (task.state, task.completed_by, task.opinion) == (
        TaskState.REJECTED,
        people.head,
        "管网未建成",
    )
    assert case.commitment.state == CommitmentState.BROKEN
    assert numbers(people.head) == []


def test_only_the_handling_department_may_close_the_task(people: People) -> None:
    case = people.approved()
    number = case.number or ""
    for outsider in (people.ga_reviewer, people.ga_head, people.district_head):
        with pytest.raises(NotFound):  # staff of another department do not even see the case
            perform(outsider, number, "verify_commitment")
        with pytest.raises(NotFound):
            perform(outsider, number, "revoke_for_broken_commitment", {"reason": "x"})
    for refused in (people.applicant, people.window):
        with pytest.raises(PermissionDenied):
            perform(refused, number, "verify_commitment")
        with pytest.raises(PermissionDenied):
            perform(refused, number, "revoke_for_broken_commitment", {"reason": "x"})
    with pytest.raises(PermissionDenied):  # a reviewer verifies; revoking is for the head
        perform(people.reviewer, number, "revoke_for_broken_commitment", {"reason": "x"})
    assert verification_of(case).state == TaskState.OPEN
    perform(people.head, number, "verify_commitment")  # the head may verify as well
    assert verification_of(case).state == TaskState.APPROVED


# --- the queue ------------------------------------------------------------------------------------


def test_the_verification_queue_lists_the_task_with_its_light(people: People) -> None:
    case = people.approved()
    for who in (people.reviewer, people.head):
        page = queue_page(who, "verification", today=MONDAY)
        assert [row.task for row in page.rows] == [verification_of(case)]
        assert page.rows[0].light == "green"
    green = queue_page(people.head, "verification", today=dt.date(2025, 3, 24)).rows
    assert [(r.light, r.signal.workdays_left) for r in green] == [("green", 5)]
    yellow = queue_page(people.reviewer, "verification", today=dt.date(2025, 3, 25)).rows
    assert [(r.light, r.signal.workdays_left) for r in yellow] == [("yellow", 4)]  # 20 % of 20
    red = queue_page(people.reviewer, "verification", today=dt.date(2025, 4, 1)).rows
    assert [(r.light, r.signal.overdue_workdays) for r in red] == [("red", 1)]
    filtered = QueueFilters(light="red")
    assert numbers(people.reviewer, filters=filtered, today=dt.date(2025, 4, 1)) == [case.number]
    assert numbers(people.reviewer, filters=filtered, today=MONDAY) == []
    # nobody else's queue, and not a review task
    assert numbers(people.ga_reviewer) == []
    assert numbers(people.district_head) == []
    assert queue_page(people.reviewer, "review").rows == []
    assert queue_page(people.head, "risk_tasks", today=dt.date(2025, 4, 1)).rows == []


def test_the_verification_queue_needs_a_verifying_role(people: People) -> None:
    people.approved()
    with pytest.raises(PermissionDenied) as info:
        check_queue_access(people.applicant, "verification")
    assert info.value.code == "staff_only"
    with pytest.raises(PermissionDenied) as info:
        check_queue_access(people.window, "verification")
    assert info.value.code == "queue_not_yours"
    assert queue_page(people.window, "verification").rows == []
    assert queue_page(people.supervisor, "verification").rows == []


def test_the_api_and_the_workbench_show_the_queue(people: People) -> None:
    case = people.approved()
    client = Client()
    client.force_login(people.reviewer)
    body = client.get("/api/v1/queues/verification").json()
    assert [(r["case"], r["task"]["kind"], r["light"]) for r in body["rows"]] == [
        (case.number, "verification", "green")
    ]
    names = {q["name"]: q for q in client.get("/api/v1/queues").json()}
    assert names["verification"]["task_kind"] == "verification"
    html = client.get("/workbench/queues/verification/").content.decode()
    for shown in (case.number or "", "核查任务", "告知承诺核查"):
        assert shown in html
    detail = client.get(f"/api/v1/cases/{case.number}").json()
    assert [t["kind"] for t in detail["tasks"]] == ["verification"]
    applicant = Client()
    applicant.force_login(people.applicant)
    assert applicant.get("/api/v1/queues/verification").status_code == 403


# --- warnings -------------------------------------------------------------------------------------


def test_yellow_warns_the_verifiers_and_red_escalates_exactly_once(people: People) -> None:
    case = people.delivered()
    assert warn_and_escalate(dt.date(2025, 3, 24)) == {}  # 5 working days left: green
    assert warn_and_escalate(dt.date(2025, 3, 25)) == {"verification_warned": 1}
    warning = Notification.objects.get(recipient=people.reviewer)
    assert warning.template == "case.verification_warning"
    assert DUE.isoformat() in warning.body
    assert (case.number or "") in warning.body
    warn_and_escalate(dt.date(2025, 3, 25))
    warn_and_escalate(dt.date(2025, 3, 26))
    assert Notification.objects.filter(recipient=people.reviewer).count() == 1  # once
    assert not Notification.objects.filter(recipient__in=[people.ga_reviewer, people.window])

    assert warn_and_escalate(dt.date(2025, 4, 1)) == {"verification_escalated": 1}
    warn_and_escalate(dt.date(2025, 4, 2))
    for escalated in (people.head, people.supervisor):
        overdue = Notification.objects.filter(
            recipient=escalated, template="case.verification_overdue"
        )
        assert overdue.count() == 1
    assert not Notification.objects.filter(recipient__in=[people.ga_head, people.district_head])

    perform(people.reviewer, case.number or "", "verify_commitment")
    assert warn_and_escalate(dt.date(2025, 4, 3)) == {}  # closed: watched no more


def test_one_task_failing_does_not_stop_the_warnings(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cases' 核查 tasks are yellow; warning about the second fails with an unexpected
    error. That task is rolled back alone and logged with its case and task; the first is
    warned about, and the next sweep warns about the second, once."""
    from structlog.testing import capture_logs

    first, second = people.delivered(), people.delivered()
    task = verification_of(second)
    real = deadlines.queue_notification

    def failing(user: Any, template: str, context: Any, *args: Any, **kwargs: Any) -> Any:
        if context["number"] == second.number:
            raise RuntimeError("outbox full")
        return real(user, template, context, *args, **kwargs)

    monkeypatch.setattr(deadlines, "queue_notification", failing)
    with capture_logs() as logs:
        report = warn_and_escalate(dt.date(2025, 3, 25))
    assert report == {"verification_warned": 1, "failed": 1}
    [failure] = [e for e in logs if e["event"] == "cases.deadline_warning_failed"]
    assert (failure["case"], failure["case_id"], failure["task"]) == (
        second.number,
        second.pk,
        task.pk,
    )
    [warning] = Notification.objects.filter(recipient=people.reviewer)
    assert (first.number or "") in warning.body

    monkeypatch.setattr(deadlines, "queue_notification", real)
    assert warn_and_escalate(dt.date(2025, 3, 25)) == {"verification_warned": 2}
    warnings = Notification.objects.filter(recipient=people.reviewer).order_by("id")
    assert [(second.number or "") in w.body for w in warnings] == [False, True]  # once each


# --- the bar --------------------------------------------------------------------------------------


def _break_a_commitment(people: People) -> None:
    broken = people.approved()
    perform(people.head, broken.number or "", "revoke_for_broken_commitment", {"reason": "不实"})


def test_a_bar_imposed_after_the_draft_refuses_the_submission(people: People) -> None:
    draft = people.draft()
    _break_a_commitment(people)
    with pytest.raises(Conflict) as info:
        submit_draft(people.applicant, draft.pk)
    assert info.value.code == "commitment_barred"
    assert "2028年03月03日" in info.value.message
    assert Case.objects.get(pk=draft.pk).state == CaseState.DRAFT
    with freeze_time("2028-03-04 10:00:00+08:00"):  # the bar has ended
        assert submit_draft(people.applicant, draft.pk).state == CaseState.SUBMITTED


def test_a_bar_imposed_after_the_draft_refuses_the_complete_submission(
    people: People, settings: Any, tmp_path: Path
) -> None:
    """The portal's submission (every material checked first) refuses the route as well."""
    settings.MEDIA_ROOT = tmp_path / "media"
    draft = people.draft()
    check_attach_material(people.applicant, draft.pk, "application", "申请表.pdf", PDF)
    _break_a_commitment(people)
    with pytest.raises(Conflict) as info:
        check_submit_application(people.applicant, draft.pk)
    assert info.value.code == "commitment_barred"
    assert "2028年03月03日" in info.value.message
    client = Client()  # the API submits the same way
    client.force_login(people.applicant)
    response = client.post(f"/api/v1/cases/drafts/{draft.pk}/submit")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "commitment_barred"
    assert Case.objects.get(pk=draft.pk).state == CaseState.DRAFT


def test_a_bar_imposed_after_submission_refuses_the_approval(people: People) -> None:
    waiting = people.submitted()
    _break_a_commitment(people)
    with pytest.raises(Conflict) as info:
        perform(people.window, waiting.number or "", "approve_on_commitment")
    assert info.value.code == "commitment_barred"
    assert "2028年03月03日" in info.value.message
    waiting.refresh_from_db()
    assert waiting.state == CaseState.SUBMITTED
    assert not CaseTask.objects.filter(case=waiting).exists()
    client = Client()
    client.force_login(people.window)
    response = client.post(
        f"/api/v1/cases/{waiting.number}/approve_on_commitment", {}, content_type="application/json"
    )
    assert response.status_code == 409
    assert "2028年03月03日" in response.json()["message"]
    # the ordinary route stays open: the window accepts the case for review (its 容缺 test
    # report missing, as it was neither handed in nor committed)
    accepted = perform(
        people.window, waiting.number or "", "accept", {"tolerated": ["water_report"]}
    )
    assert accepted.state == CaseState.IN_REVIEW


# --- migration ------------------------------------------------------------------------------------


def test_the_migration_opens_tasks_for_pending_commitments(people: People) -> None:
    from importlib import import_module

    migration = import_module("tongban.cases.migrations.0012_commitment_verification_task")
    case = people.submitted()
    Commitment.objects.filter(case=case).update(state="pending", verification_due=DUE)
    Case.objects.filter(pk=case.pk).update(state=CaseState.DECIDED)
    migration.open_pending_verifications(apps, None)
    migration.open_pending_verifications(apps, None)  # once
    task = verification_of(case)
    assert (task.state, task.due_date, task.department_id) == (
        TaskState.OPEN,
        DUE,
        case.department_id,
    )
    assert [row.task for row in queue_page(people.reviewer, "verification").rows] == [task]
