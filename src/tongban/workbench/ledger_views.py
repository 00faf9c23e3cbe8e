"""The payment ledger page of one policy (工作台 · 支付台账): its payment instructions newest first
(filter by period and status, search by payee name, keyset pages with 下一页), the totals by
status of one period, and the two acts on the ledger — 标记已发送银行 for a period and 导入银行回单
(the bank's reconciliation CSV, applied all or nothing).

Thin: reads go through ``tongban.policies.ledger``, the acts through ``runs.check_mark_sent`` and
``runs.check_import_reconciliation``, which check the permission. Staff who author, review or
approve the policy see the page; a policy the user has nothing to do with is 404. A refused act
is 403 with a banner, a wrong file 422 with each problem and its line; anonymous visitors are
sent to the login page and applicant accounts get 403.
"""

from __future__ import annotations

import os
import re
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tongban.policies import access, ledger, runs
from tongban.policies.models import Policy
from tongban.workbench.policy_views import _visible
from tongban.workbench.views import _not_found, _render, staff_only

PAGE_SIZE = 50
MAX_QUERY = 64
MAX_PERIOD = 10
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_FILE_NAME = 100


def _load(request: HttpRequest, code: str) -> Policy | HttpResponse:
    try:
        return _visible(request.user, code)
    except NotFound as exc:
        return _not_found(request, exc.message)


def _filters(data: Any) -> ledger.LedgerFilters:
    status = data.get("status", "")
    return ledger.LedgerFilters(
        period=data.get("period", "").strip()[:MAX_PERIOD],
        status=status if status in ledger.STATUS_LABELS else "",
        query=data.get("q", "").strip()[:MAX_QUERY],
    )


def _url(policy: Policy, query: dict[str, str] | None = None) -> str:
    url = reverse("workbench:policy_payments", args=[policy.code])
    return f"{url}?{urlencode(query)}" if query else url


def _page(
    request: HttpRequest,
    policy: Policy,
    filters: ledger.LedgerFilters,
    *,
    cursor: int | None = None,
    status: int = 200,
    **extra: Any,
) -> HttpResponse:
    known = ledger.periods(policy)
    shown_period = filters.period or (known[0] if known else "")
    page = ledger.ledger_page(policy, filters, cursor=cursor, size=PAGE_SIZE)
    query = filters.as_query()
    context = {
        "policy": policy,
        "filters": filters,
        "page": page,
        "periods": known,
        "statuses": list(ledger.STATUS_LABELS.items()),
        "totals": ledger.period_totals(policy, shown_period) if shown_period else None,
        "filtered": bool(query),
        "next_url": _url(policy, {**query, "cursor": str(page.next_cursor)})
        if page.next_cursor
        else "",
        "first_url": _url(policy, query) if cursor is not None else "",
        "can_manage": access.can_manage_payments(request.user, policy),
        "person": policy.target == "person",
        **extra,
    }
    return _render(request, "workbench/policies/ledger.html", context, status=status)


@require_GET
@staff_only
def payment_ledger(request: HttpRequest, code: str) -> HttpResponseBase:
    policy = _load(request, code)
    if isinstance(policy, HttpResponse):
        return policy
    raw_cursor = request.GET.get("cursor", "")
    cursor = (
        int(raw_cursor) if re.fullmatch(r"[0-9]{1,18}", raw_cursor) else None
    )  # not ², 5,000 digits
    return _page(request, policy, _filters(request.GET), cursor=cursor)


def _refused(request: HttpRequest, policy: Policy, exc: DomainError, **extra: Any) -> HttpResponse:
    """A refused act as the ledger page: 403/409 with the reason as a banner, 422 otherwise."""
    if isinstance(exc, PermissionDenied):
        status = 403
    elif isinstance(exc, Conflict):
        status = 409
    else:
        status = 422
    return _page(
        request, policy, ledger.LedgerFilters(), status=status, banner=exc.message, **extra
    )


@require_POST
@staff_only
def mark_sent(request: HttpRequest, code: str) -> HttpResponseBase:
    policy = _load(request, code)
    if isinstance(policy, HttpResponse):
        return policy
    period = request.POST.get("period", "").strip()
    if not period or len(period) > MAX_PERIOD:
        return _page(
            request,
            policy,
            ledger.LedgerFilters(),
            status=422,
            sent_error=_("请选择要发送银行的期间"),
        )
    try:
        count = runs.check_mark_sent(request.user, policy.code, period)
    except NotFound as exc:
        return _not_found(request, exc.message)
    except DomainError as exc:
        return _refused(request, policy, exc)
    messages.success(
        request,
        _("已将期间 %(period)s 的 %(n)s 笔待发送支付指令标记为已发送银行。")
        % {"period": period, "n": count},
    )
    return HttpResponseRedirect(_url(policy, {"period": period}))


@require_POST
@staff_only
def import_reconciliation(request: HttpRequest, code: str) -> HttpResponseBase:
    policy = _load(request, code)
    if isinstance(policy, HttpResponse):
        return policy
    upload = request.FILES.get("file")
    error = ""
    text = ""
    name = ""
    if upload is None:
        error = _("请选择要导入的银行回单文件（CSV）")
    elif upload.size is not None and upload.size > MAX_UPLOAD_BYTES:
        error = _("文件过大：银行回单文件不能超过 10 MB")
    else:
        name = os.path.basename(upload.name or "")[:MAX_FILE_NAME] or "reconciliation.csv"
        try:
            text = upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            error = _("文件不是 UTF-8 编码的 CSV")
    if error:
        return _page(request, policy, ledger.LedgerFilters(), status=422, upload_error=error)
    try:
        count = runs.check_import_reconciliation(request.user, policy.code, name, text)
    except runs.ReconciliationInvalid as exc:
        return _refused(request, policy, exc, problems=exc.problems, upload_name=name)
    except NotFound as exc:
        return _not_found(request, exc.message)
    except DomainError as exc:
        return _refused(request, policy, exc)
    messages.success(
        request,
        _("已导入银行回单 %(file)s：更新 %(n)s 笔支付指令。") % {"file": name, "n": count},
    )
    return HttpResponseRedirect(_url(policy))
