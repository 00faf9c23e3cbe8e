"""Compiled reads: a queryset turned into SQL once per database connection, then run with new
parameters.

Django builds and compiles a queryset's SQL each time it is evaluated. For a wide read — the
locked case with the division chain, department, item version and enterprise the access checks
walk — that costs more CPU than the database spends running it, and a case step does it every
time. ``CompiledRead`` compiles its queryset once per connection (with sentinel parameters),
keeps the statement, the column converters and the related-object populators, and at each call
binds the new parameters, runs the statement through the connection's own cursor (so execute
wrappers, query counting and PostgreSQL's prepared statements still apply) and builds the same
model instances the queryset would have built. Only model querysets (with ``select_related``
and annotations, set on the instances as the queryset sets them) and ``values_list`` querysets
are supported; the tests compare the results with evaluating the
queryset itself. A compiled ``select_for_update`` refuses to run outside a transaction, as the
queryset would (on a database that has row locks).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import QuerySet
from django.db.models.query import (  # type: ignore[attr-defined]
    FlatValuesListIterable,
    ModelIterable,
    ValuesListIterable,
    get_related_populators,
)
from django.db.transaction import TransactionManagementError

_ATTRIBUTE = "_tongban_compiled_reads"


class Sentinel(str):
    """A placeholder string parameter, found again in the compiled parameters by identity."""

    __slots__ = ()


_INT_SENTINEL_BASE = -4_611_686_018_427_387_000  # no real id or count is near this


def _sentinel(kind: type, index: int, name: str) -> Any:
    if kind is str:
        return Sentinel(f"\x00compiled-read-{name}-{index}\x00")
    if kind is int:  # integer fields convert the value, so it is found again by value
        return _INT_SENTINEL_BASE - index
    raise TypeError(f"{name}: arguments may be str or int, not {kind.__name__}")


def _prepared(kind: type, value: Any, name: str) -> Any:
    if value is None:  # the queryset would test IS NULL: a different statement
        raise TypeError(f"{name}: an argument may not be None")
    return value if type(value) is kind else kind(value)


def _is(param: Any, sentinel: Any) -> bool:
    if isinstance(sentinel, Sentinel):
        return param is sentinel
    return type(param) is int and param == sentinel


@dataclass(frozen=True)
class _Statement:
    sql: str
    slots: tuple[tuple[int | None, Any], ...]  # (argument index, or None and the constant)
    for_update: bool
    build: Callable[[list[tuple[Any, ...]]], list[Any]]


class CompiledRead:
    """``read = CompiledRead(lambda number: Case.objects.filter(number=number), (str,), "case")``;
    ``read(number)`` returns what ``list(queryset)`` would. The builder must put each argument
    into the query unchanged (equality on a string or integer column, not a transformed value);
    ``kinds`` gives each argument's type."""

    def __init__(
        self, build: Callable[..., QuerySet[Any]], kinds: tuple[type, ...], name: str
    ) -> None:
        self._build = build
        self._kinds = kinds
        self.name = name

    def __call__(self, *args: Any, using: str = DEFAULT_DB_ALIAS) -> list[Any]:
        if len(args) != len(self._kinds):
            raise TypeError(f"{self.name} takes {len(self._kinds)} arguments, got {len(args)}")
        connection = connections[using]
        cache: dict[int, _Statement] = connection.__dict__.setdefault(_ATTRIBUTE, {})
        statement = cache.get(id(self))
        if statement is None:
            statement = cache[id(self)] = self._compile(connection, using)
        if statement.for_update and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        # as the fields would prepare them: ``str()`` for text, ``int()`` for integers
        values = [
            _prepared(kind, arg, self.name) for kind, arg in zip(self._kinds, args, strict=True)
        ]
        params = [values[i] if i is not None else constant for i, constant in statement.slots]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, params)
            rows = cursor.fetchall()
        return statement.build(rows)

    def first(self, *args: Any, using: str = DEFAULT_DB_ALIAS) -> Any | None:
        """The first row the read finds, or ``None`` (the queryset's ``.first()``)."""
        found = self(*args, using=using)
        return found[0] if found else None

    def _compile(self, connection: Any, using: str) -> _Statement:
        sentinels = [_sentinel(kind, i, self.name) for i, kind in enumerate(self._kinds)]
        queryset = self._build(*sentinels)
        compiler = queryset.query.get_compiler(using=using)
        locks = bool(queryset.query.select_for_update) and connection.features.has_select_for_update
        if locks and connection.get_autocommit():
            raise TransactionManagementError(
                "select_for_update cannot be used outside of a transaction."
            )
        sql, params = compiler.as_sql()
        slots: list[tuple[int | None, Any]] = []
        seen: set[int] = set()
        for param in params:
            index = next((i for i, s in enumerate(sentinels) if _is(param, s)), None)
            if index is not None:
                seen.add(index)
            slots.append((index, None if index is not None else param))
        if len(seen) != len(self._kinds):
            raise ValueError(
                f"{self.name}: an argument does not reach the SQL unchanged (it was transformed "
                "or dropped); such a query cannot be compiled once"
            )
        return _Statement(
            sql=sql,
            slots=tuple(slots),
            for_update=locks,
            build=_builder(queryset, compiler, using),
        )


def _builder(
    queryset: QuerySet[Any], compiler: Any, using: str
) -> Callable[[list[tuple[Any, ...]]], list[Any]]:
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    converters = compiler.get_converters(fields)

    def converted(rows: list[tuple[Any, ...]]) -> Sequence[Sequence[Any]]:
        if not converters:
            return rows
        return list(compiler.apply_converters(rows, converters))

    iterable = queryset._iterable_class
    if iterable is FlatValuesListIterable:
        return lambda rows: [row[0] for row in converted(rows)]
    if iterable is ValuesListIterable:
        return lambda rows: [tuple(row) for row in converted(rows)]
    if iterable is not ModelIterable:
        raise ValueError("CompiledRead supports model and values_list querysets only")
    klass_info, select = compiler.klass_info, compiler.select
    annotations = tuple(compiler.annotation_col_map.items())
    model_cls = klass_info["model"]
    select_fields = klass_info["select_fields"]
    start, end = select_fields[0], select_fields[-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    populators = get_related_populators(klass_info, select, using)

    def instances(rows: list[tuple[Any, ...]]) -> list[Any]:
        found = []
        for row in converted(rows):
            obj = model_cls.from_db(using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for attribute, position in annotations:
                setattr(obj, attribute, row[position])
            found.append(obj)
        return found

    return instances
