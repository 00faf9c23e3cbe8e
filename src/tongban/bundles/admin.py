"""The bundle composer in the admin (catalog administrators): write the definition (items,
``needs`` = stages, links, report situation) as YAML, see the merged questionnaire, form,
material list and reform report update live (htmx), and save through ``check_save_bundle`` —
the same checks as a catalog import. Bundle cases hold
personal data and are not listed here (staff see them through their item cases)."""

from __future__ import annotations

from typing import Any

import yaml
from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _

from tongban.bundles import report, services
from tongban.bundles.merging import merge
from tongban.bundles.models import Bundle
from tongban.catalog.admin import CatalogAdmin
from tongban.core.errors import FieldError, ValidationFailed
from tongban.core.errors import PermissionDenied as DomainPermissionDenied

EXAMPLE = """code: YJS.example
name: 示例一件事
division: "330106"
applicant_types: [person]
components:
  - item: 事项编码A
  - item: 事项编码B
    needs: [事项编码A]
"""


class ComposerForm(forms.ModelForm):
    source = forms.CharField(
        label=_("定义（YAML）"),
        widget=forms.Textarea(
            attrs={
                "rows": 24,
                "cols": 100,
                "class": "vLargeTextField",
                "hx-post": "preview/",
                "hx-trigger": "keyup changed delay:700ms, load",
                "hx-target": "#bundle-preview",
            }
        ),
    )

    class Meta:
        model = Bundle
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["source"].initial = yaml.safe_dump(
                self.instance.definition, allow_unicode=True, sort_keys=False
            )
        else:
            self.fields["source"].initial = EXAMPLE

    def clean_source(self) -> dict[str, Any]:
        try:
            data = yaml.safe_load(self.cleaned_data["source"])
        except yaml.YAMLError as exc:
            raise forms.ValidationError(f"YAML 有误：{exc}") from exc
        if not isinstance(data, dict):
            raise forms.ValidationError("定义应为一个映射")
        return data


def _preview_context(source: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        return {"errors": [FieldError("", f"YAML 有误：{exc}")]}
    if not isinstance(data, dict):
        return {"errors": [FieldError("", "定义应为一个映射")]}
    spec, errors = services.preview(data)
    if spec is None:
        return {"errors": errors}
    merged = merge(spec, spec.report_answers)
    result = report.compute(spec)
    return {
        "spec": spec,
        "merged": merged,
        "rows": [
            (report.LABELS[m], result.figures[m].before, result.figures[m].after)
            for m in report.MEASURES
        ],
    }


@admin.register(Bundle)
class BundleAdmin(CatalogAdmin):
    form = ComposerForm
    list_display = ("code", "name", "division_code", "updated_at")
    search_fields = ("code", "name")
    change_form_template = "admin/bundles/bundle/change_form.html"

    def get_urls(self) -> list[URLPattern]:
        preview = self.admin_site.admin_view(self.preview_view)
        return [
            path("preview/", preview, name="bundles_bundle_preview_add"),
            path("<path:object_id>/change/preview/", preview, name="bundles_bundle_preview"),
            *super().get_urls(),
        ]

    def preview_view(self, request: HttpRequest, object_id: str | None = None) -> HttpResponse:
        if not self.may_view(request.user):
            return HttpResponse(status=403)
        context = _preview_context(request.POST.get("source", ""))
        context["items"] = services.item_choices()
        return render(request, "admin/bundles/bundle/_preview.html", context)

    def save_model(self, request: HttpRequest, obj: Bundle, form: Any, change: bool) -> None:
        try:
            saved = services.check_save_bundle(request.user, form.cleaned_data["source"])
        except (ValidationFailed, DomainPermissionDenied) as exc:
            detail = "；".join(f"{e.path}: {e.message}" for e in getattr(exc, "errors", []))
            messages.error(request, f"{exc.message} {detail}")
            obj.pk = obj.pk or None
            return
        obj.pk = saved.pk
        obj.refresh_from_db()
