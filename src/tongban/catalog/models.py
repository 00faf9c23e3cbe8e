"""Catalog models.

An ``Item`` (事项) is a stable code; its content lives in immutable ``ItemVersion`` rows —
a published version is never edited, so a case keeps the version it was filed under. A version
owns its 情形 questions, materials and fields. ``Implementation`` (实施清单) is how one division
carries out an item and may override the promised limit, fee, handling department and windows.
``DataElement`` is the 数据元 dictionary fields are bound to.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from tongban.identity.models import Department, Division, ServiceCentre


class ValueType(models.TextChoices):
    TEXT = "text", _("文本")
    INTEGER = "integer", _("整数")
    DECIMAL = "decimal", _("数值")
    DATE = "date", _("日期")
    BOOLEAN = "boolean", _("是/否")
    CHOICE = "choice", _("选项")


class Validator(models.TextChoices):
    NONE = "none", _("无")
    ID_NUMBER = "id_number", _("公民身份号码（GB 11643）")
    USCC = "uscc", _("统一社会信用代码（GB 32100）")
    MOBILE = "mobile", _("手机号")
    DIVISION = "division", _("行政区划代码（GB/T 2260）")
    POSTCODE = "postcode", _("邮政编码")
    REGEX = "regex", _("正则表达式")


class DataElement(models.Model):
    """数据元: a named, typed unit of data with one validation rule (e.g. 身份证号, 手机号)."""

    code = models.CharField(_("数据元编码"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    value_type = models.CharField(_("数据类型"), max_length=16, choices=ValueType.choices)
    validator = models.CharField(
        _("校验规则"), max_length=16, choices=Validator.choices, default=Validator.NONE
    )
    pattern = models.CharField(_("正则表达式"), max_length=255, blank=True)
    max_length = models.PositiveIntegerField(_("最大长度"), null=True, blank=True)
    choices = models.JSONField(_("可选值"), default=list, blank=True)
    description = models.TextField(_("说明"), blank=True)

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("数据元")
        verbose_name_plural = _("数据元")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class ItemType(models.TextChoices):
    LICENSING = "licensing", _("行政许可")
    CONFIRMATION = "confirmation", _("行政确认")
    PAYMENT = "payment", _("行政给付")
    ADJUDICATION = "adjudication", _("行政裁决")
    REWARD = "reward", _("行政奖励")
    FILING = "filing", _("行政备案")
    OTHER_ADMINISTRATIVE = "other_administrative", _("其他行政权力")
    PUBLIC_SERVICE = "public_service", _("公共服务")


class ResultKind(models.TextChoices):
    NONE = "none", _("无")
    DOCUMENT = "document", _("批文/证明")
    LICENCE = "licence", _("证照")


class HandlingMode(models.TextChoices):
    IMMEDIATE = "immediate", _("即办件")
    PROMISED = "promised", _("承诺件")


class OnlineDepth(models.IntegerChoices):
    """网上办理深度 (一级 … 四级)."""

    INFORMATION = 1, _("一级：网上咨询")
    DOWNLOAD = 2, _("二级：网上预审/表格下载")
    ONLINE_ACCEPTANCE = 3, _("三级：网上受理，现场领取")
    FULLY_ONLINE = 4, _("四级：全程网办")


class ApplicantType(models.TextChoices):
    PERSON = "person", _("自然人")
    ENTERPRISE = "enterprise", _("法人")


class TongbanScope(models.TextChoices):
    """Where an item may be accepted (通办范围)."""

    LOCAL = "local", _("属地办理")
    CITY = "city", _("全市通办")
    PROVINCE = "province", _("全省通办")
    CROSS_PROVINCE = "cross_province", _("跨省通办")


class Item(models.Model):
    """事项: the stable identity of a base-catalog item; content is in its versions."""

    code = models.CharField(_("事项编码"), max_length=64, unique=True)
    current_version = models.OneToOneField(
        "ItemVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("当前版本"),
    )

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("事项")
        verbose_name_plural = _("事项")

    def __str__(self) -> str:
        return self.code


class ImmutableVersionError(RuntimeError):
    """A published item version (or a part of one) was about to be changed."""


class ItemVersion(models.Model):
    """One published, immutable version of an item with all its standard elements."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("版本号"))
    content_hash = models.CharField(_("内容摘要"), max_length=64)
    published_at = models.DateTimeField(_("发布时间"), auto_now_add=True)

    name = models.CharField(_("事项名称"), max_length=200)
    item_type = models.CharField(_("事项类型"), max_length=32, choices=ItemType.choices)
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        related_name="item_versions",
        verbose_name=_("实施主体"),
    )
    legal_basis = models.TextField(_("设定依据"))
    acceptance_conditions = models.TextField(_("受理条件"))
    statutory_limit_days = models.PositiveIntegerField(_("法定办结时限（工作日）"), null=True)
    promised_limit_days = models.PositiveIntegerField(_("承诺办结时限（工作日）"))
    fee = models.TextField(_("收费标准"))
    result_kind = models.CharField(_("办理结果类型"), max_length=16, choices=ResultKind.choices)
    result_name = models.CharField(_("办理结果名称"), max_length=200, blank=True)
    result_licence_type = models.CharField(_("结果证照类型"), max_length=64, blank=True)
    handling_mode = models.CharField(_("办件类型"), max_length=16, choices=HandlingMode.choices)
    online_depth = models.PositiveSmallIntegerField(_("网办深度"), choices=OnlineDepth.choices)
    required_trips = models.PositiveSmallIntegerField(_("到现场次数"))
    applicant_types = models.JSONField(_("服务对象"), default=list)
    allows_commitment = models.BooleanField(_("可告知承诺"), default=False)
    allows_tolerance = models.BooleanField(_("可容缺受理"), default=False)
    tongban_scope = models.CharField(
        _("通办范围"), max_length=16, choices=TongbanScope.choices, default=TongbanScope.LOCAL
    )
    keywords = models.JSONField(_("检索关键词"), default=list, blank=True)
    themes = models.JSONField(_("主题分类"), default=list, blank=True)
    popularity = models.PositiveIntegerField(_("热度"), default=0)
    sample_note = models.TextField(_("示例数据说明"), blank=True)
    review_stages = models.JSONField(
        _("审查环节"),
        default=list,
        blank=True,
        help_text=_("串行的环节，每个环节内各部门并联审查；为空时由实施主体一个环节审查"),
    )
    extension_max_days = models.PositiveIntegerField(_("可延长期限上限（工作日）"), default=0)
    extension_legal_basis = models.TextField(
        _("延期依据"),
        blank=True,
        help_text=_("可延长期限超过十个工作日时，另行规定的法律、法规依据"),
    )
    instant_rules = models.JSONField(_("秒办规则"), default=list, blank=True)

    class Meta:
        ordering: ClassVar = ["item", "-number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "number"], name="item_version_unique")
        ]
        verbose_name = _("事项版本")
        verbose_name_plural = _("事项版本")

    def __str__(self) -> str:
        return f"{self.name} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not kwargs.pop("allow_published_change", False):
            raise ImmutableVersionError(f"事项版本 {self} 已发布，不能修改；请导入新版本")
        super().save(*args, **kwargs)


class _VersionPart(models.Model):
    """A part of an item version; frozen with it."""

    order = models.PositiveIntegerField(_("顺序"))
    key = models.CharField(_("标识"), max_length=64)
    when = models.JSONField(_("适用条件"), null=True, blank=True)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.key

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise ImmutableVersionError("已发布事项版本的组成部分不能修改")
        super().save(*args, **kwargs)


class QuestionType(models.TextChoices):
    CHOICE = "choice", _("单选")
    MULTI_CHOICE = "multi_choice", _("多选")
    YES_NO = "yes_no", _("是/否")
    NUMBER = "number", _("数值")
    DATE = "date", _("日期")


class Question(_VersionPart):
    """情形问题: a question whose answer decides which materials and fields apply.

    ``when`` is the condition under which the question is asked at all (a follow-up)."""

    version = models.ForeignKey(ItemVersion, on_delete=models.CASCADE, related_name="questions")
    text = models.CharField(_("问题"), max_length=255)
    help_text = models.TextField(_("说明"), blank=True)
    answer_type = models.CharField(_("答案类型"), max_length=16, choices=QuestionType.choices)
    options = models.JSONField(_("选项"), default=list, blank=True)

    class Meta:
        ordering: ClassVar = ["version", "order"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["version", "key"], name="question_key_unique")
        ]
        verbose_name = _("情形问题")
        verbose_name_plural = _("情形问题")


class MaterialSource(models.TextChoices):
    APPLICANT = "applicant", _("申请人自备")
    GOVERNMENT = "government", _("政府部门核发")
    THIRD_PARTY = "third_party", _("其他单位出具")


class MaterialRequirement(models.TextChoices):
    REQUIRED = "required", _("必要")
    TOLERABLE = "tolerable", _("容缺")
    OPTIONAL = "optional", _("非必要")


class Material(_VersionPart):
    """申请材料, possibly satisfied by a licence type or a data source (免提交)."""

    version = models.ForeignKey(ItemVersion, on_delete=models.CASCADE, related_name="materials")
    name = models.CharField(_("材料名称"), max_length=255)
    source = models.CharField(_("来源渠道"), max_length=16, choices=MaterialSource.choices)
    requirement = models.CharField(_("必要性"), max_length=16, choices=MaterialRequirement.choices)
    commitment_replaceable = models.BooleanField(_("可告知承诺替代"), default=False)
    licence_type = models.CharField(_("可由证照替代"), max_length=64, blank=True)
    data_source = models.CharField(_("可由数据共享替代"), max_length=64, blank=True)
    formats = models.JSONField(_("接受格式"), default=list)
    max_size_mb = models.PositiveIntegerField(_("大小上限（MB）"), default=10)
    originals = models.PositiveSmallIntegerField(_("原件份数"), default=0)
    copies = models.PositiveSmallIntegerField(_("复印件份数"), default=0)
    template = models.CharField(_("样表/模板"), max_length=255, blank=True)
    notes = models.TextField(_("填报须知"), blank=True)

    class Meta:
        ordering: ClassVar = ["version", "order"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["version", "key"], name="material_key_unique")
        ]
        verbose_name = _("申请材料")
        verbose_name_plural = _("申请材料")


class PrefillSource(models.TextChoices):
    NONE = "none", _("申请人填写")
    IDENTITY = "identity", _("自动填（身份信息）")
    HISTORY = "history", _("选择填（历史申请）")
    DATA_SOURCE = "data_source", _("系统填（数据共享）")


class Field(_VersionPart):
    """表单字段, bound to a data element and a prefill source."""

    version = models.ForeignKey(ItemVersion, on_delete=models.CASCADE, related_name="fields")
    label = models.CharField(_("字段名称"), max_length=128)
    element = models.ForeignKey(
        DataElement, on_delete=models.PROTECT, related_name="+", verbose_name=_("数据元")
    )
    required = models.BooleanField(_("必填"), default=True)
    prefill = models.CharField(
        _("预填来源"), max_length=16, choices=PrefillSource.choices, default=PrefillSource.NONE
    )
    data_source = models.CharField(_("数源"), max_length=64, blank=True)

    class Meta:
        ordering: ClassVar = ["version", "order"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["version", "key"], name="field_key_unique")
        ]
        verbose_name = _("表单字段")
        verbose_name_plural = _("表单字段")


class Implementation(models.Model):
    """实施清单: how one division carries out an item; empty overrides inherit the base item."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="implementations")
    division = models.ForeignKey(
        Division,
        on_delete=models.PROTECT,
        related_name="implementations",
        verbose_name=_("实施区划"),
    )
    handling_department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("办理部门"),
    )
    promised_limit_days = models.PositiveIntegerField(
        _("承诺时限（工作日）"), null=True, blank=True
    )
    fee = models.TextField(_("收费标准"), blank=True)
    service_centre = models.ForeignKey(
        ServiceCentre,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("办理地点"),
    )
    windows = models.CharField(_("办理窗口"), max_length=255, blank=True)
    online_depth = models.PositiveSmallIntegerField(
        _("网办深度"), choices=OnlineDepth.choices, null=True, blank=True
    )
    required_trips = models.PositiveSmallIntegerField(_("到现场次数"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["item", "division"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["item", "division"], name="implementation_unique")
        ]
        verbose_name = _("实施清单")
        verbose_name_plural = _("实施清单")

    def __str__(self) -> str:
        return f"{self.item.code} @ {self.division.name}"


class CatalogRevision(models.Model):
    """A counter bumped by every catalog import, so caches (search index) know to refresh."""

    number = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(auto_now=True)
    source_digest = models.CharField(max_length=64, blank=True)

    def __str__(self) -> str:
        return f"catalog revision {self.number}"
