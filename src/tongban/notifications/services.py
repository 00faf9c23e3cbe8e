"""Notification writes: queue a message inside the caller's transaction, deliver it after commit.

``queue_notification`` renders a message template and writes one outbox row per channel **in
the caller's transaction**; delivery is enqueued with ``on_commit``, so a rolled-back change
sends nothing. In-app rows are delivered by that commit itself (the row is the inbox entry).

``deliver`` is what the worker runs, and it is idempotent:

1. **claim** — in a short transaction, lock the row (``SELECT … FOR UPDATE SKIP LOCKED`` on
   PostgreSQL; SQLite serialises writers), check it is still pending/failed, due and not leased
   by another worker, then count the attempt and lease the row for ``LEASE_SECONDS``;
2. **send** through the channel plugin, outside any transaction (no lock held while a gateway
   answers);
3. **record** — mark it sent, or record the error and schedule a retry with exponential backoff,
   or mark it ``dead`` after ``MAX_ATTEMPTS`` (or at once for a permanent error).

A second run, or a second worker, finds the row sent or leased and does nothing. The one gap is
a crash after the gateway accepted the message but before step 3 committed: when the lease
expires the sweep sends it again. Delivery is therefore **at least once**; every message carries
its dedupe key (SMS ``client_message_id``, e-mail ``Message-ID``) so gateways can drop the copy.

``deliver_due`` is the periodic sweep: it delivers rows whose enqueue was lost (queue down at
commit time, worker killed mid-job, retry not scheduled) from database state alone.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from tongban.core.compiled_writes import can_insert_unless_exists, insert_rows_unless_exist
from tongban.core.errors import Conflict, FieldError, NotFound, ValidationFailed
from tongban.core.tasks import enqueue_on_commit, supports_run_after, write_transaction
from tongban.notifications.channels import (
    OutgoingMessage,
    PermanentDeliveryError,
    channel,
    channels,
)
from tongban.notifications.message_templates import default_language, get_template
from tongban.notifications.models import Channel, Notification, Status

logger = structlog.get_logger(__name__)

MAX_BACKOFF = dt.timedelta(hours=1)
SWEEP_BATCH = 200
_DEDUPE_KEY_MAX = 200 - len(":in_app")


class Outcome(enum.StrEnum):
    """What one ``deliver`` call did."""

    SENT = "sent"
    RETRY = "retry"  # failed, another attempt is scheduled
    DEAD = "dead"  # failed for good
    SKIPPED = "skipped"  # already sent or dead, or locked by another worker right now
    IN_PROGRESS = "in_progress"  # leased by another worker that is sending it
    NOT_DUE = "not_due"  # a retry that is not due yet
    LEASE_LOST = "lease_lost"  # our lease expired and another worker took over


@dataclass(frozen=True)
class _Claim:
    pk: int
    channel: str
    message: OutgoingMessage
    leased_until: dt.datetime


def _max_attempts() -> int:
    return max(1, int(settings.TONGBAN_NOTIFICATION_MAX_ATTEMPTS))


def _lease() -> dt.timedelta:
    return dt.timedelta(seconds=float(settings.TONGBAN_NOTIFICATION_LEASE_SECONDS))


def backoff(attempts: int) -> dt.timedelta:
    """Wait after the ``attempts``-th failed attempt: base · 2^(attempts − 1), at most an hour."""
    base = float(settings.TONGBAN_NOTIFICATION_RETRY_SECONDS)
    seconds = base * (2 ** max(0, attempts - 1))
    return min(dt.timedelta(seconds=seconds), MAX_BACKOFF)


# --- queueing ----------------------------------------------------------------------------------


def _check_channels(names: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(names))
    problems = [
        FieldError(path=f"channels[{i}]", message=f"unknown channel {name!r}")
        for i, name in enumerate(wanted)
        if name not in channels
    ]
    if not wanted:
        problems.append(FieldError(path="channels", message="at least one channel is needed"))
    if problems:
        raise ValidationFailed("消息渠道无效", code="invalid_channels", errors=problems)
    return wanted


def _key_reused() -> Conflict:
    return Conflict(
        "去重键已用于另一接收人的消息",
        code="dedupe_key_reused",
        errors=[FieldError(path="dedupe_key", message="used for another recipient")],
    )


def _queue_each(recipient: Any, candidates: list[Notification]) -> list[Notification]:
    """Write the rows one by one, keeping any row already queued under the same key."""
    from tongban.notifications.tasks import deliver_notification

    rows: list[Notification] = []
    for candidate in candidates:
        fields = {
            f.attname: getattr(candidate, f.attname)
            for f in Notification._meta.concrete_fields
            if not f.primary_key and f.attname != "dedupe_key"
        }
        row, created = Notification.objects.get_or_create(
            dedupe_key=candidate.dedupe_key, defaults=fields
        )
        if not created and row.recipient_id != recipient.pk:
            raise _key_reused()
        if created and row.status == Status.PENDING:
            enqueue_on_commit(deliver_notification, row.pk)
        rows.append(row)
    return rows


def queue_notification(
    recipient: Any,
    template: str,
    context: Mapping[str, Any],
    channels: Iterable[str],
    dedupe_key: str,
    *,
    language: str | None = None,
) -> list[Notification]:
    """Write one outbox row per channel in the caller's transaction; deliver after commit.

    ``dedupe_key`` names the event being reported (``case:330106-2026-000123:accepted``): queueing
    the same key again returns the rows already written and sends nothing more, so callers may
    retry freely. Rows are rendered now, in ``language`` (default: the site language). A channel
    on which the recipient has no address gets a ``dead`` row saying so, instead of failing the
    caller's change.
    """
    wanted = _check_channels(channels)
    key = (dedupe_key or "").strip()
    if not key or len(key) > _DEDUPE_KEY_MAX:
        raise ValidationFailed(
            "去重键无效",
            code="invalid_dedupe_key",
            errors=[FieldError(path="dedupe_key", message=f"1 to {_DEDUPE_KEY_MAX} characters")],
        )
    message_template = get_template(template)
    try:
        plain_context = json.loads(json.dumps(dict(context), cls=DjangoJSONEncoder))
    except (TypeError, ValueError) as exc:
        raise ValidationFailed(
            "模板参数无法保存",
            code="invalid_context",
            errors=[FieldError(path="context", message=str(exc))],
        ) from exc
    lang = language or default_language()
    rendered = message_template.render(plain_context, lang)
    now = timezone.now()

    from tongban.notifications.tasks import deliver_notification

    candidates: list[Notification] = []
    for name in wanted:
        plugin = channel(name)
        address = plugin.address_for(recipient)
        row = Notification(
            recipient=recipient,
            channel=name,
            template=template,
            language=lang,
            address=address,
            subject=rendered.subject[:200],
            body=rendered.body,
            context=plain_context,
            created_at=now,
            next_attempt_at=now,
            dedupe_key=f"{key}:{name}",
        )
        if plugin.inline:
            row.status, row.sent_at = Status.SENT, now
        elif not address:
            row.status, row.last_error = Status.DEAD, plugin.missing_address
        candidates.append(row)
    if can_insert_unless_exists():
        return _queue_unless_queued(recipient, candidates)
    try:
        with transaction.atomic():  # savepoint: a key queued before makes the insert fail
            rows = Notification.objects.bulk_create(candidates)
    except IntegrityError:  # the same change reported again: keep what was written
        rows = _queue_each(recipient, candidates)
    else:
        for row in rows:
            if row.status == Status.PENDING:
                enqueue_on_commit(deliver_notification, row.pk)
    return rows


def _queue_unless_queued(recipient: Any, candidates: list[Notification]) -> list[Notification]:
    """Write the outbox rows, keeping any already queued under its key: one statement that
    skips duplicates (no savepoint), and a read only when there was one."""
    from tongban.notifications.tasks import deliver_notification

    written = insert_rows_unless_exist(candidates, "dedupe_key")
    if all(written):
        rows = candidates
    else:
        kept = Notification.objects.in_bulk(
            [c.dedupe_key for c, new in zip(candidates, written, strict=True) if not new],
            field_name="dedupe_key",
        )
        if any(row.recipient_id != recipient.pk for row in kept.values()):
            raise _key_reused()
        rows = [
            c if new else kept[c.dedupe_key] for c, new in zip(candidates, written, strict=True)
        ]
    for row, new in zip(rows, written, strict=True):
        if new and row.status == Status.PENDING:
            enqueue_on_commit(deliver_notification, row.pk)
    return rows


# --- delivery ----------------------------------------------------------------------------------


def _claim(pk: int, now: dt.datetime) -> _Claim | Outcome:
    def claim() -> _Claim | Outcome:
        row = (
            Notification.objects.select_for_update(skip_locked=True)
            .filter(pk=pk, status__in=[Status.PENDING, Status.FAILED])
            .first()
        )
        if row is None:
            return Outcome.SKIPPED
        if row.next_attempt_at > now + dt.timedelta(seconds=1):
            return Outcome.NOT_DUE
        if row.leased_until is not None and row.leased_until > now:
            return Outcome.IN_PROGRESS
        row.attempts += 1
        row.leased_until = now + _lease()
        row.save(update_fields=["attempts", "leased_until"])
        return _Claim(
            pk=row.pk,
            channel=row.channel,
            leased_until=row.leased_until,
            message=OutgoingMessage(
                notification_id=row.pk,
                dedupe_key=row.dedupe_key,
                address=row.address,
                subject=row.subject,
                body=row.body,
                attempt=row.attempts,
            ),
        )

    return write_transaction(claim)


def _mark_sent(claim: _Claim) -> Outcome:
    """The message was handed over: record it, whoever holds the lease now."""
    sent_at = timezone.now()

    def mark() -> int:
        return (
            Notification.objects.filter(pk=claim.pk)
            .exclude(status=Status.SENT)
            .update(status=Status.SENT, sent_at=sent_at, leased_until=None, last_error="")
        )

    write_transaction(mark)
    return Outcome.SENT


def _record_failure(
    claim: _Claim, error: BaseException, *, permanent: bool, now: dt.datetime
) -> Outcome:
    text = f"{type(error).__name__}: {error}"[:2000]

    from tongban.notifications.tasks import deliver_notification

    def record() -> Outcome:
        row = Notification.objects.select_for_update().filter(pk=claim.pk).first()
        if row is None or row.status == Status.SENT or row.leased_until != claim.leased_until:
            return Outcome.LEASE_LOST
        row.leased_until = None
        row.last_error = text
        if permanent or row.attempts >= _max_attempts():
            row.status = Status.DEAD
            row.save(update_fields=["status", "leased_until", "last_error"])
            return Outcome.DEAD
        row.status = Status.FAILED
        row.next_attempt_at = now + backoff(row.attempts)
        row.save(update_fields=["status", "leased_until", "last_error", "next_attempt_at"])
        retry = deliver_notification.using(run_after=row.next_attempt_at)
        if supports_run_after(retry):
            enqueue_on_commit(retry, row.pk)
        return Outcome.RETRY

    return write_transaction(record)


def deliver(notification_id: int, *, now: dt.datetime | None = None) -> Outcome:
    """Deliver one outbox row if it is still due; safe to call any number of times, at once."""
    moment = now or timezone.now()
    claimed = _claim(notification_id, moment)
    if isinstance(claimed, Outcome):
        return claimed
    log = logger.bind(id=claimed.pk, channel=claimed.channel, attempt=claimed.message.attempt)
    try:
        channel(claimed.channel).send(claimed.message)
    except PermanentDeliveryError as exc:
        outcome = _record_failure(claimed, exc, permanent=True, now=moment)
        log.warning("notification.failed", outcome=outcome.value, error=str(exc)[:300])
        return outcome
    except Exception as exc:
        outcome = _record_failure(claimed, exc, permanent=False, now=moment)
        log.warning("notification.failed", outcome=outcome.value, error=str(exc)[:300])
        return outcome
    outcome = _mark_sent(claimed)
    log.info("notification.delivered")
    return outcome


def due_notification_ids(now: dt.datetime, limit: int = SWEEP_BATCH) -> list[int]:
    """Undelivered rows that are due and not leased by a live worker, oldest first."""
    return list(
        Notification.objects.filter(
            status__in=[Status.PENDING, Status.FAILED], next_attempt_at__lte=now
        )
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lte=now))
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:limit]
    )


def deliver_due(*, now: dt.datetime | None = None, limit: int = SWEEP_BATCH) -> dict[str, int]:
    """The sweep: deliver every due row, whatever happened to its queued job."""
    moment = now or timezone.now()
    outcomes = Counter(
        deliver(pk, now=max(moment, timezone.now())).value
        for pk in due_notification_ids(moment, limit)
    )
    if outcomes:
        logger.info("notification.sweep", **outcomes)
    return dict(outcomes)


# --- inbox -------------------------------------------------------------------------------------


def mark_read(user: Any, notification_id: int) -> Notification:
    """Mark one of ``user``'s in-app messages read (again: no change)."""
    with transaction.atomic():
        row = (
            Notification.objects.select_for_update()
            .filter(pk=notification_id, recipient=user, channel=Channel.IN_APP)
            .first()
        )
        if row is None:
            raise NotFound("没有这条消息", code="notification_not_found")
        if row.read_at is None:
            row.read_at = timezone.now()
            row.save(update_fields=["read_at"])
    return row


def mark_all_read(user: Any) -> int:
    """Mark all of ``user``'s unread in-app messages read; returns how many changed."""
    with transaction.atomic():
        return Notification.objects.filter(
            recipient=user, channel=Channel.IN_APP, read_at__isnull=True
        ).update(read_at=timezone.now())
