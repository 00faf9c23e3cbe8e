"""Sharing models.

``RegistryRecord`` is the local 数源 registry the demo and tests ask (synthetic records; a real
deployment reaches the province's exchange platform over HTTP instead). ``DataLookup`` is the
append-only log of every lookup — who asked, for which application, which source, whose data
(masked, plus a digest to find a subject's lookups; no application for an administrative
lookup, no account for a scheduled job), on what ground, why, and what came back.
``Consent`` is an applicant's consent to one source for one application. ``SharedItem`` is what
the sharing layer obtained for an application: a 系统填 form value, the evidence that stands in
for a 免提交 material or a fact a 秒办 rule reads (``tongban.sharing.facts``) — or why it could
not be obtained.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.cases.models import Case


class RegistryRecord(models.Model):
    """One record of the local registry: a source's data about one subject (synthetic)."""

    source = models.CharField(_("数源"), max_length=32)
    subject = models.CharField(_("主体标识"), max_length=18)  # 身份证号 or 统一社会信用代码
    data = models.JSONField(_("记录内容"), default=dict)
    sample = models.BooleanField(_("示例数据"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["source", "subject"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["source", "subject"], name="registry_record_unique")
        ]
        verbose_name = _("本地数源记录")
        verbose_name_plural = _("本地数源记录")

    def __str__(self) -> str:
        return f"{self.source}:{self.subject[:4]}…"


class LookupResult(models.TextChoices):
    FOUND = "found", _("查得")
    NOT_FOUND = "not_found", _("无记录")
    ERROR = "error", _("数源故障")
    CIRCUIT_OPEN = "circuit_open", _("数源熔断中")
    REFUSED = "refused", _("无依据，已拒绝")


class LookupBasis(models.TextChoices):
    LEGAL_BASIS = "legal_basis", _("法定依据")
    CONSENT = "consent", _("申请人授权")
    NONE = "none", _("无")


class SubjectKind(models.TextChoices):
    PERSON = "person", _("自然人")
    ENTERPRISE = "enterprise", _("法人")


class Consent(models.Model):
    """The applicant's consent that one source may be asked about them for one application."""

    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, related_name="+", verbose_name=_("申请")
    )
    source = models.CharField(_("数源"), max_length=32)
    subject_kind = models.CharField(_("主体类型"), max_length=16, choices=SubjectKind.choices)
    subject_masked = models.CharField(_("主体（脱敏）"), max_length=32)
    purpose = models.CharField(_("用途"), max_length=255)
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
        verbose_name=_("授权账户"),
    )  # fmt: skip
    given_at = models.DateTimeField(_("授权时间"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-given_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["case", "source"],
                condition=models.Q(withdrawn_at__isnull=True),
                name="consent_one_active_per_source",
            )
        ]
        verbose_name = _("查询授权")
        verbose_name_plural = _("查询授权")

    def __str__(self) -> str:
        return f"{self.source} · {self.subject_masked}"


class AppendOnly(RuntimeError):
    """A lookup log row was about to be changed or deleted."""


class DataLookup(models.Model):
    """One lookup in a data source, kept for ever (append-only)."""

    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
        related_name="+", verbose_name=_("查询账户"),
    )  # fmt: skip  # empty: a scheduled job of the platform
    case = models.ForeignKey(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("所为申请/办件"),
    )  # fmt: skip
    source = models.CharField(_("数源"), max_length=32)
    connector = models.CharField(_("连接器"), max_length=32)
    subject_kind = models.CharField(_("主体类型"), max_length=16, choices=SubjectKind.choices)
    subject_masked = models.CharField(_("主体（脱敏）"), max_length=32)
    subject_digest = models.CharField(_("主体摘要"), max_length=64, db_index=True)
    basis = models.CharField(_("依据类型"), max_length=16, choices=LookupBasis.choices)
    legal_basis = models.CharField(_("法定依据"), max_length=255, blank=True)
    consent = models.ForeignKey(
        Consent, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("授权"),
    )  # fmt: skip
    purpose = models.CharField(_("用途"), max_length=255)
    result = models.CharField(_("结果"), max_length=16, choices=LookupResult.choices)
    detail = models.CharField(_("说明"), max_length=255, blank=True)
    attempts = models.PositiveSmallIntegerField(_("尝试次数"), default=0)
    duration_ms = models.PositiveIntegerField(_("耗时（毫秒）"), default=0)
    at = models.DateTimeField(_("查询时间"), default=timezone.now, db_index=True)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]
        indexes: ClassVar = [models.Index(fields=["case", "at"], name="lookup_case_at")]
        verbose_name = _("数据查询记录")
        verbose_name_plural = _("数据查询记录")

    def __str__(self) -> str:
        return f"{self.source} · {self.subject_masked} · {self.result}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnly("a data lookup is never changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnly("a data lookup is never deleted")


class SharedTarget(models.TextChoices):
    FIELD = "field", _("表单字段（系统填）")
    MATERIAL = "material", _("申请材料（免提交）")
    FACT = "fact", _("秒办规则数据")


class SharedStatus(models.TextChoices):
    OBTAINED = "obtained", _("已获取")
    UNAVAILABLE = "unavailable", _("未能获取")


class SharedItem(models.Model):
    """What the sharing layer obtained for one field, material or 秒办 fact of an application."""

    case = models.ForeignKey(
        Case, on_delete=models.CASCADE, related_name="+", verbose_name=_("申请/办件")
    )
    target = models.CharField(_("对象"), max_length=16, choices=SharedTarget.choices)
    key = models.CharField(_("字段或材料"), max_length=64)
    source = models.CharField(_("来源"), max_length=64)  # data source code or licence type
    source_label = models.CharField(_("来源名称"), max_length=128)
    status = models.CharField(_("状态"), max_length=16, choices=SharedStatus.choices)
    value = models.JSONField(_("取得的值"), null=True, blank=True)
    summary = models.CharField(_("取得的内容"), max_length=255, blank=True)
    reference = models.CharField(_("记录编号"), max_length=64, blank=True)
    reason = models.CharField(_("未能获取的原因"), max_length=255, blank=True)
    needs_consent = models.CharField(_("待授权数源"), max_length=32, blank=True)
    lookup = models.ForeignKey(
        DataLookup, on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("查询记录"),
    )  # fmt: skip
    at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        ordering: ClassVar = ["case", "target", "key"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["case", "target", "key"], name="shared_item_unique")
        ]
        verbose_name = _("共享数据取得情况")
        verbose_name_plural = _("共享数据取得情况")

    def __str__(self) -> str:
        return f"{self.target}:{self.key} · {self.status}"
