"""Bundle models: a bundle definition (一件事, stored as its catalog document), a bundle case
(one application for it), one component row per item linking to that item's ``cases.Case``
once its stage starts, the files handed in once for the whole bundle, and the bundle's own
append-only event trail.

A bundle case keeps the definition as it was filed (``definition``); its item cases keep the item
versions they were filed under, so a later catalog import changes neither.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongban.cases.models import Case
from tongban.identity.models import Division, Enterprise, Person


class Bundle(models.Model):
    """一件事 definition (catalog-as-code ``bundles:`` entry, or saved from the composer)."""

    code = models.CharField(_("一件事编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=200)
    division_code = models.CharField(_("实施区划"), max_length=9)
    definition = models.JSONField(_("定义"))
    content_hash = models.CharField(_("内容摘要"), max_length=64)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("一件事")
        verbose_name_plural = _("一件事")

    def __str__(self) -> str:
        return self.name


class BundleCaseState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("办理中")
    HELD = "held", _("已暂停（有事项不予办理）")
    COMPLETED = "completed", _("已办结")
    WITHDRAWN = "withdrawn", _("已撤回")


class BundleCase(models.Model):
    """One application for a bundle: the answers and form given once, and its item cases."""

    number = models.CharField(_("一件事办件编号"), max_length=40, unique=True)
    bundle = models.ForeignKey(Bundle, on_delete=models.PROTECT, related_name="cases")
    bundle_code = models.CharField(_("一件事编码"), max_length=64)
    bundle_name = models.CharField(_("一件事名称"), max_length=200)
    definition = models.JSONField(_("申请时的定义"))
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    applicant_person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    applicant_enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(
        _("状态"),
        max_length=16,
        choices=BundleCaseState.choices,
        default=BundleCaseState.IN_PROGRESS,
    )
    answers = models.JSONField(_("情形回答"), default=dict)
    form_data = models.JSONField(_("表单内容"), default=dict)
    submitted_at = models.DateTimeField(_("提交时间"), auto_now_add=True)
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering: ClassVar = ["-id"]
        indexes: ClassVar = [
            models.Index(fields=["submitted_by", "-id"], name="bundle_case_applicant_idx")
        ]
        verbose_name = _("一件事办件")
        verbose_name_plural = _("一件事办件")

    def __str__(self) -> str:
        return self.number


class ComponentState(models.TextChoices):
    WAITING = "waiting", _("等待前序事项结果")
    STARTED = "started", _("已申请")
    EXCLUDED = "excluded", _("本情形无需办理")
    BLOCKED = "blocked", _("前序事项未获准予，无法办理")
    HELD = "held", _("因有事项不予办理而暂停")
    WITHDRAWN = "withdrawn", _("已撤回")


class BundleComponent(models.Model):
    """One component item of a bundle case; ``case`` is set when its stage starts."""

    bundle_case = models.ForeignKey(BundleCase, on_delete=models.CASCADE, related_name="components")
    order = models.PositiveSmallIntegerField()
    item_code = models.CharField(_("事项编码"), max_length=64)
    item_name = models.CharField(_("事项名称"), max_length=200)
    stage = models.PositiveSmallIntegerField(_("阶段"))
    needs = models.JSONField(_("依赖事项"), default=list)
    state = models.CharField(_("状态"), max_length=16, choices=ComponentState.choices)
    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, null=True, blank=True, related_name="bundle_component"
    )
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["bundle_case", "order"]
        verbose_name = _("一件事组成事项")
        verbose_name_plural = _("一件事组成事项")

    def __str__(self) -> str:
        return f"{self.bundle_case_id}:{self.item_code}"


class BundleUpload(models.Model):
    """A file handed in once for a merged material; copied to each item case that needs it."""

    bundle_case = models.ForeignKey(BundleCase, on_delete=models.CASCADE, related_name="uploads")
    material_key = models.CharField(_("材料"), max_length=64)
    material_name = models.CharField(_("材料名称"), max_length=255)
    file = models.FileField(_("文件"), upload_to="bundles/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=255)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["bundle_case", "material_key"]
        verbose_name = _("一件事材料")
        verbose_name_plural = _("一件事材料")

    def __str__(self) -> str:
        return f"{self.bundle_case_id}:{self.material_key}"


class BundleEvent(models.Model):
    """Append-only trail of a bundle case (submission, stage starts, hold, withdrawal)."""

    bundle_case = models.ForeignKey(BundleCase, on_delete=models.CASCADE, related_name="events")
    sequence = models.PositiveIntegerField()
    action = models.CharField(max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_label = models.CharField(max_length=128)
    at = models.DateTimeField(auto_now_add=True)
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering: ClassVar = ["bundle_case", "sequence"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["bundle_case", "sequence"], name="bundle_event_sequence"
            )
        ]
        verbose_name = _("一件事事件")
        verbose_name_plural = _("一件事事件")

    def __str__(self) -> str:
        return f"{self.bundle_case_id}#{self.sequence} {self.action}"
