"""App configuration for ``tongban.policies``: message templates, the scheduled-run job,
the profile refresh job and the 申请制 outcome listener."""

from django.apps import AppConfig


class PoliciesConfig(AppConfig):
    name = "tongban.policies"
    label = "policies"
    verbose_name = "惠企惠民政策"

    def ready(self) -> None:
        import datetime as dt

        from tongban.cases import outcomes
        from tongban.core.tasks import periodic_jobs, register_periodic_job
        from tongban.policies import applications, notices, tasks

        outcomes.register("policies", applications.ApplicationOutcomes())

        if "policies.scheduled_runs" not in periodic_jobs:
            notices.register_templates()
            register_periodic_job(
                "policies.scheduled_runs",
                tasks.start_scheduled_runs,
                every=dt.timedelta(hours=1),
                description="兑现批次: build candidate lists on the first 3 working days of a month",
            )
        if "policies.refresh_profiles" not in periodic_jobs:
            register_periodic_job(
                "policies.refresh_profiles",
                tasks.refresh_profiles,
                every=dt.timedelta(hours=6),
                description="一人一档/一企一档: refresh the stalest profiles from the data sources",
            )
