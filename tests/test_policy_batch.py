"""Two evaluators, one semantics: the Polars batch evaluator gives exactly the single-entity
answer — eligible/ineligible/unknown and the amount in fen — for random well-typed rules over
random profiles with missing data (Hypothesis)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from tongban.policies.batch import CompiledItem, evaluate_items, frame_from_rows, totals
from tongban.policies.evaluate import Context, amount_fen, evaluate
from tongban.policies.rules import compile_amount, compile_rule, referenced_tags
from tongban.policies.schema import ENTERPRISE, PERSON, Attribute, AttrType, ProfileSchema

CTX = Context(dt.date(2026, 2, 1), dt.date(2026, 2, 28), dt.date(2026, 2, 28))
DATES = st.dates(dt.date(1920, 1, 1), dt.date(2026, 12, 31))
DIVISIONS = ["330100", "330106", "330106001", "330212", "320311", "110101"]
INDUSTRIES = ["C3911", "I6510", "H6210", "F5211", "Q8414"]


def value_strategy(attr: Attribute, schema: ProfileSchema) -> st.SearchStrategy[Any]:
    kind = attr.type
    if kind is AttrType.INT:
        lo = int(attr.minimum) if attr.minimum is not None else -50
        hi = int(attr.maximum) if attr.maximum is not None else 500
        return st.integers(lo, hi)
    if kind is AttrType.NUMBER:
        lo = attr.minimum if attr.minimum is not None else -1e4
        return st.floats(lo, 1e6, allow_nan=False).map(lambda x: round(x, 2))
    if kind is AttrType.BOOL:
        return st.booleans()
    if kind is AttrType.DATE:
        return DATES
    if kind is AttrType.ENUM:
        return st.sampled_from(attr.choices)
    if kind is AttrType.DIVISION:
        return st.sampled_from(DIVISIONS)
    if kind is AttrType.TAGS:
        return st.frozensets(st.sampled_from(schema.tags), max_size=4)
    if attr.name == "industry":
        return st.sampled_from(INDUSTRIES)
    return st.text("ab", min_size=1, max_size=3)


def profiles(schema: ProfileSchema) -> st.SearchStrategy[dict[str, Any]]:
    fields = {
        a.name: st.one_of(st.none(), value_strategy(a, schema))
        for a in schema.attributes
        if a.name != schema.key
    }
    return st.fixed_dictionaries(fields)


REFS = ["$period_start", "$period_end", "$payment_date"]


@st.composite
def leaf(draw: st.DrawFn, schema: ProfileSchema) -> dict[str, Any]:
    attrs = [a for a in schema.attributes if a.name != schema.key]
    attr = draw(st.sampled_from(attrs))
    kind = attr.type
    if draw(st.integers(0, 12)) == 0:
        return {"attr": attr.name, "op": draw(st.sampled_from(["known", "unknown"]))}
    if kind is AttrType.DATE and draw(st.booleans()):
        op = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
        on = draw(st.one_of(st.sampled_from(REFS), DATES.map(dt.date.isoformat)))
        return {"years_since": attr.name, "on": on, "op": op, "value": draw(st.integers(-2, 110))}
    if kind in (AttrType.INT, AttrType.NUMBER, AttrType.DATE):

        def val() -> Any:
            v = draw(value_strategy(attr, schema))
            if kind is AttrType.DATE:
                return draw(st.one_of(st.just(v.isoformat()), st.sampled_from(REFS)))
            return v

        op = draw(
            st.sampled_from(
                ["==", "!=", "<", "<=", ">", ">=", "between"]
                + (["in", "not_in"] if kind is AttrType.INT else [])
            )
        )
        if op == "between":
            lo, hi = draw(value_strategy(attr, schema)), draw(value_strategy(attr, schema))
            lo, hi = min(lo, hi), max(lo, hi)
            if kind is AttrType.DATE:
                return {"attr": attr.name, "op": op, "value": [lo.isoformat(), hi.isoformat()]}
            return {"attr": attr.name, "op": op, "value": [lo, hi]}
        if op in ("in", "not_in"):
            return {
                "attr": attr.name,
                "op": op,
                "value": draw(st.lists(value_strategy(attr, schema), min_size=1, max_size=3)),
            }
        return {"attr": attr.name, "op": op, "value": val()}
    if kind is AttrType.BOOL:
        return {
            "attr": attr.name,
            "op": draw(st.sampled_from(["==", "!="])),
            "value": draw(st.booleans()),
        }
    if kind is AttrType.TAGS:
        return {
            "attr": attr.name,
            "op": draw(st.sampled_from(["has_tag", "lacks_tag"])),
            "value": draw(st.sampled_from(schema.tags)),
        }
    if kind is AttrType.DIVISION:
        op = draw(st.sampled_from(["within", "==", "in", "not_in"]))
        if op in ("in", "not_in"):
            return {
                "attr": attr.name,
                "op": op,
                "value": draw(st.lists(st.sampled_from(DIVISIONS), min_size=1, max_size=3)),
            }
        return {"attr": attr.name, "op": op, "value": draw(st.sampled_from(DIVISIONS))}
    if kind is AttrType.ENUM:
        op = draw(st.sampled_from(["==", "!=", "in", "not_in"]))
        if op in ("in", "not_in"):
            return {
                "attr": attr.name,
                "op": op,
                "value": draw(st.lists(st.sampled_from(attr.choices), min_size=1, max_size=3)),
            }
        return {"attr": attr.name, "op": op, "value": draw(st.sampled_from(attr.choices))}
    op = draw(st.sampled_from(["==", "!=", "prefix", "in"]))
    value = draw(value_strategy(attr, schema))
    if op == "prefix":
        return {"attr": attr.name, "op": op, "value": [value[:2] or value]}
    if op == "in":
        return {"attr": attr.name, "op": op, "value": [value]}
    return {"attr": attr.name, "op": op, "value": value}


def condition(schema: ProfileSchema) -> st.SearchStrategy[dict[str, Any]]:
    return st.recursive(
        leaf(schema),
        lambda children: st.one_of(
            st.lists(children, min_size=1, max_size=4).map(lambda c: {"all": c}),
            st.lists(children, min_size=1, max_size=4).map(lambda c: {"any": c}),
            children.map(lambda c: {"not": c}),
        ),
        max_leaves=8,
    )


def numeric_nonneg(schema: ProfileSchema) -> list[str]:
    return [
        a.name
        for a in schema.attributes
        if a.type in (AttrType.INT, AttrType.NUMBER) and a.minimum is not None and a.minimum >= 0
    ]


def amount(schema: ProfileSchema) -> st.SearchStrategy[Any]:
    attrs = numeric_nonneg(schema)
    base = st.one_of(
        st.integers(0, 100_000),
        st.floats(0, 10_000, allow_nan=False).map(lambda x: {"fixed": round(x, 3)}),
        st.builds(
            lambda a, r: {"per_head": a, "amount": r}, st.sampled_from(attrs), st.integers(1, 5000)
        ),
        st.builds(
            lambda a, p, c: {"percent_of": a, "percent": p, "cap": c},
            st.sampled_from(attrs),
            st.floats(0.1, 30, allow_nan=False).map(lambda x: round(x, 2)),
            st.integers(1, 100_000),
        ),
    )

    def extend(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(
            st.builds(
                lambda a, f1, f2: {
                    "tiers": a,
                    "bands": [{"from": 1, "amount": f1}, {"from": 20, "amount": f2}],
                },
                st.sampled_from(attrs),
                inner,
                inner,
            ),
            st.builds(
                lambda c, f, o: {"cases": [{"when": c, "amount": f}], "otherwise": o},
                condition(schema),
                inner,
                inner,
            ),
            st.lists(inner, min_size=1, max_size=3).map(lambda p: {"sum": p}),
            st.lists(inner, min_size=1, max_size=3).map(lambda p: {"min": p}),
            st.lists(inner, min_size=1, max_size=3).map(lambda p: {"max": p}),
            st.builds(lambda a, b: {"divide": [a, b]}, inner, st.integers(1, 9)),
        )

    return st.recursive(base, extend, max_leaves=5)


def check_same(
    schema: ProfileSchema, raw_rule: Any, raw_amount: Any, rows: list[dict[str, Any]]
) -> None:
    rule = compile_rule(raw_rule, schema)
    formula = compile_amount(raw_amount, schema)
    keyed = [{schema.key: f"K{i:04d}", "name": "x", **row} for i, row in enumerate(rows)]
    tags = referenced_tags(rule) | referenced_tags(formula)
    frame = frame_from_rows(schema, keyed, tags)
    result = evaluate_items(frame, [CompiledItem("item", rule, formula)], CTX, key=schema.key)
    for row, (holds, fen) in zip(
        keyed,
        zip(
            result.get_column("item").to_list(),
            result.get_column("item:fen").to_list(),
            strict=True,
        ),
        strict=True,
    ):
        expected = evaluate(rule, row, CTX)
        assert holds == expected, (raw_rule, row)
        expected_fen = amount_fen(formula, row, CTX) if expected else None
        assert fen == expected_fen, (raw_amount, row)
    # the two-pass totals used by simulations and the benchmark
    held = [row for row in keyed if evaluate(rule, row, CTX)]
    expected_totals = (len(held), sum(amount_fen(formula, row, CTX) or 0 for row in held))
    assert totals(frame.lazy(), [CompiledItem("item", rule, formula)], CTX) == {
        "item": expected_totals
    }


@given(
    condition(ENTERPRISE),
    amount(ENTERPRISE),
    st.lists(profiles(ENTERPRISE), min_size=1, max_size=12),
)
def test_batch_equals_single_for_enterprises(
    raw_rule: Any, raw_amount: Any, rows: list[dict[str, Any]]
) -> None:
    check_same(ENTERPRISE, raw_rule, raw_amount, rows)


@given(condition(PERSON), amount(PERSON), st.lists(profiles(PERSON), min_size=1, max_size=12))
def test_batch_equals_single_for_persons(
    raw_rule: Any, raw_amount: Any, rows: list[dict[str, Any]]
) -> None:
    check_same(PERSON, raw_rule, raw_amount, rows)


def test_unknown_is_never_silently_false() -> None:
    """A missing attribute leaves a conjunction unknown, unless another condition fails."""
    rule = compile_rule(
        {
            "all": [
                {"attr": "alive", "op": "==", "value": True},
                {"attr": "disability_grade", "op": ">=", "value": 2},
            ]
        },
        PERSON,
    )
    formula = compile_amount(100, PERSON)
    rows = [
        {"id_number": "a", "name": "x", "alive": True, "disability_grade": None},
        {"id_number": "b", "name": "x", "alive": False, "disability_grade": None},
        {"id_number": "c", "name": "x", "alive": True, "disability_grade": 3},
    ]
    frame = frame_from_rows(PERSON, rows)
    out = evaluate_items(frame, [CompiledItem("i", rule, formula)], CTX, key="id_number")
    assert out.get_column("i").to_list() == [None, False, True]
    assert out.get_column("i:fen").to_list() == [None, None, 10000]


@given(
    st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "between", "in", "not_in"]),
    st.integers(-3, 120),
    st.integers(0, 5),
    st.sampled_from(
        [dt.date(2024, 2, 29), dt.date(2026, 2, 28), dt.date(2026, 3, 1), dt.date(2025, 12, 31)]
    ),
    st.lists(
        st.one_of(st.none(), DATES, st.sampled_from([dt.date(2000, 2, 29), dt.date(1946, 3, 1)])),
        min_size=1,
        max_size=20,
    ),
)
def test_years_since_rewritten_as_date_bounds_agrees(
    op: str, k: int, width: int, on: dt.date, births: list[Any]
) -> None:
    """The batch side compares dates with boundary dates instead of computing ages."""
    value: Any = (
        [k, k + width] if op == "between" else [k, k + width] if op in ("in", "not_in") else k
    )
    rule = compile_rule(
        {"years_since": "birth_date", "on": on.isoformat(), "op": op, "value": value}, PERSON
    )
    rows = [{"id_number": f"P{i}", "name": "x", "birth_date": b} for i, b in enumerate(births)]
    out = evaluate_items(
        frame_from_rows(PERSON, rows),
        [CompiledItem("i", rule, compile_amount(1, PERSON))],
        CTX,
        key="id_number",
    )
    assert out.get_column("i").to_list() == [evaluate(rule, r, CTX) for r in rows]
