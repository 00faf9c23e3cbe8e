"""Delivery channels (in-app, SMS, e-mail) and SMS gateways, as plugins.

A channel knows where a person receives messages (``address_for``) and how to hand one message
over (``send``). ``send`` raises :class:`DeliveryError` for a failure worth retrying (gateway
down, timeout) and :class:`PermanentDeliveryError` for one that is not (number refused). Every
message carries its ``dedupe_key``: gateways and mail servers that deduplicate by a client message
id use it, which is what turns at-least-once delivery into one message on the phone.

* ``in_app`` — the outbox row *is* the inbox entry; it is delivered when the transaction that
  wrote it commits, without a worker.
* ``sms`` — hands the text to the configured SMS gateway plugin (``TONGBAN_SMS_GATEWAY``):
  ``logging`` (default; logs the message with the number masked, for demos and tests) or
  ``http`` (POSTs JSON to a gateway endpoint with a timeout).
* ``email`` — Django's e-mail backend (the console by default; SMTP when configured), with a
  ``Message-ID`` derived from the dedupe key.
"""

from __future__ import annotations

import hashlib
import smtplib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any, ClassVar
from urllib.parse import urlsplit

import requests
import structlog
from django.conf import settings
from django.core.mail import EmailMessage

from tongban.core.masking import mask_mobile
from tongban.core.plugins import Registry


class DeliveryError(Exception):
    """Sending failed; trying again later may succeed."""


class PermanentDeliveryError(DeliveryError):
    """Sending failed for a reason a retry cannot fix (invalid number, refused address)."""


@dataclass(frozen=True)
class OutgoingMessage:
    """What a channel needs to send one notification."""

    notification_id: int
    dedupe_key: str
    address: str
    subject: str
    body: str
    attempt: int


class ChannelPlugin(ABC):
    """One way of reaching a person."""

    key: ClassVar[str]
    inline: ClassVar[bool] = False
    """Delivered by committing the row itself; no worker involved (the in-app inbox)."""
    missing_address: ClassVar[str] = ""
    """Reason recorded when the person has no address on this channel."""

    @abstractmethod
    def address_for(self, recipient: Any) -> str:
        """Where ``recipient`` (a user) receives messages on this channel; "" if nowhere."""

    @abstractmethod
    def send(self, message: OutgoingMessage) -> None:
        """Hand the message over; raise :class:`DeliveryError` on failure."""


channels: Registry[type[ChannelPlugin]] = Registry("notification channel")


def channel(key: str) -> ChannelPlugin:
    """The channel plugin registered under ``key``."""
    return channels.get(key)()


@channels.register("in_app")
class InAppChannel(ChannelPlugin):
    key = "in_app"
    inline = True

    def address_for(self, recipient: Any) -> str:
        return ""

    def send(self, message: OutgoingMessage) -> None:  # pragma: no cover - never called
        """Nothing to do: the committed row is the message."""


# --- SMS ---------------------------------------------------------------------------------------


class SmsGateway(ABC):
    """An SMS gateway plugin. ``problems`` validates its settings before first use."""

    @classmethod
    def problems(cls) -> list[str]:
        """Configuration problems, empty when the gateway can be used."""
        return []

    @abstractmethod
    def send(self, message: OutgoingMessage) -> None:
        """Send ``message.body`` to ``message.address``; raise :class:`DeliveryError`."""


sms_gateways: Registry[type[SmsGateway]] = Registry("sms gateway")


@sms_gateways.register("logging")
class LoggingSmsGateway(SmsGateway):
    """Logs the message instead of sending it, with the mobile number masked (脱敏)."""

    def send(self, message: OutgoingMessage) -> None:
        structlog.get_logger("tongban.notifications.sms").info(
            "notification.sms.sent",
            gateway="logging",
            to=mask_mobile(message.address),
            dedupe_key=message.dedupe_key,
            text=message.body,
        )


@sms_gateways.register("http")
class HttpSmsGateway(SmsGateway):
    """POSTs ``{"mobile", "content", "client_message_id"}`` as JSON to ``TONGBAN_SMS_HTTP_URL``.

    A 2xx answer means accepted. 408, 429 and 5xx answers, timeouts and connection errors are
    retried; other 4xx answers are permanent. ``client_message_id`` is the dedupe key: a gateway
    that honours it never delivers a retried message twice. Adapting to a vendor's own API is a
    subclass registered under another key.
    """

    @classmethod
    def problems(cls) -> list[str]:
        url = str(getattr(settings, "TONGBAN_SMS_HTTP_URL", ""))
        parts = urlsplit(url)
        found = []
        if parts.scheme not in ("http", "https") or not parts.netloc:
            found.append("TONGBAN_SMS_HTTP_URL must be an http(s) URL for the http SMS gateway")
        if float(getattr(settings, "TONGBAN_SMS_HTTP_TIMEOUT", 0)) <= 0:
            found.append("TONGBAN_SMS_HTTP_TIMEOUT must be a positive number of seconds")
        return found

    def send(self, message: OutgoingMessage) -> None:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        token = str(getattr(settings, "TONGBAN_SMS_HTTP_TOKEN", ""))
        if token:
            headers["Authorization"] = f"Bearer {token}"
        payload = {
            "mobile": message.address,
            "content": message.body,
            "client_message_id": message.dedupe_key,
        }
        try:
            response = requests.post(
                settings.TONGBAN_SMS_HTTP_URL,
                json=payload,
                headers=headers,
                timeout=float(settings.TONGBAN_SMS_HTTP_TIMEOUT),
            )
        except requests.RequestException as exc:
            raise DeliveryError(f"SMS gateway unreachable: {type(exc).__name__}") from exc
        if 200 <= response.status_code < 300:
            return
        reason = f"SMS gateway answered {response.status_code}: {response.text[:200]}"
        if response.status_code in (408, 429) or response.status_code >= 500:
            raise DeliveryError(reason)
        raise PermanentDeliveryError(reason)


def sms_gateway() -> SmsGateway:
    """The configured gateway (``TONGBAN_SMS_GATEWAY``)."""
    return sms_gateways.get(str(settings.TONGBAN_SMS_GATEWAY))()


@channels.register("sms")
class SmsChannel(ChannelPlugin):
    key = "sms"
    missing_address = "no mobile number (接收人未登记手机号)"

    def address_for(self, recipient: Any) -> str:
        person = getattr(recipient, "person", None)
        return str(getattr(person, "mobile", "") or "")

    def send(self, message: OutgoingMessage) -> None:
        sms_gateway().send(message)


# --- E-mail ------------------------------------------------------------------------------------


def message_id(dedupe_key: str) -> str:
    """A stable ``Message-ID`` for a notification: every retry carries the same one."""
    digest = hashlib.sha256(dedupe_key.encode("utf-8")).hexdigest()[:32]
    _, sender = parseaddr(str(settings.DEFAULT_FROM_EMAIL))
    domain = sender.rpartition("@")[2] or "tongban.invalid"
    return f"<{digest}@{domain}>"


@channels.register("email")
class EmailChannel(ChannelPlugin):
    key = "email"
    missing_address = "no e-mail address (接收人未登记电子邮箱)"

    def address_for(self, recipient: Any) -> str:
        return str(getattr(recipient, "email", "") or "")

    def send(self, message: OutgoingMessage) -> None:
        email = EmailMessage(
            subject=message.subject,
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[message.address],
            headers={
                "Message-ID": message_id(message.dedupe_key),
                "X-Tongban-Dedupe-Key": message.dedupe_key,
            },
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"e-mail address refused: {exc}") from exc
        except OSError as exc:  # smtplib errors are OSErrors
            raise DeliveryError(f"e-mail not accepted: {type(exc).__name__}: {exc}") from exc
