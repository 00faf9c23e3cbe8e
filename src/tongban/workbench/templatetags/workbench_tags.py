"""Workbench template filters: personal data masked for display (脱敏); and the banner that
warns staff when the known working-day calendar is about to run out.

The filters only format; whether a page may show unmasked data is decided in the view, which
logs it.
"""

from __future__ import annotations

from typing import Any

from django import template

from tongban.core import masking
from tongban.identity.permissions import can_administer_system, is_staff_member
from tongban.workdays.selectors import calendar_horizon

register = template.Library()


@register.filter
def masked_name(value: object) -> str:
    return masking.mask_name(str(value or ""))


@register.filter
def masked_id(value: object) -> str:
    return masking.mask_id_number(str(value or ""))


@register.filter
def masked_mobile(value: object) -> str:
    return masking.mask_mobile(str(value or ""))


@register.filter
def filesize(value: int | None) -> str:
    """Bytes as KB/MB, one decimal."""
    size = float(value or 0)
    if size < 1024:
        return f"{int(size)} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


@register.inclusion_tag("workbench/_calendar_horizon.html", takes_context=True)
def calendar_horizon_warning(context: template.Context) -> dict[str, Any]:
    """The banner staff see when the known working-day calendar ends within 60 days."""
    return horizon_warning(context.get("user"))


@register.inclusion_tag("workbench/_admin_calendar_horizon.html", takes_context=True)
def admin_calendar_horizon_warning(context: template.Context) -> dict[str, Any]:
    """The same warning on the admin index."""
    return horizon_warning(context.get("user"))


def horizon_warning(user: Any) -> dict[str, Any]:
    """What the horizon banner shows ``user``: nothing unless a staff member and ``warn``."""
    if not is_staff_member(user):
        return {"horizon": None}
    horizon = calendar_horizon()
    if not horizon.warn:
        return {"horizon": None}
    return {
        "horizon": horizon,
        "overdue": horizon.days_left < 0,
        "admin": can_administer_system(user),
    }
