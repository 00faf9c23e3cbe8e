"""Django admin for identity: government bodies, the person and enterprise registries, accounts
with their staff roles, the personal-data access log and login lockouts.

Access follows ``identity.permissions``, not Django's per-model permissions: 系统管理员 may see and
change everything here; 事项管理员 may only look up divisions, departments and service centres
(the catalog refers to them). 身份证号 and 手机号 are masked (脱敏) for anyone without the
``system_admin`` role, a person can be found by exact 身份证号 but never by part of one, and every
person shown unmasked, and every person record opened, writes a ``PersonalDataAccess`` row.
``RoleGatedAdmin`` is the base the other apps' admin classes use for the same rules.
"""

from __future__ import annotations

from typing import Any

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django import forms
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm, UsernameField
from django.db.models import BooleanField, Count, QuerySet, Value
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.core.identifiers import birth_date_from_id_number, is_valid_id_number
from tongban.core.masking import mask_id_number, mask_mobile
from tongban.identity import services
from tongban.identity.models import (
    AccountKind,
    Department,
    Division,
    DivisionLevel,
    Enterprise,
    EnterpriseAgent,
    Person,
    PersonalDataAccess,
    ServiceCentre,
    StaffRole,
    User,
    Window,
)
from tongban.identity.permissions import (
    can_administer_system,
    can_use_admin,
    can_view_unmasked_personal_data,
)

admin.site.site_header = _("通办 管理后台")
admin.site.site_title = _("通办 管理后台")
admin.site.index_title = _("配置与管理")

PURPOSE_DETAIL = "管理后台查看自然人信息"
PURPOSE_LIST = "管理后台自然人列表（未脱敏）"


class RoleGated:
    """Admin permissions from roles. ``may_view``/``may_edit`` decide; override them."""

    def may_view(self, user: Any) -> bool:
        return can_administer_system(user)

    def may_edit(self, user: Any) -> bool:
        return self.may_view(user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.may_view(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_view(request.user)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_edit(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_edit(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.may_edit(request.user)


class RoleGatedAdmin(RoleGated, admin.ModelAdmin):
    """A ``ModelAdmin`` open to system administrators only (override ``may_*`` to widen)."""


class ReadOnlyInline(RoleGated, admin.TabularInline):
    """An inline listed for reading only (no add, change or delete from the admin)."""

    extra = 0
    can_delete = False
    show_change_link = True

    def may_edit(self, user: Any) -> bool:
        return False


class ReferenceDataAdmin(RoleGatedAdmin):
    """Government bodies: catalog administrators look them up, system administrators edit."""

    def may_view(self, user: Any) -> bool:
        return can_use_admin(user)

    def may_edit(self, user: Any) -> bool:
        return can_administer_system(user)


# --- Government bodies --------------------------------------------------------------------------

_LEVEL_DEPTH = {
    DivisionLevel.PROVINCE: 0,
    DivisionLevel.CITY: 1,
    DivisionLevel.DISTRICT: 2,
    DivisionLevel.STREET: 3,
}


@admin.register(Division)
class DivisionAdmin(ReferenceDataAdmin):
    list_display = ("tree_name", "code", "level", "parent", "department_count")
    list_filter = ("level",)
    search_fields = ("code", "name")
    ordering = ("code",)  # GB/T 2260 codes sort parents before their children
    autocomplete_fields = ("parent",)
    list_per_page = 200

    def get_queryset(self, request: HttpRequest) -> QuerySet[Division]:
        queryset: QuerySet[Division] = super().get_queryset(request)
        return queryset.select_related("parent").annotate(_departments=Count("departments"))

    @admin.display(description=_("名称"), ordering="code")
    def tree_name(self, obj: Division) -> str:
        return "\u3000" * _LEVEL_DEPTH.get(DivisionLevel(obj.level), 0) + obj.name

    @admin.display(description=_("部门数"))
    def department_count(self, obj: Division) -> int:
        return int(getattr(obj, "_departments", 0))


@admin.register(Department)
class DepartmentAdmin(ReferenceDataAdmin):
    list_display = ("name", "code", "short_name", "division")
    list_filter = ("division__level", ("division", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name", "short_name")
    list_select_related = ("division",)
    autocomplete_fields = ("division",)


class WindowInline(RoleGated, admin.TabularInline):
    model = Window
    extra = 0
    fields = ("number", "name", "kind", "departments")
    autocomplete_fields = ("departments",)

    def may_view(self, user: Any) -> bool:
        return can_use_admin(user)

    def may_edit(self, user: Any) -> bool:
        return can_administer_system(user)


@admin.register(ServiceCentre)
class ServiceCentreAdmin(ReferenceDataAdmin):
    list_display = ("name", "code", "division", "phone", "opening_hours")
    list_filter = ("division__level", ("division", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name", "address")
    list_select_related = ("division",)
    autocomplete_fields = ("division",)
    inlines = (WindowInline,)


# --- Registries: persons and enterprises --------------------------------------------------------


class PersonForm(forms.ModelForm):
    class Meta:
        model = Person
        fields = ("id_number", "name", "mobile", "address", "household_division")

    def clean_id_number(self) -> str:
        value: str = self.cleaned_data["id_number"].strip().upper()
        return value


@admin.register(Person)
class PersonAdmin(RoleGatedAdmin):
    """Persons; 身份证号/手机号 masked unless the viewer holds ``system_admin``."""

    form = PersonForm
    list_display = ("name", "shown_id_number", "gender", "birth_date", "household_division")
    list_filter = ("gender", ("household_division", admin.RelatedOnlyFieldListFilter))
    # "=" : exact match only — a part of an ID number must not find anybody.
    search_fields = ("name", "=id_number")
    search_help_text = _("按姓名或完整的身份证号查找")
    list_select_related = ("household_division",)
    autocomplete_fields = ("household_division",)
    readonly_fields = ("gender", "birth_date", "masked_id_number", "masked_mobile")

    def get_fields(self, request: HttpRequest, obj: Person | None = None) -> tuple[str, ...]:
        if obj is None or can_view_unmasked_personal_data(request.user):
            return (
                "id_number", "name", "gender", "birth_date", "mobile", "address",
                "household_division",
            )  # fmt: skip
        return (
            "masked_id_number", "name", "gender", "birth_date", "masked_mobile", "address",
            "household_division",
        )  # fmt: skip

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        # ``list_display`` callables get no request, and admin instances are shared between
        # threads: carry the viewer's right on each row instead.
        unmasked = can_view_unmasked_personal_data(request.user)
        queryset: QuerySet[Person] = super().get_queryset(request)
        return queryset.annotate(show_unmasked=Value(unmasked, output_field=BooleanField()))

    @admin.display(description=_("身份证号"))
    def shown_id_number(self, obj: Person) -> str:
        if getattr(obj, "show_unmasked", False):
            return obj.id_number
        return mask_id_number(obj.id_number)

    @admin.display(description=_("身份证号"))
    def masked_id_number(self, obj: Person) -> str:
        return mask_id_number(obj.id_number)

    @admin.display(description=_("手机号"))
    def masked_mobile(self, obj: Person) -> str:
        return mask_mobile(obj.mobile) if obj.mobile else "-"

    def get_changelist_instance(self, request: HttpRequest) -> ChangeList:
        changelist: ChangeList = super().get_changelist_instance(request)
        if can_view_unmasked_personal_data(request.user):
            services.record_personal_data_accesses(
                request.user,  # type: ignore[arg-type]
                list(changelist.result_list),
                PURPOSE_LIST,
            )
        return changelist

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        if request.method == "GET" and response.status_code == 200:
            person = self.get_object(request, object_id)
            if person is not None:
                unmasked = can_view_unmasked_personal_data(request.user)
                services.record_personal_data_access(
                    request.user,  # type: ignore[arg-type]
                    person,
                    PURPOSE_DETAIL + ("（未脱敏）" if unmasked else "（已脱敏）"),
                )
        return response

    def save_model(self, request: HttpRequest, obj: Person, form: Any, change: bool) -> None:
        if is_valid_id_number(obj.id_number):
            obj.birth_date = birth_date_from_id_number(obj.id_number)
            obj.gender = "male" if int(obj.id_number[16]) % 2 else "female"
        super().save_model(request, obj, form, change)


class EnterpriseAgentInline(RoleGated, admin.TabularInline):
    model = EnterpriseAgent
    extra = 0
    fields = ("person", "role", "valid_from", "valid_until", "revoked_at")
    autocomplete_fields = ("person",)


@admin.register(Enterprise)
class EnterpriseAdmin(RoleGatedAdmin):
    list_display = ("name", "uscc", "kind", "division", "registered_on")
    list_filter = ("kind", ("division", admin.RelatedOnlyFieldListFilter))
    search_fields = ("name", "uscc")
    list_select_related = ("division",)
    autocomplete_fields = ("division", "legal_representative")
    inlines = (EnterpriseAgentInline,)


@admin.register(EnterpriseAgent)
class EnterpriseAgentAdmin(RoleGatedAdmin):
    list_display = ("enterprise", "person", "role", "valid_from", "valid_until", "in_force")
    list_filter = ("role", ("revoked_at", admin.EmptyFieldListFilter))
    search_fields = ("enterprise__name", "=enterprise__uscc", "person__name", "=person__id_number")
    list_select_related = ("enterprise", "person")
    autocomplete_fields = ("enterprise", "person")

    @admin.display(description=_("当前有效"), boolean=True)
    def in_force(self, obj: EnterpriseAgent) -> bool:
        today = timezone.localdate()
        return (
            obj.revoked_at is None
            and obj.valid_from <= today
            and (obj.valid_until is None or obj.valid_until >= today)
        )


# --- Accounts and staff roles -------------------------------------------------------------------


class StaffRoleInline(RoleGated, admin.TabularInline):
    model = StaffRole
    extra = 0
    fields = ("role", "department")
    autocomplete_fields = ("department",)


class AccountCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("username", "kind", "display_name")
        field_classes = {"username": UsernameField}


class AccountChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"
        field_classes = {"username": UsernameField}


@admin.register(User)
class AccountAdmin(RoleGated, DjangoUserAdmin):
    """Accounts. Staff authority is the 岗位角色 inline; Django groups/permissions are unused."""

    form = AccountChangeForm
    add_form = AccountCreationForm
    list_display = (
        "username", "display_name", "kind", "department", "real_name_level", "roles",
        "is_staff", "is_active",
    )  # fmt: skip
    list_filter = (
        "kind", "is_staff", "is_active", "real_name_level", "staff_roles__role",
        ("department__division", admin.RelatedOnlyFieldListFilter),
    )  # fmt: skip
    search_fields = ("username", "display_name", "oidc_subject", "=person__id_number")
    list_select_related = ("department",)
    autocomplete_fields = ("person", "department")
    ordering = ("username",)
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("账户"),
            {"fields": ("kind", "display_name", "person", "department", "real_name_level")},
        ),
        (_("统一身份认证"), {"fields": ("oidc_subject",)}),
        (_("状态"), {"fields": ("is_active", "is_staff", "is_superuser", "elder_mode")}),
        (_("时间"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "kind", "display_name", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")
    inlines = (StaffRoleInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[User]:
        queryset: QuerySet[User] = super().get_queryset(request)
        return queryset.prefetch_related("staff_roles")

    def get_inlines(self, request: HttpRequest, obj: User | None) -> list[type[Any]]:
        """Roles belong to saved staff accounts only (applicants hold none)."""
        if obj is not None and obj.kind == AccountKind.STAFF:
            return [StaffRoleInline]
        return []

    @admin.display(description=_("岗位角色"))
    def roles(self, obj: User) -> str:
        return "、".join(sorted({r.get_role_display() for r in obj.staff_roles.all()})) or "-"


@admin.register(PersonalDataAccess)
class PersonalDataAccessAdmin(RoleGatedAdmin):
    """The access log: readable by system administrators, never changed from here."""

    list_display = ("at", "actor", "person", "purpose")
    list_filter = (("actor", admin.RelatedOnlyFieldListFilter),)
    date_hierarchy = "at"
    search_fields = ("actor__username", "=person__id_number", "purpose")
    list_select_related = ("actor", "person")

    def may_edit(self, user: Any) -> bool:
        return False


# --- Login lockouts (django-axes): unlocking is a system administrator's job --------------------


class LockoutGated(RoleGated):
    """Lockout records are looked at and deleted (deleting an attempt lifts its lock)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


for _model, _base in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    if admin.site.is_registered(_model):
        admin.site.unregister(_model)
    admin.site.register(_model, type(f"Gated{_base.__name__}", (LockoutGated, _base), {}))
