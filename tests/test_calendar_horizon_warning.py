"""The calendar horizon made visible: a banner for staff on the workbench home, the 督办总览 and
the admin index while fewer than 60 days of known calendar remain (the known years are
2004–2026), the daily job that tells system administrators once a day through the outbox, and a
case action whose deadline would fall in 2027 shown to staff as a clear 409 message."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory, UserFactory
from tongban.cases.models import Case, CaseState
from tongban.cases.services import check_create_draft, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.tasks import periodic_jobs
from tongban.identity.models import Department
from tongban.notifications.models import Notification
from tongban.workdays import alerts, tasks

# these tests are about the shipped calendar's end: no test years after it
pytestmark = [pytest.mark.django_db, pytest.mark.shipped_calendar]

NEAR_THE_END = "2026-11-23 10:00:00+08:00"  # 38 days of known calendar left
MID_YEAR = "2026-06-01 10:00:00+08:00"


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(tmp_path: Path) -> dict[str, Any]:
    import_catalog(sample(tmp_path))
    scjg = Department.objects.get(code="3301-SCJG")
    return {
        "reviewer": StaffUserFactory(department=scjg, roles=["reviewer"]),
        "supervisor": StaffUserFactory(department=scjg, roles=["supervisor"]),
        "admin": StaffUserFactory(
            department=scjg, roles=["system_admin"], email="admin@example.invalid"
        ),
        "window": StaffUserFactory(department=scjg, roles=["window"]),
    }


# --- the banner ---------------------------------------------------------------------------------


def test_staff_see_the_banner_near_the_end_of_the_calendar(staff: dict[str, Any]) -> None:
    with freeze_time(NEAR_THE_END):
        html = as_user(staff["reviewer"]).get(reverse("workbench:home")).content.decode()
        assert 'id="calendar-horizon"' in html
        assert "已录入的工作日历只到 2026-12-31（还剩 38 天），2027 年的节假日安排尚未录入" in html
        assert "请联系系统管理员录入 2027 年的工作日历" in html
        admin_html = as_user(staff["admin"]).get(reverse("workbench:home")).content.decode()
        assert "tongban workdays import 2027.yaml" in admin_html
        assert reverse("admin:workdays_calendaryear_changelist") in admin_html
        overview = as_user(staff["supervisor"]).get(reverse("workbench:supervision"))
        assert 'id="calendar-horizon"' in overview.content.decode()


def test_no_banner_while_the_calendar_reaches_far_enough(staff: dict[str, Any]) -> None:
    with freeze_time(MID_YEAR):
        html = as_user(staff["reviewer"]).get(reverse("workbench:home")).content.decode()
        assert 'id="calendar-horizon"' not in html


def test_the_banner_once_the_calendar_has_run_out(staff: dict[str, Any]) -> None:
    with freeze_time("2027-01-05 10:00:00+08:00"):
        html = as_user(staff["reviewer"]).get(reverse("workbench:home")).content.decode()
        assert "工作日历已用完：2027 年的节假日安排尚未录入" in html


def test_applicants_never_see_it(staff: dict[str, Any]) -> None:
    with freeze_time(NEAR_THE_END):
        html = as_user(ApplicantFactory()).get(reverse("portal:home")).content.decode()
        assert 'id="calendar-horizon"' not in html


def test_the_admin_index_warns_too(staff: dict[str, Any]) -> None:
    with freeze_time(NEAR_THE_END):
        html = as_user(staff["admin"]).get(reverse("admin:index")).content.decode()
        assert 'id="calendar-horizon"' in html
        assert "tongban workdays import 2027.yaml" in html
    with freeze_time(MID_YEAR):
        html = as_user(staff["admin"]).get(reverse("admin:index")).content.decode()
        assert 'id="calendar-horizon"' not in html


# --- the daily job ------------------------------------------------------------------------------


def test_the_job_is_registered_daily() -> None:
    job = periodic_jobs.get("workdays.calendar_horizon")
    assert job.every == dt.timedelta(days=1)
    assert job.task is tasks.warn_calendar_horizon


def test_administrators_are_told_once_a_day_while_it_holds(staff: dict[str, Any]) -> None:
    superuser = UserFactory(is_superuser=True, is_staff=True, kind="staff")
    with freeze_time(NEAR_THE_END):
        assert tasks.warn_calendar_horizon.call() == {"warned": 2}
        assert alerts.alert_calendar_horizon() == {"warned": 2}  # again the same day
        rows = Notification.objects.filter(template=alerts.TEMPLATE)
        assert sorted((r.recipient_id, r.channel) for r in rows) == sorted(
            [
                (staff["admin"].pk, "in_app"),
                (staff["admin"].pk, "email"),
                (superuser.pk, "in_app"),
            ]
        )
        message = rows.get(recipient=staff["admin"], channel="in_app")
        assert "2027" in message.subject
        assert "tongban workdays import 2027.yaml" in message.body
        assert "还剩 38 天" in message.body
        assert not Notification.objects.filter(recipient=staff["reviewer"]).exists()
    with freeze_time("2026-11-24 10:00:00+08:00"):
        alerts.alert_calendar_horizon()
        assert Notification.objects.filter(template=alerts.TEMPLATE, channel="in_app").count() == 4
    with freeze_time(MID_YEAR):
        assert alerts.alert_calendar_horizon(dt.date(2026, 6, 1)) == {"warned": 0}
    assert Notification.objects.filter(template=alerts.TEMPLATE).count() == 6


# --- a deadline past the known calendar on the case page ------------------------------------------


def test_an_action_whose_deadline_falls_in_an_unknown_year_is_a_clear_409(
    staff: dict[str, Any],
) -> None:
    """Accepted on 28 December 2026, ten working days reach into 2027, which nobody has entered:
    the window sees why, in words, and nothing changes."""
    applicant = ApplicantFactory()
    with freeze_time("2026-12-28 10:00:00+08:00"):
        draft = check_create_draft(
            applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"entity": "individual"},
        )
        case = submit_draft(applicant, draft.pk)
        client = as_user(staff["window"])
        page = client.get(reverse("workbench:case", args=[case.number]))
        assert page.status_code == 200
        assert "日历未录入" in page.content.decode()  # the intake light cannot be computed
        response = client.post(reverse("workbench:action", args=[case.number, "accept"]))
        assert response.status_code == 409
        html = response.content.decode()
        assert 'role="alert"' in html
        assert "2027 年的工作日历尚未录入，无法计算期限" in html
        assert "tongban workdays import" in html
        assert Case.objects.get(pk=case.pk).state == CaseState.SUBMITTED
