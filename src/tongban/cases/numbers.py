"""Case numbers (办件编号): ``<division code>-<yyyymmdd>-<5-digit sequence>``, unique and gap-free
per division and day, safe under concurrency (``tongban.core.sequences``: one upsert takes the
next number and holds the row until the submission's transaction ends)."""

from __future__ import annotations

import datetime as dt

from tongban.cases.models import CaseNumberSequence
from tongban.core.sequences import take_next


def next_case_number(division_code: str, day: dt.date) -> str:
    """Take the next number; call inside the transaction that stores it."""
    prefix = f"{division_code}-{day:%Y%m%d}"
    return f"{prefix}-{take_next(CaseNumberSequence, prefix):05d}"
