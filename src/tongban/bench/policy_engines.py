"""The engines ``tongban bench policy`` compares (imported only when it runs: numpy and OpenFisca are
benchmark peers from requirements/test.txt): the synthetic population, the generated payable
items, tongban's lazy Polars query, the equivalent OpenFisca tax-benefit system with the rules
compiled to numpy, and the per-entity Python loop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from tongban.policies.batch import TAGS_KNOWN, CompiledItem, tag_column, totals
from tongban.policies.evaluate import Context, amount_fen, evaluate
from tongban.policies.rules import (
    All,
    AnyOf,
    Capped,
    Cases,
    Combine,
    Condition,
    DateRef,
    Fixed,
    Formula,
    Leaf,
    Not,
    Ref,
    Scaled,
    Tiers,
    compile_amount,
    compile_rule,
)
from tongban.policies.schema import ENTERPRISE, ENTERPRISE_TAGS, AttrType

CTX = Context(dt.date(2026, 1, 1), dt.date(2026, 12, 31), dt.date(2026, 11, 5))
PERIOD = "2026"
GRADES = ("A", "B", "M", "C", "D")
SIZES = ("large", "medium", "small", "micro")
PROPERTIES = ("own", "leased")
SECTIONS = tuple("ABCDEFGHIJKLMNOPQRS")
DIVISIONS = ("330102", "330105", "330106", "330108", "330110", "330212", "330203", "320311")
TAG_SHARES = (0.15, 0.08, 0.3, 0.05, 0.05, 0.1, 0.4, 0.1, 0.06, 0.25)


# --- data ---------------------------------------------------------------------------------------
def population(n: int, seed: int) -> pl.DataFrame:
    """A synthetic enterprise population with every attribute known (OpenFisca has no nulls)."""
    rng = np.random.default_rng(seed)
    employees = rng.integers(0, 1000, n)
    section = rng.integers(0, len(SECTIONS), n)
    klass = rng.integers(100, 1000, n)
    industry = pl.Series("s", np.array(SECTIONS)[section]) + pl.Series("c", klass).cast(pl.String)
    frame = pl.DataFrame(
        {
            "uscc": pl.Series(np.arange(n)).cast(pl.String),
            "name": pl.repeat("示例企业", n, eager=True),
            "industry": industry,
            "size_class": pl.Series(np.array(SIZES)[rng.integers(0, 4, n)]),
            "registered_on": pl.Series(
                np.datetime64("1990-01-01") + rng.integers(0, 13_000, n).astype("timedelta64[D]")
            ).cast(pl.Date),
            "division": pl.Series(np.array(DIVISIONS)[rng.integers(0, len(DIVISIONS), n)]),
            "employees": employees,
            "new_hires": rng.integers(0, 60, n),
            # whole numbers below 2**24 (and growth only compared with whole thresholds): OpenFisca
            # keeps float variables as float32, and both engines must see the same values
            "revenue": rng.integers(10, 100_000, n).astype(np.float64),
            "revenue_growth": np.round(rng.uniform(-30, 50, n), 1),
            "tax_paid": rng.integers(0, 5_000_000, n).astype(np.float64),
            "tax_credit_grade": pl.Series(
                np.array(GRADES)[rng.choice(5, n, p=[0.3, 0.35, 0.2, 0.1, 0.05])]
            ),
            "care_beds_new": rng.integers(0, 150, n),
            "care_property": pl.Series(np.array(PROPERTIES)[rng.integers(0, 2, n)]),
        }
    )
    tags = {
        tag_column(tag): rng.random(n) < share
        for tag, share in zip(ENTERPRISE_TAGS, TAG_SHARES, strict=True)
    }
    return frame.with_columns(
        pl.col("size_class").cast(pl.Enum(list(SIZES))),
        pl.col("tax_credit_grade").cast(pl.Enum(list(GRADES))),
        pl.col("care_property").cast(pl.Enum(list(PROPERTIES))),
        *(pl.Series(name, values) for name, values in tags.items()),
        pl.lit(True).alias(TAGS_KNOWN),
    )


def item_rules(count: int) -> list[tuple[str, Any, Any]]:
    """``count`` payable items from ten rule shapes with varying thresholds."""
    tags = ENTERPRISE_TAGS
    rules: list[tuple[str, Any, Any]] = []
    for i in range(count):
        k = i // 10
        shape = i % 10
        tag = tags[(i + k) % len(tags)]
        good = {"attr": "tax_credit_grade", "op": "in", "value": ["A", "B", "M"]}
        if shape == 0:
            cond: Any = {"all": [{"attr": "tags", "op": "has_tag", "value": tag}, good]}
            amount: Any = 50_000 + 10_000 * k
        elif shape == 1:
            cond = {
                "all": [
                    {"attr": "employees", "op": ">=", "value": 10 + 20 * k},
                    {"attr": "revenue_growth", "op": ">=", "value": float(k)},
                    good,
                ]
            }
            amount = {"percent_of": "tax_paid", "percent": 2 + k, "cap": 100_000}
        elif shape == 2:
            cond = {
                "all": [
                    {"attr": "new_hires", "op": "between", "value": [1 + k, 40]},
                    {"attr": "tags", "op": "has_tag", "value": tag},
                ]
            }
            amount = {"per_head": "new_hires", "amount": 1000 + 500 * k, "cap": 50_000}
        elif shape == 3:
            cond = {
                "all": [
                    {
                        "years_since": "registered_on",
                        "on": "$period_start",
                        "op": "<",
                        "value": 5 + k,
                    },
                    {"attr": "size_class", "op": "in", "value": ["small", "micro"]},
                ]
            }
            amount = 20_000
        elif shape == 4:
            cond = {
                "all": [
                    {"attr": "division", "op": "within", "value": "330100"},
                    {
                        "attr": "industry",
                        "op": "prefix",
                        "value": [SECTIONS[(2 + k) % len(SECTIONS)], "I"],
                    },
                ]
            }
            amount = {
                "tiers": "employees",
                "bands": [
                    {"from": 0, "amount": 5000},
                    {"from": 50 + 10 * k, "amount": 20000},
                    {"from": 300, "amount": 80000},
                ],
            }
        elif shape == 5:
            cond = {
                "all": [
                    {
                        "any": [
                            {"attr": "tags", "op": "has_tag", "value": tag},
                            {"attr": "tags", "op": "has_tag", "value": tags[(i + 3) % len(tags)]},
                        ]
                    },
                    {"not": {"attr": "tax_credit_grade", "op": "in", "value": ["C", "D"]}},
                ]
            }
            amount = 30_000 + 5000 * k
        elif shape == 6:
            cond = {"attr": "tags", "op": "has_tag", "value": "养老机构"}
            amount = {
                "cases": [
                    {
                        "when": {"attr": "care_property", "op": "==", "value": "own"},
                        "amount": {
                            "tiers": "care_beds_new",
                            "bands": [
                                {
                                    "from": 50,
                                    "amount": {
                                        "per_head": "care_beds_new",
                                        "amount": 10000 - 1000 * k,
                                    },
                                }
                            ],
                        },
                    },
                    {
                        "when": {"attr": "care_property", "op": "==", "value": "leased"},
                        "amount": {
                            "tiers": "care_beds_new",
                            "bands": [
                                {
                                    "from": 20,
                                    "amount": {
                                        "per_head": "care_beds_new",
                                        "amount": 5000 - 500 * k,
                                    },
                                }
                            ],
                        },
                    },
                ]
            }
        elif shape == 7:
            cond = {
                "all": [
                    {"attr": "revenue", "op": "between", "value": [2000.0 * (k + 1), 60000.0]},
                    {"attr": "employees", "op": ">", "value": 5 * (k + 1)},
                ]
            }
            amount = {"min": [{"percent_of": "revenue", "percent": 1 + k}, 30_000]}
        elif shape == 8:
            cond = {
                "any": [
                    {"attr": "revenue", "op": ">", "value": 90_000.0 - 1000 * k},
                    {"attr": "tax_paid", "op": ">=", "value": 4_800_000.0 - 10_000 * k},
                ]
            }
            amount = 100_000
        else:
            cond = {
                "all": [
                    {"attr": "tax_credit_grade", "op": "==", "value": GRADES[k % 3]},
                    {"attr": "registered_on", "op": "<=", "value": f"{2010 + k}-12-31"},
                    {"attr": "size_class", "op": "!=", "value": "large"},
                ]
            }
            amount = 10_000 * (k + 1)
        rules.append((f"B{i:03d}", cond, amount))
    return rules


def compile_items(count: int) -> list[CompiledItem]:
    return [
        CompiledItem(code, compile_rule(cond, ENTERPRISE), compile_amount(amount, ENTERPRISE))
        for code, cond, amount in item_rules(count)
    ]


# --- tongban ------------------------------------------------------------------------------------
def tongban_totals(path: Path, items: list[CompiledItem]) -> dict[str, tuple[int, int]]:
    """Per item: (eligible count, total fen), read from Parquet (only the columns the rules read)
    and computed by ``policies.batch.totals``."""
    return totals(pl.scan_parquet(path), items, CTX)


# --- OpenFisca ----------------------------------------------------------------------------------
def _np_date(value: Any) -> Any:
    day = CTX.date(value) if isinstance(value, DateRef) else value
    return np.datetime64(day.isoformat(), "D")


class NumpyRules:
    """The same typed rules compiled to numpy over OpenFisca inputs (enums as indices)."""

    ENUMS = {
        "tax_credit_grade": GRADES,
        "size_class": SIZES,
        "care_property": PROPERTIES,
        "industry": SECTIONS,
    }

    def __init__(self, get: Callable[[str], Any]) -> None:
        self.get = get

    def _value(self, name: str) -> Any:
        value = self.get(name)
        return value.view(np.ndarray) if name in self.ENUMS else value

    def _years(self, leaf: Leaf) -> Any:
        on = CTX.date(leaf.years_on) if isinstance(leaf.years_on, DateRef) else leaf.years_on
        assert on is not None
        d = self.get(leaf.attr.name)
        year = d.astype("datetime64[Y]").astype(int) + 1970
        month = d.astype("datetime64[M]").astype(int) % 12 + 1
        day = (d - d.astype("datetime64[M]")).astype(int) + 1
        return on.year - year - ((month * 100 + day) > (on.month * 100 + on.day))

    def cond(self, node: Condition) -> Any:
        if isinstance(node, All):
            out = self.cond(node.children[0])
            for child in node.children[1:]:
                out = out & self.cond(child)
            return out
        if isinstance(node, AnyOf):
            out = self.cond(node.children[0])
            for child in node.children[1:]:
                out = out | self.cond(child)
            return out
        if isinstance(node, Not):
            return ~self.cond(node.child)
        if isinstance(node, Ref):
            return self.cond(node.child)
        return self.leaf(node)

    def _scalar(self, leaf: Leaf, value: Any) -> Any:
        if leaf.attr.name in self.ENUMS:
            return self.ENUMS[leaf.attr.name].index(value)
        if leaf.operand_type is AttrType.DATE:
            return _np_date(value)
        return value

    def leaf(self, leaf: Leaf) -> Any:
        op, name = leaf.op, leaf.attr.name
        if op in ("has_tag", "lacks_tag"):
            tag = self.get(f"tag_{ENTERPRISE_TAGS.index(leaf.value)}")
            return tag if op == "has_tag" else ~tag
        if op == "within":
            prefix = leaf.value
            return self.get(name) // 10 ** (6 - len(prefix)) == int(prefix)
        if op == "prefix":
            return np.isin(self._value(name), [SECTIONS.index(p[0]) for p in leaf.value])
        x = self._years(leaf) if leaf.years_on is not None else self._value(name)
        if op == "in":
            return np.isin(x, [self._scalar(leaf, v) for v in leaf.value])
        if op == "not_in":
            return ~np.isin(x, [self._scalar(leaf, v) for v in leaf.value])
        if op == "between":
            lo, hi = leaf.value
            return (x >= self._scalar(leaf, lo)) & (x <= self._scalar(leaf, hi))
        v = self._scalar(leaf, leaf.value)
        return {
            "==": lambda: x == v,
            "!=": lambda: x != v,
            "<": lambda: x < v,
            "<=": lambda: x <= v,
            ">": lambda: x > v,
            ">=": lambda: x >= v,
        }[op]()

    def amount(self, f: Formula) -> Any:
        if isinstance(f, Fixed):
            return np.float64(f.amount)
        if isinstance(f, Scaled):
            return self.get(f.attr.name).astype(np.float64) * f.factor
        if isinstance(f, Capped):
            return np.minimum(self.amount(f.formula), f.cap)
        if isinstance(f, Tiers):
            base = self.get(f.attr.name).astype(np.float64)
            out: Any = np.float64(0.0)
            for start, band in f.bands:
                out = np.where(base >= start, self.amount(band), out)
            return out
        if isinstance(f, Cases):
            out = self.amount(f.otherwise)
            for when, amount in reversed(f.cases):
                out = np.where(self.cond(when), self.amount(amount), out)
            return out
        assert isinstance(f, Combine)
        parts = [self.amount(p) for p in f.parts]
        if f.op == "sum":
            return sum(parts[1:], parts[0])
        if f.op == "minus":
            return parts[0] - parts[1]
        if f.op == "divide":
            return parts[0] / parts[1]
        reduce = np.minimum if f.op == "min" else np.maximum
        out = parts[0]
        for p in parts[1:]:
            out = reduce(out, p)
        return out


def _eligible_formula(item: CompiledItem) -> Callable[[Any, Any], Any]:
    """An OpenFisca formula (two arguments: population, period) for the item's condition."""

    def eligible(population: Any, period: Any) -> Any:
        return NumpyRules(lambda name: population(name, period)).cond(item.condition)

    return eligible


def _amount_formula(item: CompiledItem) -> Callable[[Any, Any], Any]:
    def amount(population: Any, period: Any) -> Any:
        holds = population(f"eligible_{item.code}", period)
        value = NumpyRules(lambda name: population(name, period)).amount(item.amount)
        return np.where(holds, np.floor(value * 100 + 0.5), 0.0).astype(np.int64)

    return amount


def openfisca_system(items: list[CompiledItem]) -> Any:
    from openfisca_core.entities import build_entity
    from openfisca_core.indexed_enums import Enum
    from openfisca_core.periods import DateUnit
    from openfisca_core.taxbenefitsystems import TaxBenefitSystem
    from openfisca_core.variables import Variable

    enterprise = build_entity(key="enterprise", plural="enterprises", label="企业", is_person=True)
    system = TaxBenefitSystem([enterprise])

    def variable(name: str, value_type: Any, **extra: Any) -> None:
        attrs = {
            "value_type": value_type,
            "entity": enterprise,
            "definition_period": DateUnit.YEAR,
            "label": name,
            **extra,
        }
        system.add_variable(type(name, (Variable,), attrs))

    for name, values in NumpyRules.ENUMS.items():
        members = Enum(name, {v: v for v in values})
        variable(name, Enum, possible_values=members, default_value=next(iter(members)))
    for name in ("employees", "new_hires", "care_beds_new", "division"):
        variable(name, int)
    for name in ("revenue", "revenue_growth", "tax_paid"):
        variable(name, float)
    variable("registered_on", dt.date)
    for i in range(len(ENTERPRISE_TAGS)):
        variable(f"tag_{i}", bool)

    for item in items:
        variable(f"eligible_{item.code}", bool, formula=_eligible_formula(item))
        # whole fen as int: OpenFisca's float variables are float32, too coarse for money
        variable(f"amount_fen_{item.code}", int, formula=_amount_formula(item))
    return system


def openfisca_totals(
    path: Path, items: list[CompiledItem], system: Any
) -> dict[str, tuple[int, int]]:
    from openfisca_core.simulations import SimulationBuilder

    frame = pl.read_parquet(path)
    simulation = SimulationBuilder().build_default_simulation(system, count=frame.height)
    for name, values in NumpyRules.ENUMS.items():
        column = frame.get_column(name)
        if name == "industry":
            column = column.str.slice(0, 1)
        codes = column.cast(pl.Enum(list(values))).to_physical().to_numpy().astype(np.int16)
        simulation.set_input(name, PERIOD, codes)
    for name in (
        "employees",
        "new_hires",
        "care_beds_new",
        "revenue",
        "revenue_growth",
        "tax_paid",
    ):
        simulation.set_input(name, PERIOD, frame.get_column(name).to_numpy())
    simulation.set_input("division", PERIOD, frame.get_column("division").cast(pl.Int64).to_numpy())
    simulation.set_input("registered_on", PERIOD, frame.get_column("registered_on").to_numpy())
    for i, tag in enumerate(ENTERPRISE_TAGS):
        simulation.set_input(f"tag_{i}", PERIOD, frame.get_column(tag_column(tag)).to_numpy())
    totals = {}
    for item in items:
        holds = simulation.calculate(f"eligible_{item.code}", PERIOD)
        fen = simulation.calculate(f"amount_fen_{item.code}", PERIOD)
        totals[item.code] = (int(holds.sum()), int(fen.sum(dtype=np.int64)))
    return totals


# --- plain Python -------------------------------------------------------------------------------
def profiles(frame: pl.DataFrame) -> list[dict[str, Any]]:
    rows = []
    tag_names = {tag_column(t): t for t in ENTERPRISE_TAGS}
    for row in frame.iter_rows(named=True):
        profile = {k: v for k, v in row.items() if k not in tag_names and k != TAGS_KNOWN}
        profile["tags"] = frozenset(tag for col, tag in tag_names.items() if row[col])
        rows.append(profile)
    return rows


def loop_totals(
    rows: list[dict[str, Any]], items: list[CompiledItem]
) -> dict[str, tuple[int, int]]:
    totals = {i.code: [0, 0] for i in items}
    for profile in rows:
        for item in items:
            if evaluate(item.condition, profile, CTX):
                fen = amount_fen(item.amount, profile, CTX) or 0
                entry = totals[item.code]
                entry[0] += 1
                entry[1] += fen
    return {code: (n, fen) for code, (n, fen) in totals.items()}
