"""Expiry reminders: a daily periodic job that tells holders, per licence type rules (e.g. 30
and 7 days before), that a licence is about to expire — once per licence, expiry date and rule,
through the notifications outbox."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from tongban.core.tasks import register_periodic_job, task
from tongban.licences import notices
from tongban.licences.models import ExpiryReminder, Licence, LicenceState

BATCH = 500


def send_expiry_reminders(*, today: dt.date | None = None) -> int:
    """Queue every reminder that is due and not yet sent; returns how many were queued."""
    day = today or timezone.localdate()
    sent = 0
    horizon = day + dt.timedelta(days=366)
    due = (
        Licence.objects.select_related("licence_type")
        .filter(state=LicenceState.VALID, valid_until__gte=day, valid_until__lte=horizon)
        .order_by("valid_until", "id")
    )
    for licence in due.iterator(chunk_size=BATCH):
        assert licence.valid_until is not None
        left = (licence.valid_until - day).days
        rules = sorted(int(d) for d in licence.licence_type.reminder_days or [])
        # the nearest rule reached: a reminder missed for a longer lead is not sent late
        reached = [d for d in rules if left <= d]
        if not reached:
            continue
        rule = reached[0]
        try:
            with transaction.atomic():
                ExpiryReminder.objects.create(
                    licence=licence, valid_until=licence.valid_until, days_before=rule
                )
                notices.notify(
                    licence,
                    "expiring",
                    f"expiring:{licence.valid_until.isoformat()}:{rule}",
                    valid_until=licence.valid_until.isoformat(),
                    days=left,
                )
        except IntegrityError:
            continue  # already sent by another run
        sent += 1
    return sent


@task
def expiry_reminders() -> int:
    return send_expiry_reminders()


def register_jobs() -> None:
    notices.register_templates()
    register_periodic_job(
        "licences.expiry_reminders",
        expiry_reminders,
        every=dt.timedelta(hours=24),
        description="电子证照到期提醒",
    )
