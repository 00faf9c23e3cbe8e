"""Writing the case event trail. Called only by case services, inside their transaction, with the
case row locked, so event sequence numbers are gap-free per case. ``record`` appends an event;
``build`` prepares one for a caller that saves the case's counter together with its other
changes (one UPDATE per step)."""

from __future__ import annotations

from typing import Any

from tongban.cases.models import Case, CaseEvent, CaseTask
from tongban.core.compiled_writes import update_then_insert


def record(
    case: Case,
    action: str,
    actor: Any,
    **details: Any,
) -> CaseEvent:
    """Append the next event and save the case's event counter (one statement on PostgreSQL)."""
    event = build(case, action, actor, **details)
    return update_then_insert([(case, ["event_count"])], event)


def build(
    case: Case,
    action: str,
    actor: Any,
    *,
    from_state: str = "",
    to_state: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
    task: CaseTask | None = None,
    visible_to_applicant: bool = True,
) -> CaseEvent:
    """The next event of ``case``, not yet saved; the caller saves the case's ``event_count``
    and then the event, in the same transaction."""
    case.event_count += 1
    label = str(actor) if getattr(actor, "is_authenticated", False) else "系统"
    return CaseEvent(
        case=case,
        sequence=case.event_count,
        task=task,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=label,
        from_state=from_state,
        to_state=to_state or case.state,
        reason=reason,
        data=data or {},
        visible_to_applicant=visible_to_applicant,
    )
