"""Notification outbox rows and the periodic-job run ledger.

A ``Notification`` is one message to one person on one channel. It is written in the same
transaction as the change it reports (so a rolled-back change leaves no message) and carries its
own delivery state: a worker claims it, sends it and marks it sent; failures are retried with
backoff until the row is ``dead``. For the in-app channel the row itself is the inbox entry.

``PeriodicRun`` is the scheduler's ledger: one row per (periodic job, period). The unique
constraint is what lets any number of schedulers run without enqueueing a job twice.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    IN_APP = "in_app", _("站内消息")
    SMS = "sms", _("短信")
    EMAIL = "email", _("电子邮件")


class Status(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败，待重试")
    DEAD = "dead", _("已放弃")


class Notification(models.Model):
    """One message to one recipient on one channel (an outbox row; for in-app, the inbox row)."""

    recipient = models.ForeignKey(  # indexed first in notif_inbox_idx
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("接收人"),
        db_index=False,
    )
    channel = models.CharField(_("渠道"), max_length=16, choices=Channel.choices)
    template = models.CharField(_("消息模板"), max_length=100)
    language = models.CharField(_("语言"), max_length=16)
    address = models.CharField(_("发送地址"), max_length=254, blank=True)
    subject = models.CharField(_("标题"), max_length=200, blank=True)
    body = models.TextField(_("正文"))
    context = models.JSONField(_("模板参数"), default=dict, encoder=DjangoJSONEncoder)
    # unique through ``notification_dedupe_key_unique`` (a constraint, not ``unique=True``:
    # keys are only ever looked up whole, so no second, pattern-matching index)
    dedupe_key = models.CharField(_("去重键"), max_length=200)
    status = models.CharField(
        _("状态"), max_length=16, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), default=timezone.now)
    leased_until = models.DateTimeField(_("发送占用至"), null=True, blank=True)
    last_error = models.TextField(_("最近错误"), blank=True)
    created_at = models.DateTimeField(_("创建时间"), default=timezone.now)
    sent_at = models.DateTimeField(_("发送时间"), null=True, blank=True)
    read_at = models.DateTimeField(_("阅读时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        verbose_name = _("消息")
        verbose_name_plural = _("消息")
        indexes: ClassVar = [
            # the sweep: undelivered rows by due time
            models.Index(
                fields=["next_attempt_at"],
                name="notif_due_idx",
                condition=models.Q(status__in=["pending", "failed"]),
            ),
            # the inbox: a person's in-app messages, newest first
            models.Index(fields=["recipient", "channel", "-created_at"], name="notif_inbox_idx"),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["dedupe_key"], name="notification_dedupe_key_unique"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.get_channel_display()} → {self.recipient_id}: {self.subject or self.template}"
        )


class PeriodicRun(models.Model):
    """The scheduler enqueued periodic job ``job`` for the period starting ``period_start``."""

    job = models.CharField(_("定时任务"), max_length=100)
    period_start = models.DateTimeField(_("周期开始"))
    enqueued_at = models.DateTimeField(_("入队时间"), default=timezone.now)

    class Meta:
        verbose_name = _("定时任务运行记录")
        verbose_name_plural = _("定时任务运行记录")
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["job", "period_start"], name="periodic_run_once")
        ]

    def __str__(self) -> str:
        return f"{self.job} @ {self.period_start.isoformat()}"
