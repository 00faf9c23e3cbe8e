"""Case numbers (办件编号): ``<division code>-<yyyymmdd>-<5-digit sequence>``, unique and gap-free
per division and day, safe under concurrency: one upsert statement takes the next number and
holds the sequence row locked until the calling transaction ends, so concurrent submissions
queue on that row and a rolled-back submission gives its number back."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from tongban.cases.models import CaseNumberSequence


def next_case_number(division_code: str, day: dt.date) -> str:
    """Take the next number; call inside the transaction that stores it."""
    prefix = f"{division_code}-{day:%Y%m%d}"
    table = connection.ops.quote_name(CaseNumberSequence._meta.db_table)
    with connection.cursor() as cursor:
        # PostgreSQL and SQLite ≥ 3.35 both speak INSERT … ON CONFLICT … RETURNING
        cursor.execute(
            f"INSERT INTO {table} (prefix, last) VALUES (%s, 1) "  # noqa: S608 - model table
            f"ON CONFLICT (prefix) DO UPDATE SET last = {table}.last + 1 RETURNING last",
            [prefix],
        )
        (last,) = cursor.fetchone()
    return f"{prefix}-{last:05d}"
