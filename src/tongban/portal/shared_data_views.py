"""Shared data in the online application (数据共享): the applicant consents to a data source
being asked for their draft, or asks again for what could not be fetched (a source was down);
and the public page of prefill rates (how much of each item's form is filled without typing).

Thin: changes go through ``tongban.sharing.services`` (``check_give_consent``,
``check_fill_draft``); reads through ``tongban.sharing.selectors``. Anonymous visitors are sent
to the login page, staff accounts get 403, another applicant's draft is 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from tongban.core.errors import Conflict, DomainError, NotFound
from tongban.portal.applicant_views import applicant_only
from tongban.portal.views import not_found
from tongban.sharing import selectors, services
from tongban.sharing.sources import label_of


def _report_message(request: HttpRequest, report: services.FillReport) -> None:
    if report.unavailable:
        messages.warning(
            request,
            _("已获取 %(got)d 项共享数据；%(missing)d 项暂未获取，请按提示填写或上传。")
            % {"got": len(report.obtained), "missing": len(report.unavailable)},
        )
    else:
        messages.success(request, _("已获取 %(got)d 项共享数据。") % {"got": len(report.obtained)})


@require_POST
@applicant_only
def consent(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    """授权查询: record the applicant's consent for one source, then fetch what it holds."""
    code = request.POST.get("source", "")
    try:
        services.check_give_consent(request.user, draft_id, code)
        report = services.check_fill_draft(request.user, draft_id)
    except NotFound as exc:
        return not_found(request, exc.message)
    except Conflict:
        return HttpResponseRedirect(reverse("portal:my_cases"))
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.info(request, _("已记录您对“%(source)s”的查询授权。") % {"source": label_of(code)})
        _report_message(request, report)
    return HttpResponseRedirect(reverse("portal:draft", args=[draft_id]))


@require_POST
@applicant_only
def refresh(request: HttpRequest, draft_id: int) -> HttpResponseBase:
    """重新获取: ask the sources again for what could not be fetched."""
    try:
        report = services.check_fill_draft(request.user, draft_id)
    except NotFound as exc:
        return not_found(request, exc.message)
    except Conflict:
        return HttpResponseRedirect(reverse("portal:my_cases"))
    _report_message(request, report)
    return HttpResponseRedirect(reverse("portal:draft", args=[draft_id]))


@require_GET
def prefill_rates(request: HttpRequest) -> HttpResponseBase:
    """How much of each item's form is filled without typing (public catalog figures)."""
    rates = selectors.prefill_rates()
    return render(
        request,
        "portal/prefill_rates.html",
        {"rates": rates, "summary": selectors.prefill_summary(rates)},
    )
