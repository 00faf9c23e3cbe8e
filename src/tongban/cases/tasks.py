"""Background tasks of the case engine (registered as periodic jobs in ``CasesConfig.ready``)."""

from __future__ import annotations

from tongban.cases.deadlines import apply_timeouts
from tongban.core.tasks import task


@task
def sweep_timeouts() -> dict[str, int]:
    """超时默认: deem approved or escalate every task past its deadline (idempotent)."""
    return dict(apply_timeouts())
