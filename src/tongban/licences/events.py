"""Writing the licence event trail; called only by licence services inside their transaction."""

from __future__ import annotations

from typing import Any

from tongban.licences.models import Licence, LicenceEvent, SealKey


def actor_label(actor: Any) -> str:
    return str(actor) if getattr(actor, "is_authenticated", False) else "系统"


def record(
    action: str,
    actor: Any,
    *,
    licence: Licence | None = None,
    seal_key: SealKey | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> LicenceEvent:
    return LicenceEvent.objects.create(
        licence=licence,
        seal_key=seal_key,
        action=action,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=actor_label(actor),
        reason=reason,
        data=data or {},
    )
