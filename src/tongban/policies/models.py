"""Policy models: 一企一档/一人一档 profiles, named conditions, policies with versions and payable
items (兑现事项), review steps, runs with their candidate lists, and the payment ledger.

The ledger's ``UniqueConstraint(item_code, entity_key, period)`` is what makes a payment happen
at most once per entity, payable item and period — whatever runs repeat or workers die. Amounts
are whole fen (分) in ``BigIntegerField`` so sums never round.
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class TargetKind(models.TextChoices):
    ENTERPRISE = "enterprise", _("法人")
    PERSON = "person", _("自然人")


class EnterpriseProfile(models.Model):
    """一企一档: what the platform knows about an enterprise (null = not known)."""

    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    industry_code = models.CharField(_("行业代码"), max_length=5, null=True, blank=True)
    size_class = models.CharField(_("企业规模"), max_length=8, null=True, blank=True)
    registered_on = models.DateField(_("成立日期"), null=True, blank=True)
    division_code = models.CharField(_("登记地区划"), max_length=12, null=True, blank=True)
    employees = models.IntegerField(_("从业人数"), null=True, blank=True)
    new_hires = models.IntegerField(_("新增吸纳就业人数"), null=True, blank=True)
    revenue = models.FloatField(_("营业收入（万元）"), null=True, blank=True)
    revenue_growth = models.FloatField(_("营业收入增长率（%）"), null=True, blank=True)
    tax_paid = models.FloatField(_("纳税额（万元）"), null=True, blank=True)
    tax_credit_grade = models.CharField(_("纳税信用等级"), max_length=1, null=True, blank=True)
    care_beds_new = models.IntegerField(_("新增养老床位"), null=True, blank=True)
    care_property = models.CharField(_("养老机构产权"), max_length=8, null=True, blank=True)
    tags = models.JSONField(_("标签"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["id"]
        verbose_name = _("企业档案")
        verbose_name_plural = _("企业档案")

    def __str__(self) -> str:
        return self.name


class PersonProfile(models.Model):
    """一人一档: what the platform knows about a person (null = not known)."""

    id_number = models.CharField(_("身份证号"), max_length=18, unique=True)
    name = models.CharField(_("姓名"), max_length=64)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True)
    household_division_code = models.CharField(
        _("户籍地区划"), max_length=12, null=True, blank=True
    )
    alive = models.BooleanField(_("在世"), null=True, blank=True)
    pension_status = models.CharField(_("养老金领取"), max_length=16, null=True, blank=True)
    bank_account_on_file = models.BooleanField(_("已登记银行账户"), null=True, blank=True)
    disability_grade = models.IntegerField(_("残疾等级"), null=True, blank=True)
    education = models.CharField(_("学历"), max_length=16, null=True, blank=True)
    graduated_on = models.DateField(_("毕业日期"), null=True, blank=True)
    graduate_school = models.CharField(_("毕业学校"), max_length=128, null=True, blank=True)
    social_insurance_months = models.IntegerField(_("本地连续缴纳社保月数"), null=True, blank=True)
    employment_status = models.CharField(_("就业状态"), max_length=16, null=True, blank=True)
    tags = models.JSONField(_("标签"), null=True, blank=True)
    refreshed_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["id"]
        verbose_name = _("个人档案")
        verbose_name_plural = _("个人档案")

    def __str__(self) -> str:
        return self.name


class ProfileImport(models.Model):
    """One bulk import of profiles (all rows or none)."""

    target = models.CharField(_("对象"), max_length=16, choices=TargetKind.choices)
    file_name = models.CharField(_("文件"), max_length=255)
    rows = models.PositiveIntegerField(_("行数"))
    created = models.PositiveIntegerField(_("新建"))
    updated = models.PositiveIntegerField(_("更新"))
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-at"]
        verbose_name = _("档案导入")
        verbose_name_plural = _("档案导入")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.rows})"


class NamedCondition(models.Model):
    """A reusable condition (``{"ref": name}``), type-checked when saved."""

    name = models.CharField(_("名称"), max_length=64, unique=True)
    target = models.CharField(_("对象"), max_length=16, choices=TargetKind.choices)
    rule = models.JSONField(_("条件"))
    description = models.CharField(_("说明"), max_length=255, blank=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["name"]
        verbose_name = _("命名条件")
        verbose_name_plural = _("命名条件")

    def __str__(self) -> str:
        return self.name


class Policy(models.Model):
    """A 惠企/惠民 policy; its content lives in versions, one of them published at a time."""

    code = models.CharField(_("政策编码"), max_length=40, unique=True)
    title = models.CharField(_("政策名称"), max_length=200)
    target = models.CharField(_("对象"), max_length=16, choices=TargetKind.choices)
    department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("资金主管部门"),
    )
    published_version = models.ForeignKey(
        "PolicyVersion",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("现行版本"),
    )
    version_count = models.PositiveIntegerField(_("版本数"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("政策")
        verbose_name_plural = _("政策")

    def __str__(self) -> str:
        return self.title


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("草稿")
    LEGALITY_REVIEW = "legality_review", _("合法性审查中")
    FINANCE_REVIEW = "finance_review", _("财政审核中")
    PUBLISHED = "published", _("已发布")
    SUPERSEDED = "superseded", _("已被新版本替代")
    REJECTED = "rejected", _("已退回")


class PeriodKind(models.TextChoices):
    MONTHLY = "monthly", _("按月")
    YEARLY = "yearly", _("按年")
    ONCE = "once", _("一次性")


class Schedule(models.TextChoices):
    MANUAL = "manual", _("手动发起")
    FIRST_3_WORKDAYS = "first_3_workdays", _("每月前3个工作日")


class PolicyVersion(models.Model):
    """One version of a policy: legal basis, budget, schedule and the payable items. Editable
    only as a draft; published after legality review and finance review."""

    policy = models.ForeignKey(
        Policy, on_delete=models.CASCADE, related_name="versions", verbose_name=_("政策")
    )
    number = models.PositiveIntegerField(_("版本号"))
    status = models.CharField(
        _("状态"), max_length=20, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    legal_basis = models.TextField(_("政策依据"))
    summary = models.TextField(_("政策摘要"), blank=True)
    period_kind = models.CharField(_("兑现周期"), max_length=10, choices=PeriodKind.choices)
    budget_fen = models.BigIntegerField(_("每期预算（分）"))
    schedule = models.CharField(
        _("发起方式"), max_length=20, choices=Schedule.choices, default=Schedule.MANUAL
    )
    confirm_window_days = models.PositiveIntegerField(_("确认期限（天）"), default=15)
    legality_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("合法性审查部门"),
    )
    finance_department = models.ForeignKey(
        "identity.Department",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("财政审核部门"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("起草人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["policy", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["policy", "number"], name="policy_version_unique")
        ]
        verbose_name = _("政策版本")
        verbose_name_plural = _("政策版本")

    def __str__(self) -> str:
        return f"{self.policy.code} v{self.number}"


class Mode(models.TextChoices):
    EXEMPT = "exempt", _("免申即享")
    CONFIRM = "confirm", _("即申即享")
    APPLICATION = "application", _("申请制")


class PayableItem(models.Model):
    """兑现事项: who qualifies (conditions) and how much (amount), paid in one mode."""

    version = models.ForeignKey(
        PolicyVersion, on_delete=models.CASCADE, related_name="items", verbose_name=_("政策版本")
    )
    code = models.CharField(_("事项编码"), max_length=40)
    name = models.CharField(_("事项名称"), max_length=200)
    mode = models.CharField(_("兑现方式"), max_length=16, choices=Mode.choices)
    priority = models.PositiveIntegerField(_("优先级（小者优先）"), default=100)
    conditions = models.JSONField(_("条件"))
    amount = models.JSONField(_("金额公式"))
    # 申请制: the catalog item through which the benefit is applied for (``policies.applications``)
    catalog_item = models.CharField(_("申请事项编码"), max_length=64, blank=True, db_index=True)

    class Meta:
        ordering: ClassVar = ["version", "priority", "code"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["version", "code"], name="payable_item_unique")
        ]
        verbose_name = _("兑现事项")
        verbose_name_plural = _("兑现事项")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ReviewStep(models.TextChoices):
    LEGALITY = "legality", _("合法性审查")
    FINANCE = "finance", _("财政审核")


class PolicyReview(models.Model):
    version = models.ForeignKey(
        PolicyVersion, on_delete=models.CASCADE, related_name="reviews", verbose_name=_("政策版本")
    )
    step = models.CharField(_("环节"), max_length=16, choices=ReviewStep.choices)
    approved = models.BooleanField(_("通过"))
    comment = models.TextField(_("意见"), blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("审核人"),
    )
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["at", "id"]
        verbose_name = _("政策审核")
        verbose_name_plural = _("政策审核")

    def __str__(self) -> str:
        return f"{self.version} {self.step} {'✓' if self.approved else '✗'}"


class PolicyEvent(models.Model):
    """Audit trail of everything done to a policy, its versions, runs and payments."""

    policy = models.ForeignKey(
        Policy, on_delete=models.CASCADE, related_name="events", verbose_name=_("政策")
    )
    action = models.CharField(_("动作"), max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_label = models.CharField(_("操作人"), max_length=64)
    data = models.JSONField(_("数据"), default=dict)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["at", "id"]
        verbose_name = _("政策事件")
        verbose_name_plural = _("政策事件")

    def __str__(self) -> str:
        return f"{self.action} · {self.actor_label}"


class RunTrigger(models.TextChoices):
    MANUAL = "manual", _("手动")
    SCHEDULED = "scheduled", _("定时")


class RunStatus(models.TextChoices):
    AWAITING_APPROVAL = "awaiting_approval", _("待审批")
    APPROVED = "approved", _("已审批")
    CANCELLED = "cancelled", _("已取消")


class Run(models.Model):
    """One matching run of a published version for one period: candidates → approval → payment."""

    policy = models.ForeignKey(
        Policy, on_delete=models.CASCADE, related_name="runs", verbose_name=_("政策")
    )
    version = models.ForeignKey(
        PolicyVersion, on_delete=models.PROTECT, related_name="runs", verbose_name=_("政策版本")
    )
    period = models.CharField(_("期间"), max_length=10)
    trigger = models.CharField(_("发起方式"), max_length=10, choices=RunTrigger.choices)
    status = models.CharField(
        _("状态"), max_length=20, choices=RunStatus.choices, default=RunStatus.AWAITING_APPROVAL
    )
    payment_date = models.DateField(_("发放日"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("发起人"),
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("审批人"),
    )
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    approved_at = models.DateTimeField(_("审批时间"), null=True, blank=True)
    eligible_count = models.PositiveIntegerField(_("符合条件"), default=0)
    unknown_count = models.PositiveIntegerField(_("数据不足"), default=0)
    eligible_fen = models.BigIntegerField(_("应兑现金额（分）"), default=0)
    instructed_count = models.PositiveIntegerField(_("已生成支付指令"), default=0)
    over_budget_count = models.PositiveIntegerField(_("超出预算"), default=0)

    class Meta:
        ordering: ClassVar = ["-created_at", "-id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["policy", "period"],
                condition=Q(trigger="scheduled"),
                name="scheduled_run_once_per_period",
            )
        ]
        verbose_name = _("兑现批次")
        verbose_name_plural = _("兑现批次")

    def __str__(self) -> str:
        return f"{self.policy.code} {self.period} #{self.pk}"


class CandidateStatus(models.TextChoices):
    ELIGIBLE = "eligible", _("符合条件")
    UNKNOWN = "unknown", _("数据不足，待核实")
    OFFERED = "offered", _("待确认")
    CONFIRMED = "confirmed", _("已确认")
    EXPIRED = "expired", _("逾期未确认")
    INSTRUCTED = "instructed", _("已生成支付指令")
    ALREADY_PAID = "already_paid", _("本期已兑现")
    OVER_BUDGET = "over_budget", _("超出预算")
    APPLICATION = "application", _("需申请")


class Candidate(models.Model):
    """One (entity, payable item) of a run's candidate list."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="candidates")
    item_code = models.CharField(_("事项编码"), max_length=40)
    mode = models.CharField(_("兑现方式"), max_length=16, choices=Mode.choices)
    priority = models.PositiveIntegerField(_("优先级"))
    entity_key = models.CharField(_("对象标识"), max_length=18)
    entity_name = models.CharField(_("对象名称"), max_length=128)
    division_code = models.CharField(_("区划"), max_length=12, blank=True)
    industry = models.CharField(_("行业"), max_length=5, blank=True)
    amount_fen = models.BigIntegerField(_("金额（分）"), null=True)
    status = models.CharField(_("状态"), max_length=16, choices=CandidateStatus.choices)
    confirm_by = models.DateField(_("确认截止"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("确认时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["run", "priority", "id"]
        indexes: ClassVar = [
            models.Index(fields=["entity_key", "status"], name="candidate_entity_idx"),
            models.Index(fields=["run", "status"], name="candidate_run_status_idx"),
        ]
        verbose_name = _("兑现候选")
        verbose_name_plural = _("兑现候选")

    def __str__(self) -> str:
        return f"{self.item_code} {self.entity_key} ({self.status})"


class PaymentStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送银行")
    PAID = "paid", _("已到账")
    FAILED = "failed", _("支付失败")
    RETURNED = "returned", _("已退回")
    CANCELLED = "cancelled", _("已作废")


class PaymentInstruction(models.Model):
    """The payment ledger: at most one instruction per (entity, payable item, period)."""

    policy = models.ForeignKey(
        Policy, on_delete=models.PROTECT, related_name="payments", verbose_name=_("政策")
    )
    version = models.ForeignKey(PolicyVersion, on_delete=models.PROTECT, related_name="+")
    # a run's instruction (免申即享 / 即申即享), or a decided case's (申请制: ``case_number``)
    run = models.ForeignKey(
        Run, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    case_number = models.CharField(_("办件编号"), max_length=40, blank=True, db_index=True)
    item_code = models.CharField(_("事项编码"), max_length=40)
    entity_key = models.CharField(_("对象标识"), max_length=18)
    entity_name = models.CharField(_("收款人"), max_length=128)
    period = models.CharField(_("期间"), max_length=10)
    amount_fen = models.BigIntegerField(_("金额（分）"))
    status = models.CharField(
        _("状态"), max_length=10, choices=PaymentStatus.choices, default=PaymentStatus.PENDING
    )
    bank_reference = models.CharField(_("银行流水号"), max_length=64, blank=True)
    note = models.CharField(_("说明"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新时间"), auto_now=True)

    class Meta:
        ordering: ClassVar = ["id"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["item_code", "entity_key", "period"], name="payment_once_per_period"
            ),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payment_amount_positive"),
        ]
        indexes: ClassVar = [
            models.Index(fields=["entity_key"], name="payment_entity_idx"),
            models.Index(fields=["policy", "period"], name="payment_policy_period_idx"),
        ]
        verbose_name = _("支付指令")
        verbose_name_plural = _("支付指令")

    def __str__(self) -> str:
        return f"{self.item_code} {self.entity_key} {self.period}"
