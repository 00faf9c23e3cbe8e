"""Compiled writes: INSERTs of new rows and the UPDATE of chosen fields of a saved row, built
once per connection and then run with each instance's values.

``Model.save`` and ``bulk_create`` build and compile their statement every time; for the rows a
case step always writes (the event, the case's changed fields, a task decision, the tasks of an
acceptance, the outbox rows) that costs more client CPU than the database spends on the
statement. ``insert_row``, ``insert_rows``, ``insert_rows_unless_exist``, ``update_row`` and
``update_then_insert`` (a step's updates and its event in one statement on PostgreSQL) keep the
statement per connection and, at each call, prepare the values exactly as the save
would (``pre_save`` — so ``auto_now`` fields are set on the instance — then
``get_db_prep_save``) and run it through the connection's own cursor, so execute wrappers,
query counting and prepared statements still apply. Like ``bulk_create``, they send no
``pre_save``/``post_save`` signals and do not call the model's ``save``: use them only for
models that rely on neither (the tests hold the models that do). Inserts need a key the
database assigns; a value that is an expression (``F("n") + 1``) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from django.db.models import Field, Model
from django.db.models.fields import AutoFieldMixin

_ATTRIBUTE = "_tongban_compiled_writes"

M = TypeVar("M", bound=Model)


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


def insert_row(obj: M, *, using: str = DEFAULT_DB_ALIAS) -> M:
    """Insert ``obj`` (not yet saved) with all its concrete fields; set its primary key."""
    _insert(obj, using)
    return obj


def insert_rows(objs: Sequence[M], *, using: str = DEFAULT_DB_ALIAS) -> list[M]:
    """Insert ``objs`` (new rows of one model) in one statement and set their primary keys, in
    the order given (``RETURNING`` gives them in ``VALUES`` order, as ``bulk_create`` relies on
    too); one statement per row where the database cannot return them."""
    model = _one_model(objs)
    connection = connections[using]
    if model is None or not connection.features.can_return_columns_from_insert:
        return [insert_row(obj, using=using) for obj in objs]
    statement = _insert_statement(connection, model, None, len(objs))
    params = [_value(f, obj, True, connection) for obj in objs for f in statement.fields]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        keys = [row[0] for row in cursor.fetchall()]
    if len(keys) != len(objs):
        raise DatabaseError(f"{model.__name__}: {len(objs)} rows sent, {len(keys)} written")
    for obj, pk in zip(objs, keys, strict=True):
        _saved(obj, model._meta.pk.to_python(pk), using)
    return list(objs)


def _one_model(objs: Sequence[Model]) -> type[Model] | None:
    if not objs:
        return None
    model = type(objs[0])
    if any(type(obj) is not model for obj in objs):
        raise TypeError("a compiled insert writes rows of one model")
    for obj in objs:
        _check_new(obj)
    return model


def _check_new(obj: Model) -> None:
    meta = obj._meta
    if not isinstance(meta.pk, AutoFieldMixin) or meta.parents:
        # a key made in Python (UUID) or an inherited table: written by save()
        raise ValueError(f"{type(obj).__name__}: compiled inserts need a key the database assigns")
    if obj.pk is not None:
        raise ValueError(f"{type(obj).__name__} {obj.pk} is already saved")


def insert_rows_unless_exist(
    objs: Sequence[Model], unique_field: str, *, using: str = DEFAULT_DB_ALIAS
) -> list[bool]:
    """Insert ``objs`` (new rows of one model, with distinct ``unique_field`` values) in one
    statement, skipping each whose ``unique_field`` value exists already (or is being written by
    a transaction that then commits): ``INSERT … ON CONFLICT DO NOTHING``, so the caller's
    transaction is never aborted by a duplicate and needs no savepoint. Returns, per object,
    whether it was written; the written ones get their primary keys."""
    model = _one_model(objs)
    if model is None:
        return []
    connection = connections[using]
    meta = model._meta
    statement = _insert_statement(connection, model, unique_field, len(objs))
    rows = [[_value(f, obj, True, connection) for f in statement.fields] for obj in objs]
    position = statement.fields.index(meta.get_field(unique_field))
    wanted = [row[position] for row in rows]
    if len(set(wanted)) != len(wanted):
        raise ValueError(f"{model.__name__}.{unique_field}: the rows repeat a value")
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, [value for row in rows for value in row])
        written = {value: pk for pk, value in cursor.fetchall()}
    for obj, value in zip(objs, wanted, strict=True):
        if value in written:
            _saved(obj, meta.pk.to_python(written[value]), using)
    return [value in written for value in wanted]


def can_insert_unless_exists(using: str = DEFAULT_DB_ALIAS) -> bool:
    """Whether the database can skip duplicates and still return the new keys in one statement."""
    features = connections[using].features
    return bool(
        features.supports_update_conflicts_with_target and features.can_return_columns_from_insert
    )


def _saved(obj: Model, pk: Any, using: str) -> None:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = using


def _insert(obj: Model, using: str) -> None:
    _check_new(obj)
    connection = connections[using]
    model = type(obj)
    meta = model._meta
    statement = _insert_statement(connection, model, None, 1)
    params = [_value(f, obj, True, connection) for f in statement.fields]
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        if statement.returns_pk:
            pk = cursor.fetchone()[0]
        else:
            pk = connection.ops.last_insert_id(cursor, meta.db_table, meta.pk.column)
    _saved(obj, meta.pk.to_python(pk), using)


def _insert_statement(
    connection: Any, model: type[Model], unique_field: str | None, rows: int
) -> _Statement:
    """The INSERT of ``rows`` new rows, built on the connection's first use of it."""
    key = ("insert", model, unique_field, rows)
    statement = _statements(connection).get(key)
    if statement is None:
        statement = _statements(connection)[key] = _build_insert(
            connection, model, unique_field, rows
        )
    return statement


def _build_insert(
    connection: Any, model: type[Model], unique_field: str | None, rows: int
) -> _Statement:
    meta = model._meta
    fields = _columns(
        model, (f for f in meta.local_concrete_fields if f is not meta.pk and not f.generated)
    )
    qn = connection.ops.quote_name
    returns = bool(connection.features.can_return_columns_from_insert)
    conflict, returned = "", [meta.pk]
    if unique_field is not None:
        target = meta.get_field(unique_field)
        alone = {c.fields[0] for c in meta.total_unique_constraints if len(c.fields) == 1}
        unique = isinstance(target, Field) and (target.unique or target.name in alone)
        if not unique or target not in fields:
            raise ValueError(f"{model.__name__}.{unique_field} is not a unique column")
        if not (returns and connection.features.supports_update_conflicts_with_target):
            raise ValueError(f"{connection.vendor} cannot skip a duplicate in one statement")
        conflict = f"ON CONFLICT ({qn(target.column)}) DO NOTHING"
        returned.append(target)
    returning = ""
    if returns:
        returning, _ = connection.ops.return_insert_columns(returned)
    columns = ", ".join(qn(f.column) for f in fields)
    one_row = "(" + ", ".join("%s" for _ in fields) + ")"
    values = ", ".join(one_row for _ in range(rows))
    # quoted names from the model; every value is bound
    insert = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES {values}"  # noqa: S608
    sql = " ".join(part for part in (insert, conflict, returning) if part)
    return _Statement(sql=sql, fields=fields, returns_pk=returns)


def update_row(obj: Model, fields: Iterable[str], *, using: str = DEFAULT_DB_ALIAS) -> None:
    """``obj.save(update_fields=fields)``: one UPDATE of those columns by primary key. Raises
    ``DatabaseError`` when no row was updated, as the save would."""
    connection = connections[using]
    statement = _update_statement(connection, type(obj), fields)
    if statement is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(statement.sql, _update_params(statement, obj, connection))
        updated = cursor.rowcount
    if updated != 1:
        raise _not_updated(obj)


def update_then_insert(
    updates: Sequence[tuple[Model, Iterable[str]]], obj: M, *, using: str = DEFAULT_DB_ALIAS
) -> M:
    """``update_row`` of each ``(saved row, fields)`` pair, then ``insert_row(obj)``: one
    statement where the database runs writes inside ``WITH`` (PostgreSQL), else one each.

    A case step changes the case (and perhaps a task) and appends its event; sending that as one
    statement saves a round trip and a statement's fixed cost at every step. The writes happen
    together or not at all: an update that finds no row raises ``DatabaseError`` and, in one
    statement, the insert is undone with it (outside a transaction the call opens its own)."""
    connection = connections[using]
    _check_new(obj)
    if connection.vendor != "postgresql":
        for row, fields in updates:
            update_row(row, fields, using=using)
        return insert_row(obj, using=using)
    pairs: list[tuple[Model, _Statement]] = []
    for row, fields in updates:
        update = _update_statement(connection, type(row), fields)
        if update is not None:
            pairs.append((row, update))
    if not pairs:
        return insert_row(obj, using=using)
    model = type(obj)
    key = ("update_then_insert", tuple(s.sql for _, s in pairs), model)
    statement = _statements(connection).get(key)
    if statement is None:
        insert = _insert_statement(connection, model, None, 1)
        qn = connection.ops.quote_name
        names = [qn(f"u{n}") for n in range(len(pairs))]
        # quoted names and statements built from the models; every value is bound
        updates_sql = [s.sql for _, s in pairs]
        ctes = ", ".join(
            f"{name} AS ({sql} RETURNING 1)" for name, sql in zip(names, updates_sql, strict=True)
        )
        counts = ", ".join(f"(SELECT COUNT(*) FROM {name})" for name in names)  # noqa: S608
        sql = f"WITH {ctes} {insert.sql}, {counts}"
        statement = _statements(connection)[key] = _Statement(sql, insert.fields, True)
    params = [p for row, s in pairs for p in _update_params(s, row, connection)]
    params.extend(_value(f, obj, True, connection) for f in statement.fields)
    with transaction.atomic(using=using, savepoint=False), connection.cursor() as cursor:
        cursor.execute(statement.sql, params)
        pk, *updated = cursor.fetchone()
        for (row, _), count in zip(pairs, updated, strict=True):
            if count != 1:
                raise _not_updated(row)
    _saved(obj, model._meta.pk.to_python(pk), using)
    return obj


def _update_statement(
    connection: Any, model: type[Model], fields: Iterable[str]
) -> _Statement | None:
    """The UPDATE of ``fields`` by primary key (None for no fields), built on first use."""
    meta = model._meta
    names = tuple(sorted(set(fields)))
    if not names:
        return None
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
    return statement


def _update_params(statement: _Statement, obj: Model, connection: Any) -> list[Any]:
    params = [_value(f, obj, False, connection) for f in statement.fields]
    params.append(obj._meta.pk.get_db_prep_value(obj.pk, connection))
    return params


def _not_updated(obj: Model) -> DatabaseError:
    return DatabaseError(f"{type(obj).__name__} {obj.pk}: the update did not affect one row")
