"""App configuration for ``tongban.cases``."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "tongban.cases"
    label = "cases"
    verbose_name = "办件"

    def ready(self) -> None:
        from tongban.cases import facts  # noqa: F401 - registers the case engine's facts
