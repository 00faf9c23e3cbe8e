"""Serving a case document (办件文书) PDF from the applicant space and the workbench: the views
have already checked who asks; this module only turns ``tongban.cases.documents`` results into
a download response that is never cached on the way."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from tongban.cases import documents


def progress_url(request: HttpRequest, number: str) -> str:
    """The applicant's page of the case, printed as a QR code on each notice."""
    return request.build_absolute_uri(reverse("portal:my_case", args=[number]))


def notice_response(file: documents.NoticeFile) -> HttpResponse:
    response = HttpResponse(file.content, content_type="application/pdf")
    response["Content-Disposition"] = file.content_disposition
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
