"""The policy rule language: eligibility conditions and amount formulas, checked against the
profile schema when a rule is saved (docs/policy-rules.md is the reference).

A rule is a JSON/YAML tree. Conditions: ``{"all": [...]}``, ``{"any": [...]}``, ``{"not": …}``,
``{"ref": "name"}`` (a named reusable condition) and leaves ``{"attr": A, "op": OP, "value": V}``
or ``{"years_since": A, "on": "$payment_date", "op": ">=", "value": 80}`` (whole years, e.g. age
on the payment date). Amounts: ``fixed``, ``per_head``, ``percent_of``, ``tiers``, ``cases``,
``sum``, ``minus``, ``divide``, ``min``, ``max``, each with an optional ``cap``.

``compile_rule`` / ``compile_amount`` return a typed tree both evaluators execute
(``policies.evaluate`` one profile with explanations, ``policies.batch`` a whole population with
Polars). Every problem is reported with its path (``items[0].conditions.all[2].value``): unknown
attribute, operator that does not fit the type, value of the wrong type, unknown tag, unknown
named condition or a cycle, and — by interval analysis over the schema's ranges — an amount that
could be negative or a division whose divisor could be zero.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tongban.core.errors import FieldError, ValidationFailed
from tongban.policies.schema import (
    CHOICE_LABELS,
    NUMERIC,
    ORDERED,
    Attribute,
    AttrType,
    ProfileSchema,
    division_prefix,
)

REFERENCE_DATES = ("period_start", "period_end", "payment_date")
COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
OPERATORS = (
    *COMPARISONS,
    "between",
    "in",
    "not_in",
    "has_tag",
    "lacks_tag",
    "within",
    "prefix",
    "known",
    "unknown",
)
OP_LABELS = {
    "==": "=",
    "!=": "≠",
    "<": "<",
    "<=": "≤",
    ">": ">",
    ">=": "≥",
    "between": "介于",
    "in": "属于",
    "not_in": "不属于",
    "has_tag": "具有标签",
    "lacks_tag": "不具有标签",
    "within": "位于区划",
    "prefix": "以…开头",
    "known": "已知",
    "unknown": "未知",
}
REFERENCE_LABELS = {"period_start": "期间首日", "period_end": "期间末日", "payment_date": "发放日"}
_DIVISION_CODE = re.compile(r"^\d{6}(\d{3})?$")


class RuleInvalid(ValidationFailed):
    """A rule or amount formula does not type-check (HTTP 422 with paths)."""


# --- the typed tree -----------------------------------------------------------------------------
@dataclass(frozen=True)
class DateRef:
    """A date known only at evaluation: the period's first/last day or the payment date."""

    name: str

    def label(self) -> str:
        return REFERENCE_LABELS[self.name]


DateValue = dt.date | DateRef


@dataclass(frozen=True)
class Leaf:
    path: str
    attr: Attribute
    op: str
    value: Any  # normalised: number, date/DateRef, tuple, (lo, hi), tag, division prefix
    years_on: DateValue | None = None  # set: the operand is whole years since attr on this date
    shown_value: str = ""

    @property
    def operand_type(self) -> AttrType:
        return AttrType.INT if self.years_on is not None else self.attr.type

    def label(self) -> str:
        operand = self.attr.label
        if self.years_on is not None:
            on = self.years_on.label() if isinstance(self.years_on, DateRef) else str(self.years_on)
            operand = f"{self.attr.label}距{on}的周年数"
        if self.op in ("known", "unknown"):
            return f"{operand} {OP_LABELS[self.op]}"
        return f"{operand} {OP_LABELS[self.op]} {self.shown_value}"


@dataclass(frozen=True)
class All:
    path: str
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    path: str
    children: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    path: str
    child: Condition


@dataclass(frozen=True)
class Ref:
    path: str
    name: str
    child: Condition


Condition = Leaf | All | AnyOf | Not | Ref


@dataclass(frozen=True)
class Fixed:
    path: str
    amount: float


@dataclass(frozen=True)
class Scaled:
    """``attr × factor``: per head (factor = amount per unit) or a percentage (factor = p/100)."""

    path: str
    attr: Attribute
    factor: float


@dataclass(frozen=True)
class Tiers:
    """The amount of the highest band whose ``from`` the attribute reaches; 0 below the first."""

    path: str
    attr: Attribute
    bands: tuple[tuple[float, Formula], ...]


@dataclass(frozen=True)
class Cases:
    """The amount of the first case whose condition holds (unknown while an earlier one is)."""

    path: str
    cases: tuple[tuple[Condition, Formula], ...]
    otherwise: Formula


@dataclass(frozen=True)
class Combine:
    path: str
    op: str  # sum | minus | divide | min | max
    parts: tuple[Formula, ...]


@dataclass(frozen=True)
class Capped:
    path: str
    formula: Formula
    cap: float


Formula = Fixed | Scaled | Tiers | Cases | Combine | Capped


# --- compiling and checking ---------------------------------------------------------------------
NamedLookup = Callable[[str], tuple[str, Any] | None]
"""Resolves a named condition to ``(target, raw rule)``, or None when there is none."""


def _no_names(name: str) -> tuple[str, Any] | None:
    return None


class _Checker:
    def __init__(self, schema: ProfileSchema, named: NamedLookup) -> None:
        self.schema = schema
        self.named = named
        self.errors: list[FieldError] = []
        self._stack: list[str] = []
        self._cache: dict[str, Condition] = {}

    def error(self, path: str, message: str) -> None:
        self.errors.append(FieldError(path, message))

    # conditions
    def condition(self, raw: Any, path: str) -> Condition | None:
        if not isinstance(raw, Mapping):
            self.error(path, "条件应为对象（all/any/not/ref 或 attr/years_since 比较）")
            return None
        keys = set(raw)
        if keys == {"all"} or keys == {"any"}:
            kind = "all" if "all" in raw else "any"
            items = raw[kind]
            if not isinstance(items, list) or not items:
                self.error(f"{path}.{kind}", "应为非空列表")
                return None
            children = [self.condition(c, f"{path}.{kind}[{i}]") for i, c in enumerate(items)]
            if any(c is None for c in children):
                return None
            kids = tuple(c for c in children if c is not None)
            return All(path, kids) if kind == "all" else AnyOf(path, kids)
        if keys == {"not"}:
            child = self.condition(raw["not"], f"{path}.not")
            return Not(path, child) if child is not None else None
        if keys == {"ref"}:
            return self.reference(raw["ref"], path)
        if "attr" in raw or "years_since" in raw:
            return self.leaf(raw, path)
        self.error(path, f"无法识别的条件：{', '.join(sorted(map(str, keys))) or '空对象'}")
        return None

    def reference(self, name: Any, path: str) -> Condition | None:
        if not isinstance(name, str) or not name:
            self.error(f"{path}.ref", "应为命名条件的名称")
            return None
        if name in self._stack:
            cycle = " → ".join([*self._stack[self._stack.index(name) :], name])
            self.error(f"{path}.ref", f"命名条件循环引用：{cycle}")
            return None
        if name in self._cache:
            return Ref(path, name, self._cache[name])
        found = self.named(name)
        if found is None:
            self.error(f"{path}.ref", f"没有名为“{name}”的命名条件")
            return None
        target, raw = found
        if target != self.schema.target:
            self.error(f"{path}.ref", f"命名条件“{name}”适用于{target}，与本规则的对象不同")
            return None
        self._stack.append(name)
        before = len(self.errors)
        child = self.condition(raw, f"{path}.ref[{name}]")
        self._stack.pop()
        if child is None or len(self.errors) > before:
            return None
        self._cache[name] = child
        return Ref(path, name, child)

    def attribute(self, name: Any, path: str) -> Attribute | None:
        if not isinstance(name, str):
            self.error(path, "应为属性名")
            return None
        attr = self.schema.get(name)
        if attr is None:
            known = "、".join(self.schema.names())
            self.error(path, f"未知属性“{name}”（{self.schema.target} 的属性有：{known}）")
        return attr

    def date_value(self, raw: Any, path: str) -> DateValue | None:
        if isinstance(raw, str) and raw.startswith("$"):
            if raw[1:] in REFERENCE_DATES:
                return DateRef(raw[1:])
            self.error(
                path, f"未知的参考日期“{raw}”（可用：$period_start、$period_end、$payment_date）"
            )
            return None
        if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
            return raw
        if isinstance(raw, str):
            try:
                return dt.date.fromisoformat(raw)
            except ValueError:
                pass
        self.error(path, f"应为日期（YYYY-MM-DD）或参考日期，实际为 {raw!r}")
        return None

    def scalar(self, attr_type: AttrType, attr: Attribute, raw: Any, path: str) -> Any:
        """One comparison value of ``attr_type``; records an error and returns None if wrong."""
        if attr_type in NUMERIC:
            if isinstance(raw, bool) or not isinstance(raw, int | float):
                self.error(path, f"“{attr.label}”是数值，比较值应为数字，实际为 {raw!r}")
                return None
            if attr_type is AttrType.INT and isinstance(raw, float) and not raw.is_integer():
                self.error(path, f"“{attr.label}”是整数，比较值应为整数，实际为 {raw!r}")
                return None
            if not math.isfinite(raw):
                self.error(path, "比较值应为有限数")
                return None
            return int(raw) if attr_type is AttrType.INT else float(raw)
        if attr_type is AttrType.DATE:
            return self.date_value(raw, path)
        if attr_type is AttrType.BOOL:
            if not isinstance(raw, bool):
                self.error(path, f"“{attr.label}”是是/否，比较值应为 true 或 false，实际为 {raw!r}")
                return None
            return raw
        if attr_type is AttrType.ENUM:
            if raw not in attr.choices:
                self.error(path, f"“{attr.label}”只能取 {'、'.join(attr.choices)}，实际为 {raw!r}")
                return None
            return raw
        if attr_type is AttrType.DIVISION:
            if not isinstance(raw, str) or not _DIVISION_CODE.match(raw):
                self.error(path, f"应为 6 位或 9 位行政区划代码，实际为 {raw!r}")
                return None
            return raw
        if not isinstance(raw, str):
            self.error(path, f"“{attr.label}”是文本，比较值应为文本，实际为 {raw!r}")
            return None
        return raw

    def leaf(self, raw: Mapping[str, Any], path: str) -> Leaf | None:
        allowed = {"attr", "years_since", "on", "op", "value"}
        extra = set(raw) - allowed
        if extra:
            self.error(path, f"不认识的键：{', '.join(sorted(map(str, extra)))}")
            return None
        years_on: DateValue | None = None
        if "years_since" in raw:
            if "attr" in raw:
                self.error(path, "attr 与 years_since 只能写一个")
                return None
            attr = self.attribute(raw["years_since"], f"{path}.years_since")
            if attr is None:
                return None
            if attr.type is not AttrType.DATE:
                self.error(f"{path}.years_since", f"“{attr.label}”不是日期，不能计算周年数")
                return None
            if "on" not in raw:
                self.error(f"{path}.on", "years_since 需要参考日期 on（如 $payment_date）")
                return None
            years_on = self.date_value(raw["on"], f"{path}.on")
            if years_on is None:
                return None
        else:
            attr = self.attribute(raw["attr"], f"{path}.attr")
            if attr is None:
                return None
            if "on" in raw:
                self.error(f"{path}.on", "on 只用于 years_since")
                return None
        op = raw.get("op")
        if op not in OPERATORS:
            self.error(f"{path}.op", f"未知运算符 {op!r}（可用：{'、'.join(OPERATORS)}）")
            return None
        operand_type = AttrType.INT if years_on is not None else attr.type
        vpath = f"{path}.value"
        value: Any = None
        shown = ""
        if op in ("known", "unknown"):
            if "value" in raw:
                self.error(vpath, f"{op} 不需要比较值")
                return None
            return Leaf(path, attr, op, None, years_on, "")
        if "value" not in raw:
            self.error(vpath, "缺少比较值 value")
            return None
        given = raw["value"]

        def unfit() -> None:
            self.error(
                f"{path}.op", f"运算符 {op} 不适用于{_type_label(operand_type)}“{attr.label}”"
            )

        if op in COMPARISONS:
            if operand_type is AttrType.TAGS or (
                op not in ("==", "!=") and operand_type not in ORDERED
            ):
                unfit()
                return None
            value = self.scalar(operand_type, attr, given, vpath)
            if value is None:
                return None
            shown = _show(value)
        elif op == "between":
            if operand_type not in ORDERED:
                unfit()
                return None
            if not isinstance(given, list) or len(given) != 2:
                self.error(vpath, "between 的比较值应为 [下限, 上限]")
                return None
            lo = self.scalar(operand_type, attr, given[0], f"{vpath}[0]")
            hi = self.scalar(operand_type, attr, given[1], f"{vpath}[1]")
            if lo is None or hi is None:
                return None
            if not isinstance(lo, DateRef) and not isinstance(hi, DateRef) and lo > hi:
                self.error(vpath, f"下限 {_show(lo)} 大于上限 {_show(hi)}，条件永远不成立")
                return None
            value = (lo, hi)
            shown = f"{_show(lo)} 至 {_show(hi)}"
        elif op in ("in", "not_in"):
            if operand_type not in (AttrType.ENUM, AttrType.TEXT, AttrType.INT, AttrType.DIVISION):
                unfit()
                return None
            if not isinstance(given, list) or not given:
                self.error(vpath, f"{op} 的比较值应为非空列表")
                return None
            values = [
                self.scalar(operand_type, attr, v, f"{vpath}[{i}]") for i, v in enumerate(given)
            ]
            if any(v is None for v in values):
                return None
            value = tuple(values)
            shown = "、".join(_show(v) for v in values)
        elif op in ("has_tag", "lacks_tag"):
            if operand_type is not AttrType.TAGS:
                unfit()
                return None
            if given not in self.schema.tags:
                self.error(vpath, f"未知标签 {given!r}（标签库：{'、'.join(self.schema.tags)}）")
                return None
            value = given
            shown = given
        elif op == "within":
            if operand_type is not AttrType.DIVISION:
                unfit()
                return None
            code = self.scalar(AttrType.DIVISION, attr, given, vpath)
            if code is None:
                return None
            value = division_prefix(code)
            shown = code
        elif op == "prefix":
            if operand_type is not AttrType.TEXT:
                unfit()
                return None
            values = given if isinstance(given, list) else [given]
            if not values or not all(isinstance(v, str) and v for v in values):
                self.error(vpath, "prefix 的比较值应为非空文本或文本列表")
                return None
            value = tuple(values)
            shown = "、".join(values)
        return Leaf(path, attr, op, value, years_on, shown)

    # amounts
    def formula(self, raw: Any, path: str) -> Formula | None:
        if isinstance(raw, bool):
            self.error(path, "金额应为数字或公式对象")
            return None
        if isinstance(raw, int | float):
            return self.formula({"fixed": raw}, path)
        if not isinstance(raw, Mapping):
            self.error(path, "金额应为数字或公式对象（fixed/per_head/percent_of/tiers/cases/…）")
            return None
        body = {k: v for k, v in raw.items() if k != "cap"}
        base = self._formula_body(body, path)
        if base is None:
            return None
        if "cap" in raw:
            cap = raw["cap"]
            if isinstance(cap, bool) or not isinstance(cap, int | float) or not cap > 0:
                self.error(f"{path}.cap", f"封顶金额应为正数，实际为 {cap!r}")
                return None
            return Capped(path, base, float(cap))
        return base

    def _number(self, raw: Any, path: str, *, positive: bool = False) -> float | None:
        if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
            self.error(path, f"应为数字，实际为 {raw!r}")
            return None
        if positive and raw <= 0:
            self.error(path, f"应为正数，实际为 {raw!r}")
            return None
        return float(raw)

    def _numeric_attr(self, raw: Any, path: str) -> Attribute | None:
        attr = self.attribute(raw, path)
        if attr is not None and attr.type not in NUMERIC:
            self.error(path, f"“{attr.label}”不是数值属性，不能用于金额计算")
            return None
        return attr

    def _formula_body(self, raw: Mapping[str, Any], path: str) -> Formula | None:
        keys = set(raw)
        if keys == {"fixed"}:
            amount = self._number(raw["fixed"], f"{path}.fixed")
            return None if amount is None else Fixed(path, amount)
        if keys == {"per_head", "amount"}:
            attr = self._numeric_attr(raw["per_head"], f"{path}.per_head")
            amount = self._number(raw["amount"], f"{path}.amount")
            return None if attr is None or amount is None else Scaled(path, attr, amount)
        if keys == {"percent_of", "percent"}:
            attr = self._numeric_attr(raw["percent_of"], f"{path}.percent_of")
            percent = self._number(raw["percent"], f"{path}.percent")
            if attr is None or percent is None:
                return None
            return Scaled(path, attr, percent / 100)
        if keys == {"tiers", "bands"}:
            return self._tiers(raw, path)
        if keys in ({"cases"}, {"cases", "otherwise"}):
            return self._cases(raw, path)
        if len(keys) == 1 and next(iter(keys)) in ("sum", "minus", "divide", "min", "max"):
            op = next(iter(keys))
            items = raw[op]
            size_ok = len(items) == 2 if op in ("minus", "divide") else len(items) >= 1
            if not isinstance(items, list) or not size_ok:
                need = "两个公式" if op in ("minus", "divide") else "非空公式列表"
                self.error(f"{path}.{op}", f"{op} 需要{need}")
                return None
            parts = [self.formula(p, f"{path}.{op}[{i}]") for i, p in enumerate(items)]
            if any(p is None for p in parts):
                return None
            return Combine(path, op, tuple(p for p in parts if p is not None))
        if keys == {"attr"}:
            attr = self._numeric_attr(raw["attr"], f"{path}.attr")
            return None if attr is None else Scaled(path, attr, 1.0)
        self.error(path, f"无法识别的金额公式：{', '.join(sorted(map(str, keys))) or '空对象'}")
        return None

    def _tiers(self, raw: Mapping[str, Any], path: str) -> Formula | None:
        attr = self._numeric_attr(raw["tiers"], f"{path}.tiers")
        bands_raw = raw["bands"]
        if not isinstance(bands_raw, list) or not bands_raw:
            self.error(f"{path}.bands", "bands 应为非空列表")
            return None
        bands: list[tuple[float, Formula]] = []
        for i, band in enumerate(bands_raw):
            bpath = f"{path}.bands[{i}]"
            if not isinstance(band, Mapping) or set(band) != {"from", "amount"}:
                self.error(bpath, "每档应写 from 与 amount")
                return None
            start = self._number(band["from"], f"{bpath}.from")
            amount = self.formula(band["amount"], f"{bpath}.amount")
            if start is None or amount is None:
                return None
            if bands and start <= bands[-1][0]:
                self.error(f"{bpath}.from", "各档的 from 应严格递增")
                return None
            bands.append((start, amount))
        return None if attr is None else Tiers(path, attr, tuple(bands))

    def _cases(self, raw: Mapping[str, Any], path: str) -> Formula | None:
        cases_raw = raw["cases"]
        if not isinstance(cases_raw, list) or not cases_raw:
            self.error(f"{path}.cases", "cases 应为非空列表")
            return None
        cases: list[tuple[Condition, Formula]] = []
        for i, case in enumerate(cases_raw):
            cpath = f"{path}.cases[{i}]"
            if not isinstance(case, Mapping) or set(case) != {"when", "amount"}:
                self.error(cpath, "每个情形应写 when 与 amount")
                return None
            when = self.condition(case["when"], f"{cpath}.when")
            amount = self.formula(case["amount"], f"{cpath}.amount")
            if when is None or amount is None:
                return None
            cases.append((when, amount))
        otherwise = self.formula(raw.get("otherwise", 0), f"{path}.otherwise")
        return None if otherwise is None else Cases(path, tuple(cases), otherwise)


def _type_label(attr_type: AttrType) -> str:
    return {
        AttrType.INT: "整数",
        AttrType.NUMBER: "数值",
        AttrType.BOOL: "是/否",
        AttrType.DATE: "日期",
        AttrType.ENUM: "枚举",
        AttrType.TEXT: "文本",
        AttrType.DIVISION: "区划",
        AttrType.TAGS: "标签",
    }[attr_type]


def _show(value: Any) -> str:
    if isinstance(value, DateRef):
        return value.label()
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str):
        return CHOICE_LABELS.get(value, value)
    return str(value)


# --- interval analysis of amounts ---------------------------------------------------------------
Interval = tuple[float, float]
INF = math.inf


def _mul(a: float, b: float) -> float:
    if a == 0 or b == 0:
        return 0.0
    return a * b


def _attr_interval(attr: Attribute) -> Interval:
    lo = -INF if attr.minimum is None else attr.minimum
    hi = INF if attr.maximum is None else attr.maximum
    return lo, hi


def interval(formula: Formula, errors: list[FieldError]) -> Interval:
    """The range of values ``formula`` can take over every profile the schema allows."""
    if isinstance(formula, Fixed):
        return formula.amount, formula.amount
    if isinstance(formula, Scaled):
        lo, hi = _attr_interval(formula.attr)
        ends = (_mul(lo, formula.factor), _mul(hi, formula.factor))
        return min(ends), max(ends)
    if isinstance(formula, Capped):
        lo, hi = interval(formula.formula, errors)
        return min(lo, formula.cap), min(hi, formula.cap)
    if isinstance(formula, Tiers):
        ranges = [interval(f, errors) for _, f in formula.bands]
        lo_attr, _ = _attr_interval(formula.attr)
        if lo_attr < formula.bands[0][0]:
            ranges.append((0.0, 0.0))
        return min(r[0] for r in ranges), max(r[1] for r in ranges)
    if isinstance(formula, Cases):
        ranges = [interval(f, errors) for _, f in formula.cases]
        ranges.append(interval(formula.otherwise, errors))
        return min(r[0] for r in ranges), max(r[1] for r in ranges)
    parts = [interval(p, errors) for p in formula.parts]
    if formula.op == "sum":
        return sum(p[0] for p in parts), sum(p[1] for p in parts)
    if formula.op == "min":
        return min(p[0] for p in parts), min(p[1] for p in parts)
    if formula.op == "max":
        return max(p[0] for p in parts), max(p[1] for p in parts)
    (alo, ahi), (blo, bhi) = parts
    if formula.op == "minus":
        return alo - bhi, ahi - blo
    # divide
    if blo <= 0 <= bhi:
        errors.append(
            FieldError(
                f"{formula.path}.divide[1]",
                f"除数可能为零（取值范围 {_show_bound(blo)} 至 {_show_bound(bhi)}）",
            )
        )
        return -INF, INF
    corners = [
        a / b for a in (alo, ahi) for b in (blo, bhi) if math.isfinite(b) or math.isfinite(a)
    ]
    corners = [c for c in corners if not math.isnan(c)]
    return (min(corners), max(corners)) if corners else (-INF, INF)


def _show_bound(value: float) -> str:
    if value == -INF:
        return "负无穷"
    if value == INF:
        return "正无穷"
    return _show(value)


# --- entry points -------------------------------------------------------------------------------
def compile_rule(
    raw: Any, schema: ProfileSchema, *, path: str = "conditions", named: NamedLookup | None = None
) -> Condition:
    """Type-check ``raw`` against ``schema``; raise ``RuleInvalid`` listing every problem."""
    checker = _Checker(schema, named or _no_names)
    node = checker.condition(raw, path)
    if checker.errors or node is None:
        raise RuleInvalid("规则有误", code="rule_invalid", errors=checker.errors)
    return node


def compile_amount(
    raw: Any, schema: ProfileSchema, *, path: str = "amount", named: NamedLookup | None = None
) -> Formula:
    """Type-check an amount formula; refuse one that can be negative or divide by zero."""
    checker = _Checker(schema, named or _no_names)
    formula = checker.formula(raw, path)
    if checker.errors or formula is None:
        raise RuleInvalid("金额公式有误", code="amount_invalid", errors=checker.errors)
    errors: list[FieldError] = []
    lo, _hi = interval(formula, errors)
    if not errors and lo < 0:
        errors.append(
            FieldError(
                path, f"金额公式可能得出负数（最小可能值 {_show_bound(lo)}），请加下限或改写公式"
            )
        )
    if errors:
        raise RuleInvalid("金额公式有误", code="amount_invalid", errors=errors)
    return formula


def nodes(node: Condition | Formula) -> Iterator[Any]:
    """Every node of a condition or formula tree, the root first (named conditions followed)."""
    stack: list[Any] = [node]
    while stack:
        n = stack.pop()
        yield n
        if isinstance(n, All | AnyOf):
            stack.extend(reversed(n.children))
        elif isinstance(n, Not | Ref):
            stack.append(n.child)
        elif isinstance(n, Tiers):
            stack.extend(f for _, f in reversed(n.bands))
        elif isinstance(n, Cases):
            stack.append(n.otherwise)
            for c, f in reversed(n.cases):
                stack.extend((f, c))
        elif isinstance(n, Combine):
            stack.extend(reversed(n.parts))
        elif isinstance(n, Capped):
            stack.append(n.formula)


def referenced_attributes(node: Condition | Formula) -> set[str]:
    """Every attribute a condition or formula reads (for building evaluation frames)."""
    return {n.attr.name for n in nodes(node) if isinstance(n, Leaf | Scaled | Tiers)}


def referenced_tags(node: Condition | Formula) -> set[str]:
    """Every tag a condition or formula tests (one Boolean column each in a batch frame)."""
    return {
        n.value for n in nodes(node) if isinstance(n, Leaf) and n.op in ("has_tag", "lacks_tag")
    }
