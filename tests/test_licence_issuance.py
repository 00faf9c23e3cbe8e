"""Issuance from a decided case (inside the decision's transaction), revocation when the
decision is revoked (违诺撤销), and expiry reminders through the outbox."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from tests.catalog_fixtures import BODIES, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tests.licence_fixtures import LicenceWorld, make_type, world  # noqa: F401
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.identity.models import Department
from tongban.licences import tokens
from tongban.licences.models import ExpiryReminder, Licence, LicenceState
from tongban.licences.online import verify_online
from tongban.licences.tasks import send_expiry_reminders
from tongban.licences.verification import Verdict
from tongban.notifications.models import Notification

pytestmark = pytest.mark.django_db

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
    allows_commitment: true
    result: licence
    result_name: 城镇污水排入排水管网许可证
    result_licence_type: LT-DRAINAGE-PERMIT
    materials:
      - {key: application, name: 排水许可申请表}
      - {key: drainage_plan, name: 排水管网图, commitment_replaceable: true}
"""


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        make_type(
            scjg,
            code="LT-DRAINAGE-PERMIT",
            name="城镇污水排入排水管网许可证",
            number_prefix="PS",
            fields=[
                {"key": "holder", "label": "排水户", "source": "applicant.name"},
                {"key": "item", "label": "许可事项", "source": "case.item_name"},
                {"key": "decided_on", "label": "决定日期", "source": "case.decided_on"},
            ],
        )


@pytest.fixture
def people(tmp_path: Path, settings: Any) -> People:
    settings.MEDIA_ROOT = tmp_path / "media"
    import_catalog(write_catalog(tmp_path / "catalog", bodies=BODIES, drainage=DRAINAGE))
    return People()


def _approved(people: People) -> Any:
    draft = check_create_draft(
        people.applicant,
        item_code="SW-DRAIN-001",
        division_code="330100",
        commitment_materials=["drainage_plan"],
    )
    case = submit_draft(people.applicant, draft.pk)
    return perform(people.window, case.number, "approve_on_commitment")


@freeze_time("2025-03-03 10:00:00+08:00")
def test_an_approved_case_issues_its_licence_in_the_same_transaction(people: People) -> None:
    case = _approved(people)
    licence = Licence.objects.get(case_number=case.number)
    assert licence.holder_person == people.applicant.person
    assert licence.number.startswith("330100PS2025")
    assert licence.data == {
        "holder": people.applicant.person.name,
        "item": "城镇污水排入排水管网许可",
        "decided_on": "2025-03-03",
    }
    assert licence.valid_until == dt.date(2030, 3, 2)
    assert licence.versions.get().action == "issue"
    assert Notification.objects.filter(
        recipient=people.applicant, template="licence.issued"
    ).exists()
    assert verify_online(tokens.make_token(licence)).verdict == Verdict.VALID


@freeze_time("2025-03-03 10:00:00+08:00")
def test_a_revoked_decision_revokes_the_licence(people: People) -> None:
    case = _approved(people)
    perform(people.window, case.number, "deliver")
    code = tokens.make_token(Licence.objects.get(case_number=case.number))
    perform(
        people.head,
        case.number,
        "revoke_for_broken_commitment",
        {"reason": "核查发现排水管网未建成"},
    )
    licence = Licence.objects.get(case_number=case.number)
    assert licence.state == LicenceState.REVOKED
    assert licence.revocation_reason == "核查发现排水管网未建成"
    result = verify_online(code)
    assert result.verdict == Verdict.REVOKED
    assert "排水管网未建成" in result.reason


@freeze_time("2025-03-03 10:00:00+08:00")
def test_no_licence_when_the_type_is_not_configured(people: People) -> None:
    from tongban.licences.models import LicenceType

    LicenceType.objects.all().delete()
    case = _approved(people)
    assert case.outcome == "approved"
    assert not Licence.objects.exists()


def test_expiry_reminders_follow_the_type_rules_once(world: LicenceWorld) -> None:  # noqa: F811
    licence = world.licence
    until = licence.valid_until
    assert until is not None
    assert send_expiry_reminders(today=until - dt.timedelta(days=40)) == 0
    assert send_expiry_reminders(today=until - dt.timedelta(days=30)) == 2  # both licences
    assert send_expiry_reminders(today=until - dt.timedelta(days=29)) == 0  # once per rule
    assert send_expiry_reminders(today=until - dt.timedelta(days=7)) == 2
    assert set(
        ExpiryReminder.objects.filter(licence=licence).values_list("days_before", flat=True)
    ) == {30, 7}
    messages = Notification.objects.filter(recipient=world.holder, template="licence.expiring")
    assert messages.filter(channel="in_app").count() == 2
    assert "还有 7 天" in messages.order_by("-id").first().body  # type: ignore[union-attr]
    # the enterprise's 经办人 hears about the enterprise's licence
    assert Notification.objects.filter(recipient=world.agent, template="licence.expiring").exists()


def test_the_reminder_job_is_registered() -> None:
    from tongban.core.tasks import periodic_jobs

    assert "licences.expiry_reminders" in periodic_jobs
