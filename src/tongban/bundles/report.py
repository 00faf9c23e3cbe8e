"""The reform report (改革成效): before → after figures computed from a bundle's configuration,
never typed in.

For the situation the bundle names (``report_answers``; unanswered questions count every line
that may apply), over the components that take part:

- **forms**: one application per item before; one after.
- **fields** the applicant fills: every applicable field of every item before; the merged
  fields that are not prefilled (自动填 / 系统填) after.
- **materials** to hand in: every applicable, non-optional material of every item before; the
  merged materials that still need an upload after (免提交 and those produced inside the
  bundle are not handed in).
- **days**: the promised limits one after another before; the critical path through the
  stages after (the longest chain of ``needs``, each item at its promised limit).
- **trips**: the items' trips added up before; the bundle's own after.
- **departments**: the distinct departments the applicant deals with before; one window after.

Published figures from the source documents are carried alongside (``published``) so a page can
show both; they never enter the computation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tongban.bundles.merging import Merged, merge
from tongban.bundles.spec import BundleSpec

MEASURES = ("forms", "fields", "materials", "days", "trips", "departments")
LABELS = {
    "forms": "申请表",
    "fields": "填写字段",
    "materials": "提交材料",
    "days": "办理时限（工作日）",
    "trips": "跑动次数",
    "departments": "对接部门",
}


@dataclass(frozen=True)
class Figure:
    before: int
    after: int

    @property
    def saved_percent(self) -> int:
        return round(100 * (self.before - self.after) / self.before) if self.before else 0


@dataclass(frozen=True)
class Report:
    code: str
    name: str
    figures: dict[str, Figure]
    published: Mapping[str, Any] | None
    stages: int
    items: int

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "name": self.name}
        for measure in MEASURES:
            figure = self.figures[measure]
            out[measure] = {"before": figure.before, "after": figure.after}
        if self.published:
            out["published"] = {
                k: (
                    {"before": _num(v["before"]), "after": _num(v["after"])}
                    if isinstance(v, dict)
                    else v
                )
                for k, v in self.published.items()
            }
        out["stages"] = self.stages
        out["items"] = self.items
        return out


def _num(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def critical_path(spec: BundleSpec, codes: set[str]) -> int:
    """The longest chain of promised limits through ``needs`` among ``codes``."""
    memo: dict[str, int] = {}

    def finish(code: str) -> int:
        if code not in memo:
            component = spec.component(code)
            start = max((finish(n) for n in component.needs if n in codes), default=0)
            memo[code] = start + component.item.promised_limit_days
        return memo[code]

    return max((finish(c) for c in codes), default=0)


def compute(spec: BundleSpec, answers: Mapping[str, Any] | None = None) -> Report:
    """The report for ``answers`` (by default the situation the bundle names)."""
    merged = merge(spec, spec.report_answers if answers is None else answers)
    return report_of(merged)


def report_of(merged: Merged) -> Report:
    spec = merged.spec
    included = merged.included
    items = [c.component.item for c in included]
    fields_before = sum(len(c.guide.fields) for c in included if c.guide is not None)
    materials_before = sum(
        1
        for c in included
        if c.guide is not None
        for m in c.guide.materials
        if m.material.requirement != "optional"
    )
    codes = {c.code for c in included}
    figures = {
        "forms": Figure(len(included), min(1, len(included))),
        "fields": Figure(fields_before, sum(1 for f in merged.fields if not f.prefilled)),
        "materials": Figure(
            materials_before, sum(1 for m in merged.materials if m.coverage == "upload")
        ),
        "days": Figure(sum(i.promised_limit_days for i in items), critical_path(spec, codes)),
        "trips": Figure(
            sum(i.required_trips for i in items),
            min(spec.required_trips, sum(i.required_trips for i in items)),
        ),
        "departments": Figure(len({i.department for i in items}), min(1, len(items))),
    }
    stages = max((c.component.stage for c in included), default=0)
    return Report(spec.code, spec.name, figures, spec.published, stages, len(included))
