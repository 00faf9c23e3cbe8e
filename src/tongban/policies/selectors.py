"""Reads for policies: profiles as dicts (single evaluation) and as Polars frames (batch), compiled
payable items, the reference dates of a period, published policies and an entity's matches,
offers and payments."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl
from django.db.models import QuerySet
from django.utils import timezone

from tongban.core.errors import NotFound, ValidationFailed
from tongban.policies.batch import (
    TAGS_KNOWN,
    CompiledItem,
    frame_from_rows,
    polars_type,
    tag_column,
)
from tongban.policies.evaluate import Context, Explained, amount_fen, explain, missing_data
from tongban.policies.models import (
    Candidate,
    CandidateStatus,
    EnterpriseProfile,
    NamedCondition,
    PaymentInstruction,
    PeriodKind,
    Policy,
    PolicyVersion,
    VersionStatus,
)
from tongban.policies.rules import compile_amount, compile_rule, referenced_tags
from tongban.policies.schema import AttrType, ProfileSchema, Target, schema_for

PROFILE_MODELS: dict[str, Any] = {}


def profile_model(target: str) -> Any:
    from tongban.policies.models import PersonProfile

    return EnterpriseProfile if target == Target.ENTERPRISE else PersonProfile


def named_lookup(name: str) -> tuple[str, Any] | None:
    found = NamedCondition.objects.filter(name=name).values_list("target", "rule").first()
    return (found[0], found[1]) if found else None


# --- periods ------------------------------------------------------------------------------------
def period_for(kind: str, day: dt.date) -> str:
    if kind == PeriodKind.MONTHLY:
        return f"{day:%Y-%m}"
    if kind == PeriodKind.YEARLY:
        return f"{day:%Y}"
    return "once"


def period_context(kind: str, period: str, payment_date: dt.date) -> Context:
    """The reference dates of ``period`` (``2026-11``, ``2026`` or ``once``)."""
    try:
        if kind == PeriodKind.MONTHLY:
            year, month = (int(p) for p in period.split("-"))
            start = dt.date(year, month, 1)
            end = dt.date(year, month, calendar.monthrange(year, month)[1])
        elif kind == PeriodKind.YEARLY:
            year = int(period)
            start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
        else:
            if period != "once":
                raise ValueError(period)
            start = end = payment_date
    except ValueError:
        expected = {"monthly": "YYYY-MM", "yearly": "YYYY"}.get(kind, "once")
        raise ValidationFailed(
            "期间格式不正确",
            code="invalid_period",
            errors=[{"path": "period", "message": f"应为 {expected}，实际为 {period!r}"}],  # type: ignore[list-item]
        ) from None
    return Context(period_start=start, period_end=end, payment_date=payment_date)


# --- compiled items -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemInfo:
    code: str
    name: str
    mode: str
    priority: int
    compiled: CompiledItem
    catalog_item: str = ""  # 申请制: the catalog item applied through


_COMPILED: dict[tuple[Any, ...], list[ItemInfo]] = {}


def compile_version(version: PolicyVersion) -> list[ItemInfo]:
    """The version's payable items, compiled. Versions under review or published never change,
    so their compiled form is kept (keyed by id and creation time: test databases reuse ids)."""
    if version.status == VersionStatus.DRAFT:
        return _compile(version)
    key = (version.pk, version.created_at)
    cached = _COMPILED.get(key)
    if cached is None:
        if len(_COMPILED) > 256:
            _COMPILED.clear()
        cached = _COMPILED[key] = _compile(version)
    return cached


def forget_compiled_versions() -> None:
    """Drop every cached compiled version (a restored database may reuse ids)."""
    _COMPILED.clear()


def _compile(version: PolicyVersion) -> list[ItemInfo]:
    schema = schema_for(version.policy.target)
    infos = []
    for i, item in enumerate(version.items.all()):
        condition = compile_rule(
            item.conditions, schema, path=f"items[{i}].conditions", named=named_lookup
        )
        amount = compile_amount(item.amount, schema, path=f"items[{i}].amount", named=named_lookup)
        infos.append(
            ItemInfo(
                item.code,
                item.name,
                item.mode,
                item.priority,
                CompiledItem(item.code, condition, amount),
                item.catalog_item,
            )
        )
    return infos


# --- profiles -----------------------------------------------------------------------------------
def _row_to_profile(schema: ProfileSchema, row: dict[str, Any]) -> dict[str, Any]:
    profile = {a.name: row.get(a.model_column) for a in schema.attributes}
    tags = profile.get("tags")
    profile["tags"] = None if tags is None else frozenset(tags)
    return profile


def profile_of(target: str, key: str) -> dict[str, Any] | None:
    schema = schema_for(target)
    row = profile_model(target).objects.filter(**{schema.key: key}).values().first()
    return None if row is None else _row_to_profile(schema, row)


def profile_frame(target: str, tags: Iterable[str] = ()) -> pl.DataFrame:
    """Every profile of ``target`` as a population frame (see ``policies.batch``)."""
    schema = schema_for(target)
    columns = [a.model_column for a in schema.attributes]
    rows = profile_model(target).objects.order_by("id").values_list(*columns)
    wanted = list(tags)
    data: dict[str, list[Any]] = {a.name: [] for a in schema.attributes}
    for row in rows.iterator(chunk_size=20_000):
        for attr, value in zip(schema.attributes, row, strict=True):
            data[attr.name].append(value)
    series: dict[str, pl.Series] = {}
    for attr in schema.attributes:
        if attr.type is AttrType.TAGS:
            continue
        series[attr.name] = pl.Series(attr.name, data[attr.name], dtype=polars_type(attr))
    for tag in wanted:
        series[tag_column(tag)] = pl.Series(
            tag_column(tag),
            [None if t is None else tag in t for t in data["tags"]],
            dtype=pl.Boolean,
        )
    series[TAGS_KNOWN] = pl.Series(
        TAGS_KNOWN, [t is not None for t in data["tags"]], dtype=pl.Boolean
    )
    if not data[schema.key]:
        return frame_from_rows(schema, [], wanted)
    return pl.DataFrame(series)


def tags_of(items: Sequence[ItemInfo]) -> set[str]:
    found: set[str] = set()
    for info in items:
        found |= referenced_tags(info.compiled.condition) | referenced_tags(info.compiled.amount)
    return found


# --- policies -----------------------------------------------------------------------------------
def get_policy(code: str) -> Policy:
    policy = (
        Policy.objects.select_related("department", "published_version").filter(code=code).first()
    )
    if policy is None:
        raise NotFound("没有这项政策", code="policy_not_found")
    return policy


def get_version(policy: Policy, number: int) -> PolicyVersion:
    version = (
        PolicyVersion.objects.select_related("policy", "legality_department", "finance_department")
        .filter(policy=policy, number=number)
        .first()
    )
    if version is None:
        raise NotFound("没有这个政策版本", code="version_not_found")
    return version


def published_policies(target: str | None = None) -> QuerySet[Policy]:
    qs = Policy.objects.filter(published_version__isnull=False).select_related(
        "department", "published_version"
    )
    return qs.filter(target=target) if target else qs


@dataclass
class ItemCheck:
    """One payable item checked for one entity (政策体检)."""

    policy: Policy
    item: ItemInfo
    result: bool | None
    amount_fen: int | None
    explanation: Explained
    missing: list[str]

    @property
    def verdict(self) -> str:
        if self.result is None or (self.result and self.amount_fen is None):
            return "unknown"
        return "eligible" if self.result and (self.amount_fen or 0) > 0 else "ineligible"


def check_entity(target: str, key: str, *, on: dt.date | None = None) -> list[ItemCheck]:
    """Every published payable item for one entity, with the reasons (政策体检)."""
    profile = profile_of(target, key)
    if profile is None:
        raise NotFound("平台尚无该对象的档案", code="profile_not_found")
    today = on or timezone.localdate()
    checks = []
    for policy in published_policies(target):
        version = policy.published_version
        assert version is not None
        ctx = period_context(version.period_kind, period_for(version.period_kind, today), today)
        for info in compile_version(version):
            explained = explain(info.compiled.condition, profile, ctx)
            fen = amount_fen(info.compiled.amount, profile, ctx) if explained.result else None
            checks.append(
                ItemCheck(policy, info, explained.result, fen, explained, missing_data(explained))
            )
    return checks


def offers_for(keys: Iterable[str]) -> QuerySet[Candidate]:
    return (
        Candidate.objects.filter(entity_key__in=list(keys), status=CandidateStatus.OFFERED)
        .select_related("run__policy")
        .order_by("confirm_by", "id")
    )


def payments_for(keys: Iterable[str]) -> QuerySet[PaymentInstruction]:
    return (
        PaymentInstruction.objects.filter(entity_key__in=list(keys))
        .select_related("policy")
        .order_by("-created_at", "-id")
    )


def item_names(codes: Iterable[str]) -> dict[str, str]:
    """Payable item code → name, as the newest version that has the item calls it."""
    from tongban.policies.models import PayableItem

    found = PayableItem.objects.filter(code__in=list(codes)).order_by("version__number")
    return dict(found.values_list("code", "name"))
