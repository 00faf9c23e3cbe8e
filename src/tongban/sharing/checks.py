"""System check: every configured 数源 connector must build with valid options at start-up."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register
from django.core.exceptions import ImproperlyConfigured


@register()
def connectors_configured(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from tongban.sharing.connectors import build_connector
    from tongban.sharing.sources import SOURCES

    problems: list[CheckMessage] = []
    configured = getattr(settings, "TONGBAN_SHARING_CONNECTORS", {}) or {}
    if not isinstance(configured, dict):
        return [Error("TONGBAN_SHARING_CONNECTORS must be a mapping", id="sharing.E001")]
    for name, entry in configured.items():
        if name != "default" and name not in SOURCES:
            problems.append(
                Error(
                    f"TONGBAN_SHARING_CONNECTORS[{name!r}]: no data source has this code",
                    hint="a typing mistake in TONGBAN_SHARING_GATEWAY_SOURCES?",
                    id="sharing.E003",
                )
            )
            continue
        try:
            build_connector(entry, name)
        except ImproperlyConfigured as exc:
            problems.append(Error(str(exc), id="sharing.E002"))
    return problems
