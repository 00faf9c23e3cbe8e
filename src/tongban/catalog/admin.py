"""Django admin for the catalog: the 数据元 dictionary, items with their immutable published
versions, the per-division 实施清单, and the "导入事项目录" page.

事项管理员 and 系统管理员 use these pages (``identity.permissions.can_manage_catalog``). A published
``ItemVersion`` is never edited: items and versions are read-only here, with their 情形 questions,
materials and fields listed read-only; new content arrives only through catalog import, which
validates everything first and creates a new version. ``Implementation`` rows are edited here.
The import page takes one YAML file or a zip of YAML files, hands it to
``tongban.catalog.services.check_import_catalog_upload`` (which unpacks it safely and calls
``import_catalog``) and shows either the report or every problem with its file and line.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from tongban.catalog import services as catalog_services
from tongban.catalog.models import (
    DataElement,
    Field,
    Implementation,
    Item,
    ItemVersion,
    Material,
    Question,
)
from tongban.core.errors import FieldError, ValidationFailed
from tongban.core.errors import PermissionDenied as DomainPermissionDenied
from tongban.identity.admin import ReadOnlyInline, RoleGatedAdmin
from tongban.identity.permissions import can_manage_catalog

RELATED_ONLY = admin.RelatedOnlyFieldListFilter
"""Filter choices only among bodies that occur (a province has thousands of divisions)."""


class CatalogAdmin(RoleGatedAdmin):
    """Open to catalog and system administrators."""

    def may_view(self, user: Any) -> bool:
        return can_manage_catalog(user)


class CatalogReadOnlyAdmin(CatalogAdmin):
    def may_edit(self, user: Any) -> bool:
        return False


class CatalogReadOnlyInline(ReadOnlyInline):
    def may_view(self, user: Any) -> bool:
        return can_manage_catalog(user)


# --- 数据元 ---------------------------------------------------------------------------------------


@admin.register(DataElement)
class DataElementAdmin(CatalogAdmin):
    list_display = ("code", "name", "value_type", "validator", "max_length")
    list_filter = ("value_type", "validator")
    search_fields = ("code", "name", "description")


# --- Items and their versions -------------------------------------------------------------------


class ItemVersionInline(CatalogReadOnlyInline):
    model = ItemVersion
    fields = ("number", "name", "department", "promised_limit_days", "published_at")
    readonly_fields = fields
    ordering = ("-number",)
    verbose_name_plural = _("已发布版本（只读）")


class ImplementationInline(CatalogReadOnlyInline):
    model = Implementation
    fields = ("division", "handling_department", "promised_limit_days", "online_depth")
    readonly_fields = fields
    verbose_name_plural = _("实施清单")


_IMPORT_LINK = engines["django"].from_string(
    """{% extends "admin/change_list.html" %}{% load i18n %}
{% block object-tools-items %}
<li><a href="{% url 'admin:catalog_item_import' %}">{% translate "导入事项目录" %}</a></li>
{{ block.super }}
{% endblock %}"""
)


@admin.register(Item)
class ItemAdmin(CatalogReadOnlyAdmin):
    """Items are created and versioned only by catalog import."""

    list_display = ("code", "current_name", "item_type", "department", "version_count")
    list_filter = (
        "current_version__item_type",
        ("current_version__department__division", RELATED_ONLY),
        ("current_version__department", RELATED_ONLY),
        "current_version__online_depth",
        "current_version__tongban_scope",
    )
    search_fields = ("code", "current_version__name")
    list_select_related = ("current_version__department",)
    readonly_fields = ("code", "current_version")
    inlines = (ItemVersionInline, ImplementationInline)
    change_list_template = _IMPORT_LINK

    def get_queryset(self, request: HttpRequest) -> QuerySet[Item]:
        queryset: QuerySet[Item] = super().get_queryset(request)
        return queryset.annotate(_versions=Count("versions"))

    @admin.display(description=_("事项名称"), ordering="current_version__name")
    def current_name(self, obj: Item) -> str:
        return obj.current_version.name if obj.current_version else "-"

    @admin.display(description=_("事项类型"), ordering="current_version__item_type")
    def item_type(self, obj: Item) -> str:
        return obj.current_version.get_item_type_display() if obj.current_version else "-"

    @admin.display(description=_("实施主体"))
    def department(self, obj: Item) -> str:
        return str(obj.current_version.department) if obj.current_version else "-"

    @admin.display(description=_("版本数"))
    def version_count(self, obj: Item) -> int:
        return int(getattr(obj, "_versions", 0))

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="catalog_item_import",
            )
        ]
        return extra + super().get_urls()

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """导入事项目录: upload, validate and import; show the report or the problems."""
        if not can_manage_catalog(request.user):
            raise PermissionDenied
        form = (
            CatalogImportForm(request.POST, request.FILES)
            if request.method == "POST"
            else CatalogImportForm()
        )
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": _("导入事项目录"),
            "opts": self.model._meta,
            "form": form,
            "report": None,
            "counts": [],
            "problems": None,
        }
        status = 200
        if request.method == "POST" and form.is_valid():
            upload: UploadedFile = form.cleaned_data["file"]
            try:
                report = catalog_services.check_import_catalog_upload(
                    request.user, upload.name or "", upload
                )
                context["report"] = report
                # A Counter answers 0 for ``counts.items`` in a template: pass the pairs.
                context["counts"] = sorted(report.counts.items())
            except catalog_services.CatalogInvalid as exc:
                context["problems"] = exc.problems
                status = 422
            except ValidationFailed as exc:
                for error in exc.errors or [FieldError("file", exc.message)]:
                    form.add_error("file", error.message)
                status = 400
            except DomainPermissionDenied as exc:
                raise PermissionDenied(exc.message) from exc
        elif request.method == "POST":
            status = 400
        return TemplateResponse(request, _IMPORT_PAGE, context, status=status)


class CatalogImportForm(forms.Form):
    file = forms.FileField(
        label=_("目录文件"),
        help_text=_("一个 YAML 文件（.yaml/.yml），或包含多个 YAML 文件的 ZIP 压缩包"),
    )

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if upload.size is not None and upload.size > catalog_services.MAX_UPLOAD_BYTES:
            limit = catalog_services.MAX_UPLOAD_BYTES // 2**20
            raise forms.ValidationError(_("文件不能超过 %(limit)d MB") % {"limit": limit})
        return upload


_IMPORT_PAGE = engines["django"].from_string(
    """{% extends "admin/base_site.html" %}{% load i18n admin_urls %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{% translate "Home" %}</a> ›
<a href="{% url 'admin:app_list' app_label=opts.app_label %}">{{ opts.app_config.verbose_name }}</a> ›
<a href="{% url opts|admin_urlname:'changelist' %}">{{ opts.verbose_name_plural|capfirst }}</a> ›
{{ title }}</div>{% endblock %}
{% block content %}<div id="content-main">
{% if report %}
<div class="module" id="import-report"><h2>{% translate "导入成功" %}</h2>
<p>{% blocktranslate with files=report.files revision=report.revision %}共 {{ files }} 个文件；\
目录版本 {{ revision }}{% endblocktranslate %}</p>
<table><thead><tr><th>{% translate "类别" %}</th><th>{% translate "数量" %}</th></tr></thead><tbody>
{% for key, count in counts %}<tr><td>{{ key }}</td><td>{{ count }}</td></tr>{% endfor %}
</tbody></table>
{% if report.warnings %}<h3>{% translate "提示" %}</h3><ul>
{% for w in report.warnings %}<li>{{ w.file }}:{{ w.line }} {{ w.path }} {{ w.message }}</li>{% endfor %}
</ul>{% endif %}</div>
{% endif %}
{% if problems %}
<div class="module" id="import-problems"><h2>{% translate "目录有误，未导入任何内容" %}</h2>
<table><thead><tr><th>{% translate "文件" %}</th><th>{% translate "行" %}</th>
<th>{% translate "位置" %}</th><th>{% translate "问题" %}</th></tr></thead><tbody>
{% for p in problems %}<tr class="problem"><td>{{ p.file }}</td><td>{{ p.line }}</td>
<td>{{ p.path }}</td><td>{{ p.message }}</td></tr>{% endfor %}
</tbody></table></div>
{% endif %}
<form method="post" enctype="multipart/form-data">{% csrf_token %}
<fieldset class="module aligned">{{ form.as_div }}</fieldset>
<div class="submit-row"><input type="submit" class="default" value="{% translate '导入' %}"></div>
</form></div>{% endblock %}"""
)


class QuestionInline(CatalogReadOnlyInline):
    model = Question
    fields = ("order", "key", "text", "answer_type", "options", "when")
    readonly_fields = fields
    show_change_link = False


class MaterialInline(CatalogReadOnlyInline):
    model = Material
    fields = (
        "order", "key", "name", "source", "requirement", "licence_type", "data_source", "when",
    )  # fmt: skip
    readonly_fields = fields
    show_change_link = False


class FieldInline(CatalogReadOnlyInline):
    model = Field
    fields = ("order", "key", "label", "element", "required", "prefill", "data_source", "when")
    readonly_fields = fields
    show_change_link = False


@admin.register(ItemVersion)
class ItemVersionAdmin(CatalogReadOnlyAdmin):
    """Published versions: immutable, so there is nothing to change or delete."""

    list_display = (
        "name", "item", "number", "item_type", "department", "promised_limit_days",
        "online_depth", "published_at",
    )  # fmt: skip
    list_filter = (
        "item_type",
        ("department__division", RELATED_ONLY),
        ("department", RELATED_ONLY),
        "handling_mode",
        "online_depth",
        "tongban_scope",
        "result_kind",
    )
    search_fields = ("name", "item__code")
    list_select_related = ("item", "department")
    date_hierarchy = "published_at"
    inlines = (QuestionInline, MaterialInline, FieldInline)


# --- 实施清单 -------------------------------------------------------------------------------------


class ImplementationForm(forms.ModelForm):
    class Meta:
        model = Implementation
        fields = (
            "item", "division", "handling_department", "promised_limit_days", "fee",
            "service_centre", "windows", "online_depth", "required_trips",
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        item: Item | None = data.get("item")
        promised = data.get("promised_limit_days")
        version = item.current_version if item is not None else None
        if (
            version is not None
            and promised is not None
            and version.statutory_limit_days is not None
            and promised > version.statutory_limit_days
        ):
            self.add_error(
                "promised_limit_days",
                _("承诺时限不能超过法定办结时限（%d 个工作日）") % version.statutory_limit_days,
            )
        return data


@admin.register(Implementation)
class ImplementationAdmin(CatalogAdmin):
    form = ImplementationForm
    list_display = (
        "item", "item_name", "division", "handling_department", "promised_limit_days",
        "online_depth",
    )  # fmt: skip
    list_filter = (
        "division__level",
        ("division", RELATED_ONLY),
        ("handling_department", RELATED_ONLY),
        "item__current_version__item_type",
    )
    search_fields = ("item__code", "item__current_version__name", "division__name")
    list_select_related = ("item__current_version", "division", "handling_department")
    autocomplete_fields = ("item", "division", "handling_department", "service_centre")

    @admin.display(description=_("事项名称"), ordering="item__current_version__name")
    def item_name(self, obj: Implementation) -> str:
        version = obj.item.current_version
        return version.name if version else "-"
