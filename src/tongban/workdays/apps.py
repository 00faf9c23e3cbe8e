"""App configuration for ``tongban.workdays``: registers the daily calendar horizon alert."""

from django.apps import AppConfig


class WorkdaysConfig(AppConfig):
    name = "tongban.workdays"
    label = "workdays"
    verbose_name = "工作日历"

    def ready(self) -> None:
        import datetime as dt

        from tongban.core.tasks import periodic_jobs, register_periodic_job
        from tongban.workdays import alerts, tasks

        if "workdays.calendar_horizon" not in periodic_jobs:
            alerts.register_templates()
            register_periodic_job(
                "workdays.calendar_horizon",
                tasks.warn_calendar_horizon,
                every=dt.timedelta(days=1),
                description="tell system administrators when the working-day calendar runs out",
            )
