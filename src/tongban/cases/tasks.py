"""Background tasks of the case engine (registered as periodic jobs in ``CasesConfig.ready``)."""

from __future__ import annotations

from tongban.cases.deadlines import apply_timeouts, warn_and_escalate
from tongban.cases.reminders import send_tolerated_reminders
from tongban.core.tasks import task


@task
def sweep_timeouts() -> dict[str, int]:
    """超时默认: deem approved or escalate every task past its deadline (idempotent)."""
    return dict(apply_timeouts())


@task
def sweep_deadline_warnings() -> dict[str, int]:
    """红黄牌: warn whoever must act on tasks, 预审 periods and cases near their deadline,
    escalate overdue ones (idempotent)."""
    return dict(warn_and_escalate())


@task
def sweep_tolerated_reminders() -> dict[str, int]:
    """容缺受理: remind applicants of tolerated materials falling due, tell the window of overdue
    ones (each reminder exactly once)."""
    return dict(send_tolerated_reminders())
