"""Message templates: a small registry of Chinese texts with their English translations.

A template has a stable key (``case.accepted``), a subject and a body in 简体中文 and in English,
written in Django's template language without HTML escaping (the result is plain text for SMS,
e-mail and the in-app inbox). Apps register their templates in ``AppConfig.ready``::

    register_template(
        "case.accepted",
        subject={"zh-hans": "办件已受理", "en": "Application accepted"},
        body={"zh-hans": "您的办件 {{ case_no }} 已受理。", "en": "Your application {{ case_no }} …"},
    )

A message is rendered once, when it is queued, in the recipient's language, and stored on the row,
so a retry sends exactly the text that was committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.template import Context, Engine, TemplateSyntaxError

from tongban.core.errors import FieldError, ValidationFailed
from tongban.core.plugins import Registry

_ENGINE = Engine(autoescape=False, string_if_invalid="")
LANGUAGES = ("zh-hans", "en")


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    body: str


@dataclass(frozen=True)
class MessageTemplate:
    """Subject and body per language; both languages are required (the English catalog is
    kept complete)."""

    key: str
    subject: Mapping[str, str]
    body: Mapping[str, str]

    def __post_init__(self) -> None:
        for part in (self.subject, self.body):
            missing = [lang for lang in LANGUAGES if lang not in part]
            if missing:
                raise ValueError(f"message template {self.key!r} lacks {', '.join(missing)}")
            for text in part.values():
                try:
                    _ENGINE.from_string(text)
                except TemplateSyntaxError as exc:
                    raise ValueError(f"message template {self.key!r}: {exc}") from exc

    def render(self, context: Mapping[str, Any], language: str) -> RenderedMessage:
        lang = language if language in LANGUAGES else LANGUAGES[0]
        ctx = Context(dict(context), autoescape=False)
        subject = _ENGINE.from_string(self.subject[lang]).render(ctx)
        body = _ENGINE.from_string(self.body[lang]).render(ctx)
        return RenderedMessage(subject=" ".join(subject.split()), body=body.strip())


message_templates: Registry[MessageTemplate] = Registry("message template")


def register_template(
    key: str, *, subject: Mapping[str, str], body: Mapping[str, str]
) -> MessageTemplate:
    template = MessageTemplate(key=key, subject=dict(subject), body=dict(body))
    message_templates.register(key)(template)
    return template


def get_template(key: str) -> MessageTemplate:
    if key not in message_templates:
        raise ValidationFailed(
            f"没有名为 {key} 的消息模板",
            code="unknown_message_template",
            errors=[FieldError(path="template", message=f"unknown message template {key!r}")],
        )
    return message_templates.get(key)


def default_language() -> str:
    return str(settings.LANGUAGE_CODE)


# Templates owned by the notifications app itself.
register_template(
    "notifications.test",
    subject={"zh-hans": "通办测试消息", "en": "tongban test message"},
    body={
        "zh-hans": "{{ name }}，您好：这是一条来自通办的测试消息。",
        "en": "Hello {{ name }}, this is a test message from tongban.",
    },
)
