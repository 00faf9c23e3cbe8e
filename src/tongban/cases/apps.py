"""App configuration for ``tongban.cases``."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "tongban.cases"
    label = "cases"
    verbose_name = "办件"

    def ready(self) -> None:
        import datetime as dt

        from tongban.cases import facts, notices, reminders, tasks
        from tongban.core.tasks import periodic_jobs, register_periodic_job

        del facts  # imported for its fact registrations
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
