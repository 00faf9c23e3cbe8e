"""Gap-free numbering: the next value of a counter row, taken by one upsert statement.

A counter model has a unique ``prefix`` and a ``last`` value (``CaseNumberSequence`` for 办件编号,
``LicenceNumberSequence`` for 证照编号). ``take_next`` inserts the row at 1 or adds one to it and
returns the value, holding the row locked until the calling transaction ends: concurrent callers
queue on that row, and a rolled-back caller gives its number back. PostgreSQL and SQLite
≥ 3.35 both speak ``INSERT … ON CONFLICT … RETURNING``.
"""

from __future__ import annotations

from typing import Any

from django.db import connection


def take_next(counter: type[Any], prefix: str) -> int:
    """The next value of ``counter`` for ``prefix``; call inside the transaction that uses it."""
    table = connection.ops.quote_name(counter._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (prefix, last) VALUES (%s, 1) "  # noqa: S608 - model table
            f"ON CONFLICT (prefix) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [prefix],
        )
        (last,) = cursor.fetchone()
    return int(last)
