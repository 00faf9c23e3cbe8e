"""容缺受理 reminders (``tongban.cases.reminders``): the applicant is reminded N working days
before a tolerated material is due and on the due date (in-app and SMS), the window is told once
it is overdue, nothing is sent for materials handed in or cases no longer waiting, nothing at
night — and each reminder exactly once, when the job runs again, when two run at once and when a
worker dies half-way."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from freezegun import freeze_time

from tests.catalog_fixtures import BODIES, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases import reminders
from tongban.cases.materials import check_attach_material
from tongban.cases.models import Case, ToleratedMaterial, ToleratedReminder
from tongban.cases.reminders import reminder_due, send_tolerated_reminders
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.tasks import periodic_jobs
from tongban.identity.models import Department
from tongban.notifications.models import Notification
from tongban.workdays.services import do_sync_chinese_calendar

DRAINAGE = """\
schema: tongban-catalog/1
items:
  - code: SW-DRAIN-001
    name: 城镇污水排入排水管网许可
    type: licensing
    department: 3301-SCJG
    legal_basis: 《城镇排水与污水处理条例》第二十一条
    acceptance_conditions: 排水户符合排水管理要求
    statutory_limit_days: 15
    promised_limit_days: 5
    applicant_types: [enterprise, person]
    allows_tolerance: true
    materials:
      - {key: application, name: 排水许可申请表}
      - {key: water_report, name: 排水水质检测报告, requirement: tolerable}
      - {key: pipe_photo, name: 排水口照片, requirement: tolerable}
"""
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
TOLERABLE = {"water_report", "pipe_photo"}
ACCEPTED = "2025-03-03 10:00:00+08:00"  # Monday; 5 working days → due Monday 10 March


def at(day: str, hour: int = 10) -> Any:
    return freeze_time(f"{day} {hour:02d}:00:00+08:00")


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        district = Department.objects.get(code="330106-SCJG")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.district_window = StaffUserFactory(department=district, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])

    def accepted(self, tolerated: list[str], days: int = 5) -> Case:
        """Accepted with ``tolerated`` missing; the other 容缺 materials were handed in."""
        with freeze_time(ACCEPTED):
            draft = check_create_draft(
                self.applicant, item_code="SW-DRAIN-001", division_code="330100"
            )
            for key in sorted(TOLERABLE - set(tolerated)):
                check_attach_material(self.applicant, draft.pk, key, f"{key}.pdf", PDF)
            case = submit_draft(self.applicant, draft.pk)
            return perform(
                self.window,
                case.number or "",
                "accept",
                {"tolerated": tolerated, "tolerance_days": days},
            )


def setup(tmp_path: Path, settings: Any) -> People:
    settings.MEDIA_ROOT = tmp_path / "media"
    import_catalog(write_catalog(tmp_path / "catalog", bodies=BODIES, drainage=DRAINAGE))
    return People()


@pytest.fixture
def people(tmp_path: Path, settings: Any, db: Any) -> People:
    return setup(tmp_path, settings)


def sent(template: str | None = None, **filters: Any) -> list[tuple[Any, str]]:
    rows = Notification.objects.filter(template__startswith="case.tolerated", **filters)
    if template:
        rows = rows.filter(template=template)
    return sorted((row.recipient_id, row.channel) for row in rows)


# --- when ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "left", "expected"),
    [
        (dt.date(2025, 3, 7), 4, None),
        (dt.date(2025, 3, 7), 2, "before_due"),
        (dt.date(2025, 3, 3), 0, "due_today"),
        (dt.date(2025, 3, 2), None, "overdue"),
        (dt.date(2025, 3, 7), None, None),  # past the known calendar: never a guess
    ],
)
def test_which_reminder_is_due(due: dt.date, left: int | None, expected: str | None) -> None:
    assert reminder_due(due, dt.date(2025, 3, 3), left, 2) == expected
    assert reminder_due(due, dt.date(2025, 3, 3), left, 0) in (None, "due_today", "overdue")


def test_the_job_is_registered_hourly() -> None:
    job = periodic_jobs.get("cases.tolerated_reminders")
    assert job.every == dt.timedelta(hours=1)


def test_reminders_before_on_and_after_the_due_date(people: People) -> None:
    case = people.accepted(["water_report"])
    material = case.tolerated.get()
    assert material.due_date == dt.date(2025, 3, 10)
    applicant, window = people.applicant.pk, people.window.pk
    with at("2025-03-05"):  # Wednesday: 3 working days left
        assert send_tolerated_reminders() == {}
    with at("2025-03-06"):  # Thursday: Friday and Monday left
        assert send_tolerated_reminders() == {"before_due": 1}
        assert send_tolerated_reminders() == {"already_sent": 1}
    assert sent("case.tolerated_due_soon") == [(applicant, "in_app"), (applicant, "sms")]
    soon = Notification.objects.get(template="case.tolerated_due_soon", channel="sms")
    assert "排水水质检测报告" in soon.body
    assert "2025-03-10" in soon.body
    assert "还剩 2 个工作日" in soon.body
    assert soon.address == people.applicant.person.mobile
    with at("2025-03-08"):  # Saturday: nothing new
        assert send_tolerated_reminders() == {"already_sent": 1}
    with at("2025-03-10"):
        assert send_tolerated_reminders() == {"due_today": 1}
        send_tolerated_reminders()
    assert sent("case.tolerated_due_today") == [(applicant, "in_app"), (applicant, "sms")]
    with at("2025-03-11"):
        assert send_tolerated_reminders() == {"overdue": 1}
    with at("2025-03-12"):
        assert send_tolerated_reminders() == {}  # the overdue notice is not looked at again
    assert sent("case.tolerated_overdue") == [(window, "in_app")]
    overdue = Notification.objects.get(template="case.tolerated_overdue")
    assert case.number in overdue.body
    assert not Notification.objects.filter(recipient=people.district_window).exists()
    assert not Notification.objects.filter(recipient=people.reviewer).exists()
    kinds = sorted(material.reminders.values_list("kind", flat=True))
    assert kinds == ["before_due", "due_today", "overdue"]


def test_a_missed_early_reminder_is_caught_up_before_the_due_date(people: People) -> None:
    people.accepted(["water_report"])
    with at("2025-03-07"):  # the job did not run on Thursday
        assert send_tolerated_reminders() == {"before_due": 1}


def test_nothing_for_materials_handed_in_or_cases_no_longer_waiting(people: People) -> None:
    handed_in = people.accepted(["water_report"])
    withdrawn = people.accepted(["water_report"])
    with at("2025-03-04"):
        check_attach_material(people.applicant, handed_in.pk, "water_report", "r.pdf", PDF)
        perform(people.applicant, withdrawn.number or "", "withdraw", {"reason": "不办了"})
    for day in ("2025-03-06", "2025-03-10", "2025-03-11"):
        with at(day):
            assert send_tolerated_reminders() == {}
    assert sent() == []
    assert not ToleratedReminder.objects.exists()


def send_back_to_intake(people: People, case: Case) -> None:
    with at("2025-03-05"):
        perform(people.window, case.number or "", "send_back", {"to": "intake", "reason": "重审"})


def test_accepting_again_after_a_send_back_tolerates_afresh(people: People) -> None:
    """退回 to 预审 undoes the acceptance and its 容缺: accepting again with the same material
    tolerated works and gives it the new due date; the old one is not reminded of."""
    case = people.accepted(["water_report"])
    send_back_to_intake(people, case)
    with at("2025-03-05"):
        perform(
            people.window,
            case.number or "",
            "accept",
            {"tolerated": ["water_report"], "tolerance_days": 5},
        )
    current = case.tolerated.current().get()
    assert (current.material_key, current.due_date) == ("water_report", dt.date(2025, 3, 12))
    undone = case.tolerated.exclude(pk=current.pk).get()
    assert undone.superseded_at is not None
    assert undone.due_date == dt.date(2025, 3, 10)
    with at("2025-03-10"):  # the undone acceptance's due date: only the new one's reminder
        assert send_tolerated_reminders() == {"before_due": 1}
    assert list(ToleratedReminder.objects.values_list("material_id", flat=True)) == [current.pk]
    with at("2025-03-06"):  # handing it in supplies the current row
        check_attach_material(people.applicant, case.pk, "water_report", "r.pdf", PDF)
    current.refresh_from_db()
    undone.refresh_from_db()
    assert current.supplied_at is not None
    assert undone.supplied_at is None


def test_accepting_again_without_tolerance_leaves_nothing_awaited(people: People) -> None:
    """Accepted again with every material present: nothing blocks 送达, nobody is reminded."""
    case = people.accepted(["water_report"])
    send_back_to_intake(people, case)
    number = case.number or ""
    head = StaffUserFactory(
        department=Department.objects.get(code="3301-SCJG"), roles=["department_head"]
    )
    with at("2025-03-05"):
        check_attach_material(people.applicant, case.pk, "water_report", "r.pdf", PDF)
        case = perform(people.window, number, "accept")
    for day in ("2025-03-06", "2025-03-10", "2025-03-11"):
        with at(day):
            assert send_tolerated_reminders() == {}
    assert sent() == []
    with at("2025-03-11"):
        task = case.tasks.current().get()
        perform(people.reviewer, number, "approve_task", {"task": task.pk})
        perform(head, number, "decide", {"outcome": "approved"})
        case = perform(people.window, number, "deliver", {"method": "electronic"})
    assert case.state == "delivered"


def test_nothing_at_night(people: People) -> None:
    people.accepted(["water_report"])
    with at("2025-03-10", hour=6):
        assert send_tolerated_reminders() == {"quiet_hours": 1}
    with at("2025-03-10", hour=21):
        assert send_tolerated_reminders() == {"quiet_hours": 1}
    assert sent() == []
    with at("2025-03-10", hour=8):
        assert send_tolerated_reminders() == {"due_today": 1}


def test_the_lead_follows_the_setting(people: People, settings: Any) -> None:
    people.accepted(["water_report"])
    settings.TONGBAN_TOLERATED_REMINDER_WORKDAYS = 0
    with at("2025-03-07"):
        assert send_tolerated_reminders() == {}
    settings.TONGBAN_TOLERATED_REMINDER_WORKDAYS = 4
    with at("2025-03-04"):  # Wed, Thu, Fri, Mon left
        assert send_tolerated_reminders() == {"before_due": 1}


def test_the_window_of_a_division_above_when_the_own_has_none(
    tmp_path: Path, settings: Any, db: Any
) -> None:
    people = setup(tmp_path, settings)
    case = people.accepted(["water_report"])
    Case.objects.filter(pk=case.pk).update(
        division=Department.objects.get(code="330106-SCJG").division
    )
    people.district_window.staff_roles.all().delete()
    with at("2025-03-11"):
        assert send_tolerated_reminders() == {"overdue": 1}
    assert sent("case.tolerated_overdue") == [(people.window.pk, "in_app")]


# --- exactly once -------------------------------------------------------------------------------


class WorkerKilled(BaseException):
    """Stands for a worker dying in the middle of the job (not an ordinary error: the sweep
    does not carry on past it)."""


def test_a_worker_dying_half_way_leaves_nothing_half_sent(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two materials fall due; the worker dies while queueing the second one's SMS. The first
    reminder is complete, the second left no trace; the next run sends the second only."""
    people.accepted(["water_report", "pipe_photo"])
    first, second = ToleratedMaterial.objects.order_by("id")
    real = reminders.queue_notification
    calls: list[str] = []

    def dying(user: Any, template: str, context: Any, channels: Any, dedupe_key: str) -> Any:
        calls.append(dedupe_key)
        if dedupe_key.startswith(f"tolerated:{second.pk}:"):
            real(user, template, context, ["in_app"], dedupe_key=dedupe_key)  # half written
            raise WorkerKilled
        return real(user, template, context, channels, dedupe_key=dedupe_key)

    with at("2025-03-10"):
        monkeypatch.setattr(reminders, "queue_notification", dying)
        with pytest.raises(WorkerKilled):
            send_tolerated_reminders()
        assert list(ToleratedReminder.objects.values_list("material_id", "kind")) == [
            (first.pk, "due_today")
        ]
        assert Notification.objects.filter(dedupe_key__contains=f":{second.pk}:").count() == 0
        assert Notification.objects.filter(dedupe_key__contains=f":{first.pk}:").count() == 2

        monkeypatch.setattr(reminders, "queue_notification", real)
        assert send_tolerated_reminders() == {"already_sent": 1, "due_today": 1}
        assert send_tolerated_reminders() == {"already_sent": 2}
    for material in (first, second):
        rows = Notification.objects.filter(dedupe_key__contains=f"tolerated:{material.pk}:")
        assert sorted(rows.values_list("channel", flat=True)) == ["in_app", "sms"]
    assert ToleratedReminder.objects.count() == 2


def test_one_reminder_failing_does_not_stop_the_sweep(
    people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two cases' materials fall due; queueing the second one's SMS fails with an unexpected
    error. That reminder is rolled back alone (no ledger row, not its in-app message either)
    and logged with its case; the first is sent, and the next run sends the second."""
    from structlog.testing import capture_logs

    people.accepted(["water_report"])
    second_case = people.accepted(["water_report"])
    first, second = ToleratedMaterial.objects.order_by("id")
    assert second.case_id == second_case.pk
    real = reminders.queue_notification

    def failing(user: Any, template: str, context: Any, channels: Any, dedupe_key: str) -> Any:
        if dedupe_key.startswith(f"tolerated:{second.pk}:"):
            real(user, template, context, ["in_app"], dedupe_key=dedupe_key)  # half written
            raise RuntimeError("SMS gateway table missing")
        return real(user, template, context, channels, dedupe_key=dedupe_key)

    with at("2025-03-10"):
        monkeypatch.setattr(reminders, "queue_notification", failing)
        with capture_logs() as logs:
            assert send_tolerated_reminders() == {"due_today": 1, "failed": 1}
        [failure] = [e for e in logs if e["event"] == "cases.tolerated_reminder_failed"]
        assert (failure["case"], failure["case_id"]) == (second_case.number, second_case.pk)
        assert (failure["material"], failure["log_level"]) == (second.pk, "error")
        assert list(ToleratedReminder.objects.values_list("material_id", flat=True)) == [first.pk]
        assert not Notification.objects.filter(dedupe_key__contains=f":{second.pk}:").exists()

        monkeypatch.setattr(reminders, "queue_notification", real)
        assert send_tolerated_reminders() == {"already_sent": 1, "due_today": 1}  # retried
        assert send_tolerated_reminders() == {"already_sent": 2}
    for material in (first, second):
        rows = Notification.objects.filter(dedupe_key__contains=f"tolerated:{material.pk}:")
        assert sorted(rows.values_list("channel", flat=True)) == ["in_app", "sms"]


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_send_each_reminder_once(tmp_path: Path, settings: Any) -> None:
    do_sync_chinese_calendar()  # a transactional test starts from an emptied database
    people = setup(tmp_path, settings)
    people.accepted(["water_report", "pipe_photo"])
    barrier = threading.Barrier(2)
    reports: list[Any] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            reports.append(send_tolerated_reminders())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    with at("2025-03-10"):
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert sum(r.get("due_today", 0) for r in reports) == 2
    assert ToleratedReminder.objects.count() == 2
    assert len(sent("case.tolerated_due_today")) == 4  # 2 materials × in-app and SMS


# --- who, and for how long ------------------------------------------------------------------------


def test_an_enterprise_case_reminds_its_valid_agents_not_a_former_one(people: People) -> None:
    """The account that filed an enterprise's case hears of its 容缺 materials only while it is
    still a valid 经办人; once its authorisation is revoked, today's valid agents are reminded."""
    from django.utils import timezone

    from tests.factories import EnterpriseAgentFactory

    former = EnterpriseAgentFactory(person=people.applicant.person)
    successor = ApplicantFactory()
    EnterpriseAgentFactory(enterprise=former.enterprise, person=successor.person)
    with freeze_time(ACCEPTED):
        draft = check_create_draft(
            people.applicant,
            item_code="SW-DRAIN-001",
            division_code="330100",
            enterprise_uscc=former.enterprise.uscc,
        )
        check_attach_material(people.applicant, draft.pk, "pipe_photo", "p.pdf", PDF)
        case = submit_draft(people.applicant, draft.pk)
        perform(people.window, case.number or "", "accept", {"tolerated": ["water_report"]})
    former.revoked_at = timezone.now()
    former.save(update_fields=["revoked_at"])
    with at("2025-03-10"):
        assert send_tolerated_reminders() == {"due_today": 1}
    assert sent("case.tolerated_due_today") == [(successor.pk, "in_app"), (successor.pk, "sms")]
    assert sent(recipient=people.applicant) == []


def test_nothing_once_the_case_is_denied(people: People) -> None:
    """A 不予 decision leaves nothing to deliver: the tolerated material no longer holds the
    result back, so the applicant is not reminded of it and the window is not told."""
    case = people.accepted(["water_report"])
    head = StaffUserFactory(
        department=Department.objects.get(code="3301-SCJG"), roles=["department_head"]
    )
    number = case.number or ""
    with at("2025-03-04"):
        task = case.tasks.current().get()
        perform(people.reviewer, number, "reject_task", {"task": task.pk, "opinion": "不符合"})
        perform(
            head,
            number,
            "decide",
            {"outcome": "denied", "reason": "排水水质不达标", "legal_basis": "条例第二十一条"},
        )
    for day in ("2025-03-06", "2025-03-10", "2025-03-11"):
        with at(day):
            assert send_tolerated_reminders() == {}
    assert sent() == []
    assert not ToleratedReminder.objects.exists()
