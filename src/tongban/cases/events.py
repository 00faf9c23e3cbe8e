"""Writing the case event trail. Called only by case services, inside their transaction, with the
case row locked, so event sequence numbers are gap-free per case."""

from __future__ import annotations

from typing import Any

from tongban.cases.models import Case, CaseEvent, CaseTask


def record(
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
    case.event_count += 1
    case.save(update_fields=["event_count"])
    label = str(actor) if getattr(actor, "is_authenticated", False) else "系统"
    return CaseEvent.objects.create(
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
