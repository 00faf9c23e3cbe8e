"""Workbench pages for e-licences (工作台 · 电子证照) of the issuing department: the register of
the licences its departments issued (search by number or holder name, filter by status and
type, newest first, keyset pages with 下一页), and one licence with its versions, grants, access
log and status-list index, with the forms for the acts the user may take — 变更, 补发/重新签发,
注销 and 撤销, each with a required reason.

Thin: reads go through ``tongban.licences.selectors``, every change through one
``tongban.licences.services.check_*`` call, which checks the permission. Holders' names and
identifiers are shown masked. Domain errors come back as pages: 422 with the message next to
the input, 409/403 as a banner, 404 for a licence of another department. Anonymous visitors
are sent to the login page; applicant accounts get 403.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed
from tongban.identity.permissions import can_administer_system
from tongban.licences import access, selectors, services
from tongban.licences.models import Licence, LicenceState
from tongban.workbench.views import _not_found, _render, staff_only

PAGE_SIZE = 25
MAX_QUERY = 64
DATA_PREFIX = "data_"


@dataclass(frozen=True)
class Input:
    name: str
    label: str
    value: str = ""
    error: str = ""
    kind: str = "text"
    required: bool = False


@dataclass(frozen=True)
class LicenceActionForm:
    """One act on the licence as a form: its inputs, and the error of a refused attempt."""

    action: str
    title: str
    button: str
    help: str
    inputs: tuple[Input, ...]
    danger: bool = False
    error: str = ""


def _forbidden(request: HttpRequest) -> HttpResponse:
    return _render(
        request,
        "workbench/forbidden.html",
        {"message": _("您没有发证部门的岗位角色，不能查看电子证照。")},
        status=403,
    )


@require_GET
@staff_only
def licence_list(request: HttpRequest) -> HttpResponseBase:
    if not access.issuing_departments(request.user):
        return _forbidden(request)
    types = list(selectors.issued_types(request.user))
    status = request.GET.get("status", "")
    licence_type = request.GET.get("type", "")
    filters = selectors.IssuedFilters(
        query=request.GET.get("q", "").strip()[:MAX_QUERY],
        status=status if status in selectors.STATUS_LABELS else "",
        licence_type=licence_type if any(t.code == licence_type for t in types) else "",
    )
    raw_cursor = request.GET.get("cursor", "")
    cursor = (
        int(raw_cursor) if re.fullmatch(r"[0-9]{1,18}", raw_cursor) else None
    )  # not ², 5,000 digits
    page = selectors.issued_page(request.user, filters, cursor=cursor, size=PAGE_SIZE)
    query = filters.as_query()
    next_url = (
        "?" + urlencode({**query, "cursor": str(page.next_cursor)}) if page.next_cursor else ""
    )
    return _render(
        request,
        "workbench/licences/list.html",
        {
            "page": page,
            "filters": filters,
            "statuses": list(selectors.STATUS_LABELS.items()),
            "types": types,
            "filtered": bool(query),
            "next_url": next_url,
            "first_url": "?" + urlencode(query) if cursor is not None else "",
            "nav_licences_current": True,
        },
    )


def _editable_fields(licence: Licence) -> list[tuple[str, str]]:
    """(key, label) of the type's fields whose content is text (or still empty) and shown
    unmasked — a field holding the holder's personal data is never put into a form."""
    fields = [(f.get("key"), f.get("label") or f.get("key")) for f in licence.licence_type.fields]
    if not fields:
        fields = [(key, key) for key in licence.data]
    masked = {row.key for row in selectors.staff_data(licence) if row.masked}
    return [
        (str(key), str(label))
        for key, label in fields
        if key and key not in masked and isinstance(licence.data.get(key, ""), str)
    ]


def _reason(value: str = "") -> Input:
    return Input("reason", _("理由"), value, kind="textarea", required=True)


def _action_forms(actor: Any, licence: Licence) -> list[LicenceActionForm]:
    """The acts ``actor`` may take on ``licence`` now (the services check again)."""
    if licence.state != LicenceState.VALID:
        return []
    forms = []
    if access.is_issuer_staff(actor, licence):
        fields = _editable_fields(licence)
        if fields:
            inputs = tuple(
                Input(DATA_PREFIX + key, label, str(licence.data.get(key, "")))
                for key, label in fields
            )
            forms.append(
                LicenceActionForm(
                    "change",
                    _("变更"),
                    _("变更证照"),
                    _("改动的内容形成新的版本并重新签章，原版本保留在版本记录中。"),
                    (*inputs, _reason()),
                )
            )
        forms.append(
            LicenceActionForm(
                "reissue",
                _("补发/重新签发"),
                _("重新签发"),
                _("自今日起按证照类型的有效期重新签发，形成新的版本。"),
                (_reason(),),
            )
        )
    if access.is_issuer_head(actor, licence):
        forms.append(
            LicenceActionForm(
                "cancel",
                _("注销"),
                _("注销证照"),
                _("例如持证人申请注销或主体已终止。注销后证照失效，不能恢复。"),
                (_reason(),),
                danger=True,
            )
        )
    if access.is_issuer_head(actor, licence) or can_administer_system(actor):
        forms.append(
            LicenceActionForm(
                "revoke",
                _("撤销"),
                _("撤销证照"),
                _("依法撤销行政许可时使用。撤销后证照失效，核验时显示已撤销。"),
                (_reason(),),
                danger=True,
            )
        )
    return forms


def _detail_context(
    request: HttpRequest,
    licence: Licence,
    *,
    failed: LicenceActionForm | None = None,
    banner: str = "",
) -> dict[str, Any]:
    forms = _action_forms(request.user, licence)
    if failed is not None:
        forms = [failed if f.action == failed.action else f for f in forms]
    return {
        "licence": licence,
        "row": selectors.issued_row(licence),
        "data": selectors.staff_data(licence),
        "versions": list(selectors.versions(licence)),
        "grants": list(selectors.grants(licence)),
        "accesses": list(selectors.accesses(licence)[:50]),
        "forms": forms,
        "banner": banner,
        "nav_licences_current": True,
    }


def _load(request: HttpRequest, number: str) -> Licence | HttpResponse:
    try:
        return selectors.issued_licence(request.user, number)
    except NotFound as exc:
        return _not_found(request, exc.message)


@require_GET
@staff_only
def licence_detail(request: HttpRequest, number: str) -> HttpResponseBase:
    licence = _load(request, number)
    if isinstance(licence, HttpResponse):
        return licence
    return _render(request, "workbench/licences/detail.html", _detail_context(request, licence))


def _change(actor: Any, licence: Licence, post: Any, reason: str) -> Licence:
    changed = {}
    for key, _label in _editable_fields(licence):
        name = DATA_PREFIX + key
        if name in post:
            value = post.get(name, "").strip()
            if value != str(licence.data.get(key, "")):
                changed[key] = value
    return services.check_change(actor, licence.number, changed, reason)


ACTS: dict[str, Callable[[Any, Licence, Any, str], Licence]] = {
    "change": _change,
    "reissue": lambda actor, licence, post, reason: services.check_reissue(
        actor, licence.number, reason
    ),
    "cancel": lambda actor, licence, post, reason: services.check_cancel(
        actor, licence.number, reason
    ),
    "revoke": lambda actor, licence, post, reason: services.check_revoke(
        actor, licence.number, reason
    ),
}


def _done_message(action: str) -> str:
    return {
        "change": _("证照已变更，新版本已签章。"),
        "reissue": _("证照已重新签发。"),
        "cancel": _("证照已注销。"),
        "revoke": _("证照已撤销。"),
    }[action]


def _failed_form(
    request: HttpRequest, licence: Licence, action: str, exc: DomainError
) -> LicenceActionForm | None:
    """The action's form with what was typed and each field error next to its input."""
    form = next((f for f in _action_forms(request.user, licence) if f.action == action), None)
    if form is None:
        return None
    names = {i.name for i in form.inputs}
    errors: dict[str, str] = {}
    unplaced = []
    for error in exc.errors:
        path = error.path
        name = DATA_PREFIX + path[len("data.") :] if path.startswith("data.") else path
        if name in names:
            errors[name] = error.message
        elif path != "data":
            unplaced.append(error.message)
    inputs = tuple(
        replace(i, value=request.POST.get(i.name, i.value), error=errors.get(i.name, ""))
        for i in form.inputs
    )
    message = exc.message + ("：" + "；".join(unplaced) if unplaced else "")
    return replace(form, inputs=inputs, error=message)


@require_POST
@staff_only
def licence_action(request: HttpRequest, number: str, action: str) -> HttpResponseBase:
    act = ACTS.get(action)
    if act is None:
        return _not_found(request, _("没有这个操作"))
    licence = _load(request, number)
    if isinstance(licence, HttpResponse):
        return licence
    try:
        act(request.user, licence, request.POST, request.POST.get("reason", ""))
    except NotFound as exc:
        return _not_found(request, exc.message)
    except ValidationFailed as exc:
        failed = _failed_form(request, licence, action, exc)
        context = _detail_context(
            request, licence, failed=failed, banner="" if failed else exc.message
        )
        return _render(request, "workbench/licences/detail.html", context, status=422)
    except (Conflict, PermissionDenied) as exc:
        context = _detail_context(request, licence, banner=exc.message)
        status = 409 if isinstance(exc, Conflict) else 403
        return _render(request, "workbench/licences/detail.html", context, status=status)
    messages.success(request, _done_message(action))
    return HttpResponseRedirect(reverse("workbench:licence", args=[number]))
