"""Simulation before publishing (政策兑现数据模型): how many entities a version reaches, for how
much, where (division) and in which industries, and how that differs from the published version.

It runs the batch evaluator over today's profiles without writing anything; the budget is
compared with the total so the author sees whether the money suffices.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from django.utils import timezone

from tongban.core.errors import PermissionDenied
from tongban.identity.models import Division
from tongban.policies import access
from tongban.policies.batch import eligible_long
from tongban.policies.models import PolicyVersion
from tongban.policies.schema import Target, schema_for
from tongban.policies.selectors import (
    compile_version,
    period_context,
    period_for,
    profile_frame,
    tags_of,
)

INDUSTRY_SECTIONS = {
    "A": "农林牧渔业",
    "B": "采矿业",
    "C": "制造业",
    "D": "电力热力燃气及水",
    "E": "建筑业",
    "F": "批发和零售业",
    "G": "交通运输仓储邮政",
    "H": "住宿和餐饮业",
    "I": "信息技术服务业",
    "J": "金融业",
    "K": "房地产业",
    "L": "租赁和商务服务业",
    "M": "科学研究和技术服务业",
    "N": "水利环境公共设施",
    "O": "居民服务修理",
    "P": "教育",
    "Q": "卫生和社会工作",
    "R": "文化体育娱乐业",
    "S": "公共管理社会保障",
}


@dataclass
class ItemFigures:
    code: str
    name: str
    eligible: int
    unknown: int
    total_fen: int


@dataclass
class Simulation:
    version: int
    period: str
    budget_fen: int
    entities: int
    eligible: int
    unknown: int
    total_fen: int
    items: list[ItemFigures]
    by_division: list[dict[str, Any]]
    by_industry: list[dict[str, Any]]
    diff: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "period": self.period,
            "budget_fen": self.budget_fen,
            "entities": self.entities,
            "eligible": self.eligible,
            "unknown": self.unknown,
            "total_fen": self.total_fen,
            "items": [vars(i) for i in self.items],
            "by_division": self.by_division,
            "by_industry": self.by_industry,
            "diff": self.diff,
        }


def _evaluate(
    version: PolicyVersion, frame: pl.DataFrame, on: dt.date
) -> tuple[pl.DataFrame, list[Any], str]:
    items = compile_version(version)
    period = period_for(version.period_kind, on)
    ctx = period_context(version.period_kind, period, on)
    key = schema_for(version.policy.target).key
    found = eligible_long(frame, [i.compiled for i in items], ctx, key=key)
    return found, items, period


def simulate_version(
    actor: Any, version: PolicyVersion, *, on: dt.date | None = None
) -> Simulation:
    policy = version.policy
    if not access.can_see_policy_work(actor, policy, version):
        raise PermissionDenied("无权模拟该政策", code="forbidden")
    on = on or timezone.localdate()
    target = policy.target
    published = policy.published_version
    versions = [version] + ([published] if published and published.pk != version.pk else [])
    tags: set[str] = set()
    for v in versions:
        tags |= tags_of(compile_version(v))
    frame = profile_frame(target, tags)
    key = schema_for(target).key
    found, items, period = _evaluate(version, frame, on)
    paying = found.filter((pl.col("outcome") == "eligible") & (pl.col("fen") > 0))
    per_item = {
        row["item"]: row
        for row in found.group_by("item")
        .agg(
            ((pl.col("outcome") == "eligible") & (pl.col("fen") > 0)).sum().alias("eligible"),
            (pl.col("outcome") == "unknown").sum().alias("unknown"),
            pl.col("fen").filter(pl.col("outcome") == "eligible").sum().alias("total"),
        )
        .to_dicts()
    }
    figures = [
        ItemFigures(
            i.code,
            i.name,
            int(per_item.get(i.code, {}).get("eligible") or 0),
            int(per_item.get(i.code, {}).get("unknown") or 0),
            int(per_item.get(i.code, {}).get("total") or 0),
        )
        for i in items
    ]
    division_col = "division" if target == Target.ENTERPRISE else "household_division"
    attrs = frame.select(
        pl.col(key).alias("key"),
        pl.col(division_col).alias("division"),
        (pl.col("industry") if target == Target.ENTERPRISE else pl.lit(None, pl.String)).alias(
            "industry"
        ),
    )
    joined = paying.join(attrs, on="key", how="left")
    by_division = _distribution(joined, pl.col("division").str.slice(0, 6), _division_names())
    by_industry = _distribution(
        joined, pl.col("industry").str.slice(0, 1), INDUSTRY_SECTIONS, empty="（未知行业）"
    )
    result = Simulation(
        version=version.number,
        period=period,
        budget_fen=version.budget_fen,
        entities=frame.height,
        eligible=paying.select(pl.col("key").n_unique()).item() if paying.height else 0,
        unknown=found.filter(pl.col("outcome") == "unknown").select(pl.col("key").n_unique()).item()
        if found.height
        else 0,
        total_fen=int(paying.select(pl.col("fen").sum()).item() or 0),
        items=figures,
        by_division=by_division,
        by_industry=by_industry,
    )
    if published is not None and published.pk != version.pk:
        old, _, _ = _evaluate(published, frame, on)
        old_paying = old.filter((pl.col("outcome") == "eligible") & (pl.col("fen") > 0))
        new_keys = set(paying.get_column("key").to_list())
        old_keys = set(old_paying.get_column("key").to_list())
        old_total = int(old_paying.select(pl.col("fen").sum()).item() or 0)
        result.diff = {
            "published_version": published.number,
            "published_eligible": len(old_keys),
            "published_total_fen": old_total,
            "gained": len(new_keys - old_keys),
            "lost": len(old_keys - new_keys),
            "total_change_fen": result.total_fen - old_total,
        }
    return result


def _division_names() -> dict[str, str]:
    return dict(Division.objects.values_list("code", "name"))


def _distribution(
    joined: pl.DataFrame, by: pl.Expr, names: dict[str, str], empty: str = "（未知区划）"
) -> list[dict[str, Any]]:
    if not joined.height:
        return []
    grouped = (
        joined.with_columns(by.alias("group"))
        .group_by("group")
        .agg(pl.col("key").n_unique().alias("count"), pl.col("fen").sum().alias("total_fen"))
        .sort("total_fen", descending=True)
    )
    return [
        {
            "code": row["group"] or "",
            "name": names.get(row["group"] or "", row["group"] or empty),
            "count": int(row["count"]),
            "total_fen": int(row["total_fen"] or 0),
        }
        for row in grouped.to_dicts()
    ]
