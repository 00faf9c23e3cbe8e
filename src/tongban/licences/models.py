"""Licence models: 证照类型, e-licence instances with their version history, 电子印章 keys,
revocation status lists, 授权用证 grants with the access log, reminders sent and the event trail.

``Licence`` holds the current version; every issue, change, re-issue, cancellation and
revocation appends a ``LicenceVersion`` (append-only). Each version's content is sealed: the
SM3 digest of its canonical CBOR is signed by the issuing department's e-seal key, so a field
changed in the database no longer matches its seal. All writes go through
``tongban.licences.services``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongban.identity.models import Department, Enterprise, Person


class HolderKind(models.TextChoices):
    PERSON = "person", _("自然人")
    ENTERPRISE = "enterprise", _("法人")
    EITHER = "either", _("自然人或法人")


class LicenceType(models.Model):
    """证照类型: what a licence of this kind contains, who issues it, how long it is valid and
    which catalog materials it can replace (materials naming its ``code`` as ``licence_type``)."""

    code = models.CharField(_("证照类型编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    number_prefix = models.CharField(_("编号前缀"), max_length=16)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name=_("发证部门")
    )
    holder_kind = models.CharField(
        _("持证主体"), max_length=16, choices=HolderKind.choices, default=HolderKind.EITHER
    )
    # [{"key": "scope", "label": "经营范围", "data_element": "DE-…", "source": "form.scope"}]
    fields = models.JSONField(_("证照字段"), default=list, blank=True)
    validity_months = models.PositiveIntegerField(
        _("有效期（月）"), default=0, help_text=_("0 表示长期有效")
    )
    reminder_days = models.JSONField(_("到期提醒（提前天数）"), default=list, blank=True)
    template = models.CharField(_("版式模板"), max_length=32, default="standard")
    renewal_item_code = models.CharField(_("延续办理事项编码"), max_length=64, blank=True)
    change_item_code = models.CharField(_("变更办理事项编码"), max_length=64, blank=True)
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("证照类型")
        verbose_name_plural = _("证照类型")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class KeyAlgorithm(models.TextChoices):
    SM2 = "sm2", "SM2/SM3"
    ED25519 = "ed25519", "Ed25519"


class SealKeyState(models.TextChoices):
    ACTIVE = "active", _("可信")
    WITHDRAWN = "withdrawn", _("已撤销（不再可信）")


class SealKey(models.Model):
    """电子印章 key of an issuing department. The private key is stored wrapped by the KMS
    backend; ``signs_until`` ends a rotated key's signing period (it stays in the trust list for
    verification) and a new key's ``not_before`` lies after the trust list's cache time, so
    every verifier knows it before it is used (overlapping validity); ``withdrawn`` removes trust altogether (e.g. compromise)."""

    kid = models.CharField(_("密钥标识"), max_length=32, unique=True)
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name=_("部门")
    )
    algorithm = models.CharField(_("算法"), max_length=16, choices=KeyAlgorithm.choices)
    public_key = models.BinaryField(_("公钥（SPKI DER）"))
    wrapped_private_key = models.BinaryField(_("私钥（已加密）"), null=True, blank=True)
    kms = models.CharField(_("密钥管理"), max_length=32, default="local")
    state = models.CharField(
        _("状态"), max_length=16, choices=SealKeyState.choices, default=SealKeyState.ACTIVE
    )
    not_before = models.DateTimeField(_("启用时间"))
    signs_until = models.DateTimeField(_("签章截止"), null=True, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("撤销原因"), blank=True)

    class Meta:
        ordering: ClassVar = ["department", "-not_before"]
        verbose_name = _("电子印章密钥")
        verbose_name_plural = _("电子印章密钥")

    def __str__(self) -> str:
        return f"{self.department} · {self.kid} · {self.get_algorithm_display()}"


class StatusList(models.Model):
    """A revocation bitstring (W3C Bitstring Status List spirit): bit ``i`` set = revoked."""

    size = models.PositiveIntegerField(_("位数"), default=131072)
    bits = models.BinaryField(_("位串"))
    next_index = models.PositiveIntegerField(_("下一个可用位"), default=0)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        verbose_name = _("状态列表")
        verbose_name_plural = _("状态列表")

    def __str__(self) -> str:
        return f"状态列表 {self.pk}（{self.next_index}/{self.size}）"


class LicenceState(models.TextChoices):
    VALID = "valid", _("有效")
    CANCELLED = "cancelled", _("已注销")
    REVOKED = "revoked", _("已撤销")


class LicenceNumberSequence(models.Model):
    """The last licence number given out per prefix (type and year): numbers are gap-free."""

    prefix = models.CharField(max_length=64, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}:{self.last}"


class Licence(models.Model):
    """An e-licence (电子证照): its current version, holder and seal."""

    number = models.CharField(_("证照编号"), max_length=64, unique=True)
    licence_type = models.ForeignKey(
        LicenceType, on_delete=models.PROTECT, related_name="licences", verbose_name=_("证照类型")
    )
    department = models.ForeignKey(
        Department, on_delete=models.PROTECT, related_name="+", verbose_name=_("发证部门")
    )
    holder_person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    holder_enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    holder_name = models.CharField(_("持证人"), max_length=128)
    holder_identifier = models.CharField(_("持证人证件号码"), max_length=18)
    data = models.JSONField(_("证照内容"), default=dict, blank=True)
    version = models.PositiveIntegerField(_("版本"), default=1)
    state = models.CharField(
        _("状态"), max_length=16, choices=LicenceState.choices, default=LicenceState.VALID
    )
    issued_at = models.DateTimeField(_("发证时间"))
    valid_from = models.DateField(_("有效期自"))
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    case_number = models.CharField(_("来源办件"), max_length=40, blank=True)
    status_list = models.ForeignKey(StatusList, on_delete=models.PROTECT, related_name="+")
    status_index = models.PositiveIntegerField(_("状态位"))
    seal_key = models.ForeignKey(SealKey, on_delete=models.PROTECT, related_name="+")
    seal = models.BinaryField(_("内容签章（COSE_Sign1）"))
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)
    revocation_reason = models.TextField(_("撤销原因"), blank=True)

    class Meta:
        ordering: ClassVar = ["-issued_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["status_list", "status_index"], name="licence_status_index_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(holder_person__isnull=False)
                | models.Q(holder_enterprise__isnull=False),
                name="licence_has_holder",
            ),
        ]
        indexes: ClassVar = [
            models.Index(fields=["state", "valid_until"], name="licence_expiry_idx"),
        ]
        verbose_name = _("电子证照")
        verbose_name_plural = _("电子证照")

    def __str__(self) -> str:
        return f"{self.licence_type.name} {self.number}"


class VersionAction(models.TextChoices):
    ISSUE = "issue", _("发证")
    CHANGE = "change", _("变更")
    REISSUE = "reissue", _("补发/换发")
    CANCEL = "cancel", _("注销")
    REVOKE = "revoke", _("撤销")


class LicenceVersion(models.Model):
    """One version of a licence as sealed (append-only history)."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField(_("版本"))
    action = models.CharField(_("动作"), max_length=16, choices=VersionAction.choices)
    data = models.JSONField(_("证照内容"), default=dict)
    valid_from = models.DateField(_("有效期自"))
    valid_until = models.DateField(_("有效期至"), null=True, blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=LicenceState.choices)
    seal = models.BinaryField(_("内容签章"))
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("操作人"), max_length=128)
    reason = models.TextField(_("理由"), blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["licence", "version", "id"]
        verbose_name = _("证照版本")
        verbose_name_plural = _("证照版本")

    def __str__(self) -> str:
        return f"{self.licence.number} v{self.version} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("证照版本只能追加，不能修改")
        super().save(*args, **kwargs)


class Grant(models.Model):
    """授权用证: the holder lets a department or a named account use a licence for a purpose
    during a period."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="grants")
    grantee_department = models.ForeignKey(
        Department, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    grantee_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    grantee_label = models.CharField(_("被授权方"), max_length=128)
    purpose = models.CharField(_("用途"), max_length=200)
    valid_from = models.DateTimeField(_("授权起始"))
    valid_until = models.DateTimeField(_("授权截止"))
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("授权时间"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("撤回时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.CheckConstraint(
                condition=models.Q(grantee_department__isnull=False)
                | models.Q(grantee_user__isnull=False),
                name="grant_has_grantee",
            ),
        ]
        verbose_name = _("授权用证")
        verbose_name_plural = _("授权用证")

    def __str__(self) -> str:
        return f"{self.licence.number} → {self.grantee_label}"


class LicenceAccess(models.Model):
    """用证记录: every use of a licence's content by someone other than its holder, allowed
    or refused, with who, when and why."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="accesses")
    grant = models.ForeignKey(
        Grant, on_delete=models.PROTECT, null=True, blank=True, related_name="accesses"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("访问方"), max_length=128)
    purpose = models.CharField(_("用途"), max_length=200)
    allowed = models.BooleanField(_("是否允许"))
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]
        verbose_name = _("用证记录")
        verbose_name_plural = _("用证记录")

    def __str__(self) -> str:
        return f"{self.licence.number} · {self.actor_label} · {self.at:%Y-%m-%d %H:%M}"


class ExpiryReminder(models.Model):
    """A reminder sent for a licence expiring on ``valid_until``, ``days_before`` ahead (once)."""

    licence = models.ForeignKey(Licence, on_delete=models.CASCADE, related_name="reminders")
    valid_until = models.DateField()
    days_before = models.PositiveIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["licence", "valid_until", "days_before"], name="expiry_reminder_once"
            )
        ]
        verbose_name = _("到期提醒")
        verbose_name_plural = _("到期提醒")

    def __str__(self) -> str:
        return f"{self.licence.number} −{self.days_before}d"


class LicenceEvent(models.Model):
    """Audit trail of acts on licences and seal keys (issue, revoke, grant, key rotation …)."""

    licence = models.ForeignKey(
        Licence, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    seal_key = models.ForeignKey(
        SealKey, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    action = models.CharField(_("动作"), max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(_("操作人"), max_length=128)
    reason = models.TextField(_("理由"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-at", "-id"]
        verbose_name = _("证照事件")
        verbose_name_plural = _("证照事件")

    def __str__(self) -> str:
        return f"{self.action} · {self.at:%Y-%m-%d %H:%M}"
