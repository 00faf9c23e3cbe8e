"""Compiled writes: the INSERT of a new row and the UPDATE of chosen fields of a saved row, each
turned into SQL by Django once per connection and then run with the instance's values.

``Model.save`` builds and compiles its statement every time; for the rows a case step always
writes (the event, the case's changed fields, a task) that costs more client CPU than the
database spends on the statement. ``insert_row`` and ``update_row`` keep the statement Django
compiled for the first instance and, at each call, prepare the values exactly as the save would
(``pre_save`` — so ``auto_now`` fields are set on the instance — then ``get_db_prep_save``) and
run it through the connection's own cursor, so execute wrappers, query counting and prepared
statements still apply. Like ``bulk_create``, they send no ``pre_save``/``post_save`` signals
and do not call the model's ``save``: use them only for models that rely on neither (the tests
hold the models that do). A value that is an expression (``F("n") + 1``) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.models import Field, Model

_ATTRIBUTE = "_tongban_compiled_writes"


@dataclass(frozen=True)
class _Statement:
    sql: str
    fields: tuple[Field[Any, Any], ...]
    returns_pk: bool


def _statements(connection: Any) -> dict[tuple[Any, ...], _Statement]:
    cache: dict[tuple[Any, ...], _Statement] = connection.__dict__.setdefault(_ATTRIBUTE, {})
    return cache


def _columns(model: type[Model], fields: Iterable[Field[Any, Any]]) -> tuple[Field[Any, Any], ...]:
    chosen = tuple(fields)
    for field in chosen:
        if hasattr(field, "get_placeholder"):  # its SQL depends on the value: not reusable
            raise ValueError(f"{model.__name__}.{field.name} needs its own placeholder")
    return chosen


def _value(field: Field[Any, Any], obj: Model, add: bool, connection: Any) -> Any:
    value = field.pre_save(obj, add)
    if hasattr(value, "resolve_expression"):
        raise TypeError(
            f"{type(obj).__name__}.{field.name}: an expression cannot be written by a compiled "
            "statement; use save()"
        )
    return field.get_db_prep_save(value, connection)


def insert_row(obj: Model, *, using: str = DEFAULT_DB_ALIAS) -> Model:
    """Insert ``obj`` (not yet saved) with all its concrete fields; set its primary key."""
    _insert(obj, None, using)
    return obj


def insert_row_unless_exists(
    obj: Model, unique_field: str, *, using: str = DEFAULT_DB_ALIAS
) -> bool:
    """Insert ``obj`` unless a row with the same ``unique_field`` value exists (or is being
    written by a transaction that then commits): ``INSERT … ON CONFLICT DO NOTHING``, so the
    caller's transaction is never aborted by the duplicate and needs no savepoint. True when
    ``obj`` was written (and got its primary key), False when nothing was written."""
    return _insert(obj, unique_field, using)


def can_insert_unless_exists(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the database can skip a duplicate and still return the new key in one statement."""
    features = connections[using].features
    return bool(
        features.supports_update_conflicts_with_target and features.can_return_columns_from_insert
    )


def _insert(obj: Model, unique_field: str | None, using: str) -> bool:
    if obj.pk is not None:
        raise ValueError(f"{type(obj).__name__} {obj.pk} is already saved")
    connection = connections[using]
    model = type(obj)
    meta = model._meta
    key = ("insert", model, unique_field)
    statement = _statements(connection).get(key)
    if statement is None:
        statement = _statements(connection)[key] = _insert_statement(
            connection, model, unique_field
        )
    params = [_value(f, obj, True, connection) for f in statement.fields]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        if statement.returns_pk:
            row = cursor.fetchone()
            if row is None:  # ON CONFLICT DO NOTHING: the row exists
                return False
            pk = row[0]
        else:
            pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    obj.pk = meta.pk.to_python(pk)
    obj._state.adding = False
    obj._state.db = using
    return True


def _insert_statement(connection: Any, model: type[Model], unique_field: str | None) -> _Statement:
    meta = model._meta
    fields = _columns(
        model, (f for f in meta.local_concrete_fields if f is not meta.pk and not f.generated)
    )
    qn = connection.ops.quote_name
    returns = bool(connection.features.can_return_columns_from_insert)
    conflict = ""
    if unique_field is not None:
        target = meta.get_field(unique_field)
        if not isinstance(target, Field) or not target.unique:
            raise ValueError(f"{model.__name__}.{unique_field} is not unique")
        if not (returns and connection.features.supports_update_conflicts_with_target):
            raise ValueError(f"{connection.vendor} cannot skip a duplicate in one statement")
        conflict = f"ON CONFLICT ({qn(target.column)}) DO NOTHING"
    returning = ""
    if returns:
        returning, _ = connection.ops.return_insert_columns([meta.pk])
    columns = ", ".join(qn(f.column) for f in fields)
    values = ", ".join("%s" for _ in fields)
    # quoted names from the model; every value is bound
    insert = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({values})"  # noqa: S608
    sql = " ".join(part for part in (insert, conflict, returning) if part)
    return _Statement(sql=sql, fields=fields, returns_pk=returns)


def update_row(obj: Model, fields: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """``obj.save(update_fields=fields)``: one UPDATE of those columns by primary key. Raises
    ``DatabaseError`` when no row was updated, as the save would."""
    connection = connections[using]
    model = type(obj)
    meta = model._meta
    names = tuple(sorted(set(fields)))
    if not names:
        return
    key = ("update", model, names)
    statement = _statements(connection).get(key)
    if statement is None:
        found = [meta.get_field(name) for name in names]
        for field in found:
            if not isinstance(field, Field) or not field.concrete or field.primary_key:
                raise ValueError(f"{model.__name__}.{field.name} cannot be updated")
        chosen = _columns(model, (f for f in found if isinstance(f, Field)))
        qn = connection.ops.quote_name
        assignments = ", ".join(f"{qn(f.column)} = %s" for f in chosen)
        # quoted names from the model; every value is bound
        sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(meta.pk.column)} = %s"  # noqa: S608
        statement = _Statement(sql=sql, fields=chosen, returns_pk=False)
        _statements(connection)[key] = statement
    params = [_value(f, obj, False, connection) for f in statement.fields]
    params.append(meta.pk.get_db_prep_value(obj.pk, connection))
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        updated = cursor.rowcount
    if updated != 1:
        raise DatabaseError(f"{model.__name__} {obj.pk}: the update did not affect one row")
