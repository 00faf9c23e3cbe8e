"""App configuration for ``tongban.sharing``."""

from django.apps import AppConfig


class SharingConfig(AppConfig):
    name = "tongban.sharing"
    label = "sharing"
    verbose_name = "数据共享"

    def ready(self) -> None:
        from tongban.cases import applications
        from tongban.sharing import checks, connectors, exemptions, facts, selectors

        del checks, connectors, facts  # imported for their registrations
        exemptions.register_default_resolvers()
        applications.register_shared_data(selectors.shared_data_for)
