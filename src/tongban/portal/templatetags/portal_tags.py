"""Portal template filters: search-term highlighting, catalog code → label, the ``lang`` value.

They only format what views already decided; no catalog rule is evaluated here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

from django import template
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

from tongban.catalog.models import (
    ApplicantType,
    HandlingMode,
    ItemType,
    MaterialRequirement,
    MaterialSource,
    OnlineDepth,
    PrefillSource,
    ResultKind,
    TongbanScope,
)
from tongban.portal import presenters

register = template.Library()

_CHOICES: dict[str, type] = {
    "applicant_type": ApplicantType,
    "handling_mode": HandlingMode,
    "item_type": ItemType,
    "requirement": MaterialRequirement,
    "source": MaterialSource,
    "online_depth": OnlineDepth,
    "prefill": PrefillSource,
    "result_kind": ResultKind,
    "tongban_scope": TongbanScope,
}


@register.filter(needs_autoescape=True)
def highlight(text: str, terms: Iterable[str] | None, autoescape: bool = True) -> SafeString:
    """Wrap every occurrence of a matched term in ``<mark>`` (longest terms first)."""
    text = str(text)
    wanted = sorted({t for t in (terms or ()) if t and t.strip()}, key=len, reverse=True)
    if not wanted:
        return mark_safe(conditional_escape(text))  # noqa: S308 - escaped just now
    pattern = re.compile("|".join(re.escape(t) for t in wanted), re.IGNORECASE)
    parts: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        parts.append(conditional_escape(text[position : match.start()]))
        parts.append(f"<mark>{conditional_escape(match.group())}</mark>")
        position = match.end()
    parts.append(conditional_escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped above


@register.filter
def highlight_hit(hit: object) -> SafeString:
    """A search hit's name with its matched spans (``hit.highlight``) in ``<mark>``; without
    spans, its matched terms are looked for in the name."""
    name = str(getattr(hit, "name", ""))
    spans = sorted(getattr(hit, "highlight", ()) or ())
    if not spans:
        return highlight(name, getattr(hit, "matched_terms", ()))
    parts: list[str] = []
    position = 0
    for start, end in spans:
        start, end = max(start, position), min(end, len(name))
        if start >= end:
            continue
        parts.append(conditional_escape(name[position:start]))
        parts.append(f"<mark>{conditional_escape(name[start:end])}</mark>")
        position = end
    parts.append(conditional_escape(name[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece escaped above


@register.filter
def label(value: object, kind: str) -> str:
    """The display label of a catalog code, e.g. ``"required"|label:"requirement"`` → 必要."""
    choices = _CHOICES.get(kind)
    if choices is None or value in (None, ""):
        return "" if value is None else str(value)
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value)


@register.filter
def labels(values: Iterable[object] | None, kind: str) -> list[str]:
    """``label`` applied to every value of a list (e.g. 服务对象)."""
    return [label(v, kind) for v in (values or ())]


@register.simple_tag
def colon() -> str:
    """``：`` in Chinese, ``: `` in English."""
    return presenters.colon()


@register.filter
def series(values: Iterable[object] | None, kind: str = "") -> str:
    """A list joined the way the active language lists words (``kind="clauses"``: with 分号)."""
    return presenters.series(values or (), clauses=kind == "clauses")


@register.filter
def html_lang(language_code: str | None) -> str:
    """The BCP 47 tag for ``<html lang>``: Django's ``zh-hans`` is ``zh-Hans``."""
    code = (language_code or "zh-hans").lower()
    if code.startswith("zh"):
        return "zh-Hans"
    return code


@register.filter
def total_minutes(value: dt.timedelta | None) -> int:
    """Whole minutes of a duration (the lockout cool-off), rounded up."""
    if value is None:
        return 0
    return max(0, -(-int(value.total_seconds()) // 60))
