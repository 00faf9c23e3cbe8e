"""Template filters for shared data (数据共享): the name of a data source by its code."""

from __future__ import annotations

from django import template

from tongban.sharing.sources import label_of

register = template.Library()


@register.filter
def source_label(code: str) -> str:
    """``hukou`` → ``户籍信息（公安）``; an unknown code is shown as it is."""
    return label_of(code or "")
