"""Outcome hooks: other apps act inside the transaction of a decision, and a failing listener
rolls the decision back with it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from freezegun import freeze_time

from tests.test_cases import People, people, to_decision  # noqa: F401
from tongban.cases import outcomes
from tongban.cases.models import Case, CaseState
from tongban.cases.services import perform

pytestmark = pytest.mark.django_db


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.approved: list[tuple[str, str]] = []
        self.revoked: list[tuple[str, str]] = []
        self.fail = fail

    def case_approved(self, case: Case, actor: Any) -> None:
        if self.fail:
            raise RuntimeError("licence store unavailable")
        self.approved.append((case.number, case.state))

    def case_revoked(self, case: Case, actor: Any, reason: str) -> None:
        self.revoked.append((case.number, reason))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    listener = Recorder()
    outcomes.register("test", listener)
    yield listener
    outcomes.unregister("test")


@freeze_time("2025-03-03 09:00:00+08:00")
def test_approval_calls_listeners_with_the_decided_case(
    people: People,  # noqa: F811
    recorder: Recorder,
) -> None:
    case = to_decision(people)
    perform(people.head, case.number, "decide", {"outcome": "approved"})
    assert recorder.approved == [(case.number, CaseState.DECIDED)]


@freeze_time("2025-03-03 09:00:00+08:00")
def test_denial_does_not_call_listeners(people: People, recorder: Recorder) -> None:  # noqa: F811
    case = to_decision(people)
    perform(
        people.head,
        case.number,
        "decide",
        {"outcome": "denied", "reason": "不符合条件", "legal_basis": "《食品安全法》第三十五条"},
    )
    assert recorder.approved == []


@freeze_time("2025-03-03 09:00:00+08:00")
def test_a_failing_listener_rolls_the_decision_back(people: People) -> None:  # noqa: F811
    case = to_decision(people)
    outcomes.register("failing", Recorder(fail=True))
    try:
        with pytest.raises(RuntimeError):
            perform(people.head, case.number, "decide", {"outcome": "approved"})
    finally:
        outcomes.unregister("failing")
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_DECISION
    assert case.outcome == ""
    assert not case.events.filter(action="decide").exists()
