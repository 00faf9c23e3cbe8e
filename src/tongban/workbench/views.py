"""Workbench pages (工作台) for staff: the queues of their roles with traffic lights, the case page
with only the actions they may take, personal data shown masked until they deliberately ask, the
case's files, bulk 受理 from the intake queue, and for a benefit applied for (申请制) what the
policy rules say about paying it (兑现核定).

Thin: reads go through ``tongban.cases.queues``/``selectors``/``applications``, every change
through ``tongban.cases.services.perform`` (one transaction per case). Domain errors come back as
pages: 422 with the messages next to the inputs, 409/403 as a banner, 404 for a case the user
may not see. Anonymous visitors are sent to the login page; applicant accounts get 403.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tongban.cases import access, applications, documents, queues, reveal, selectors
from tongban.cases.materials import check_open_material
from tongban.cases.models import Case, CaseState
from tongban.cases.services import available_actions, perform
from tongban.cases.supervision import may_oversee
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.identity.permissions import is_staff_member
from tongban.licences import access as licence_access
from tongban.policies.applications import benefit_panel
from tongban.portal.case_display import event_lines
from tongban.portal.case_files import material_response
from tongban.portal.notice_files import notice_response, progress_url
from tongban.workbench import forms

View = Callable[..., HttpResponseBase]
REVEAL_PURPOSES = (
    "核验申请人身份",
    "联系申请人",
    "核对申请材料",
    "制作决定文书",
)
MAX_BULK = 50


def _after_login(request: HttpRequest) -> str:
    """Where the login page sends the user back: the page asked for; for a form posted once the
    session has ended, the page the form is on — its URL takes only POST, and every workbench
    form posts to the URL one step below its page (a case's actions, a queue's bulk 受理)."""
    if request.method in ("GET", "HEAD"):
        return request.get_full_path()
    return request.path.rstrip("/").rsplit("/", 1)[0] + "/"


def staff_only(view: View) -> View:
    """Anonymous → login; signed in but not staff → 403."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_authenticated:
            return redirect_to_login(_after_login(request))
        if not is_staff_member(request.user):
            return render(request, "workbench/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return wrapped


def _render(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    """Render a workbench page; every page shows the user's queues in its bar."""
    context = {
        "nav_queues": queues.queues_for(request.user),
        "nav_supervision": may_oversee(request.user),
        "nav_licences": bool(licence_access.issuing_departments(request.user)),
        "yellow_days": queues.yellow_workdays(),
        **(context or {}),
    }
    return render(request, template, context, status=status)


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return _render(request, "workbench/not_found.html", {"message": message}, status=404)


@require_GET
@staff_only
def home(request: HttpRequest) -> HttpResponseBase:
    number = request.GET.get("number", "").strip()[:40]
    if number:
        try:
            case = selectors.case_for(request.user, number)
        except NotFound:
            messages.error(request, _("没有找到办件 %(number)s") % {"number": number})
        else:
            return HttpResponseRedirect(reverse("workbench:case", args=[case.number]))
    return _render(request, "workbench/home.html", {"queues": queues.queues_for(request.user)})


def _filters(request: HttpRequest, spec: queues.QueueSpec, departments: list[Any]) -> Any:
    light = request.GET.get("light", "")
    state = request.GET.get("state", "")
    department = request.GET.get("department", "")
    department_ids = {d.pk for d in departments}
    return queues.QueueFilters(
        item=request.GET.get("item", "").strip()[:64],
        light=light if light in spec.lights else "",
        state=state if state in spec.states else "",
        department=int(department)
        if re.fullmatch(r"[0-9]{1,18}", department) and int(department) in department_ids
        else None,
    )


@require_GET
@staff_only
def queue(request: HttpRequest, name: str) -> HttpResponseBase:
    spec = queues.QUEUES.get(name)
    if spec is None:
        raise Http404
    mine = queues.queues_for(request.user)
    if spec not in mine:
        return _render(request, "workbench/forbidden.html", {"queue": spec}, status=403)
    departments = queues.supervised_departments(request.user) if name.startswith("risk") else []
    filters = _filters(request, spec, departments)
    try:
        page = queues.queue_page(
            request.user, name, filters=filters, cursor=request.GET.get("cursor") or None
        )
    except ValidationFailed:  # a page link edited or cut short: start again at the first page
        messages.warning(request, _("翻页链接无效，已回到第一页。"))
        first = request.GET.copy()
        first.pop("cursor", None)
        url = reverse("workbench:queue", args=[name])
        return HttpResponseRedirect(f"{url}?{first.urlencode()}" if first else url)
    missing = (
        applications.missing_by_case(row.case for row in page.rows) if name == "intake" else {}
    )
    query = {
        k: v
        for k, v in {
            "item": filters.item,
            "light": filters.light,
            "state": filters.state,
            "department": filters.department or "",
        }.items()
        if v
    }
    next_url = "?" + urlencode({**query, "cursor": page.next_cursor}) if page.next_cursor else ""
    return _render(
        request,
        "workbench/queue.html",
        {
            "spec": spec,
            "queues": mine,
            "page": page,
            "rows": [(row, missing.get(row.case.pk)) for row in page.rows],
            "filters": filters,
            "lights": [(value, queues.LIGHT_LABELS.get(value)) for value in spec.lights],
            "states": [(s, CaseState(s).label) for s in spec.states]
            if len(spec.states) > 1
            else [],
            "departments": departments,
            "next_url": next_url,
            "first_url": "?" + urlencode(query) if request.GET.get("cursor") else "",
            "filtered": bool(query),
            "bulk": name == "intake",
        },
    )


@require_POST
@staff_only
def bulk_accept(request: HttpRequest) -> HttpResponseBase:
    """受理 several complete applications at once; each is its own transaction and gets its
    own line in the report. Incomplete ones are left for a case-by-case check."""
    numbers = list(dict.fromkeys(n for n in request.POST.getlist("case") if n))[:MAX_BULK]
    if not numbers:
        messages.warning(request, _("请先勾选要受理的办件"))
    for number in numbers:
        try:
            case = selectors.case_for(request.user, number)
            missing = applications.application_of(case).missing
            if missing:
                raise Conflict(_("材料或表单不完整，请逐件预审"), code="incomplete")
            perform(request.user, number, "accept", {})
        except DomainError as exc:
            messages.error(request, f"{number}：{exc.message}")
        else:
            messages.success(request, _("%(number)s：已受理") % {"number": number})
    target = reverse("workbench:queue", args=["intake"])
    back = request.POST.get("query", "")
    return HttpResponseRedirect(target + ("?" + back if back and "//" not in back else ""))


# --- the case page ------------------------------------------------------------------------------


def _case_context(
    request: HttpRequest,
    case: Case,
    *,
    failed: forms.ActionForm | None = None,
    banner: str = "",
    revealed: reveal.Revealed | None = None,
) -> dict[str, Any]:
    actor = request.user
    application = applications.application_of(case)
    actions = available_actions(actor, case)
    action_forms = forms.action_forms(actor, case, actions, application)
    if failed is not None:
        action_forms = [failed if f.key == failed.key else f for f in action_forms]
        if all(f.key != failed.key for f in action_forms):
            banner = banner or failed.error
    clock_stops = list(case.clock_stops.all())
    corrections = list(case.corrections.all())
    tasks = access.case_tasks(case)
    signals = queues.case_signals(case, tasks, stopped=any(s.ended_on is None for s in clock_stops))
    return {
        "case": case,
        "application": application,
        "signal": signals.case,
        "tasks": [(task, signals.tasks.get(task.pk)) for task in tasks],
        "corrections": corrections,
        "tolerated": list(case.tolerated.current()),
        "commitment": application.commitment,
        "clock_stops": clock_stops,
        "events": event_lines(selectors.timeline(actor, case), application.material_names),
        "instant_decision": revealed.instant_decision
        if revealed
        else selectors.instant_decision(actor, case),
        "forms": action_forms,
        "deemed_accepted_on": selectors.deemed_accepted(case),
        "banner": banner,
        "may_reveal": access.may_reveal_applicant(actor, case),
        "may_open_files": access.may_open_materials(actor, case),
        "revealed": revealed is not None,
        "purposes": REVEAL_PURPOSES,
        "documents": documents.visible_notices(actor, case),
        "documents_masked": not documents.shows_applicant_in_full(actor, case),
        "benefit": benefit_panel(case),
    }


def _load(request: HttpRequest, number: str) -> Case | HttpResponse:
    try:
        case = selectors.case_for(request.user, number)
    except NotFound as exc:
        return _not_found(request, exc.message)
    return case


@require_GET
@staff_only
def case_detail(request: HttpRequest, number: str) -> HttpResponseBase:
    case = _load(request, number)
    if isinstance(case, HttpResponse):
        return case
    return _render(request, "workbench/case.html", _case_context(request, case))


@require_POST
@staff_only
def case_action(request: HttpRequest, number: str, action: str) -> HttpResponseBase:
    case = _load(request, number)
    if isinstance(case, HttpResponse):
        return case
    payload = forms.payload_from(request.POST)
    try:
        perform(request.user, number, action, payload)
    except NotFound as exc:
        return _not_found(request, exc.message)
    except ValidationFailed as exc:
        case = selectors.case_for(request.user, number)
        failed = _failed_form(request, case, action, payload, exc)
        context = _case_context(request, case, failed=failed)
        return _render(request, "workbench/case.html", context, status=422)
    except (Conflict, PermissionDenied) as exc:
        case = selectors.case_for(request.user, number)
        context = _case_context(request, case, banner=exc.message)
        status = 409 if isinstance(exc, Conflict) else 403
        return _render(request, "workbench/case.html", context, status=status)
    messages.success(request, forms.done_message(action))
    return HttpResponseRedirect(reverse("workbench:case", args=[number]))


def _failed_form(
    request: HttpRequest, case: Case, action: str, payload: dict[str, Any], exc: DomainError
) -> forms.ActionForm:
    application = applications.application_of(case)
    candidates = forms.action_forms(request.user, case, [action], application)
    if action in forms.TASK_ACTIONS:
        key = f"task-{payload.get('task')}"
    elif action in forms.ROUTING_ACTIONS:
        key = f"route-{payload.get('task')}"
    else:
        key = action
    form = next((f for f in candidates if f.key == key), None)
    if form is None:
        form = forms.ActionForm(key, action, ())
    return forms.with_errors(form, request.POST, payload, exc.message, exc.errors)


@require_POST
@staff_only
def reveal_applicant(request: HttpRequest, number: str) -> HttpResponseBase:
    """Show the applicant's personal data unmasked — in the applicant box, on the form and in
    the 决定依据 — once, after recording who asked, why and what was shown."""
    case = _load(request, number)
    if isinstance(case, HttpResponse):
        return case
    try:
        revealed = reveal.check_reveal_applicant(
            request.user, case, request.POST.get("purpose", "")
        )
    except PermissionDenied:
        context = _case_context(request, case, banner=_("您不能查看该申请人的完整个人信息"))
        return _render(request, "workbench/case.html", context, status=403)
    except ValidationFailed as exc:
        context = _case_context(request, case, banner=exc.message)
        return _render(request, "workbench/case.html", context, status=422)
    context = _case_context(request, case, revealed=revealed)
    response = _render(request, "workbench/case.html", context)
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@staff_only
def material_file(request: HttpRequest, number: str, material_id: int) -> HttpResponseBase:
    """A case file for handling staff, logged as personal-data access; supervisors get 403."""
    try:
        material = check_open_material(request.user, number, material_id)
    except NotFound as exc:
        return _not_found(request, exc.message)
    except PermissionDenied as exc:
        return render(request, "workbench/forbidden.html", {"message": exc.message}, status=403)
    return material_response(material, preview=request.GET.get("preview") == "1")


@require_GET
@staff_only
def notice_file(request: HttpRequest, number: str, key: str) -> HttpResponseBase:
    """One of the case's notices or decisions as PDF. Handling staff get the document as served
    (logged as personal-data access); other staff who may see the case get a masked copy."""
    case = _load(request, number)
    if isinstance(case, HttpResponse):
        return case
    try:
        file = documents.check_download_notice(
            request.user, number, key, progress_url=progress_url(request, number)
        )
    except NotFound as exc:
        return _not_found(request, exc.message)
    return notice_response(file)
