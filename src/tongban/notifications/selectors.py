"""Notification reads: a person's in-app inbox, the unread count, undelivered messages.

The in-app channel needs no separate inbox table: the outbox rows on channel ``in_app`` are the
inbox. Pages and the API read through here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from tongban.notifications.models import Channel, Notification, Status


def inbox(user: Any, *, unread_only: bool = False) -> QuerySet[Notification]:
    """``user``'s in-app messages, newest first."""
    rows = Notification.objects.filter(
        recipient=user, channel=Channel.IN_APP, status=Status.SENT
    ).order_by("-created_at", "-id")
    if unread_only:
        rows = rows.filter(read_at__isnull=True)
    return rows


def unread_count(user: Any) -> int:
    return inbox(user, unread_only=True).count()


def undelivered(*, dead_only: bool = False) -> QuerySet[Notification]:
    """Outbox rows not (yet) delivered, oldest first — for supervision of the channels."""
    statuses = [Status.DEAD] if dead_only else [Status.PENDING, Status.FAILED, Status.DEAD]
    return (
        Notification.objects.filter(status__in=statuses)
        .select_related("recipient")
        .order_by("created_at", "id")
    )


def messages_with_templates(
    templates: Iterable[str], *, since: dt.datetime, channel: str = Channel.IN_APP
) -> QuerySet[Notification]:
    """Messages of any of ``templates`` written on ``channel`` since ``since`` (for figures such
    as the 督办 escalations sent; one row per recipient)."""
    return Notification.objects.filter(
        template__in=sorted(templates), channel=channel, created_at__gte=since
    )
