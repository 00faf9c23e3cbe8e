"""Writing the policy audit trail; called by the policy services inside their transaction."""

from __future__ import annotations

from typing import Any

from tongban.policies.models import Policy, PolicyEvent


def record(policy: Policy, action: str, actor: Any, **data: Any) -> PolicyEvent:
    real = actor if getattr(actor, "is_authenticated", False) else None
    return PolicyEvent.objects.create(
        policy=policy,
        action=action,
        actor=real,
        actor_label=str(actor) if real else "系统",
        data=data,
    )
