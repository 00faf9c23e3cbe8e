"""The single-entity evaluator (政策体检): one profile against compiled rules, with the reason.

Semantics (shared with ``policies.batch``, proven equal by property tests): a leaf whose
attribute is missing is *unknown* (``None``), never false — except ``known``/``unknown`` tests,
which are always decided; ``all``/``any``/``not`` follow Kleene's three-valued logic; an amount
is unknown when an attribute it reads is missing, and is rounded half-up to the fen
(``floor(x × 100 + 0.5)``). ``explain`` returns the same verdict with every condition's actual
value, threshold and pass/fail/unknown, and names the missing data.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tongban.policies.rules import (
    All,
    AnyOf,
    Capped,
    Cases,
    Condition,
    DateRef,
    DateValue,
    Fixed,
    Formula,
    Leaf,
    Not,
    Scaled,
    Tiers,
)
from tongban.policies.schema import CHOICE_LABELS, AttrType

Profile = Mapping[str, Any]
"""Attribute name → value (None when the data is missing); ``tags`` is a set of tag names."""


@dataclass(frozen=True)
class Context:
    """The reference dates a run or a check evaluates on."""

    period_start: dt.date
    period_end: dt.date
    payment_date: dt.date

    def date(self, value: DateValue) -> dt.date:
        if isinstance(value, DateRef):
            day: dt.date = getattr(self, value.name)
            return day
        return value


def whole_years(since: dt.date, on: dt.date) -> int:
    """Completed years from ``since`` to ``on`` (age on a date; a 29 February birthday counts
    from 1 March in other years)."""
    return on.year - since.year - int((since.month * 100 + since.day) > (on.month * 100 + on.day))


def operand(leaf: Leaf, profile: Profile, ctx: Context) -> Any:
    value = profile.get(leaf.attr.name)
    if value is None:
        return None
    if leaf.years_on is not None:
        return whole_years(value, ctx.date(leaf.years_on))
    if leaf.attr.type is AttrType.NUMBER:
        return float(value)
    return value


def _resolve(value: Any, ctx: Context) -> Any:
    if isinstance(value, DateRef):
        return ctx.date(value)
    if isinstance(value, tuple):
        return tuple(_resolve(v, ctx) for v in value)
    return value


def test_leaf(leaf: Leaf, actual: Any, ctx: Context) -> bool | None:
    op = leaf.op
    if op == "known":
        return actual is not None
    if op == "unknown":
        return actual is None
    if actual is None:
        return None
    value = _resolve(leaf.value, ctx)
    if op == "==":
        return bool(actual == value)
    if op == "!=":
        return bool(actual != value)
    if op == "<":
        return bool(actual < value)
    if op == "<=":
        return bool(actual <= value)
    if op == ">":
        return bool(actual > value)
    if op == ">=":
        return bool(actual >= value)
    if op == "between":
        return bool(value[0] <= actual <= value[1])
    if op == "in":
        return actual in value
    if op == "not_in":
        return actual not in value
    if op == "has_tag":
        return value in actual
    if op == "lacks_tag":
        return value not in actual
    if op == "within":
        return bool(actual.startswith(value))
    if op == "prefix":
        return any(actual.startswith(p) for p in value)
    raise AssertionError(op)


def evaluate(node: Condition, profile: Profile, ctx: Context) -> bool | None:
    """True / False / None (unknown) for one profile."""
    if isinstance(node, Leaf):
        return test_leaf(node, operand(node, profile, ctx), ctx)
    if isinstance(node, All):
        unknown = False
        for child in node.children:
            result = evaluate(child, profile, ctx)
            if result is False:
                return False
            unknown = unknown or result is None
        return None if unknown else True
    if isinstance(node, AnyOf):
        unknown = False
        for child in node.children:
            result = evaluate(child, profile, ctx)
            if result is True:
                return True
            unknown = unknown or result is None
        return None if unknown else False
    if isinstance(node, Not):
        result = evaluate(node.child, profile, ctx)
        return None if result is None else not result
    return evaluate(node.child, profile, ctx)


def raw_amount(formula: Formula, profile: Profile, ctx: Context) -> float | None:
    """The amount in yuan before rounding, or None when data it needs is missing."""
    if isinstance(formula, Fixed):
        return formula.amount
    if isinstance(formula, Scaled):
        value = profile.get(formula.attr.name)
        return None if value is None else float(value) * formula.factor
    if isinstance(formula, Capped):
        value = raw_amount(formula.formula, profile, ctx)
        return None if value is None else min(value, formula.cap)
    if isinstance(formula, Tiers):
        base = profile.get(formula.attr.name)
        if base is None:
            return None
        chosen: Formula | None = None
        for start, band in formula.bands:
            if float(base) >= start:
                chosen = band
        return 0.0 if chosen is None else raw_amount(chosen, profile, ctx)
    if isinstance(formula, Cases):
        for when, amount in formula.cases:
            holds = evaluate(when, profile, ctx)
            if holds is None:
                return None
            if holds:
                return raw_amount(amount, profile, ctx)
        return raw_amount(formula.otherwise, profile, ctx)
    parts = [raw_amount(p, profile, ctx) for p in formula.parts]
    if any(p is None for p in parts):
        return None
    values = [p for p in parts if p is not None]
    if formula.op == "sum":
        total = values[0]
        for v in values[1:]:
            total = total + v
        return total
    if formula.op == "minus":
        return values[0] - values[1]
    if formula.op == "divide":
        return values[0] / values[1]
    if formula.op == "min":
        return min(values)
    return max(values)


def amount_fen(formula: Formula, profile: Profile, ctx: Context) -> int | None:
    """The amount in fen (分), rounded half-up; None when unknown."""
    value = raw_amount(formula, profile, ctx)
    return None if value is None else math.floor(value * 100 + 0.5)


# --- explanations -------------------------------------------------------------------------------
@dataclass
class Explained:
    """One node of an explanation: a condition group or a leaf with its actual value."""

    path: str
    kind: str  # leaf | all | any | not | ref
    label: str
    result: bool | None
    actual: str = ""
    threshold: str = ""
    missing: str = ""  # attribute label when the data is missing
    children: list[Explained] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        return {True: "pass", False: "fail", None: "unknown"}[self.result]

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "label": self.label,
            "result": self.verdict,
            "actual": self.actual,
            "threshold": self.threshold,
            "missing": self.missing,
            "children": [c.as_dict() for c in self.children],
        }

    def leaves(self) -> list[Explained]:
        if self.kind == "leaf":
            return [self]
        return [leaf for c in self.children for leaf in c.leaves()]


def show_value(value: Any) -> str:
    if value is None:
        return "（无数据）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, set | frozenset | list | tuple):
        return "、".join(sorted(map(str, value))) or "（无）"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return CHOICE_LABELS.get(value, value)
    return str(value)


def explain(node: Condition, profile: Profile, ctx: Context) -> Explained:
    if isinstance(node, Leaf):
        actual = operand(node, profile, ctx)
        result = test_leaf(node, actual, ctx)
        threshold = node.shown_value
        if node.value is not None and isinstance(node.value, DateRef):
            threshold = f"{node.shown_value}（{ctx.date(node.value)}）"
        shown = show_value(actual)
        if node.years_on is not None and actual is not None:
            shown = f"{actual}（{node.attr.label} {profile.get(node.attr.name)}，{ctx.date(node.years_on)}）"
        missing = node.attr.label if profile.get(node.attr.name) is None else ""
        return Explained(
            node.path, "leaf", node.label(), result, shown, threshold, missing if missing else ""
        )
    if isinstance(node, All | AnyOf):
        children = [explain(c, profile, ctx) for c in node.children]
        kind = "all" if isinstance(node, All) else "any"
        label = "以下条件全部满足" if kind == "all" else "以下条件满足其一"
        return Explained(node.path, kind, label, evaluate(node, profile, ctx), children=children)
    if isinstance(node, Not):
        child = explain(node.child, profile, ctx)
        result = None if child.result is None else not child.result
        return Explained(node.path, "not", "以下条件不成立", result, children=[child])
    child = explain(node.child, profile, ctx)
    return Explained(node.path, "ref", f"命名条件“{node.name}”", child.result, children=[child])


def missing_data(explained: Explained) -> list[str]:
    """Labels of the attributes whose absence leaves the verdict unknown (in order, once)."""
    seen: dict[str, None] = {}
    for leaf in explained.leaves():
        if leaf.result is None and leaf.missing:
            seen.setdefault(leaf.missing, None)
    return list(seen)
