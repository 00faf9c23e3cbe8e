"""Background tasks of the case engine (registered as periodic jobs in ``CasesConfig.ready``)."""

from __future__ import annotations

from tongban.cases.deadlines import apply_timeouts, warn_and_escalate
from tongban.core.tasks import task


@task
def sweep_timeouts() -> dict[str, int]:
    """超时默认: deem approved or escalate every task past its deadline (idempotent)."""
    return dict(apply_timeouts())


@task
def sweep_deadline_warnings() -> dict[str, int]:
    """红黄牌: warn handlers of tasks near their deadline, escalate overdue ones (idempotent)."""
    return dict(warn_and_escalate())
