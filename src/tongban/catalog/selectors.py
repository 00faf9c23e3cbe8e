"""Catalog reads: item pages, lists with cursor pagination, departments and divisions.

Everything the portal, the API and other apps read from the catalog goes through here. Lists
page by keyset (``code > cursor``), never by COUNT(*)/OFFSET, so they stay fast on big tables.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, TextField
from django.db.models.functions import Cast

from tongban.catalog.models import Implementation, Item, ItemVersion
from tongban.core.compiled import CompiledRead
from tongban.core.errors import NotFound
from tongban.identity.models import Department, Division
from tongban.identity.selectors import division_chain


@dataclass(frozen=True)
class EffectiveItem:
    """An item version as carried out in one division (实施清单 overrides applied)."""

    version: ItemVersion
    division: Division | None
    implementation: Implementation | None
    handling_department: Department
    promised_limit_days: int
    fee: str
    online_depth: int
    required_trips: int
    service_centre_name: str
    windows: str

    @property
    def code(self) -> str:
        return self.version.item.code


def published_versions() -> QuerySet[ItemVersion]:
    """The current version of every item, with department and division joined."""
    return ItemVersion.objects.filter(item__current_version=F("pk")).select_related(
        "item", "department", "department__division"
    )


_ITEM_BY_CODE = CompiledRead(
    lambda code: (
        Item.objects.select_related(
            "current_version",
            "current_version__department",
            "current_version__department__division",
        )
        .filter(code=code)
        .order_by()
    ),
    (str,),
    "item_by_code",
)  # compiled once: every application and guide asks
_DIVISION_BY_CODE = CompiledRead(
    lambda code: (
        Division.objects.select_related("parent__parent__parent").filter(code=code).order_by()
    ),
    (str,),
    "division_by_code",
)


_CHAIN_SLOTS = 8  # division_chain walks at most eight levels
_IMPLEMENTATIONS_IN_CHAIN = CompiledRead(
    lambda item_id, *chain: (
        Implementation.objects.filter(item_id=item_id, division_id__in=chain)
        .select_related("handling_department", "service_centre")
        .order_by()
    ),
    (int,) * (1 + _CHAIN_SLOTS),
    "implementations_in_chain",
)  # compiled once: every application asks; the chain is padded to a fixed length


def _implementations(item_id: int, chain: list[int]) -> list[Implementation]:
    padded = (chain + chain[-1:] * _CHAIN_SLOTS)[:_CHAIN_SLOTS]  # repeats change no answer
    found: list[Implementation] = _IMPLEMENTATIONS_IN_CHAIN(item_id, *padded)
    return found


def get_current_version(code: str) -> ItemVersion:
    item = _ITEM_BY_CODE.first(code)
    if item is None:
        raise NotFound(f"没有编码为 {code} 的事项", code="item_not_found")
    if item.current_version is None:
        raise NotFound(f"事项 {code} 尚未发布", code="item_not_published")
    version = item.current_version
    version.item = item
    return version


def get_version(code: str, number: int) -> ItemVersion:
    try:
        return ItemVersion.objects.select_related("item", "department").get(
            item__code=code, number=number
        )
    except ItemVersion.DoesNotExist:
        raise NotFound(f"事项 {code} 没有第 {number} 版", code="version_not_found") from None


def _division(division_code: str) -> Division:
    division: Division | None = _DIVISION_BY_CODE.first(division_code)
    if division is None:
        raise NotFound(f"没有代码为 {division_code} 的行政区划", code="division_not_found")
    return division


def effective_item(code: str, division_code: str | None = None) -> EffectiveItem:
    """The current version of ``code`` as carried out in ``division_code`` (or its nearest
    ancestor with an implementation); without a division, the base item."""
    version = get_current_version(code)
    if not division_code:
        return _effective(version, None, None)
    division = _division(division_code)
    chain = division_chain(division)
    candidates = {impl.division_id: impl for impl in _implementations(version.item_id, chain)}
    implementation = next((candidates[d] for d in chain if d in candidates), None)
    return _effective(version, division, implementation)


def effective_items(codes: list[str], division_code: str) -> dict[str, EffectiveItem]:
    """``effective_item`` for several items in one division, in three queries (one application
    that files many items — a 一件事 — resolves them together)."""
    items = {
        item.code: item
        for item in Item.objects.filter(code__in=codes).select_related(
            "current_version",
            "current_version__department",
            "current_version__department__division",
        )
    }
    for code in codes:
        item = items.get(code)
        if item is None:
            raise NotFound(f"没有编码为 {code} 的事项", code="item_not_found")
        if item.current_version is None:
            raise NotFound(f"事项 {code} 尚未发布", code="item_not_published")
        item.current_version.item = item
    division = _division(division_code)
    chain = division_chain(division)
    found: dict[tuple[int, int], Implementation] = {
        (impl.item_id, impl.division_id): impl
        for impl in Implementation.objects.filter(
            item_id__in=[i.pk for i in items.values()], division_id__in=chain
        ).select_related("handling_department", "service_centre")
    }
    result = {}
    for code in codes:
        item = items[code]
        implementation = next((found[(item.pk, d)] for d in chain if (item.pk, d) in found), None)
        assert item.current_version is not None
        result[code] = _effective(item.current_version, division, implementation)
    return result


def _effective(
    version: ItemVersion, division: Division | None, impl: Implementation | None
) -> EffectiveItem:
    return EffectiveItem(
        version=version,
        division=division,
        implementation=impl,
        handling_department=(
            impl.handling_department if impl and impl.handling_department else version.department
        ),
        promised_limit_days=(
            impl.promised_limit_days
            if impl and impl.promised_limit_days is not None
            else version.promised_limit_days
        ),
        fee=(impl.fee if impl and impl.fee else version.fee),
        online_depth=(impl.online_depth if impl and impl.online_depth else version.online_depth),
        required_trips=(
            impl.required_trips
            if impl and impl.required_trips is not None
            else version.required_trips
        ),
        service_centre_name=(impl.service_centre.name if impl and impl.service_centre else ""),
        windows=impl.windows if impl else "",
    )


def implementations_of(code: str) -> list[Implementation]:
    return list(
        Implementation.objects.filter(item__code=code)
        .select_related("division", "handling_department")
        .order_by("division__code")
    )


def guide_parts(version: ItemVersion) -> ItemVersion:
    """Load a version with its questions, materials and fields in three queries."""
    return (
        ItemVersion.objects.select_related("item", "department", "department__division")
        .prefetch_related(
            "questions",
            "materials",
            Prefetch("fields", queryset=version.fields.model.objects.select_related("element")),
        )
        .get(pk=version.pk)
    )


@dataclass(frozen=True)
class ItemPage:
    items: list[ItemVersion]
    next_cursor: str | None


def list_items(
    *,
    cursor: str | None = None,
    limit: int = 20,
    department: str | None = None,
    division: str | None = None,
    item_type: str | None = None,
    applicant_type: str | None = None,
    theme: str | None = None,
) -> ItemPage:
    """Current item versions ordered by code, a page at a time (keyset pagination)."""
    limit = max(1, min(limit, 100))
    qs = published_versions()
    if department:
        qs = qs.filter(department__code=department)
    if division:
        qs = qs.filter(
            Q(department__division__code=division)
            | Q(item__implementations__division__code=division)
        ).distinct()
    if item_type:
        qs = qs.filter(item_type=item_type)
    if applicant_type:
        qs = _json_list_contains(qs, "applicant_types", applicant_type)
    if theme:
        qs = _json_list_contains(qs, "themes", theme)
    if cursor:
        qs = qs.filter(item__code__gt=cursor)
    rows = list(qs.order_by("item__code")[: limit + 1])
    next_cursor = rows[limit - 1].item.code if len(rows) > limit else None
    return ItemPage(rows[:limit], next_cursor)


def _json_list_contains(qs: QuerySet[ItemVersion], field: str, value: str) -> QuerySet[ItemVersion]:
    """Filter on a JSON list holding ``value`` (SQLite has no JSON ``contains`` lookup)."""
    if connection.vendor == "postgresql":
        return qs.filter(**{f"{field}__contains": [value]})
    # SQLite stores JSON text with non-ASCII escaped (\\uXXXX), so match the encoded element.
    alias = f"{field}_text"
    return qs.alias(**{alias: Cast(field, TextField())}).filter(
        **{f"{alias}__contains": json.dumps(value)}
    )


def popular_items(limit: int = 12) -> list[ItemVersion]:
    return list(published_versions().order_by("-popularity", "item__code")[:limit])


def departments_with_item_counts(division_code: str | None = None) -> list[Department]:
    """Departments that carry at least one current item, with ``item_count`` annotated."""
    qs = (
        Department.objects.select_related("division")
        .annotate(
            item_count=Count(
                "item_versions",
                filter=Q(item_versions__item__current_version=F("item_versions__pk")),
            )
        )
        .filter(item_count__gt=0)
    )
    if division_code:
        qs = qs.filter(division__code=division_code)
    return list(qs.order_by("division__code", "code"))


def list_divisions() -> list[Division]:
    return list(Division.objects.select_related("parent").order_by("code"))


def list_departments(division_code: str | None = None) -> list[Department]:
    qs = Department.objects.select_related("division")
    if division_code:
        qs = qs.filter(division__code=division_code)
    return list(qs.order_by("code"))
