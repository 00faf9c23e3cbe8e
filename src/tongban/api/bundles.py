"""一件事 endpoints under ``/api/v1/bundles``: the list with each bundle's reform report, the
merged questionnaire/form/materials for given answers, one application → many cases, a bundle
case with its combined status and timeline, and withdrawal.

Thin: each endpoint calls one service or selector; errors come back as 401/403/404/409/422
with field paths (``tongban.api.router``).
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from tongban.api.catalog_schemas import ErrorOut
from tongban.bundles import report, selectors, services
from tongban.bundles.merging import Merged, merge
from tongban.bundles.models import BundleCase
from tongban.core.errors import FieldError, ValidationFailed

router = Router(tags=["bundles"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class Figure(Schema):
    before: float
    after: float


class ReportOut(Schema):
    code: str
    name: str
    forms: Figure
    fields: Figure
    materials: Figure
    days: Figure
    trips: Figure
    departments: Figure
    stages: int
    items: int
    published: dict[str, Any] | None = None


class AnswersIn(Schema):
    answers: dict[str, Any] = Field(default_factory=dict)


class UploadIn(Schema):
    name: str
    content_base64: str


class ApplicationIn(Schema):
    answers: dict[str, Any] = Field(default_factory=dict)
    form: dict[str, Any] = Field(default_factory=dict)
    materials: dict[str, UploadIn] = Field(
        default_factory=dict, description="one file per merged material key"
    )
    enterprise_uscc: str | None = None


class ComponentOut(Schema):
    item: str
    item_name: str
    stage: int
    state: str
    status: str
    case_number: str | None
    reason: str


class BundleCaseOut(Schema):
    number: str
    bundle: str
    bundle_name: str
    status: str
    state: str
    submitted_at: str
    components: list[ComponentOut]
    denied: list[ComponentOut]


class TimelineOut(Schema):
    at: str
    source: str
    action: str
    label: str
    reason: str


def _merged(m: Merged) -> dict[str, Any]:
    return {
        "questions": [
            {
                "key": q.key,
                "text": q.text,
                "type": q.answer_type,
                "options": [{"value": v, "label": label} for v, label in q.options],
                "state": q.state,
                "asked_by": q.asked_by,
            }
            for q in m.questions
        ],
        "components": [
            {
                "item": c.code,
                "name": c.component.item.name,
                "stage": c.component.stage,
                "status": c.status,
            }
            for c in m.components
        ],
        "fields": [
            {
                "key": f.key,
                "label": f.label,
                "element": f.element_code,
                "required": f.required,
                "prefill": f.prefill,
                "status": f.status,
                "parts": [f"{item}:{key}" for item, key in f.parts],
            }
            for f in m.fields
        ],
        "materials": [
            {
                "key": mat.key,
                "name": mat.name,
                "coverage": mat.coverage,
                "status": mat.status,
                "produced_by": mat.produced_by,
                "formats": list(mat.formats),
                "parts": [f"{item}:{key}" for item, key in mat.parts],
            }
            for mat in m.materials
        ],
        "errors": [{"path": p, "message": msg} for p, msg in m.errors.items()],
    }


def _component(status: selectors.ComponentStatus) -> dict[str, Any]:
    c = status.component
    return {
        "item": c.item_code,
        "item_name": c.item_name,
        "stage": c.stage,
        "state": c.state,
        "status": status.label,
        "case_number": c.case.number if c.case else None,
        "reason": status.reason,
    }


def _bundle_case(actor: Any, bundle_case: BundleCase) -> dict[str, Any]:
    visible = selectors.visible_components(actor, bundle_case)
    status = selectors.bundle_status(bundle_case)
    shown = {c.pk for c in visible}
    return {
        "number": bundle_case.number,
        "bundle": bundle_case.bundle_code,
        "bundle_name": bundle_case.bundle_name,
        "status": status.label,
        "state": bundle_case.state,
        "submitted_at": bundle_case.submitted_at.isoformat(),
        "components": [_component(s) for s in status.components if s.component.pk in shown],
        "denied": [_component(s) for s in status.denied if s.component.pk in shown],
    }


# bundle cases first: "/bundles/cases/…" must not be read as a bundle code
@router.get(
    "/bundles/cases/{number}",
    auth=django_auth,
    response={200: BundleCaseOut, **ERRORS},
    summary="A bundle case: combined status and its item cases",
)
def bundle_case_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return _bundle_case(request.user, selectors.get_bundle_case(request.user, number))


@router.get(
    "/bundles/cases/{number}/timeline",
    auth=django_auth,
    response={200: list[TimelineOut], **ERRORS},
    summary="The combined timeline of the bundle and its item cases",
)
def bundle_case_timeline(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    bundle_case = selectors.get_bundle_case(request.user, number)
    return [
        {
            "at": e.at.isoformat(),
            "source": e.source,
            "action": e.action,
            "label": e.label,
            "reason": e.reason,
        }
        for e in selectors.timeline(request.user, bundle_case)
    ]


class WithdrawIn(Schema):
    reason: str = ""


@router.post(
    "/bundles/cases/{number}/withdraw",
    auth=django_auth,
    response={200: BundleCaseOut, **ERRORS},
    summary="Withdraw the bundle application: every open item case is withdrawn",
)
def withdraw(request: HttpRequest, number: str, payload: WithdrawIn) -> dict[str, Any]:
    bundle_case = services.check_withdraw_bundle(request.user, number, payload.reason)
    return _bundle_case(request.user, selectors.get_bundle_case(request.user, bundle_case.number))


@router.get(
    "/bundles", response={200: list[ReportOut]}, summary="Every bundle with its reform report"
)
def list_bundles(request: HttpRequest) -> list[dict[str, Any]]:
    return [report.compute(selectors.spec_of(b)).as_dict() for b in selectors.list_bundles()]


@router.get(
    "/bundles/{code}/report",
    response={200: ReportOut, **ERRORS},
    summary="Reform report (before → after)",
)
def bundle_report(request: HttpRequest, code: str) -> dict[str, Any]:
    return report.compute(selectors.bundle_spec(code)).as_dict()


@router.post(
    "/bundles/{code}/merge",
    response={200: dict[str, Any], **ERRORS},
    summary="The merged questionnaire, form and material list for these answers",
)
def bundle_merge(request: HttpRequest, code: str, payload: AnswersIn) -> dict[str, Any]:
    return _merged(merge(selectors.bundle_spec(code), payload.answers))


@router.post(
    "/bundles/{code}/applications",
    auth=django_auth,
    response={201: BundleCaseOut, **ERRORS},
    summary="Apply once: one bundle case and the item cases of every stage that can start",
)
def apply(request: HttpRequest, code: str, payload: ApplicationIn) -> Status[dict[str, Any]]:
    files: dict[str, tuple[str, bytes]] = {}
    errors = []
    for key, upload in payload.materials.items():
        try:
            files[key] = (upload.name, base64.b64decode(upload.content_base64, validate=True))
        except (binascii.Error, ValueError):
            errors.append(FieldError(f"materials.{key}", "content_base64 不是有效的 Base64"))
    if errors:
        raise ValidationFailed("上传的材料有误", code="invalid_file", errors=errors)
    bundle_case = services.check_submit_bundle(
        request.user,
        code,
        answers=payload.answers,
        form=payload.form,
        files=files,
        enterprise_uscc=payload.enterprise_uscc,
    )
    return Status(
        201, _bundle_case(request.user, selectors.get_bundle_case(request.user, bundle_case.number))
    )
