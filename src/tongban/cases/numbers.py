"""Case numbers (办件编号): ``<division code>-<yyyymmdd>-<5-digit sequence>``, unique and gap-free
per division and day, safe under concurrency (the sequence row is locked while a number is taken)."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction

from tongban.cases.models import CaseNumberSequence


def next_case_number(division_code: str, day: dt.date) -> str:
    """Take the next number; call inside the transaction that stores it."""
    prefix = f"{division_code}-{day:%Y%m%d}"
    sequence = CaseNumberSequence.objects.select_for_update().filter(prefix=prefix).first()
    if sequence is None:
        try:
            with transaction.atomic():  # savepoint: a concurrent first number may win the insert
                CaseNumberSequence.objects.create(prefix=prefix, last=0)
        except IntegrityError:
            pass
        sequence = CaseNumberSequence.objects.select_for_update().get(prefix=prefix)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{prefix}-{sequence.last:05d}"
