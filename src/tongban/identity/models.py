"""Identity models: who people, enterprises, staff and government bodies are.

Divisions form a tree (province → city → district → street); departments and service centres
belong to a division. ``Person`` and ``Enterprise`` are the applicants' registry records;
``User`` is an account, linked to a person for applicants and carrying roles for staff.
"""

from __future__ import annotations

from typing import ClassVar

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongban.core.identifiers import InvalidIdentifier, check_id_number, check_uscc
from tongban.core.masking import mask_id_number


def validate_id_number(value: str) -> None:
    try:
        check_id_number(value)
    except InvalidIdentifier as exc:
        raise ValidationError(str(exc)) from exc


def validate_uscc(value: str) -> None:
    try:
        check_uscc(value)
    except InvalidIdentifier as exc:
        raise ValidationError(str(exc)) from exc


class DivisionLevel(models.TextChoices):
    PROVINCE = "province", _("省级")
    CITY = "city", _("市级")
    DISTRICT = "district", _("县区级")
    STREET = "street", _("乡镇街道")


class Division(models.Model):
    """行政区划. Province/city/district codes are GB/T 2260 six digits; streets add three."""

    code = models.CharField(_("区划代码"), max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=64)
    level = models.CharField(_("层级"), max_length=16, choices=DivisionLevel.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("上级区划"),
    )

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("行政区划")
        verbose_name_plural = _("行政区划")

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Department(models.Model):
    """政府部门, e.g. 市场监督管理局 of a city."""

    code = models.CharField(_("部门编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    short_name = models.CharField(_("简称"), max_length=32, blank=True)
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="departments", verbose_name=_("所属区划")
    )

    class Meta:
        ordering: ClassVar = ["division__code", "code"]
        verbose_name = _("部门")
        verbose_name_plural = _("部门")

    def __str__(self) -> str:
        return self.name


class ServiceCentre(models.Model):
    """政务服务中心 (or 便民服务中心) of a division."""

    code = models.CharField(_("编码"), max_length=32, unique=True)
    name = models.CharField(_("名称"), max_length=128)
    division = models.ForeignKey(
        Division,
        on_delete=models.PROTECT,
        related_name="service_centres",
        verbose_name=_("所属区划"),
    )
    address = models.CharField(_("地址"), max_length=255, blank=True)
    opening_hours = models.CharField(_("办公时间"), max_length=128, blank=True)
    phone = models.CharField(_("咨询电话"), max_length=32, blank=True)

    class Meta:
        ordering: ClassVar = ["code"]
        verbose_name = _("政务服务中心")
        verbose_name_plural = _("政务服务中心")

    def __str__(self) -> str:
        return self.name


class WindowKind(models.TextChoices):
    GENERAL = "general", _("综合窗口")
    DEDICATED = "dedicated", _("专业窗口")
    HELP = "help", _("帮办代办")
    COMPLAINT = "complaint", _("办不成事反映窗口")


class Window(models.Model):
    """A service window (窗口) in a centre; a 综合窗口 accepts items of many departments."""

    centre = models.ForeignKey(
        ServiceCentre, on_delete=models.CASCADE, related_name="windows", verbose_name=_("服务中心")
    )
    number = models.CharField(_("窗口号"), max_length=16)
    name = models.CharField(_("名称"), max_length=64)
    kind = models.CharField(_("类型"), max_length=16, choices=WindowKind.choices)
    departments = models.ManyToManyField(
        Department, blank=True, related_name="windows", verbose_name=_("受理部门")
    )

    class Meta:
        ordering: ClassVar = ["centre", "number"]
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["centre", "number"], name="window_number_unique")
        ]
        verbose_name = _("窗口")
        verbose_name_plural = _("窗口")

    def __str__(self) -> str:
        return f"{self.centre.name} {self.number}号 {self.name}"


class Gender(models.TextChoices):
    MALE = "male", _("男")
    FEMALE = "female", _("女")


class Person(models.Model):
    """自然人, identified by 公民身份号码 (check digit per GB 11643)."""

    id_number = models.CharField(
        _("身份证号"), max_length=18, unique=True, validators=[validate_id_number]
    )
    name = models.CharField(_("姓名"), max_length=64)
    gender = models.CharField(_("性别"), max_length=8, choices=Gender.choices)
    birth_date = models.DateField(_("出生日期"))
    mobile = models.CharField(_("手机号"), max_length=11, blank=True)
    address = models.CharField(_("住址"), max_length=255, blank=True)
    household_division = models.ForeignKey(
        Division,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("户籍地"),
    )

    class Meta:
        ordering: ClassVar = ["id"]
        verbose_name = _("自然人")
        verbose_name_plural = _("自然人")

    def __str__(self) -> str:
        return f"{self.name}（{mask_id_number(self.id_number)}）"


class EnterpriseKind(models.TextChoices):
    COMPANY = "company", _("企业")
    INDIVIDUAL_BUSINESS = "individual_business", _("个体工商户")
    COOPERATIVE = "cooperative", _("农民专业合作社")
    SOCIAL_ORGANISATION = "social_organisation", _("社会组织")
    PUBLIC_INSTITUTION = "public_institution", _("事业单位")


class Enterprise(models.Model):
    """法人及其他组织, identified by 统一社会信用代码 (check digit per GB 32100)."""

    uscc = models.CharField(
        _("统一社会信用代码"), max_length=18, unique=True, validators=[validate_uscc]
    )
    name = models.CharField(_("名称"), max_length=128)
    kind = models.CharField(_("类型"), max_length=32, choices=EnterpriseKind.choices)
    legal_representative = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("法定代表人"),
    )
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("登记地")
    )
    industry_code = models.CharField(_("行业代码（GB/T 4754）"), max_length=5, blank=True)
    registered_on = models.DateField(_("成立日期"), null=True, blank=True)
    address = models.CharField(_("住所"), max_length=255, blank=True)

    class Meta:
        ordering: ClassVar = ["id"]
        verbose_name = _("法人")
        verbose_name_plural = _("法人")

    def __str__(self) -> str:
        return self.name


class AgentRole(models.TextChoices):
    LEGAL_REPRESENTATIVE = "legal_representative", _("法定代表人")
    AGENT = "agent", _("经办人")


class EnterpriseAgent(models.Model):
    """A person authorised to act for an enterprise (经办人), for a period."""

    enterprise = models.ForeignKey(
        Enterprise, on_delete=models.CASCADE, related_name="agents", verbose_name=_("法人")
    )
    person = models.ForeignKey(
        Person, on_delete=models.CASCADE, related_name="agencies", verbose_name=_("经办人")
    )
    role = models.CharField(_("身份"), max_length=32, choices=AgentRole.choices)
    valid_from = models.DateField(_("授权起始"))
    valid_until = models.DateField(_("授权截止"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("撤销时间"), null=True, blank=True)

    class Meta:
        ordering: ClassVar = ["enterprise", "person"]
        constraints: ClassVar = [
            models.UniqueConstraint(
                fields=["enterprise", "person", "role"], name="enterprise_agent_unique"
            )
        ]
        verbose_name = _("经办人授权")
        verbose_name_plural = _("经办人授权")

    def __str__(self) -> str:
        return f"{self.person} → {self.enterprise}"


class AccountKind(models.TextChoices):
    APPLICANT = "applicant", _("办事群众/企业")
    STAFF = "staff", _("工作人员")


class RealNameLevel(models.IntegerChoices):
    """实名等级 of an account, as recorded by the identity provider or the counter."""

    NONE = 0, _("未实名")
    BASIC = 1, _("基础实名（姓名与身份证号核验）")
    VERIFIED = 2, _("实人认证（人脸识别）")
    IN_PERSON = 3, _("现场核验")


class User(AbstractUser):
    """An account. Applicants link to a ``Person``; staff carry ``StaffRole`` rows."""

    kind = models.CharField(
        _("账户类型"), max_length=16, choices=AccountKind.choices, default=AccountKind.APPLICANT
    )
    display_name = models.CharField(_("显示名称"), max_length=64, blank=True)
    person = models.OneToOneField(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="account",
        verbose_name=_("对应自然人"),
    )
    real_name_level = models.PositiveSmallIntegerField(
        _("实名等级"), choices=RealNameLevel.choices, default=RealNameLevel.NONE
    )
    department = models.ForeignKey(
        Department,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        verbose_name=_("所属部门"),
    )
    elder_mode = models.BooleanField(_("长辈模式"), default=False)
    oidc_subject = models.CharField(
        _("统一身份认证标识"), max_length=255, null=True, blank=True, unique=True
    )

    class Meta:
        verbose_name = _("账户")
        verbose_name_plural = _("账户")

    def __str__(self) -> str:
        return self.display_name or self.username


class Role(models.TextChoices):
    WINDOW = "window", _("窗口人员")
    REVIEWER = "reviewer", _("审查人员")
    DEPARTMENT_HEAD = "department_head", _("部门负责人")
    SUPERVISOR = "supervisor", _("督办人员")
    CATALOG_ADMIN = "catalog_admin", _("事项管理员")
    SYSTEM_ADMIN = "system_admin", _("系统管理员")
    POLICY_ADMIN = "policy_admin", _("政策管理员")
    LEGALITY_REVIEWER = "legality_reviewer", _("合法性审查人员")
    FINANCE_REVIEWER = "finance_reviewer", _("财政审核人员")


class StaffRole(models.Model):
    """A role a staff account holds within one department (and so one division)."""

    user = models.ForeignKey(
        User, on_delete=models.CASCADE, related_name="staff_roles", verbose_name=_("账户")
    )
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, related_name="staff_roles", verbose_name=_("部门")
    )

    class Meta:
        constraints: ClassVar = [
            models.UniqueConstraint(fields=["user", "role", "department"], name="staff_role_unique")
        ]
        verbose_name = _("岗位角色")
        verbose_name_plural = _("岗位角色")

    def __str__(self) -> str:
        return f"{self.user} · {self.get_role_display()} · {self.department}"


class PersonalDataAccess(models.Model):
    """Access log: every time unmasked personal data is shown or exported, who saw what and why."""

    actor = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="+", verbose_name=_("访问人")
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("被访问人")
    )
    purpose = models.CharField(_("用途"), max_length=128)
    at = models.DateTimeField(_("时间"), auto_now_add=True)

    class Meta:
        ordering: ClassVar = ["-at"]
        verbose_name = _("个人信息访问记录")
        verbose_name_plural = _("个人信息访问记录")

    def __str__(self) -> str:
        return f"{self.actor} · {self.purpose} · {self.at:%Y-%m-%d %H:%M}"
