"""Policy services: drafts refused with precise paths, the review chain before publication,
versions, runs (免申即享 direct, 即申即享 one-click confirm), the budget in priority order, the
exactly-once ledger on repeated runs, notifications through the outbox, scheduled runs on the
first three working days, reconciliation import and simulation with a diff."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from tests.policy_fixtures import PAY_DAY, applicant_for, draft, elder_profile, make_world, publish
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.notifications.models import Notification
from tongban.policies import runs, services
from tongban.policies.models import (
    Candidate,
    CandidateStatus,
    PaymentInstruction,
    PaymentStatus,
    Policy,
    PolicyEvent,
    Run,
    VersionStatus,
)
from tongban.policies.simulation import simulate_version

pytestmark = pytest.mark.django_db


def paths(exc: ValidationFailed) -> dict[str, str]:
    return {e.path: e.message for e in exc.errors}


def test_a_draft_with_bad_rules_zero_budget_or_a_foreign_item_code_is_refused_whole() -> None:
    world = make_world()
    services.check_create_policy(
        world.author, code="P1", title="t", target="person", department="T-MZJ"
    )
    bad = draft(
        budget="0",
        items=[
            {"code": "X1", "name": "a", "mode": "exempt", "conditions": {"attr": "age", "op": ">=", "value": 80}, "amount": 100},
            {"code": "X2", "name": "b", "mode": "sometimes", "conditions": {"attr": "alive", "op": "==", "value": 1},
             "amount": {"divide": [100, {"attr": "social_insurance_months"}]}},
            {"code": "X3", "name": "c", "mode": "exempt", "conditions": {"attr": "household_division", "op": "within", "value": "999900"},
             "amount": {"minus": [10, {"attr": "social_insurance_months"}]}},
        ],
    )  # fmt: skip
    with pytest.raises(ValidationFailed) as info:
        services.check_save_draft(world.author, "P1", bad)
    found = paths(info.value)
    assert "零预算" in found["budget"]
    assert "未知属性“age”" in found["items[0].conditions.attr"]
    assert "items[1].mode" in found
    assert "比较值应为 true 或 false" in found["items[1].conditions.value"]
    assert "除数可能为零" in found["items[1].amount.divide[1]"]
    assert "没有代码为 999900 的区划" in found["items[2].conditions.value"]
    assert "可能得出负数" in found["items[2].amount"]
    assert not Policy.objects.get(code="P1").versions.exists()  # nothing half-written

    publish(world, code="P2")
    with pytest.raises(ValidationFailed) as info:
        services.check_save_draft(world.author, "P1", draft())  # T-ELDER belongs to P2
    assert "已被其他政策使用" in paths(info.value)["items[0].code"]


def test_review_chain_publishes_and_new_versions_supersede() -> None:
    world = make_world()
    services.check_create_policy(
        world.author, code="P", title="t", target="person", department="T-MZJ"
    )
    v1 = services.check_save_draft(world.author, "P", draft())
    with pytest.raises(PermissionDenied):
        services.check_submit(world.outsider, "P", v1.number)
    services.check_submit(world.author, "P", v1.number)
    with pytest.raises(Conflict):
        services.check_review(
            world.finance, "P", 1, step="finance", approved=True
        )  # legality first
    with pytest.raises(PermissionDenied):
        services.check_review(world.finance, "P", 1, step="legality", approved=True)  # wrong dept
    with pytest.raises(ValidationFailed):
        services.check_review(
            world.legal, "P", 1, step="legality", approved=False
        )  # needs a reason
    services.check_review(world.legal, "P", 1, step="legality", approved=True)
    services.check_review(world.finance, "P", 1, step="finance", approved=True)
    policy = Policy.objects.get(code="P")
    assert policy.published_version is not None
    assert policy.published_version.number == 1

    v2 = services.check_save_draft(world.author, "P", draft(budget="2000"))
    assert v2.number == 2
    assert v2.status == VersionStatus.DRAFT
    services.check_submit(world.author, "P", 2)
    services.check_review(world.legal, "P", 2, step="legality", approved=False, comment="依据不足")
    assert policy.versions.get(number=2).status == VersionStatus.REJECTED
    assert Policy.objects.get(code="P").published_version.number == 1  # type: ignore[union-attr]
    v3 = services.check_save_draft(world.author, "P", draft(budget="3000"))
    services.check_submit(world.author, "P", v3.number)
    services.check_review(world.legal, "P", 3, step="legality", approved=True)
    services.check_review(world.finance, "P", 3, step="finance", approved=True)
    assert policy.versions.get(number=1).status == VersionStatus.SUPERSEDED
    actions = list(PolicyEvent.objects.filter(policy=policy).values_list("action", flat=True))
    assert actions.count("review_finance") == 2
    assert "submitted" in actions


def test_exempt_run_pays_once_per_entity_item_and_period_when_repeated() -> None:
    world = make_world()
    policy = publish(world)
    eligible = [elder_profile(i) for i in range(3)]
    elder_profile(10, age=70)  # too young
    unknown = elder_profile(11, bank=None)  # bank account not confirmed: unknown, not refused
    applicant = applicant_for(eligible[0])
    run = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)
    assert (run.eligible_count, run.unknown_count, run.eligible_fen) == (3, 1, 30000)
    assert (
        Candidate.objects.get(run=run, entity_key=unknown.id_number).status
        == CandidateStatus.UNKNOWN
    )
    with pytest.raises(PermissionDenied):
        runs.check_approve_run(world.author, run.pk)  # reviewers start runs, heads approve
    with pytest.raises(PermissionDenied):
        runs.check_approve_run(world.outsider_head, run.pk)
    report = runs.check_approve_run(world.head, run.pk)
    assert report.instructed == 3
    with pytest.raises(Conflict):
        runs.check_approve_run(world.head, run.pk)
    again = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)
    statuses = set(Candidate.objects.filter(run=again).values_list("status", flat=True))
    assert statuses == {CandidateStatus.ALREADY_PAID, CandidateStatus.UNKNOWN}
    assert runs.check_approve_run(world.head, again.pk).instructed == 0
    assert PaymentInstruction.objects.filter(period="2026-11").count() == 3
    next_month = runs.check_start_run(
        world.author, policy.code, period="2026-12", payment_date=dt.date(2026, 12, 3)
    )
    assert runs.check_approve_run(world.head, next_month.pk).instructed == 3
    # the applicant is told in the same transaction, through the outbox
    assert (
        Notification.objects.filter(recipient=applicant, template="policies.granted").count() == 4
    )  # 2 × (in-app, sms)
    first = PaymentInstruction.objects.first()
    assert first is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentInstruction.objects.create(
            policy=policy, version=first.version, run=first.run, item_code=first.item_code,
            entity_key=first.entity_key, entity_name="x", period=first.period, amount_fen=1,
        )  # fmt: skip


def test_budget_is_spent_in_priority_order() -> None:
    world = make_world()
    items = [
        {"code": "LOW", "name": "后", "mode": "exempt", "priority": 50,
         "conditions": {"attr": "alive", "op": "==", "value": True}, "amount": 300},
        {"code": "HIGH", "name": "先", "mode": "exempt", "priority": 5,
         "conditions": {"attr": "alive", "op": "==", "value": True}, "amount": 200},
    ]  # fmt: skip
    policy = publish(world, budget="1000", items=items)
    for i in range(3):
        elder_profile(i)
    run = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)
    report = runs.check_approve_run(world.head, run.pk)
    paid = PaymentInstruction.objects.filter(run=run)
    assert paid.filter(item_code="HIGH").count() == 3  # 600 first
    assert paid.filter(item_code="LOW").count() == 1  # then 300 of the remaining 400
    assert report.over_budget == 2
    assert report.spent_fen == 90000
    assert (
        Candidate.objects.filter(
            run=run, status=CandidateStatus.OVER_BUDGET, item_code="LOW"
        ).count()
        == 2
    )


def test_confirm_mode_offers_then_one_click_confirmation() -> None:
    world = make_world()
    items = [
        {
            "code": "C1",
            "name": "住房补贴",
            "mode": "confirm",
            "conditions": {"attr": "alive", "op": "==", "value": True},
            "amount": 800,
        }
    ]
    policy = publish(world, items=items, confirm_window_days=10, budget="10000")
    mine, other = elder_profile(1), elder_profile(2)
    me, someone = applicant_for(mine), applicant_for(other)
    run = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)
    report = runs.check_approve_run(world.head, run.pk, today=PAY_DAY)
    assert report.offered == 2
    assert not PaymentInstruction.objects.exists()
    assert (
        Notification.objects.filter(
            recipient=me, template="policies.offer", channel="in_app"
        ).count()
        == 1
    )
    offer = Candidate.objects.get(run=run, entity_key=mine.id_number)
    assert offer.confirm_by == PAY_DAY + dt.timedelta(days=10)
    with pytest.raises(NotFound):
        runs.check_confirm_offer(someone, offer.pk, today=PAY_DAY)  # not theirs: looks absent
    instruction = runs.check_confirm_offer(me, offer.pk, today=PAY_DAY)
    assert instruction.amount_fen == 80000
    assert instruction.status == PaymentStatus.PENDING
    with pytest.raises(Conflict):
        runs.check_confirm_offer(me, offer.pk, today=PAY_DAY)
    late = Candidate.objects.get(run=run, entity_key=other.id_number)
    with pytest.raises(Conflict) as info:
        runs.check_confirm_offer(someone, late.pk, today=PAY_DAY + dt.timedelta(days=11))
    assert info.value.code == "offer_expired"
    assert Candidate.objects.get(pk=late.pk).status == CandidateStatus.EXPIRED


def test_reconciliation_applies_all_lines_or_none() -> None:
    world = make_world()
    policy = publish(world)
    a, b = elder_profile(1), elder_profile(2)
    run = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)
    runs.check_approve_run(world.head, run.pk)
    assert runs.check_mark_sent(world.head, policy.code, "2026-11") == 2
    bad = f"item_code,entity_key,period,status,bank_reference\nT-ELDER,{a.id_number},2026-11,paid,B1\nT-ELDER,{b.id_number},2026-11,vanished,\nT-ELDER,000,2026-11,paid,\n"
    with pytest.raises(runs.ReconciliationInvalid) as info:
        runs.check_import_reconciliation(world.head, policy.code, "bank.csv", bad)
    assert [str(p) for p in info.value.problems] == [
        "bank.csv:3: status: 未知状态 'vanished'",
        "bank.csv:4: entity_key: 没有支付指令 T-ELDER/000/2026-11",
    ]
    assert not PaymentInstruction.objects.filter(status=PaymentStatus.PAID).exists()
    good = f"item_code,entity_key,period,status,bank_reference,note\nT-ELDER,{a.id_number},2026-11,paid,B1,\nT-ELDER,{b.id_number},2026-11,returned,B2,账户已销户\n"
    assert runs.check_import_reconciliation(world.head, policy.code, "bank.csv", good) == 2
    statuses = dict(PaymentInstruction.objects.values_list("entity_key", "status"))
    assert statuses == {a.id_number: PaymentStatus.PAID, b.id_number: PaymentStatus.RETURNED}
    back = f"item_code,entity_key,period,status\nT-ELDER,{b.id_number},2026-11,paid\n"
    with pytest.raises(runs.ReconciliationInvalid):
        runs.check_import_reconciliation(world.head, policy.code, "bank.csv", back)
    with pytest.raises(PermissionDenied):
        runs.check_import_reconciliation(world.outsider_head, policy.code, "bank.csv", good)


def test_scheduled_runs_start_on_the_first_three_working_days_once() -> None:
    world = make_world()
    publish(world, schedule="first_3_workdays")
    elder_profile(1)
    # November 2026: the 1st is a Sunday; working days 2, 3, 4 are the first three
    assert not runs.is_early_workday(dt.date(2026, 11, 1))
    assert runs.is_early_workday(dt.date(2026, 11, 2))
    assert runs.is_early_workday(dt.date(2026, 11, 4))
    assert not runs.is_early_workday(dt.date(2026, 11, 5))
    # October 2026: the National Day holiday runs to the 7th; the first working days are 8, 9 and
    # 10 (a make-up Saturday), so Monday the 12th is already the fourth
    assert runs.is_early_workday(dt.date(2026, 10, 10))
    assert not runs.is_early_workday(dt.date(2026, 10, 12))
    assert runs.start_due_runs(dt.date(2026, 11, 5)) == 0
    assert runs.start_due_runs(dt.date(2026, 11, 2)) == 1
    assert runs.start_due_runs(dt.date(2026, 11, 3)) == 0  # this month's run exists
    run = Run.objects.get()
    assert run.trigger == "scheduled"
    assert run.period == "2026-11"
    assert run.eligible_count == 1


def test_simulation_counts_distribution_and_diff_against_the_published_version() -> None:
    world = make_world()
    policy = publish(world)
    for i in range(4):
        elder_profile(i)
    elder_profile(9, age=78)
    elder_profile(10, division="330212")  # outside the city
    services.check_save_draft(
        world.author,
        policy.code,
        draft(items=[{**draft()["items"][0], "amount": 150, "conditions": {**ELDER_RULE_77}}]),
    )
    v2 = policy.versions.get(number=2)
    sim = simulate_version(world.author, v2, on=PAY_DAY)
    assert (sim.entities, sim.eligible, sim.total_fen) == (6, 5, 75000)
    assert sim.by_division == [{"code": "330106", "name": "西湖区", "count": 5, "total_fen": 75000}]
    assert sim.diff == {
        "published_version": 1,
        "published_eligible": 4,
        "published_total_fen": 40000,
        "gained": 1,
        "lost": 0,
        "total_change_fen": 35000,
    }
    with pytest.raises(PermissionDenied):
        simulate_version(world.outsider, v2, on=PAY_DAY)


ELDER_RULE_77 = {
    "all": [
        {"years_since": "birth_date", "on": "$payment_date", "op": ">=", "value": 77},
        {"attr": "household_division", "op": "within", "value": "330100"},
    ]
}
