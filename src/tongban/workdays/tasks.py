"""Background tasks of the working-day calendar (registered as periodic jobs in
``WorkdaysConfig.ready``)."""

from __future__ import annotations

from tongban.core.tasks import task
from tongban.workdays.alerts import alert_calendar_horizon


@task
def warn_calendar_horizon() -> dict[str, int]:
    """Tell system administrators, once a day, that the known calendar runs out soon."""
    return alert_calendar_horizon()
