"""Template context shared by every page: 长辈模式, the division switch and its current value.

The division list is loaded lazily, so a page that does not render the switch (a partial
re-rendered by htmx) costs no query.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from tongban.catalog.selectors import list_divisions
from tongban.portal.presenters import division_options


def display_preferences(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "division_code", None)
    return {
        "elder_mode": getattr(request, "elder_mode", False),
        "current_division": current,
        "division_options": SimpleLazyObject(lambda: division_options(list_divisions(), current)),
    }
