"""Outcome hooks: what other apps do inside the transaction of a case decision.

A decision is the moment other domains act on a case: the licences app issues an e-licence on
准予 and revokes it when the decision is revoked (违诺撤销), a bundle starts its next stage. Those
apps depend on ``cases``, never the other way round, so they register a listener here (usually
in their ``AppConfig.ready``). Listeners run in the decision's transaction, in registration
order: if one raises, the decision rolls back with it, so a case is never 准予 without its
licence. They must not perform outside side effects directly; use ``on_commit`` or the outbox.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tongban.cases.models import Case
    from tongban.identity.models import User


class OutcomeListener(Protocol):
    """Receives a case whose decision was just made or revoked (already saved)."""

    def case_approved(self, case: Case, actor: User | None) -> None: ...

    def case_revoked(self, case: Case, actor: User | None, reason: str) -> None: ...


_listeners: dict[str, OutcomeListener] = {}


def register(name: str, listener: OutcomeListener) -> None:
    """Register ``listener`` under ``name`` (registering the same name again replaces it)."""
    _listeners[name] = listener


def unregister(name: str) -> None:
    _listeners.pop(name, None)


def listeners() -> list[OutcomeListener]:
    return list(_listeners.values())


def case_approved(case: Case, actor: User | None) -> None:
    for listener in list(_listeners.values()):
        listener.case_approved(case, actor)


def case_revoked(case: Case, actor: User | None, reason: str) -> None:
    for listener in list(_listeners.values()):
        listener.case_revoked(case, actor, reason)
