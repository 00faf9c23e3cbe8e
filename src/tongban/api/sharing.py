"""Data-sharing endpoints: what an application obtained from data sources (系统填 values, 免提交
evidence, what could not be fetched and why), asking again, the applicant's consent, the lookup
log of a case, the data sources and the prefill rates.

Thin: each endpoint calls one service or selector of ``tongban.sharing``. A draft belongs to its
applicant (anyone else: 404); a case's lookups are shown to whoever may see the case.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from tongban.api.catalog_schemas import ErrorOut
from tongban.cases import applications
from tongban.cases import selectors as case_selectors
from tongban.sharing import selectors, services
from tongban.sharing.sources import SOURCES

router = Router(tags=["sharing"], auth=django_auth)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class SharedFieldOut(Schema):
    key: str
    label: str
    data_source: str
    status: str = Field(description="obtained | unavailable | pending")
    value: Any = None
    source: str = ""
    obtained_at: str | None = None
    reason: str = ""
    needs_consent: str = ""


class SharedMaterialOut(Schema):
    key: str
    name: str
    licence_type: str
    data_source: str
    status: str = Field(description="obtained | unavailable | pending")
    exempt: bool = Field(description="免提交: no upload needed")
    summary: str = ""
    source: str = ""
    reference: str = ""
    obtained_at: str | None = None
    reason: str = ""
    needs_consent: str = ""


class SharedDataOut(Schema):
    draft: int
    fields: list[SharedFieldOut]
    materials: list[SharedMaterialOut]
    consent_sources: list[str]


class FillOut(Schema):
    obtained: list[str]
    unavailable: dict[str, str]
    consents: list[str] = Field(description="sources waiting for the applicant's consent")
    lookups: int


class ConsentIn(Schema):
    source: str
    purpose: str = ""


class ConsentOut(Schema):
    id: int
    source: str
    purpose: str
    given_at: str
    fill: FillOut


class LookupOut(Schema):
    id: int
    at: str
    source: str
    subject_kind: str
    subject: str = Field(description="masked")
    basis: str
    legal_basis: str
    consent: int | None
    purpose: str
    requester: str
    result: str
    detail: str
    attempts: int


class SourceOut(Schema):
    code: str
    name: str
    keeper: str
    subjects: list[str]
    needs_consent: bool
    legal_basis: str


class PrefillOut(Schema):
    item: str
    name: str
    fields: int
    identity: int
    data_source: int
    history: int
    typed: int
    automatic_share: float
    prefilled_share: float
    materials: int
    exempt_materials: int


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _fill(report: services.FillReport) -> dict[str, Any]:
    return {
        "obtained": report.obtained,
        "unavailable": report.unavailable,
        "consents": report.consents,
        "lookups": report.lookups,
    }


@router.get(
    "/sharing/drafts/{draft_id}",
    response={200: SharedDataOut, **ERRORS},
    summary="What shared data filled in a draft (系统填, 免提交)",
)
def draft_shared_data(request: HttpRequest, draft_id: int) -> dict[str, Any]:
    case = applications.draft_for(request.user, draft_id)
    application = applications.application_of(case)
    fields = [
        {
            "key": f.key,
            "label": f.label,
            "data_source": f.data_source,
            "status": "obtained"
            if f.shared_from
            else ("unavailable" if f.shared_note else "pending"),
            "value": f.value if f.shared_from else None,
            "source": f.shared_from,
            "obtained_at": _iso(f.shared_at),
            "reason": f.shared_note,
            "needs_consent": f.needs_consent,
        }
        for f in application.fields
        if f.prefill == "data_source"
    ]
    materials = [
        {
            "key": m.key,
            "name": m.name,
            "licence_type": m.licence_type,
            "data_source": m.data_source,
            "status": "obtained" if m.evidence else ("unavailable" if m.shared_note else "pending"),
            "exempt": m.exempt,
            "summary": m.evidence.summary if m.evidence else "",
            "source": m.evidence.source if m.evidence else "",
            "reference": m.evidence.reference if m.evidence else "",
            "obtained_at": _iso(m.evidence.obtained_at) if m.evidence else None,
            "reason": m.shared_note,
            "needs_consent": m.needs_consent,
        }
        for m in application.materials
        if m.licence_type or m.data_source
    ]
    return {
        "draft": case.pk,
        "fields": fields,
        "materials": materials,
        "consent_sources": application.consent_sources,
    }


@router.post(
    "/sharing/drafts/{draft_id}/fill",
    response={200: FillOut, **ERRORS},
    summary="Ask the data sources again for what the draft still lacks",
)
def fill_draft(request: HttpRequest, draft_id: int) -> dict[str, Any]:
    return _fill(services.check_fill_draft(request.user, draft_id))


@router.post(
    "/sharing/drafts/{draft_id}/consents",
    response={201: ConsentOut, **ERRORS},
    summary="Consent that a data source may be asked for this draft, then fill it",
)
def give_consent(request: HttpRequest, draft_id: int, payload: ConsentIn) -> Status[dict[str, Any]]:
    consent = services.check_give_consent(
        request.user, draft_id, payload.source, purpose=payload.purpose
    )
    report = services.check_fill_draft(request.user, draft_id)
    return Status(
        201,
        {
            "id": consent.pk,
            "source": consent.source,
            "purpose": consent.purpose,
            "given_at": consent.given_at.isoformat(),
            "fill": _fill(report),
        },
    )


@router.post(
    "/sharing/drafts/{draft_id}/consents/{source}/withdraw",
    response={204: None, **ERRORS},
    summary="Withdraw a consent (later lookups in that source are refused)",
)
def withdraw_consent(request: HttpRequest, draft_id: int, source: str) -> Status[None]:
    services.check_withdraw_consent(request.user, draft_id, source)
    return Status(204, None)


@router.get(
    "/sharing/cases/{number}/lookups",
    response={200: list[LookupOut], **ERRORS},
    summary="Every data lookup made for a case (applicant and the case's staff)",
)
def case_lookups(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    case = case_selectors.case_for(request.user, number)
    return [
        {
            "id": row.pk,
            "at": row.at.isoformat(),
            "source": row.source,
            "subject_kind": row.subject_kind,
            "subject": row.subject_masked,
            "basis": row.basis,
            "legal_basis": row.legal_basis,
            "consent": row.consent_id,
            "purpose": row.purpose,
            "requester": str(row.requester),
            "result": row.result,
            "detail": row.detail,
            "attempts": row.attempts,
        }
        for row in selectors.lookups_for_case(request.user, case)[:500]
    ]


@router.get(
    "/sharing/sources", response=list[SourceOut], auth=None, summary="The data sources (数源)"
)
def list_sources(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": s.code,
            "name": s.name,
            "keeper": s.keeper,
            "subjects": list(s.subjects),
            "needs_consent": s.needs_consent,
            "legal_basis": s.legal_basis,
        }
        for s in SOURCES.values()
    ]


@router.get(
    "/sharing/prefill-rates",
    response=list[PrefillOut],
    auth=None,
    summary="Per item: fields filled without typing (自动填/系统填/选择填)",
)
def prefill_rates(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "item": r.code,
            "name": r.name,
            "fields": r.fields,
            "identity": r.identity,
            "data_source": r.data_source,
            "history": r.history,
            "typed": r.typed,
            "automatic_share": round(r.automatic_share, 4),
            "prefilled_share": round(r.prefilled_share, 4),
            "materials": r.materials,
            "exempt_materials": r.exempt_materials,
        }
        for r in selectors.prefill_rates()
    ]
