"""Template filters of the applicant space: look a value up by key (errors and posted values
are dictionaries keyed by field or material key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def get_item(mapping: Mapping[str, Any] | None, key: str) -> Any:
    """``mapping[key]``, or "" when there is no such key."""
    if not mapping:
        return ""
    return mapping.get(key, "")
