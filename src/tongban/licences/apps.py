"""App configuration for ``tongban.licences``: registers the outcome listener (issue on 准予,
revoke on 撤销), the key-management plugins, the expiry-reminder periodic job and the 免提交
resolver for materials a licence stands in for."""

from __future__ import annotations

from django.apps import AppConfig


class LicencesConfig(AppConfig):
    name = "tongban.licences"
    label = "licences"
    verbose_name = "电子证照"

    def ready(self) -> None:
        from tongban.cases import outcomes
        from tongban.licences import issuance, tasks
        from tongban.licences.crypto import keywrap  # noqa: F401 - registers the local backend

        outcomes.register("licences", issuance.CaseOutcomeListener())
        tasks.register_jobs()

        from tongban.licences import exemptions
        from tongban.sharing.exemptions import register_resolver

        # 免提交: a valid e-licence the applicant holds stands in for the material
        register_resolver("licence_type", exemptions.resolve, name="licences", priority=10)
