"""Case documents (办件文书): ``GET /api/v1/cases/{number}/notices`` lists the notices and
decisions a case has issued; ``GET /api/v1/cases/{number}/notices/{key}.pdf`` downloads one
(``acceptance`` for the latest of a kind, ``correction-4`` for the one event 4 issued).

Thin: reads go through ``tongban.cases.documents``; a case the caller may not see, or a notice it
does not have, is 404.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Router, Schema
from ninja.security import django_auth

from tongban.api.catalog_schemas import ErrorOut
from tongban.cases import documents, selectors
from tongban.portal.notice_files import notice_response, progress_url

router = Router(tags=["cases"], auth=django_auth)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class NoticeOut(Schema):
    key: str
    kind: str
    title: str
    document_number: str
    issued_at: str
    event: int
    filename: str
    url: str


@router.get(
    "/cases/{number}/notices",
    response={200: list[NoticeOut], **ERRORS},
    summary="The case's notices and decisions (受理通知书, 补正告知书, 决定书)",
)
def case_notices(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    case = selectors.case_for(request.user, number)
    return [
        {
            "key": notice.key,
            "kind": notice.kind.slug,
            "title": notice.title,
            "document_number": notice.number,
            "issued_at": notice.issued_at.isoformat(),
            "event": notice.event.sequence,
            "filename": notice.filename(case),
            "url": reverse("api:case_notice_pdf", args=[number, notice.key]),
        }
        for notice in documents.visible_notices(request.user, case)
    ]


@router.get(
    "/cases/{number}/notices/{key}.pdf",
    response={200: bytes, **ERRORS},
    summary="One notice as PDF (key: acceptance, correction, refusal, approval, denial, "
    "or kind-eventsequence)",
    operation_id="case_notice_pdf",
    url_name="case_notice_pdf",
    openapi_extra={
        "responses": {"200": {"description": "PDF", "content": {"application/pdf": {}}}}
    },
)
def case_notice_pdf(request: HttpRequest, number: str, key: str) -> HttpResponse:
    file = documents.check_download_notice(
        request.user, number, key, progress_url=progress_url(request, number)
    )
    return notice_response(file)
