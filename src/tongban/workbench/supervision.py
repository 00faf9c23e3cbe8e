"""The 督办总览 page (``/workbench/supervision/``): for supervisors and department heads, each
department's open cases, review tasks and 核查 tasks by light, the overdue and at-risk work with
links to the case pages, the 督办 escalations sent and the 按时办结率 of the last 30 days, as a
table and an ECharts bar chart.

Thin: everything is read by ``tongban.cases.supervision.overview``, which decides who may see
what. Anonymous visitors go to the login page; applicants, staff who are neither supervisor
nor head, and filters outside the user's oversight get 403.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.utils.http import urlencode
from django.views.decorators.http import require_GET

from tongban.cases import supervision
from tongban.core.errors import PermissionDenied
from tongban.workbench.views import _render, staff_only


def _number(value: str) -> int | None:
    value = value.strip()
    return int(value) if re.fullmatch(r"[0-9]{1,18}", value) else None


def filters_from(query: Any) -> supervision.OverviewFilters:
    """The overview filters from a query string; values that are not numbers are ignored."""
    return supervision.OverviewFilters(
        division=_number(query.get("division", "")),
        department=_number(query.get("department", "")),
        item=query.get("item", "").strip()[:64],
    )


@require_GET
@staff_only
def overview(request: HttpRequest) -> HttpResponseBase:
    filters = filters_from(request.GET)
    try:
        result = supervision.overview(request.user, filters)
    except PermissionDenied as exc:
        return _render(request, "workbench/forbidden.html", {"message": exc.message}, status=403)
    base = {k: v for k, v in {"division": filters.division, "item": filters.item}.items() if v}
    return _render(
        request,
        "workbench/supervision.html",
        {
            "result": result,
            "filters": filters,
            "chart": supervision.chart_data(result),
            "department_query": urlencode(base) + "&" if base else "",
            "nav_supervision_current": True,
        },
    )
