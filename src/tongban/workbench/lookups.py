"""The data lookups made for a case (数据共享查询记录), for staff who may see the case: which
source was asked, by whom, on what ground, for what purpose and with what result. Subjects are
shown masked. Thin: reads through ``tongban.sharing.selectors``."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_GET

from tongban.core.errors import NotFound
from tongban.sharing import selectors
from tongban.sharing.sources import label_of
from tongban.workbench.views import _load, _not_found, _render, staff_only

PAGE_SIZE = 200


@require_GET
@staff_only
def case_lookups(request: HttpRequest, number: str) -> HttpResponseBase:
    case = _load(request, number)
    if isinstance(case, HttpResponse):
        return case
    try:
        rows = list(selectors.lookups_for_case(request.user, case)[:PAGE_SIZE])
    except NotFound as exc:
        return _not_found(request, exc.message)
    return _render(
        request,
        "workbench/lookups.html",
        {
            "case": case,
            "lookups": [(row, label_of(row.source)) for row in rows],
            "items": selectors.shared_items(case),
            "consents": selectors.consents_of(case),
        },
    )
