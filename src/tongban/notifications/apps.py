"""App configuration for ``tongban.notifications``: loads the channel and SMS gateway plugins,
registers the app's periodic jobs and checks the configured gateway before first use."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks


class NotificationsConfig(AppConfig):
    name = "tongban.notifications"
    label = "notifications"
    verbose_name = "消息通知"

    def ready(self) -> None:
        from tongban.core.tasks import periodic_jobs, register_periodic_job
        from tongban.notifications import channels, message_templates, tasks

        del channels, message_templates  # imported for their plugin registrations
        if "notifications.deliver_due" not in periodic_jobs:
            register_periodic_job(
                "notifications.deliver_due",
                tasks.deliver_due,
                every=dt.timedelta(seconds=settings.TONGBAN_NOTIFICATION_SWEEP_SECONDS),
                description="deliver notifications whose queued job was lost or is due for retry",
            )
            register_periodic_job(
                "notifications.prune_history",
                tasks.prune_history,
                every=dt.timedelta(days=1),
                description="forget old scheduler runs and old embedded-queue task results",
            )
        checks.register(check_sms_gateway)


def check_sms_gateway(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """The configured SMS gateway exists and its settings are usable."""
    from tongban.notifications.channels import sms_gateways

    name = str(settings.TONGBAN_SMS_GATEWAY)
    if name not in sms_gateways:
        known = ", ".join(sms_gateways)
        return [
            checks.Error(
                f"TONGBAN_SMS_GATEWAY={name!r} is not a registered SMS gateway (known: {known})",
                id="notifications.E001",
            )
        ]
    return [
        checks.Error(problem, id="notifications.E002")
        for problem in sms_gateways.get(name).problems()
    ]
