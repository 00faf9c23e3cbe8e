"""Messages to licence holders (issued, revoked, expiring), written to the notifications outbox
in the caller's transaction with a dedupe key per event."""

from __future__ import annotations

from typing import Any

from tongban.identity.models import User
from tongban.licences.models import Licence
from tongban.notifications.message_templates import register_template
from tongban.notifications.services import queue_notification

CHANNELS = ("in_app", "sms")

TEMPLATES: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "issued": (
        {"zh-hans": "电子证照已签发", "en": "E-licence issued"},
        {
            "zh-hans": "您的“{{ type }}”（编号 {{ number }}）已签发，可在“我的证照”中查看、下载和亮证。",
            "en": "Your {{ type }} (no. {{ number }}) has been issued; see My licences to view, "
            "download or show it.",
        },
    ),
    "revoked": (
        {"zh-hans": "电子证照已撤销", "en": "E-licence revoked"},
        {
            "zh-hans": "您的“{{ type }}”（编号 {{ number }}）已撤销。原因：{{ reason }}",
            "en": "Your {{ type }} (no. {{ number }}) has been revoked. Reason: {{ reason }}",
        },
    ),
    "expiring": (
        {"zh-hans": "电子证照即将到期", "en": "E-licence expiring"},
        {
            "zh-hans": "您的“{{ type }}”（编号 {{ number }}）将于 {{ valid_until }} 到期"
            "（还有 {{ days }} 天），请及时办理延续。",
            "en": "Your {{ type }} (no. {{ number }}) expires on {{ valid_until }} "
            "(in {{ days }} days); please renew it in time.",
        },
    ),
}


def register_templates() -> None:
    for key, (subject, body) in TEMPLATES.items():
        register_template(f"licence.{key}", subject=subject, body=body)


def holder_accounts(licence: Licence) -> list[User]:
    """Accounts that hear about a licence: the person's own, or the enterprise's 经办人."""
    if licence.holder_person_id is not None:
        return list(User.objects.filter(person_id=licence.holder_person_id, is_active=True))
    from tongban.identity.models import EnterpriseAgent

    person_ids = EnterpriseAgent.objects.filter(
        enterprise=licence.holder_enterprise, revoked_at__isnull=True
    ).values("person_id")
    return list(User.objects.filter(person_id__in=person_ids, is_active=True)[:5])


def notify(licence: Licence, key: str, dedupe: str, **context: Any) -> None:
    for account in holder_accounts(licence):
        queue_notification(
            account,
            f"licence.{key}",
            {"type": licence.licence_type.name, "number": licence.number, **context},
            CHANNELS,
            f"licence:{licence.number}:{dedupe}:{account.pk}",
        )
