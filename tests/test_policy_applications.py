"""申请制: a payable item applied for as a case of a catalog item; the 准予 decision writes the
ledger instruction in its own transaction, and is refused when the policy rules cannot back it."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Any

import pytest
from django.test import Client
from freezegun import freeze_time

from tests.concurrency import at_once
from tests.factories import StaffUserFactory
from tests.test_cases import People, people, to_decision  # noqa: F401
from tongban.cases.models import Case, CaseState
from tongban.cases.services import perform
from tongban.core.errors import Conflict, ValidationFailed
from tongban.identity.models import Department
from tongban.notifications.models import Notification
from tongban.policies import applications, services
from tongban.policies.models import (
    PaymentInstruction,
    PaymentStatus,
    PersonProfile,
    Policy,
    PolicyEvent,
)

pytestmark = pytest.mark.django_db

NOW = "2025-03-03 09:00:00+08:00"
ITEM = "SC-FOOD-001"
RULE = {
    "all": [
        {"attr": "social_insurance_months", "op": ">=", "value": 6},
        {"attr": "household_division", "op": "within", "value": "330100"},
    ]
}


class Staff:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        self.author = StaffUserFactory(department=scjg, roles=["policy_admin"])
        self.reviewer = StaffUserFactory(department=ga, roles=["reviewer"])


def draft(**item: Any) -> dict[str, Any]:
    payable = {
        "code": "T-APPLY",
        "name": "创业补贴（测试）",
        "mode": "application",
        "catalog_item": ITEM,
        "priority": 10,
        "conditions": RULE,
        "amount": 2000,
    }
    payable.update(item)
    return {
        "legal_basis": "测试政策文件",
        "period_kind": "once",
        "budget": "5000",
        "legality_department": "3301-GA",
        "finance_department": "3301-GA",
        "items": [payable],
    }


def publish(
    staff: Staff, code: str = "T-APPLY-2025", target: str = "person", **data: Any
) -> Policy:
    services.check_create_policy(
        staff.author, code=code, title="测试申请制政策", target=target, department="3301-SCJG"
    )
    content = draft()
    content.update(data)
    version = services.check_save_draft(staff.author, code, content)
    services.check_submit(staff.author, code, version.number)
    services.check_review(staff.reviewer, code, version.number, step="legality", approved=True)
    services.check_review(staff.reviewer, code, version.number, step="finance", approved=True)
    return Policy.objects.get(code=code)


def profile_for(user: Any, **values: Any) -> PersonProfile:
    fields: dict[str, Any] = {
        "social_insurance_months": 12,
        "household_division_code": "330106",
        "tags": [],
    }
    fields.update(values)
    return PersonProfile.objects.create(
        id_number=user.person.id_number, name=user.person.name, **fields
    )


def save_errors(staff: Staff, **item: Any) -> dict[str, str]:
    if not Policy.objects.filter(code="T-CHECK").exists():
        services.check_create_policy(
            staff.author, code="T-CHECK", title="校验", target="person", department="3301-SCJG"
        )
    with pytest.raises(ValidationFailed) as info:
        services.check_save_draft(staff.author, "T-CHECK", draft(code="T-CHECK-1", **item))
    return {e.path: e.message for e in info.value.errors}


# --- saving -------------------------------------------------------------------------------------
def test_an_application_item_must_name_an_existing_catalog_item(people: People) -> None:  # noqa: F811
    staff = Staff()
    errors = save_errors(staff, catalog_item="")
    assert "申请事项编码" in errors["items[0].catalog_item"]
    errors = save_errors(staff, catalog_item="NO-SUCH-ITEM")
    assert "NO-SUCH-ITEM" in errors["items[0].catalog_item"]


def test_only_application_items_link_a_catalog_item(people: People) -> None:  # noqa: F811
    errors = save_errors(Staff(), mode="exempt")
    assert "只有申请制" in errors["items[0].catalog_item"]


def test_a_catalog_item_pays_for_one_policy_only(people: People) -> None:  # noqa: F811
    staff = Staff()
    publish(staff)
    errors = save_errors(staff)
    assert "测试申请制政策" in errors["items[0].catalog_item"]


def test_the_link_is_kept_and_published(people: People) -> None:  # noqa: F811
    staff = Staff()
    policy = publish(staff)
    assert policy.published_version is not None
    item = policy.published_version.items.get()
    assert item.catalog_item == ITEM
    assert applications.linked_item(ITEM) == item


# --- deciding -----------------------------------------------------------------------------------
@freeze_time(NOW)
def test_approval_writes_the_instruction_in_the_decision(people: People) -> None:  # noqa: F811
    staff = Staff()
    publish(staff)
    profile_for(people.applicant)
    case = to_decision(people)
    verdict = applications.assess(case)
    assert verdict is not None
    assert verdict.payable
    assert verdict.amount_fen == 200_000

    case = perform(people.head, case.number, "decide", {"outcome": "approved"})

    assert case.state == CaseState.DECIDED
    instruction = PaymentInstruction.objects.get(case_number=case.number)
    assert instruction.item_code == "T-APPLY"
    assert instruction.entity_key == people.applicant.person.id_number
    assert instruction.amount_fen == 200_000
    assert instruction.period == "once"
    assert instruction.run is None
    assert instruction.status == PaymentStatus.PENDING
    event = PolicyEvent.objects.get(action="application_granted")
    assert event.data["case"] == case.number
    assert Notification.objects.filter(
        recipient=people.applicant, template="policies.applied"
    ).exists()


@freeze_time(NOW)
def test_a_denial_pays_nothing(people: People) -> None:  # noqa: F811
    staff = Staff()
    publish(staff)
    profile_for(people.applicant)
    case = to_decision(people)
    perform(
        people.head,
        case.number,
        "decide",
        {"outcome": "denied", "reason": "创业主体未正常经营", "legal_basis": "测试政策第三条"},
    )
    assert not PaymentInstruction.objects.exists()


def _refused(people: People, case: Case) -> Conflict:  # noqa: F811
    with pytest.raises(Conflict) as info:
        perform(people.head, case.number, "decide", {"outcome": "approved"})
    assert info.value.code == "benefit_not_payable"
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_DECISION  # rolled back with the refusal
    assert case.outcome == ""
    assert not case.events.filter(action="decide").exists()
    return info.value


@freeze_time(NOW)
def test_approval_is_refused_when_the_applicant_fails_a_condition(people: People) -> None:  # noqa: F811
    publish(Staff())
    profile_for(people.applicant, social_insurance_months=3)
    case = to_decision(people)
    error = _refused(people, case)
    assert "不符合条件" in error.message
    assert not PaymentInstruction.objects.exists()


@freeze_time(NOW)
def test_approval_is_refused_when_data_is_missing(people: People) -> None:  # noqa: F811
    publish(Staff())
    profile_for(people.applicant, social_insurance_months=None)
    case = to_decision(people)
    error = _refused(people, case)
    assert "数据不足" in error.message
    assert "社保" in error.message


@freeze_time(NOW)
def test_approval_is_refused_without_a_profile(people: People) -> None:  # noqa: F811
    publish(Staff())
    case = to_decision(people)
    assert "档案" in _refused(people, case).message


@freeze_time(NOW)
def test_approval_is_refused_beyond_the_budget(people: People) -> None:  # noqa: F811
    publish(Staff(), budget="1000")
    profile_for(people.applicant)
    case = to_decision(people)
    error = _refused(people, case)
    assert "预算余额不足" in error.message
    assert "2,000.00" in error.message


@freeze_time(NOW)
def test_a_benefit_is_paid_once_per_period(people: People) -> None:  # noqa: F811
    publish(Staff())
    profile_for(people.applicant)
    first = to_decision(people)
    perform(people.head, first.number, "decide", {"outcome": "approved"})
    second = to_decision(people)
    error = _refused(people, second)
    assert first.number in error.message
    assert PaymentInstruction.objects.count() == 1


@freeze_time(NOW)
def test_the_target_kind_must_match_the_applicant(people: People) -> None:  # noqa: F811
    staff = Staff()
    publish(
        staff,
        target="enterprise",
        items=[
            {
                "code": "T-APPLY-E",
                "name": "企业补贴（测试）",
                "mode": "application",
                "catalog_item": ITEM,
                "conditions": {"attr": "employees", "op": ">=", "value": 1},
                "amount": 1000,
            }
        ],
    )
    case = to_decision(people)  # applied for by a person
    assert "兑现对象为法人" in _refused(people, case).message


@freeze_time(NOW)
def test_items_without_a_benefit_decide_as_before(people: People) -> None:  # noqa: F811
    case = to_decision(people)
    assert applications.assess(case) is None
    case = perform(people.head, case.number, "decide", {"outcome": "approved"})
    assert case.state == CaseState.DECIDED


# --- revocation ---------------------------------------------------------------------------------
@freeze_time(NOW)
def test_revoking_the_decision_voids_a_pending_instruction(people: People) -> None:  # noqa: F811
    publish(Staff())
    profile_for(people.applicant)
    case = perform(people.head, to_decision(people).number, "decide", {"outcome": "approved"})
    applications.ApplicationOutcomes().case_revoked(case, people.head, "承诺不实")
    instruction = PaymentInstruction.objects.get(case_number=case.number)
    assert instruction.status == PaymentStatus.CANCELLED
    assert "承诺不实" in instruction.note
    assert PolicyEvent.objects.filter(action="application_payment_cancelled").exists()


@freeze_time(NOW)
def test_revoking_after_payment_marks_it_for_recovery(people: People) -> None:  # noqa: F811
    publish(Staff())
    profile_for(people.applicant)
    case = perform(people.head, to_decision(people).number, "decide", {"outcome": "approved"})
    PaymentInstruction.objects.filter(case_number=case.number).update(status=PaymentStatus.PAID)
    applications.ApplicationOutcomes().case_revoked(case, people.head, "承诺不实")
    instruction = PaymentInstruction.objects.get(case_number=case.number)
    assert instruction.status == PaymentStatus.PAID
    assert "需追回" in instruction.note
    assert PolicyEvent.objects.filter(action="application_payment_recovery").exists()


# --- pages --------------------------------------------------------------------------------------
@freeze_time(NOW)
def test_the_workbench_shows_the_verdict_before_the_decision(people: People) -> None:  # noqa: F811
    publish(Staff())
    profile_for(people.applicant, social_insurance_months=3)
    case = to_decision(people)
    client = Client()
    client.force_login(people.head)
    page = client.get(f"/workbench/cases/{case.number}/").content.decode()
    assert "兑现核定" in page
    assert "不符合条件" in page
    PersonProfile.objects.filter(id_number=people.applicant.person.id_number).update(
        social_insurance_months=12
    )
    page = client.get(f"/workbench/cases/{case.number}/").content.decode()
    assert "可兑现" in page
    assert "2,000.00" in page
    perform(people.head, case.number, "decide", {"outcome": "approved"})
    page = client.get(f"/workbench/cases/{case.number}/").content.decode()
    assert "已生成支付指令" in page


@freeze_time(NOW)
def test_the_applicant_is_sent_to_the_item_and_sees_the_case_on_the_payment(
    people: People,  # noqa: F811
) -> None:
    publish(Staff())
    profile_for(people.applicant)
    client = Client()
    client.force_login(people.applicant)
    page = client.get("/my/policies/").content.decode()
    assert f"/items/{ITEM}/guide/" in page
    case = perform(people.head, to_decision(people).number, "decide", {"outcome": "approved"})
    page = client.get("/my/policies/").content.decode()
    assert f"/my/cases/{case.number}/" in page
    checkup = client.get("/my/policies/checkup/").content.decode()
    assert f"/items/{ITEM}/guide/" in checkup
    case_page = client.get(f"/my/cases/{case.number}/").content.decode()
    assert "政策资金：2,000.00 元 · 待发送" in case_page


def test_the_period_of_a_decision_follows_the_policy(people: People) -> None:  # noqa: F811
    publish(Staff(), period_kind="monthly")
    profile_for(people.applicant)
    with freeze_time(NOW):
        case = to_decision(people)
        verdict = applications.assess(case, on=dt.date(2025, 3, 3))
    assert verdict is not None
    assert verdict.period == "2025-03"


# --- concurrency --------------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_two_decisions_at_once_pay_the_applicant_once(people: People) -> None:  # noqa: F811
    """Two cases of one applicant decided at the same moment on separate connections (row locks
    on PostgreSQL, the write lock on SQLite): one pays, the other is refused with the reason."""
    from tongban.workdays.services import do_sync_chinese_calendar

    do_sync_chinese_calendar()  # a transactional test starts from an emptied calendar
    with freeze_time(NOW):
        publish(Staff())
        profile_for(people.applicant)
        numbers = [to_decision(people).number, to_decision(people).number]
        outcomes = at_once(
            [
                partial(perform, people.head, number, "decide", {"outcome": "approved"})
                for number in numbers
            ],
            expected=Conflict,
        )

    assert len(outcomes) == 2
    refused = [o for o in outcomes if isinstance(o, Conflict)]
    assert len(refused) == 1
    assert refused[0].code == "benefit_not_payable"
    assert PaymentInstruction.objects.count() == 1
    states = set(Case.objects.filter(number__in=numbers).values_list("state", flat=True))
    assert states == {CaseState.DECIDED, CaseState.AWAITING_DECISION}
