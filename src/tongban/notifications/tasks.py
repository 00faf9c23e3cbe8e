"""Background tasks of the notifications app (thin: the work is in ``services``).

``deliver_notification`` is enqueued after the commit that wrote an outbox row (and again, with
``run_after``, for each retry). ``deliver_due`` is the periodic sweep and ``prune_history`` the
daily clean-up; both are registered as periodic jobs in ``NotificationsConfig.ready``.
"""

from __future__ import annotations

from tongban.core.tasks import task
from tongban.notifications import scheduler, services


@task
def deliver_notification(notification_id: int) -> str:
    """Deliver one outbox row (idempotent: a second run, or a racing worker, sends nothing)."""
    return services.deliver(notification_id).value


@task
def deliver_due() -> dict[str, int]:
    """Periodic sweep: deliver rows whose queued job was lost or whose retry is due."""
    return services.deliver_due()


@task
def prune_history() -> dict[str, int]:
    """Daily: drop old scheduler ledger rows and old finished results of the embedded queue."""
    return scheduler.prune()
