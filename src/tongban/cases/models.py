"""Case models: a case (办件) filed under one item version, its tasks (审查, and the 核查 of an
approval given on a commitment), clock stops, materials, correction notices and the
append-only event trail.

State lives in ``Case.state`` and ``CaseTask.state``; every change goes through
``tongban.cases.services`` (one transaction, row lock, one ``CaseEvent``). Deadlines are dates
computed in working days by ``tongban.workdays``; a clock stop (中止) moves them when it ends.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongban.catalog.models import ItemVersion
from tongban.identity.models import Department, Division, Enterprise, Person


class CaseState(models.TextChoices):
    DRAFT = "draft", _("草稿")
    SUBMITTED = "submitted", _("已提交，待预审")
    CORRECTION = "correction", _("补正中")
    REFUSED = "refused", _("不予受理")
    IN_REVIEW = "in_review", _("审查中")
    AWAITING_DECISION = "awaiting_decision", _("待决定")
    DECIDED = "decided", _("已决定，待送达")
    DELIVERED = "delivered", _("已送达")
    CLOSED = "closed", _("已办结")
    WITHDRAWN = "withdrawn", _("已撤回")


OPEN_STATES = (
    CaseState.SUBMITTED,
    CaseState.CORRECTION,
    CaseState.IN_REVIEW,
    CaseState.AWAITING_DECISION,
    CaseState.DECIDED,
)


class Outcome(models.TextChoices):
    APPROVED = "approved", _("准予")
    DENIED = "denied", _("不予")
    REVOKED = "revoked", _("撤销（违反承诺）")


class CaseNumberSequence(models.Model):
    """The last number given out per (division, day): case numbers are gap-free per day."""

    prefix = models.CharField(max_length=32, unique=True)
    last = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.prefix}:{self.last}"


class Case(models.Model):
    """办件: one application for one item, from submission to 办结."""

    # unique through ``case_number_unique`` (a constraint, not ``unique=True``: no second,
    # pattern-matching index that every write of the case would also have to update)
    number = models.CharField(_("办件编号"), max_length=40, null=True, blank=True)
    item_version = models.ForeignKey(
        ItemVersion, on_delete=models.PROTECT, related_name="+", verbose_name=_("事项版本")
    )
    item_code = models.CharField(_("事项编码"), max_length=64, db_index=True)
    item_name = models.CharField(_("事项名称"), max_length=200)
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("受理区划")
    )
    department = models.ForeignKey(  # indexed first in case_queue_idx
        Department,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("办理部门"),
        db_index=False,
    )
    applicant_person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申请人（自然人）"),
    )
    applicant_enterprise = models.ForeignKey(
        Enterprise,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("申请人（法人）"),
    )
    submitted_by = models.ForeignKey(  # indexed first in case_applicant_idx
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("提交账户"),
        db_index=False,
    )
    state = models.CharField(
        _("状态"), max_length=24, choices=CaseState.choices, default=CaseState.DRAFT
    )
    answers = models.JSONField(_("情形回答"), default=dict, blank=True)
    form_data = models.JSONField(_("表单内容"), default=dict, blank=True)
    promised_limit_days = models.PositiveIntegerField(_("承诺时限（工作日）"), default=0)
    extension_max_days = models.PositiveIntegerField(_("可延长上限（工作日）"), default=0)
    extended_days = models.PositiveIntegerField(_("已延长（工作日）"), default=0)
    created_at = models.DateTimeField(_("创建时间"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("提交时间"), null=True, blank=True)
    # 收件时间: when the materials the window examines arrived — the submission, or the answer
    # to the latest 补正告知. The 预审 period runs from it (the intake queue sorts by it).
    received_at = models.DateTimeField(_("收件时间"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    due_date = models.DateField(_("办结期限"), null=True, blank=True)
    outcome = models.CharField(_("决定"), max_length=16, choices=Outcome.choices, blank=True)
    decision_reason = models.TextField(_("决定理由"), blank=True)
    decision_basis = models.TextField(_("法律依据"), blank=True)
    decided_at = models.DateTimeField(_("决定时间"), null=True, blank=True)
    delivery_method = models.CharField(_("送达方式"), max_length=32, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    current_stage = models.PositiveSmallIntegerField(_("当前审查环节"), default=0)
    instant_explanation = models.JSONField(_("秒办判定说明"), null=True, blank=True)
    event_count = models.PositiveIntegerField(default=0)
    # 告知承诺: filed on the commitment route (a ``Commitment`` was signed with the draft), so
    # a step knows without reading the commitment
    filed_on_commitment = models.BooleanField(_("以告知承诺方式申请"), default=False)
    # 中止: true while a ClockStop of this case is open (kept by suspend/resume/withdraw, so a
    # transition knows without reading the clock stops)
    clock_stopped = models.BooleanField(_("中止计时中"), default=False)

    class Meta:
        ordering: ClassVar = ["-id"]
        indexes: ClassVar = [
            models.Index(fields=["department", "state", "due_date"], name="case_queue_idx"),
            models.Index(fields=["submitted_by", "-id"], name="case_applicant_idx"),
            # 督办总览: 按时办结率 over the cases decided in the last 30 days
            models.Index(fields=["decided_at"], name="case_decided_idx"),
            # work queues (tongban.cases.queues): keyset pages of running cases by (due, id),
            # the largest running limit for the yellow light, and the intake queue
            models.Index(
                fields=["due_date", "id"],
                name="case_running_due_idx",
                condition=models.Q(state__in=("in_review", "awaiting_decision")),
            ),
            models.Index(
                models.F("promised_limit_days") + models.F("extended_days"),
                name="case_running_limit_idx",
                condition=models.Q(state__in=("in_review", "awaiting_decision")),
            ),
            models.Index(
                fields=["received_at", "id"],
                include=["division"],
                name="case_intake_received_idx",
                condition=models.Q(state="submitted"),
            ),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["number"], name="case_number_unique"),
        ]
        verbose_name = _("办件")
        verbose_name_plural = _("办件")

    def __str__(self) -> str:
        return self.number or f"草稿 {self.pk}"


class TaskState(models.TextChoices):
    WAITING = "waiting", _("等待前序环节")
    OPEN = "open", _("审查中")
    APPROVED = "approved", _("审查通过")
    REJECTED = "rejected", _("审查不通过")
    CANCELLED = "cancelled", _("已取消")


class CaseTaskQuerySet(models.QuerySet["CaseTask"]):
    def current(self) -> CaseTaskQuerySet:
        """The tasks of the case's current acceptance: not those of an acceptance undone by
        退回 to intake, which stay on record for the events that name them."""
        return self.filter(superseded_at__isnull=True)


class TaskKind(models.TextChoices):
    REVIEW = "review", _("审查")
    VERIFICATION = "verification", _("承诺核查")


class CaseTask(models.Model):
    """One department's work on a case with a working-day deadline: a review (审查) in a stage,
    where the tasks of a stage run in parallel, or the verification (核查) of a 告知承诺 after the
    case was approved on the commitment (at most one per case; it closes when the commitment
    is found kept or broken).

    A 退回 to intake does not delete the tasks: they keep their opinions and the events that
    name them, and are marked ``superseded_at``; acceptance then creates new ones."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tasks")
    kind = models.CharField(
        _("任务类型"), max_length=16, choices=TaskKind.choices, default=TaskKind.REVIEW
    )
    stage = models.PositiveSmallIntegerField(_("环节"))
    stage_name = models.CharField(_("环节名称"), max_length=64)
    name = models.CharField(_("任务名称"), max_length=64, blank=True)
    department = models.ForeignKey(  # indexed first in task_queue_idx
        Department,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("审查部门"),
        db_index=False,
    )
    limit_days = models.PositiveIntegerField(_("时限（工作日）"))
    on_timeout = models.CharField(_("超时处理"), max_length=16, default="none")
    escalated_at = models.DateTimeField(_("超时督办时间"), null=True, blank=True)
    # the deadline the latest 超时督办 was for: a deadline moved later (恢复计时, 延期) and
    # missed again is escalated again, each deadline once
    escalated_due_date = models.DateField(_("超时督办所针对的期限"), null=True, blank=True)
    state = models.CharField(
        _("状态"), max_length=16, choices=TaskState.choices, default=TaskState.WAITING
    )
    opened_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    due_date = models.DateField(_("期限"), null=True, blank=True)
    opinion = models.TextField(_("审查意见"), blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    completed_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # 会签: the task whose department asked this one to review with it (same stage, in parallel)
    countersign_for = models.ForeignKey(
        "self",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="countersigns",
        verbose_name=_("会签发起任务"),
    )
    superseded_at = models.DateTimeField(_("退回重新受理时间"), null=True, blank=True)

    objects = CaseTaskQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["case", "stage", "id"]
        indexes: ClassVar = [
            models.Index(fields=["department", "state", "due_date"], name="task_queue_idx"),
            # work queues: open tasks by (due, id), per department and overall, and their
            # largest limit for the yellow light
            models.Index(
                fields=["department", "due_date", "id"],
                name="task_open_department_due_idx",
                condition=models.Q(state="open"),
            ),
            models.Index(
                fields=["due_date", "id"],
                name="task_open_due_idx",
                condition=models.Q(state="open"),
            ),
            models.Index(
                fields=["limit_days"], name="task_open_limit_idx", condition=models.Q(state="open")
            ),
        ]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(kind="verification"),
                name="one_verification_task_per_case",
            )
        ]
        verbose_name = _("办理任务")
        verbose_name_plural = _("办理任务")

    def __str__(self) -> str:
        return f"{self.case} · {self.stage_name} · {self.department}"


class ClockStopKind(models.TextChoices):
    HEARING = "hearing", _("听证")
    INSPECTION = "inspection", _("检验")
    TESTING = "testing", _("检测")
    EXPERT_REVIEW = "expert_review", _("专家评审")
    PUBLICITY = "publicity", _("公示")


class ClockStop(models.Model):
    """中止: a special procedure during which the statutory clock does not run."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="clock_stops")
    kind = models.CharField(_("特别程序"), max_length=16, choices=ClockStopKind.choices)
    reason = models.TextField(_("理由"))
    started_on = models.DateField(_("中止日期"))
    ended_on = models.DateField(_("恢复日期"), null=True, blank=True)
    paused_workdays = models.PositiveIntegerField(_("中止工作日数"), default=0)

    class Meta:
        ordering: ClassVar = ["case", "started_on"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(ended_on__isnull=True),
                name="one_open_clock_stop_per_case",
            )
        ]
        verbose_name = _("中止")
        verbose_name_plural = _("中止")

    def __str__(self) -> str:
        return f"{self.case} {self.get_kind_display()}"


class CorrectionNotice(models.Model):
    """补正告知: one notice listing every missing or defective material at once."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="corrections")
    items = models.JSONField(_("补正内容"))  # [{"material": key, "name": …, "problem": …}]
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    issued_at = models.DateTimeField(_("告知时间"), auto_now_add=True)
    answered_at = models.DateTimeField(_("补正时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["case", "issued_at"]
        verbose_name = _("补正告知")
        verbose_name_plural = _("补正告知")

    def __str__(self) -> str:
        return f"{self.case} 补正告知"


class CaseEvent(models.Model):
    """Append-only audit trail: who did what, when, from which state to which, and why."""

    # indexed first in case_event_sequence
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events", db_index=False)
    sequence = models.PositiveIntegerField(_("序号"))
    # the trail outlives nothing it names: a task with events is never deleted on its own
    task = models.ForeignKey(
        CaseTask, on_delete=models.RESTRICT, null=True, blank=True, related_name="events"
    )
    action = models.CharField(_("动作"), max_length=32)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    actor_label = models.CharField(_("操作人"), max_length=128)
    at = models.DateTimeField(_("时间"), auto_now_add=True)
    from_state = models.CharField(max_length=24, blank=True)
    to_state = models.CharField(max_length=24, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    data = models.JSONField(default=dict, blank=True)
    visible_to_applicant = models.BooleanField(default=True)

    class Meta:
        ordering: ClassVar = ["case", "sequence"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["case", "sequence"], name="case_event_sequence")
        ]
        verbose_name = _("办件事件")
        verbose_name_plural = _("办件事件")

    def __str__(self) -> str:
        return f"{self.case} #{self.sequence} {self.action}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("办件事件只能追加，不能修改")
        super().save(*args, **kwargs)


class CaseMaterial(models.Model):
    """An uploaded file for one of the item's materials. The format is what the content is, not
    what the name says; ``sha256`` lets reviewers see that a file did not change."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    material_key = models.CharField(_("材料"), max_length=64)
    material_name = models.CharField(_("材料名称"), max_length=255)
    file = models.FileField(_("文件"), upload_to="cases/%Y/%m/")
    original_name = models.CharField(_("原文件名"), max_length=255)
    detected_format = models.CharField(_("识别格式"), max_length=16)
    size = models.PositiveBigIntegerField(_("大小（字节）"))
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("上传时间"), auto_now_add=True)
    superseded = models.BooleanField(_("已被替换"), default=False)

    class Meta:
        ordering: ClassVar = ["case", "material_key", "-uploaded_at"]
        verbose_name = _("申请材料文件")
        verbose_name_plural = _("申请材料文件")

    def __str__(self) -> str:
        return f"{self.case} · {self.material_name}"


class ToleratedMaterialQuerySet(models.QuerySet["ToleratedMaterial"]):
    def current(self) -> ToleratedMaterialQuerySet:
        """The tolerated materials of the case's current acceptance (not of one undone by 退回
        to intake)."""
        return self.filter(superseded_at__isnull=True)


class ToleratedMaterial(models.Model):
    """容缺受理: a non-essential material accepted as missing, due by a date; the result is
    delivered only once every tolerated material has arrived.

    A 退回 to intake undoes the acceptance that tolerated it: the row stays on record (with its
    reminders) marked ``superseded_at``, and neither blocks 送达 nor is reminded of again; a
    new acceptance tolerates afresh."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="tolerated")
    material_key = models.CharField(_("材料"), max_length=64)
    material_name = models.CharField(_("材料名称"), max_length=255)
    due_date = models.DateField(_("补交期限"))
    supplied_at = models.DateTimeField(_("补交时间"), null=True, blank=True)
    superseded_at = models.DateTimeField(_("退回重新受理时间"), null=True, blank=True)

    objects = ToleratedMaterialQuerySet.as_manager()

    class Meta:
        ordering: ClassVar = ["case", "due_date"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["case", "material_key"],
                condition=models.Q(superseded_at__isnull=True),
                name="tolerated_once",
            )
        ]
        verbose_name = _("容缺材料")
        verbose_name_plural = _("容缺材料")

    def __str__(self) -> str:
        return f"{self.case} · {self.material_name}"


class CommitmentState(models.TextChoices):
    DECLARED = "declared", _("已承诺，待审批")
    PENDING = "pending", _("已准予，待核查")
    VERIFIED = "verified", _("核查属实")
    BROKEN = "broken", _("违反承诺")


class Commitment(models.Model):
    """告知承诺: the applicant commits that conditions are met and named proofs exist; the case
    is approved on the commitment and verified afterwards by a due date."""

    case = models.OneToOneField(Case, on_delete=models.CASCADE, related_name="commitment")
    materials = models.JSONField(_("以承诺替代的材料"), default=list)
    statement = models.TextField(_("承诺书"))
    signed_at = models.DateTimeField(_("承诺时间"), auto_now_add=True)
    state = models.CharField(
        _("状态"),
        max_length=16,
        choices=CommitmentState.choices,
        default=CommitmentState.DECLARED,
    )
    verification_due = models.DateField(_("核查期限"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_at = models.DateTimeField(_("核查时间"), null=True, blank=True)
    finding = models.TextField(_("核查结论"), blank=True)

    class Meta:
        verbose_name = _("告知承诺")
        verbose_name_plural = _("告知承诺")

    def __str__(self) -> str:
        return f"{self.case} 告知承诺"


class CommitmentBar(models.Model):
    """An applicant who broke a commitment may not use the commitment route until ``until``."""

    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField(_("原因"))
    until = models.DateField(_("限制至"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-until"]
        verbose_name = _("承诺制限制")
        verbose_name_plural = _("承诺制限制")

    def __str__(self) -> str:
        return f"{self.person or self.enterprise} 至 {self.until}"


class ToleratedReminderKind(models.TextChoices):
    BEFORE_DUE = "before_due", _("到期前提醒申请人")
    DUE_TODAY = "due_today", _("到期当日提醒申请人")
    OVERDUE = "overdue", _("逾期告知窗口")


class ToleratedReminder(models.Model):
    """The ledger of 容缺 reminders: at most one row per tolerated material and kind, written in
    the same transaction as the messages it sends, so each reminder goes out exactly once."""

    material = models.ForeignKey(
        ToleratedMaterial, on_delete=models.CASCADE, related_name="reminders"
    )
    kind = models.CharField(_("提醒类型"), max_length=16, choices=ToleratedReminderKind.choices)
    due_date = models.DateField(_("补交期限"))
    recipients = models.PositiveIntegerField(_("接收人数"), default=0)
    sent_at = models.DateTimeField(_("提醒时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["material", "sent_at"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["material", "kind"], name="tolerated_reminder_once")
        ]
        verbose_name = _("容缺材料提醒")
        verbose_name_plural = _("容缺材料提醒")

    def __str__(self) -> str:
        return f"{self.material} · {self.get_kind_display()}"
