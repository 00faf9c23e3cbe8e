"""App configuration for ``tongban.bundles``: registers the catalog section, the outcome
listener that starts later stages, and the bundle notices."""

from django.apps import AppConfig


class BundlesConfig(AppConfig):
    name = "tongban.bundles"
    label = "bundles"
    verbose_name = "一件事"

    def ready(self) -> None:
        from tongban.bundles import notices
        from tongban.bundles.definitions import BundleSection
        from tongban.bundles.services import BundleOutcomes
        from tongban.cases import outcomes
        from tongban.catalog.extensions import section_handlers

        if "bundles" not in section_handlers:
            section_handlers.register("bundles")(BundleSection())
            notices.register_templates()
        outcomes.register("bundles", BundleOutcomes())
