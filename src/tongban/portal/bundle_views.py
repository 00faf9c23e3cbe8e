"""一件事 pages: the list, the bundle guide (merged questionnaire, material list, reform report
chart), the one merged application form, and the applicant's bundle cases with the combined
status and timeline. Thin: merging, submission and withdrawal are ``tongban.bundles`` services.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.bundles import report, selectors, services
from tongban.bundles.merging import Merged, merge
from tongban.core.errors import DomainError, FieldError, NotFound, ValidationFailed
from tongban.core.uploads import MB, read_within
from tongban.identity.permissions import is_applicant
from tongban.portal.views import not_found


def _answers(data: QueryDict, merged_keys: dict[str, str]) -> dict[str, Any]:
    """Answers from a form: multi-choice questions give lists, others one value."""
    out: dict[str, Any] = {}
    for key, kind in merged_keys.items():
        if kind == "multi_choice":
            values = data.getlist(f"q_{key}")
            if values:
                out[key] = values
        elif data.get(f"q_{key}", "") != "":
            out[key] = data.get(f"q_{key}")
    return out


def _question_types(code: str) -> dict[str, str]:
    spec = selectors.bundle_spec(code)
    kinds = {q.spec.key: q.spec.answer_type for q in spec.questions}
    for component in spec.components:
        for q in component.item.guide.questions:
            kinds.setdefault(q.spec.key, q.spec.answer_type)
    return kinds


def _chart(result: report.Report) -> dict[str, Any]:
    published = result.published or {}
    return {
        "labels": [report.LABELS[m] for m in report.MEASURES],
        "before": [result.figures[m].before for m in report.MEASURES],
        "after": [result.figures[m].after for m in report.MEASURES],
        "published_before": [published.get(m, {}).get("before") for m in report.MEASURES],
        "published_after": [published.get(m, {}).get("after") for m in report.MEASURES],
        "names": [
            _("改革前（计算）"),
            _("改革后（计算）"),
            _("改革前（公布）"),
            _("改革后（公布）"),
        ],
    }


def _rows(result: report.Report) -> list[dict[str, Any]]:
    published = result.published or {}
    return [
        {
            "label": report.LABELS[m],
            "before": result.figures[m].before,
            "after": result.figures[m].after,
            "saved": result.figures[m].saved_percent,
            "published": published.get(m),
        }
        for m in report.MEASURES
    ]


@require_GET
def bundle_list(request: HttpRequest) -> HttpResponseBase:
    rows = []
    for bundle in selectors.list_bundles():
        spec = selectors.spec_of(bundle)
        rows.append({"bundle": bundle, "spec": spec, "report": report.compute(spec)})
    return render(request, "portal/bundles/list.html", {"rows": rows})


@require_GET
def bundle_guide(request: HttpRequest, code: str) -> HttpResponseBase:
    try:
        spec = selectors.bundle_spec(code)
    except NotFound as exc:
        return not_found(request, exc.message)
    answers = _answers(request.GET, _question_types(code))
    merged = merge(spec, answers)
    result = report.compute(spec)
    context = {
        "spec": spec,
        "merged": merged,
        "report": result,
        "rows": _rows(result),
        "chart": _chart(result),
        "complete": not merged.unanswered and not merged.errors,
        "query": request.GET.urlencode(),
    }
    if request.headers.get("HX-Request"):
        return render(request, "portal/bundles/_merged.html", context)
    return render(request, "portal/bundles/guide.html", context)


def _form_context(
    request: HttpRequest, code: str, merged: Merged, values: dict[str, Any]
) -> dict[str, Any]:
    return {
        "spec": merged.spec,
        "merged": merged,
        "fields": [
            {"field": f, "value": values.get(f.key, ""), "locked": services.locked(f)}
            for f in merged.fields
            if f.status == "applies"
        ],
        "uploads": [
            m
            for m in merged.materials
            if m.status == "applies" and m.coverage in ("upload", "optional")
        ],
        "covered": [
            m
            for m in merged.materials
            if m.status == "applies" and m.coverage in ("exempt", "produced")
        ],
    }


@require_http_methods(["GET", "POST"])
def bundle_apply(request: HttpRequest, code: str) -> HttpResponseBase:
    """The one merged form: typed fields once, one upload per merged material."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not is_applicant(request.user):
        return render(request, "portal/applicant_only.html", status=403)
    try:
        spec = selectors.bundle_spec(code)
    except NotFound as exc:
        return not_found(request, exc.message)
    source = request.POST if request.method == "POST" else request.GET
    answers = _answers(source, _question_types(code))
    merged = merge(spec, answers)
    if merged.unanswered or merged.errors:
        messages.warning(request, _("请先回答全部问题，再在线申请。"))
        return HttpResponseRedirect(reverse("portal:bundle_guide", args=[code]))
    if request.method == "GET":
        values = services.initial_values(request.user, merged)
        context = _form_context(request, code, merged, values)
        return render(request, "portal/bundles/apply.html", context)
    form = {f.key: request.POST.get(f"f_{f.key}", "") for f in merged.fields}
    try:
        files = _read_files(request, merged)
        bundle_case = services.check_submit_bundle(
            request.user, code, answers=answers, form=form, files=files
        )
    except ValidationFailed as exc:
        values = {
            **services.initial_values(request.user, merged),
            **{k: v for k, v in form.items() if v},
        }
        context = _form_context(request, code, merged, values)
        context["errors"] = {e.path: e.message for e in exc.errors}
        context["error_message"] = exc.message
        return render(request, "portal/bundles/apply.html", context, status=422)
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("portal:bundle_guide", args=[code]))
    messages.success(request, _("一件事申请已提交，各事项将并联办理。"))
    return HttpResponseRedirect(reverse("portal:my_bundle", args=[bundle_case.number]))


def _read_files(request: HttpRequest, merged: Merged) -> dict[str, tuple[str, bytes]]:
    """The uploaded files by material, each read no further than its material's size limit;
    every file that is too large is named at once (``materials.<key>``)."""
    files: dict[str, tuple[str, bytes]] = {}
    errors: list[FieldError] = []
    for m in merged.materials:
        upload = request.FILES.get(f"m_{m.key}")
        if upload is None:
            continue
        try:
            content = read_within(upload, m.max_size_mb * MB, path=f"materials.{m.key}")
        except ValidationFailed as exc:
            errors += exc.errors
        else:
            files[m.key] = (upload.name or m.key, content)
    if errors:
        raise ValidationFailed(_("上传的文件不符合要求"), code="file_too_large", errors=errors)
    return files


@require_GET
def my_bundles(request: HttpRequest) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    cases = selectors.my_bundle_cases(request.user)
    rows = [{"case": c, "status": selectors.bundle_status(c)} for c in cases]
    return render(request, "portal/bundles/my_list.html", {"rows": rows})


@require_GET
def my_bundle(request: HttpRequest, number: str) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    try:
        bundle_case = selectors.get_bundle_case(request.user, number)
    except NotFound as exc:
        return not_found(request, exc.message)
    if not selectors.is_bundle_applicant(request.user, bundle_case):
        return not_found(request, _("没有找到该一件事办件"))
    context = {
        "bundle_case": bundle_case,
        "status": selectors.bundle_status(bundle_case),
        "timeline": selectors.timeline(request.user, bundle_case),
        "can_withdraw": bundle_case.state not in ("withdrawn", "completed"),
    }
    return render(request, "portal/bundles/my_case.html", context)


@require_POST
def withdraw_bundle(request: HttpRequest, number: str) -> HttpResponseBase:
    if not request.user.is_authenticated:
        return redirect_to_login(reverse("portal:my_bundle", args=[number]))
    try:
        services.check_withdraw_bundle(request.user, number, request.POST.get("reason", ""))
    except NotFound as exc:
        return not_found(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤回一件事申请，尚在办理中的事项均已撤回。"))
    return HttpResponseRedirect(reverse("portal:my_bundle", args=[number]))
