"""App configuration for ``tongban.cases``: loads the virus scanner plugins, registers the
app's periodic jobs and checks the configured scanners before first use."""

from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class CasesConfig(AppConfig):
    name = "tongban.cases"
    label = "cases"
    verbose_name = "办件"

    def ready(self) -> None:
        import datetime as dt

        from tongban.cases import facts, notices, reminders, scanners, tasks
        from tongban.core.tasks import periodic_jobs, register_periodic_job

        del facts, scanners  # imported for their fact and scanner registrations
        checks.register(check_virus_scanners)
        if "cases.timeouts" not in periodic_jobs:
            notices.register_templates()
            register_periodic_job(
                "cases.timeouts",
                tasks.sweep_timeouts,
                every=dt.timedelta(minutes=15),
                description="超时默认: deem approved or escalate review tasks past their deadline",
            )
            register_periodic_job(
                "cases.deadline_warnings",
                tasks.sweep_deadline_warnings,
                every=dt.timedelta(hours=1),
                description="红黄牌: warn handlers before deadlines, escalate overdue work",
            )
        if "cases.tolerated_reminders" not in periodic_jobs:
            reminders.register_templates()
            register_periodic_job(
                "cases.tolerated_reminders",
                tasks.sweep_tolerated_reminders,
                every=dt.timedelta(hours=1),
                description="容缺受理: remind applicants of tolerated materials falling due",
            )


def check_virus_scanners(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """Every scanner ``TONGBAN_VIRUS_SCANNERS`` names is registered."""
    from tongban.cases.materials import virus_scanners

    known = ", ".join(virus_scanners) or "none"
    return [
        checks.Error(
            f"TONGBAN_VIRUS_SCANNERS names {name!r}, which is not a registered virus scanner "
            f"(known: {known})",
            id="cases.E001",
        )
        for name in settings.TONGBAN_VIRUS_SCANNERS
        if name not in virus_scanners
    ]
