"""Workbench template filters: personal data masked for display (脱敏).

They only format; whether a page may show unmasked data is decided in the view, which logs it.
"""

from __future__ import annotations

from django import template

from tongban.core import masking

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
