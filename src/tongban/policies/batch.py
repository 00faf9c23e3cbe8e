"""The batch evaluator: compiled rules become Polars expressions run over a whole population.

A population is a Polars ``DataFrame`` with one column per profile attribute (the schema's names
and types; nulls where data is missing), one Boolean column ``tag:<name>`` per tag a rule tests
(null when the profile's tags are unknown) and ``tags:known``. ``frame_from_rows`` builds one from profile
rows; the database export lives in ``policies.selectors``. All payable items of a run are
evaluated in one ``select`` so Polars runs them in parallel, in the process, over the same columns
— no server needed, so it works with the embedded SQLite default as with PostgreSQL
(docs/adr/0005-policy-rules.md explains the choice).

Semantics are those of ``policies.evaluate`` (Kleene logic, unknown for missing data, amounts in
fen rounded half-up); property tests check both give the same answer for random rules and
profiles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from tongban.policies.evaluate import Context
from tongban.policies.rules import (
    All,
    AnyOf,
    Capped,
    Cases,
    Condition,
    DateRef,
    Fixed,
    Formula,
    Leaf,
    Not,
    Ref,
    Scaled,
    Tiers,
)
from tongban.policies.schema import Attribute, AttrType, ProfileSchema

_NULL_BOOL = pl.lit(None, dtype=pl.Boolean)
_NULL_FLOAT = pl.lit(None, dtype=pl.Float64)


TAGS_KNOWN = "tags:known"


def tag_column(tag: str) -> str:
    return f"tag:{tag}"


def polars_type(attr: Attribute, operand_type: AttrType | None = None) -> pl.DataType:
    """The column type of an attribute: enums are Polars ``Enum`` (compared as small integers)."""
    kind = operand_type or attr.type
    if kind is AttrType.ENUM:
        return pl.Enum(list(attr.choices))
    return {
        AttrType.INT: pl.Int64(),
        AttrType.NUMBER: pl.Float64(),
        AttrType.BOOL: pl.Boolean(),
        AttrType.DATE: pl.Date(),
        AttrType.TEXT: pl.String(),
        AttrType.DIVISION: pl.String(),
        AttrType.TAGS: pl.List(pl.String()),
    }[kind]


def frame_from_rows(
    schema: ProfileSchema, rows: Iterable[Mapping[str, Any]], tags: Iterable[str] = ()
) -> pl.DataFrame:
    """A population frame from profile dicts (attribute name → value, ``tags`` a set or None)."""
    columns: dict[str, list[Any]] = {
        a.name: [] for a in schema.attributes if a.type is not AttrType.TAGS
    }
    wanted = list(tags)
    tag_values: dict[str, list[bool | None]] = {t: [] for t in wanted}
    known: list[bool] = []
    numbers = {a.name for a in schema.attributes if a.type is AttrType.NUMBER}
    attrs = {a.name: a for a in schema.attributes}
    for row in rows:
        for name, values in columns.items():
            value = row.get(name)
            values.append(float(value) if value is not None and name in numbers else value)
        row_tags = row.get("tags")
        known.append(row_tags is not None)
        for tag in wanted:
            tag_values[tag].append(None if row_tags is None else tag in row_tags)
    data: dict[str, pl.Series] = {
        name: pl.Series(name, values, dtype=polars_type(attrs[name]))
        for name, values in columns.items()
    }
    for tag, values in tag_values.items():
        data[tag_column(tag)] = pl.Series(tag_column(tag), values, dtype=pl.Boolean)
    data[TAGS_KNOWN] = pl.Series(TAGS_KNOWN, known, dtype=pl.Boolean)
    return pl.DataFrame(data)


def _date(value: Any, ctx: Context) -> dt.date:
    day: dt.date = ctx.date(value) if isinstance(value, DateRef) else value
    return day


def _lit(value: Any, leaf: Leaf, ctx: Context) -> pl.Expr:
    if isinstance(value, (DateRef, dt.date)):
        return pl.lit(_date(value, ctx), dtype=pl.Date)
    if leaf.operand_type is AttrType.NUMBER:
        return pl.lit(float(value), dtype=pl.Float64)
    if leaf.operand_type is AttrType.INT:
        return pl.lit(int(value), dtype=pl.Int64)
    return pl.lit(value)


def _operand(leaf: Leaf, ctx: Context) -> pl.Expr:
    column = pl.col(leaf.attr.name)
    if leaf.years_on is None:
        return column
    on = _date(leaf.years_on, ctx)
    later = (column.dt.month().cast(pl.Int64) * 100 + column.dt.day().cast(pl.Int64)) > (
        on.month * 100 + on.day
    )
    return pl.lit(on.year, dtype=pl.Int64) - column.dt.year().cast(pl.Int64) - later.cast(pl.Int64)


def condition_expr(node: Condition, ctx: Context) -> pl.Expr:
    """A Boolean expression with nulls for unknown."""
    if isinstance(node, Leaf):
        return _leaf_expr(node, ctx)
    if isinstance(node, All):
        expr = condition_expr(node.children[0], ctx)
        for child in node.children[1:]:
            expr = expr & condition_expr(child, ctx)
        return expr
    if isinstance(node, AnyOf):
        expr = condition_expr(node.children[0], ctx)
        for child in node.children[1:]:
            expr = expr | condition_expr(child, ctx)
        return expr
    if isinstance(node, Not):
        return ~condition_expr(node.child, ctx)
    assert isinstance(node, Ref)
    return condition_expr(node.child, ctx)


def _years_boundary(on: dt.date, years: int) -> dt.date | None:
    """The latest date ``d`` with ``whole_years(d, on) >= years`` (None when out of range).

    ``whole_years(d, on) >= k`` holds exactly when (d.year, d.month, d.day) is at most
    (on.year − k, on.month, on.day); a 29 February that year lacks becomes 28 February."""
    year = on.year - years
    if not 1 <= year <= 9999:
        return None
    try:
        return on.replace(year=year)
    except ValueError:
        return on.replace(year=year, day=28)


def _years_compare(leaf: Leaf, ctx: Context) -> pl.Expr | None:
    """``years_since`` comparisons as plain date comparisons against boundary dates (no
    year/month/day extraction per row); None when a boundary is out of range."""
    assert leaf.years_on is not None
    on = _date(leaf.years_on, ctx)
    column = pl.col(leaf.attr.name)

    def at_least(k: int) -> pl.Expr | None:
        boundary = _years_boundary(on, k)
        return None if boundary is None else column <= pl.lit(boundary, dtype=pl.Date)

    def exactly(k: int) -> pl.Expr | None:
        lo, hi = at_least(k), at_least(k + 1)
        return None if lo is None or hi is None else lo & ~hi

    op, value = leaf.op, leaf.value
    parts: list[pl.Expr | None]
    if op == ">=":
        parts = [at_least(value)]
    elif op == ">":
        parts = [at_least(value + 1)]
    elif op == "<":
        parts = [None if at_least(value) is None else ~at_least(value)]  # type: ignore[operator]
    elif op == "<=":
        parts = [None if at_least(value + 1) is None else ~at_least(value + 1)]  # type: ignore[operator]
    elif op == "==":
        parts = [exactly(value)]
    elif op == "!=":
        parts = [None if exactly(value) is None else ~exactly(value)]  # type: ignore[operator]
    elif op == "between":
        lo, hi = at_least(value[0]), at_least(value[1] + 1)
        parts = [None if lo is None or hi is None else lo & ~hi]
    elif op in ("in", "not_in"):
        parts = [exactly(k) for k in value]
    else:
        return None
    if any(p is None for p in parts):
        return None
    expr = parts[0]
    for part in parts[1:]:
        expr = expr | part  # type: ignore[operator]
    assert expr is not None
    return ~expr if op == "not_in" else expr


def _leaf_expr(leaf: Leaf, ctx: Context) -> pl.Expr:
    op = leaf.op
    if leaf.years_on is not None and op not in ("known", "unknown"):
        rewritten = _years_compare(leaf, ctx)
        if rewritten is not None:
            return rewritten
    if op in ("has_tag", "lacks_tag"):
        column = pl.col(tag_column(leaf.value))
        return column if op == "has_tag" else ~column
    if leaf.attr.type is AttrType.TAGS:  # known / unknown: the tag list itself
        known = pl.col(TAGS_KNOWN)
        return known if op == "known" else ~known
    x = _operand(leaf, ctx)
    if op == "known":
        return x.is_not_null()
    if op == "unknown":
        return x.is_null()
    if op in ("==", "!=", "<", "<=", ">", ">="):
        v = _lit(leaf.value, leaf, ctx)
        return {
            "==": x == v,
            "!=": x != v,
            "<": x < v,
            "<=": x <= v,
            ">": x > v,
            ">=": x >= v,
        }[op]
    if op == "between":
        lo, hi = leaf.value
        return (x >= _lit(lo, leaf, ctx)) & (x <= _lit(hi, leaf, ctx))
    if op in ("in", "not_in"):
        member = x.is_in(
            pl.lit(
                pl.Series(list(leaf.value), dtype=polars_type(leaf.attr, leaf.operand_type))
            ).implode()
        )
        member = pl.when(x.is_null()).then(_NULL_BOOL).otherwise(member)
        return member if op == "in" else ~member
    if op == "within":
        return x.str.starts_with(leaf.value)
    if op == "prefix":
        expr = x.str.starts_with(leaf.value[0])
        for p in leaf.value[1:]:
            expr = expr | x.str.starts_with(p)
        return expr
    raise AssertionError(op)


def amount_expr(formula: Formula, ctx: Context) -> pl.Expr:
    """Float64 yuan before rounding; null when data is missing."""
    if isinstance(formula, Fixed):
        return pl.lit(formula.amount, dtype=pl.Float64)
    if isinstance(formula, Scaled):
        return pl.col(formula.attr.name).cast(pl.Float64) * pl.lit(formula.factor, dtype=pl.Float64)
    if isinstance(formula, Capped):
        inner = amount_expr(formula.formula, ctx)
        return (
            pl.when(inner > formula.cap)
            .then(pl.lit(formula.cap, dtype=pl.Float64))
            .otherwise(inner)
        )
    if isinstance(formula, Tiers):
        base = pl.col(formula.attr.name).cast(pl.Float64)
        expr: Any = pl.when(base.is_null()).then(_NULL_FLOAT)
        for start, band in reversed(formula.bands):
            expr = expr.when(base >= start).then(amount_expr(band, ctx))
        result: pl.Expr = expr.otherwise(pl.lit(0.0, dtype=pl.Float64))
        return result
    if isinstance(formula, Cases):
        result = amount_expr(formula.otherwise, ctx)
        for when, amount in reversed(formula.cases):
            holds = condition_expr(when, ctx)
            result = (
                pl.when(holds.is_null())
                .then(_NULL_FLOAT)
                .when(holds)
                .then(amount_expr(amount, ctx))
                .otherwise(result)
            )
        return result
    parts = [amount_expr(p, ctx) for p in formula.parts]
    if formula.op == "sum":
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return total
    if formula.op == "minus":
        return parts[0] - parts[1]
    if formula.op == "divide":
        return parts[0] / parts[1]
    any_null = parts[0].is_null()
    for p in parts[1:]:
        any_null = any_null | p.is_null()
    combined = pl.min_horizontal(parts) if formula.op == "min" else pl.max_horizontal(parts)
    return pl.when(any_null).then(_NULL_FLOAT).otherwise(combined)


def fen_expr(formula: Formula, ctx: Context) -> pl.Expr:
    return (amount_expr(formula, ctx) * 100 + 0.5).floor().cast(pl.Int64)


@dataclass(frozen=True)
class CompiledItem:
    """A payable item ready for batch evaluation."""

    code: str
    condition: Condition
    amount: Formula


def evaluate_items(
    frame: pl.DataFrame, items: Sequence[CompiledItem], ctx: Context, *, key: str
) -> pl.DataFrame:
    """One row per profile: the key, and per item ``<code>`` (Boolean, null = unknown) and
    ``<code>:fen`` (amount in fen, null when unknown or not eligible)."""
    exprs: list[pl.Expr] = [pl.col(key)]
    for item in items:
        eligible = condition_expr(item.condition, ctx)
        exprs.append(eligible.alias(item.code))
        exprs.append(
            pl.when(eligible)
            .then(fen_expr(item.amount, ctx))
            .otherwise(None)
            .alias(f"{item.code}:fen")
        )
    return frame.select(exprs)


def eligible_long(
    frame: pl.DataFrame, items: Sequence[CompiledItem], ctx: Context, *, key: str
) -> pl.DataFrame:
    """Candidates in long form: ``key, item, outcome (eligible/unknown), fen`` — profiles that are
    plainly ineligible are dropped; eligible with an unknown amount count as unknown."""
    wide = evaluate_items(frame, items, ctx, key=key)
    pieces = []
    for item in items:
        piece = wide.select(
            pl.col(key),
            pl.lit(item.code).alias("item"),
            pl.when(pl.col(item.code).is_null() | pl.col(f"{item.code}:fen").is_null())
            .then(pl.lit("unknown"))
            .otherwise(pl.lit("eligible"))
            .alias("outcome"),
            pl.col(f"{item.code}:fen").alias("fen"),
            pl.col(item.code).alias("holds"),
        ).filter(pl.col("holds").is_null() | pl.col("holds"))
        pieces.append(piece.drop("holds"))
    if not pieces:
        return pl.DataFrame(
            schema={"key": pl.String, "item": pl.String, "outcome": pl.String, "fen": pl.Int64}
        )
    return pl.concat(pieces).rename({key: "key"})


def totals(
    source: pl.LazyFrame, items: Sequence[CompiledItem], ctx: Context
) -> dict[str, tuple[int, int]]:
    """Per item: how many profiles qualify and the total amount in fen (unknowns excluded).

    Two passes: every condition in one query (shared sub-expressions computed once), then each
    amount only over the rows its item selected — most entities qualify for few items, so most
    amount arithmetic is never done."""
    from tongban.policies.evaluate import amount_fen
    from tongban.policies.rules import referenced_attributes

    conditions = [
        condition_expr(item.condition, ctx).fill_null(False).alias(item.code) for item in items
    ]
    amount_columns = sorted(
        set().union(*(referenced_attributes(item.amount) for item in items)) if items else set()
    )
    tags = sorted(set().union(*(_formula_tags(item.amount) for item in items)) if items else set())
    keep = [pl.col(c) for c in amount_columns if c != "tags"] + [
        pl.col(tag_column(t)) for t in tags
    ]
    if tags or "tags" in amount_columns:
        keep.append(pl.col(TAGS_KNOWN))
    flags = source.select(*keep, *conditions).collect()
    queries = []
    constant: dict[str, int] = {}
    for item in items:
        selected = flags.lazy().filter(pl.col(item.code))
        if not referenced_attributes(item.amount) and not _formula_tags(item.amount):
            constant[item.code] = amount_fen(item.amount, {}, ctx) or 0
            queries.append(
                selected.select(pl.len().alias("n"), pl.lit(0, dtype=pl.Int64).alias("fen"))
            )
        else:
            queries.append(
                selected.select(pl.len().alias("n"), fen_expr(item.amount, ctx).sum().alias("fen"))
            )
    results = pl.collect_all(queries)
    out: dict[str, tuple[int, int]] = {}
    for item, result in zip(items, results, strict=True):
        n = int(result["n"][0])
        fen = n * constant[item.code] if item.code in constant else int(result["fen"][0] or 0)
        out[item.code] = (n, fen)
    return out


def _formula_tags(formula: Formula) -> set[str]:
    from tongban.policies.rules import referenced_tags

    return referenced_tags(formula)
