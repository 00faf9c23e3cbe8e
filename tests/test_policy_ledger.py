"""The payment ledger's exactly-once property: two runs of one period approved at the same time on
real, separate database connections (PostgreSQL row locks; SQLite's write lock), a repeated
run, and a worker that dies in the middle of an approval."""

from __future__ import annotations

from functools import partial
from typing import Any

import pytest

from tests.concurrency import at_once
from tests.policy_fixtures import PAY_DAY, elder_profile, make_world, publish
from tongban.core.errors import Conflict
from tongban.policies import runs
from tongban.policies.models import Candidate, CandidateStatus, PaymentInstruction, Run, RunStatus
from tongban.workdays.services import do_sync_chinese_calendar


def _approve_together(world: Any, run_ids: list[int]) -> list[Any]:
    return at_once(
        [partial(runs.check_approve_run, world.head, run_id) for run_id in run_ids],
        expected=Conflict,
    )


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_of_one_period_pay_each_entity_once_within_budget() -> None:
    do_sync_chinese_calendar()  # a transactional test starts from an emptied database
    world = make_world()
    policy = publish(world, budget="700")  # room for 7 of the 10 eligible
    for i in range(10):
        elder_profile(i)
    first = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)
    second = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)
    assert first.eligible_count == second.eligible_count == 10

    outcomes = _approve_together(world, [first.pk, second.pk])

    assert len(outcomes) == 2
    assert all(isinstance(o, runs.ApprovalReport) for o in outcomes)
    ledger = PaymentInstruction.objects.filter(period="2026-11")
    assert ledger.count() == 7
    assert len(set(ledger.values_list("entity_key", flat=True))) == 7
    assert sum(o.instructed for o in outcomes) == 7
    assert sorted(o.already_paid for o in outcomes) == [0, 7]  # the later one saw the first's work
    assert Run.objects.filter(status=RunStatus.APPROVED).count() == 2


@pytest.mark.django_db(transaction=True)
def test_one_run_approved_twice_at_once_is_approved_once() -> None:
    do_sync_chinese_calendar()
    world = make_world()
    policy = publish(world)
    for i in range(5):
        elder_profile(i)
    run = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)
    outcomes = _approve_together(world, [run.pk, run.pk])
    assert sorted(type(o).__name__ for o in outcomes) == ["ApprovalReport", "Conflict"]
    assert PaymentInstruction.objects.count() == 5


@pytest.mark.django_db
def test_a_worker_dying_mid_approval_leaves_nothing_and_the_retry_pays_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world()
    policy = publish(world)
    for i in range(4):
        elder_profile(i)
    run = runs.check_start_run(world.author, policy.code, period="2026-11", payment_date=PAY_DAY)

    def die(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patched:
        patched.setattr(runs, "_notify", die)  # after the instructions are written
        with pytest.raises(RuntimeError):
            runs.check_approve_run(world.head, run.pk)
    assert not PaymentInstruction.objects.exists()
    assert Run.objects.get(pk=run.pk).status == RunStatus.AWAITING_APPROVAL
    assert set(Candidate.objects.filter(run=run).values_list("status", flat=True)) == {
        CandidateStatus.ELIGIBLE
    }
    assert runs.check_approve_run(world.head, run.pk).instructed == 4
    assert PaymentInstruction.objects.count() == 4
