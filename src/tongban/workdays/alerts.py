"""Calendar horizon alerts: while fewer than 60 days of known working-day calendar remain
(``selectors.calendar_horizon``), system administrators are told once a day, through the
notifications outbox, which year to enter and how (``tongban workdays import`` or the admin).

Run daily by the scheduler (``workdays.calendar_horizon`` periodic job). The message's dedupe key
holds the local date and the recipient, so a job that runs twice a day, or two workers running
it at once, send one message per administrator per day; the day after, while the warning still
holds, they are told again.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from tongban.identity.selectors import system_administrators
from tongban.notifications.message_templates import message_templates, register_template
from tongban.notifications.services import queue_notification
from tongban.workdays.selectors import calendar_horizon

TEMPLATE = "workdays.calendar_horizon"


def register_templates() -> None:
    if TEMPLATE in message_templates:
        return
    register_template(
        TEMPLATE,
        subject={
            "zh-hans": "工作日历{% if days_left < 0 %}已用完{% else %}即将用完{% endif %}："
            "请录入 {{ year }} 年节假日安排",
            "en": "The working-day calendar {% if days_left < 0 %}has run out{% else %}runs out "
            "soon{% endif %}: enter {{ year }}",
        },
        body={
            "zh-hans": "已录入的工作日历只到 {{ last_known_date }}"
            "{% if days_left >= 0 %}（还剩 {{ days_left }} 天）{% endif %}，"
            "{{ year }} 年的节假日安排尚未录入；期限落在 {{ year }} 年的办件将无法计算期限。"
            "国务院办公厅公布 {{ year }} 年部分节假日安排后，请用命令 "
            "tongban workdays import {{ year }}.yaml 录入，或在管理后台的“工作日历”页面录入。",
            "en": "The working-day calendar is known until {{ last_known_date }}"
            "{% if days_left >= 0 %} ({{ days_left }} day(s) left){% endif %}; {{ year }} has not "
            "been entered, so no deadline falling in {{ year }} can be computed. When the State "
            "Council publishes the {{ year }} holiday schedule, enter it with "
            "tongban workdays import {{ year }}.yaml or on the admin's working-day calendar page.",
        },
    )


def alert_calendar_horizon(today: dt.date | None = None) -> dict[str, int]:
    """Tell every system administrator, once for ``today``, when the calendar runs out soon."""
    day = today or timezone.localdate()
    horizon = calendar_horizon(day)
    if not horizon.warn:
        return {"warned": 0}
    context = {
        "year": horizon.missing_year,
        "last_known_date": horizon.last_known_date.isoformat() if horizon.last_known_date else "—",
        "days_left": horizon.days_left,
    }
    warned = 0
    with transaction.atomic():
        for user in system_administrators():
            channels = ["in_app", "email"] if user.email else ["in_app"]
            queue_notification(
                user,
                TEMPLATE,
                context,
                channels,
                dedupe_key=f"calendar-horizon:{day.isoformat()}:{user.pk}",
            )
            warned += 1
    return {"warned": warned}
