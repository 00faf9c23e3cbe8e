"""The applicant space (我的办件) and the online application: apply from the 情形 guide, fill in
the form the item's fields make (自动填 from the verified identity, 选择填 from earlier cases),
upload one file per material that applies (修改情形 changes the answers: ``answers_views``),
submit; then follow the case, answer a 补正 notice,
hand in 容缺 materials, withdraw, or apply again with the same answers (再来一单).

Thin: every change goes through ``tongban.cases`` services (``check_create_draft``,
``check_attach_material``, ``check_save_draft_form``, ``check_submit_application``,
``perform``); their errors are shown next to the input they name (422) or as a notice.
Anonymous visitors are sent to the login page, staff accounts get 403, and another applicant's
case is 404.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.cases import access, applications, documents, selectors
from tongban.cases.materials import atomic_uploads, check_attach_material
from tongban.cases.models import Case, CaseState
from tongban.cases.services import available_actions, check_create_draft, perform
from tongban.catalog.guide import evaluate, spec_for
from tongban.catalog.selectors import effective_item
from tongban.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.identity.permissions import is_applicant
from tongban.identity.selectors import enterprises_represented
from tongban.policies.applications import instruction_for_case
from tongban.policies.runs import yuan
from tongban.portal import forms
from tongban.portal.case_display import event_lines, progress_steps
from tongban.portal.case_files import material_of, material_response
from tongban.portal.notice_files import notice_response, progress_url
from tongban.portal.views import _effective, not_found
from tongban.sharing.services import check_fill_draft

View = Callable[..., HttpResponseBase]
FIELD_PREFIX = "f_"
FILE_PREFIX = "m_"
PAGE_SIZE = 20


def applicant_only(view: View) -> View:
    """Anonymous → login; a staff account → 403 (the applicant space is for applicants)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_applicant(request.user):
            return render(request, "portal/applicant_only.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _guide_url(code: str, division: str | None = None) -> str:
    url = reverse("portal:item_guide", args=[code])
    return url + (f"?division={division}" if division else "")


# --- apply ------------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def apply(request: HttpRequest, code: str) -> HttpResponseBase:
    """Start an application from the guide's answers: a draft is created (with the applicant
    chosen, and the 告知承诺 route when asked for) and its form is opened."""
    division = getattr(request, "division_code", None)
    if not request.user.is_authenticated:
        return redirect_to_login(_guide_url(code, division))
    if request.method == "GET":
        return HttpResponseRedirect(_guide_url(code, division))
    if not is_applicant(request.user):
        return render(request, "portal/applicant_only.html", status=403)
    try:
        effective = _effective(request, code)
    except NotFound as exc:
        return not_found(request, exc.message)
    version = effective.version
    spec = spec_for(version)
    raw = forms.raw_answers(spec, request.POST)
    answers, errors = forms.parse_with_errors(spec, raw)
    result = evaluate(spec, answers)
    if errors or not result.complete:
        messages.warning(request, _("请先回答全部问题，再在线申请。"))
        return HttpResponseRedirect(_guide_url(code, division))
    person = getattr(request.user, "person", None)
    enterprises = (
        list(enterprises_represented(person))
        if person is not None and "enterprise" in version.applicant_types
        else []
    )
    replaceable = [
        m.material
        for m in result.materials
        if m.status == "applies" and m.material.commitment_replaceable
    ]
    if not version.allows_commitment:
        replaceable = []
    chosen = request.POST.get("applicant")
    context = {
        "effective": effective,
        "version": version,
        "answers": [(forms.answer_name(k), v) for k, v in _flat(raw)],
        "enterprises": enterprises,
        "person_allowed": "person" in version.applicant_types,
        "replaceable": replaceable,
        "chosen": chosen or "",
    }
    if chosen is None and (enterprises or replaceable):
        return render(request, "portal/apply_choose.html", context)
    enterprise = next((e for e in enterprises if e.uscc == chosen), None)
    commitment = [k for k in request.POST.getlist("commitment") if k] if replaceable else []
    division_code = effective.division.code if effective.division else None
    try:
        draft = check_create_draft(
            request.user,
            item_code=code,
            division_code=division_code or version.department.division.code,
            answers=raw,
            form_data=applications.initial_form_data(request.user, version, enterprise=enterprise),
            enterprise_uscc=enterprise.uscc if enterprise else None,
            commitment_materials=commitment or None,
        )
    except DomainError as exc:
        context["error"] = exc.message
        context["errors"] = [e.message for e in exc.errors]
        return render(request, "portal/apply_choose.html", context, status=_status(exc))
    check_fill_draft(request.user, draft.pk)  # 系统填 and 免提交 from shared data
    return HttpResponseRedirect(reverse("portal:draft", args=[draft.pk]))


def _flat(raw: dict[str, Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for key, value in raw.items():
        values = value if isinstance(value, list) else [value]
        pairs.extend((key, str(v)) for v in values)
    return pairs


def _status(exc: DomainError) -> int:
    if isinstance(exc, ValidationFailed):
        return 422
    if isinstance(exc, Conflict):
        return 409
    if isinstance(exc, PermissionDenied):
        return 403
    return 404 if isinstance(exc, NotFound) else 400


# --- the draft: form and uploads ----------------------------------------------------------------


def _uploads(request: HttpRequest, case: Case, keys: list[str]) -> tuple[list[str], dict[str, str]]:
    """Attach the files posted for ``keys``; returns the keys stored and errors by key."""
    stored: list[str] = []
    errors: dict[str, str] = {}
    for key in keys:
        upload = request.FILES.get(FILE_PREFIX + key)
        if upload is None:
            continue
        try:
            check_attach_material(request.user, case.pk, key, upload.name or key, upload)
        except DomainError as exc:
            errors[key] = "；".join(e.message for e in exc.errors) or exc.message
        else:
            stored.append(key)
    return stored, errors


def _draft_context(
    request: HttpRequest,
    case: Case,
    *,
    values: dict[str, str] | None = None,
    field_errors: dict[str, str] | None = None,
    file_errors: dict[str, str] | None = None,
    error: str = "",
) -> dict[str, Any]:
    application = applications.application_of(
        case, history=applications.history_options(request.user, case)
    )
    return {
        "case": case,
        "application": application,
        "values": values or {},
        "field_errors": field_errors or {},
        "file_errors": file_errors or {},
        "error": error,
        "field_prefix": FIELD_PREFIX,
        "file_prefix": FILE_PREFIX,
    }


def open_draft(request: HttpRequest, draft_id: int) -> Case | HttpResponseBase:
    """The applicant's draft; 404 for anyone else's, and a submitted one goes to its case page."""
    try:
        case = applications.draft_for(request.user, draft_id)
    except NotFound as exc:
        return not_found(request, exc.message)
    if case.state != CaseState.DRAFT:
        return HttpResponseRedirect(reverse("portal:my_case", args=[case.number]))
    return case


@require_http_methods(["GET", "POST"])
@applicant_only
def draft(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    case = open_draft(request, draft_id)
    if not isinstance(case, Case):
        return case
    if request.method == "GET":
        return render(request, "portal/draft.html", _draft_context(request, case))

    application = applications.application_of(case)
    values = {
        f.key: request.POST.get(FIELD_PREFIX + f.key, "")
        for f in application.fields
        if not f.locked
    }
    _stored, file_errors = _uploads(request, case, [m.key for m in application.materials])
    field_errors: dict[str, str] = {}
    error = ""
    try:
        applications.check_save_draft_form(request.user, case.pk, values)
    except ValidationFailed as exc:
        field_errors = _by_field(exc.errors, "form.")
        error = exc.message
    submit = request.POST.get("intent") == "submit"
    if submit and not field_errors and not file_errors:
        try:
            check_fill_draft(request.user, case.pk, only_new=True)
            case = applications.check_submit_application(request.user, case.pk)
        except ValidationFailed as exc:
            field_errors = _by_field(exc.errors, "form.")
            file_errors = _by_field(exc.errors, "materials.")
            error = exc.message
        except DomainError as exc:
            error = exc.message
        else:
            messages.success(
                request,
                _("申请已提交，办件编号 %(number)s。请留意办理进度。") % {"number": case.number},
            )
            return HttpResponseRedirect(reverse("portal:my_case", args=[case.number]))
    if field_errors or file_errors or error:
        case = applications.draft_for(request.user, case.pk)
        context = _draft_context(
            request,
            case,
            values=values,
            field_errors=field_errors,
            file_errors=file_errors,
            error=error or _("有内容需要修改"),
        )
        return render(request, "portal/draft.html", context, status=422)
    messages.success(request, _("已保存。"))
    if request.POST.get("intent") == "answers":  # saved first, then 修改情形
        return HttpResponseRedirect(reverse("portal:draft_answers", args=[case.pk]))
    return HttpResponseRedirect(reverse("portal:draft", args=[case.pk]))


def _by_field(errors: list[FieldError], prefix: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for error in errors:
        if error.path.startswith(prefix):
            key = error.path.removeprefix(prefix)
            found[key] = "；".join(filter(None, [found.get(key, ""), error.message]))
    return found


# --- my cases ---------------------------------------------------------------------------------


@require_GET
@applicant_only
def my_cases(request: HttpRequest) -> HttpResponseBase:
    """My applications, newest first, paged by id (no counting)."""
    cursor = request.GET.get("cursor", "")
    rows = selectors.cases_of_applicant(request.user)
    if cursor and not re.fullmatch(r"[0-9]{1,18}", cursor):  # a page link edited by hand
        messages.warning(request, _("翻页链接无效，已回到第一页。"))
        return HttpResponseRedirect(reverse("portal:my_cases"))
    if cursor:
        rows = rows.filter(pk__lt=int(cursor))
    page = list(rows[: PAGE_SIZE + 1])
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    return render(
        request,
        "portal/my_cases.html",
        {
            "cases": page,
            "next_cursor": page[-1].pk if more else None,
            "first_page": not cursor,
        },
    )


def _my_case(request: HttpRequest, number: str) -> Case | HttpResponse:
    try:
        case = selectors.case_for(request.user, number)
    except NotFound as exc:
        return not_found(request, exc.message)
    if not access.is_case_applicant(request.user, case):
        return not_found(request, _("没有找到办件 %(number)s") % {"number": number})
    return case


def _case_context(
    request: HttpRequest,
    case: Case,
    *,
    supplement_errors: dict[str, str] | None = None,
    error: str = "",
) -> dict[str, Any]:
    actions = available_actions(request.user, case)
    notices = list(case.corrections.all())
    open_notice = next((n for n in reversed(notices) if n.answered_at is None), None)
    tolerated = [t for t in case.tolerated.current() if t.supplied_at is None]
    application = applications.application_of(case)
    return {
        "case": case,
        "steps": progress_steps(case),
        "events": event_lines(selectors.timeline(request.user, case), application.material_names),
        "instant_decision": selectors.instant_decision(request.user, case),
        "application": application,
        "notice": open_notice if "supplement" in actions else None,
        "tolerated": tolerated,
        "can_withdraw": "withdraw" in actions,
        "supplement_errors": supplement_errors or {},
        "error": error,
        "file_prefix": FILE_PREFIX,
        "documents": documents.visible_notices(request.user, case),
        "payment": _payment(case),
    }


def _payment(case: Case) -> dict[str, Any] | None:
    """申请制: the benefit payment a 准予 of this case wrote (amount and status)."""
    if not case.outcome:
        return None
    instruction = instruction_for_case(case.number or "")
    if instruction is None:
        return None
    return {"instruction": instruction, "amount": yuan(instruction.amount_fen)}


@require_GET
@applicant_only
def my_case(request: HttpRequest, number: str) -> HttpResponseBase:
    case = _my_case(request, number)
    if isinstance(case, HttpResponse):
        return case
    return render(request, "portal/my_case.html", _case_context(request, case))


@require_POST
@applicant_only
def supplement(request: HttpRequest, number: str) -> HttpResponseBase:
    """Answer the 补正 notice: upload replacements for its items, then hand the case back."""
    case = _my_case(request, number)
    if isinstance(case, HttpResponse):
        return case
    notice = next((n for n in case.corrections.all() if n.answered_at is None), None)
    keys = [item["material"] for item in notice.items] if notice else []
    note = request.POST.get("note", "").strip()
    errors: dict[str, str] = {}
    try:
        # all the replacements and the answer, or none of them (nor their files)
        with atomic_uploads():
            errors = _uploads(request, case, keys)[1]
            if errors:
                raise _Undo
            perform(request.user, number, "supplement", {"note": note} if note else {})
    except _Undo:
        pass
    except DomainError as exc:
        errors = {
            "": exc.message,
            **{_material_key(e.path): e.message for e in exc.errors if _material_key(e.path)},
        }
    else:
        messages.success(request, _("补正材料已提交，等待窗口重新预审。"))
        return HttpResponseRedirect(reverse("portal:my_case", args=[number]))
    case = selectors.case_for(request.user, number)
    context = _case_context(request, case, supplement_errors=errors, error=errors.get("", ""))
    return render(request, "portal/my_case.html", context, status=422)


class _Undo(Exception):
    """Leaves an ``atomic_uploads`` block so that it rolls back."""


def _material_key(path: str) -> str:
    """The material of a ``materials.<key>`` error path ("" for any other path)."""
    return path.removeprefix("materials.") if path.startswith("materials.") else ""


@require_POST
@applicant_only
def hand_in(request: HttpRequest, number: str) -> HttpResponseBase:
    """容缺补交: upload a material accepted as missing at intake."""
    case = _my_case(request, number)
    if isinstance(case, HttpResponse):
        return case
    keys = [t.material_key for t in case.tolerated.current() if t.supplied_at is None]
    stored: list[str] = []
    errors: dict[str, str] = {}
    try:
        with atomic_uploads():  # every file handed in, or none of them
            stored, errors = _uploads(request, case, keys)
            if errors:
                raise _Undo
    except _Undo:
        stored = []
    if errors or not stored:
        errors = errors or {"": _("请选择要补交的文件")}
        context = _case_context(request, case, supplement_errors=errors, error=errors.get("", ""))
        return render(request, "portal/my_case.html", context, status=422)
    messages.success(request, _("容缺材料已补交。"))
    return HttpResponseRedirect(reverse("portal:my_case", args=[number]))


@require_http_methods(["GET", "POST"])
@applicant_only
def withdraw(request: HttpRequest, number: str) -> HttpResponseBase:
    """撤回: a confirmation page, then the withdrawal."""
    case = _my_case(request, number)
    if isinstance(case, HttpResponse):
        return case
    if request.method == "GET":
        allowed = "withdraw" in available_actions(request.user, case)
        return render(request, "portal/withdraw.html", {"case": case, "allowed": allowed})
    try:
        perform(request.user, number, "withdraw", {})
    except DomainError as exc:
        context = {"case": case, "allowed": False, "error": exc.message}
        return render(request, "portal/withdraw.html", context, status=_status(exc))
    messages.success(request, _("申请已撤回。"))
    return HttpResponseRedirect(reverse("portal:my_case", args=[number]))


@require_POST
@applicant_only
def reapply(request: HttpRequest, case_id: int) -> HttpResponseBase:
    """再来一单: a new draft with the answers and form of an earlier application."""
    try:
        earlier = applications.draft_for(request.user, case_id)
    except NotFound as exc:
        return not_found(request, exc.message)
    enterprise = earlier.applicant_enterprise
    try:
        version = effective_item(earlier.item_code, earlier.division.code).version
        draft = check_create_draft(
            request.user,
            item_code=earlier.item_code,
            division_code=earlier.division.code,
            answers=earlier.answers,
            form_data=applications.initial_form_data(
                request.user, version, enterprise=enterprise, copy_of=earlier
            ),
            enterprise_uscc=enterprise.uscc if enterprise else None,
        )
    except ValidationFailed:
        messages.warning(request, _("该事项的情形问题已更新，请重新回答后申请。"))
        return HttpResponseRedirect(_guide_url(earlier.item_code, earlier.division.code))
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponseRedirect(reverse("portal:my_cases"))
    check_fill_draft(request.user, draft.pk)
    messages.success(request, _("已按上次的申请创建新的申请，请核对后提交。"))
    return HttpResponseRedirect(reverse("portal:draft", args=[draft.pk]))


@require_GET
@applicant_only
def my_material(request: HttpRequest, case_id: int, material_id: int) -> HttpResponseBase:
    try:
        case = applications.draft_for(request.user, case_id)
    except NotFound as exc:
        return not_found(request, exc.message)
    material = material_of(case, material_id)
    return material_response(material, preview=request.GET.get("preview") == "1")


@require_GET
@applicant_only
def my_notice(request: HttpRequest, number: str, key: str) -> HttpResponseBase:
    """One of the case's notices or decisions (办件文书) as PDF, with the applicant in full."""
    case = _my_case(request, number)
    if isinstance(case, HttpResponse):
        return case
    try:
        file = documents.check_download_notice(
            request.user, number, key, progress_url=progress_url(request, number)
        )
    except NotFound as exc:
        return not_found(request, exc.message)
    return notice_response(file)
