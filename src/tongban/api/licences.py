"""Licence endpoints: the public trust list, status lists and verification, and for signed-in
users their licences, QR codes, grants (授权用证), the access log, use under a grant, and the
issuing department's acts (change, re-issue, cancel, revoke, key rotation).

Thin: each endpoint calls one service or selector; errors come back as 403/404/409/422.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.http import http_date
from ninja import Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from tongban.api.catalog_schemas import ErrorOut
from tongban.core.errors import NotFound, PermissionDenied
from tongban.identity.models import Department
from tongban.licences import access, seals, selectors, services, statuslist, tokens
from tongban.licences.online import verify_online

public = Router(tags=["licences"])
router = Router(tags=["licences"], auth=django_auth)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _cacheable(body: dict[str, Any], until: str) -> HttpResponse:
    response = JsonResponse(body, json_dumps_params={"ensure_ascii": False})
    expires = dt.datetime.fromisoformat(until)
    seconds = max(0, int((expires - timezone.now()).total_seconds()))
    response["Cache-Control"] = f"public, max-age={seconds}"
    response["Expires"] = http_date(expires.timestamp())
    return response


@public.get("/licences/trust-list", summary="Trust list of e-seal keys (cache until expires_at)")
def trust_list(request: HttpRequest) -> HttpResponse:
    body = seals.trust_list()
    return _cacheable(body, body["expires_at"])


@public.get(
    "/licences/status-lists/{list_id}",
    summary="Revocation status list (bitstring); stale after valid_until",
    response={404: ErrorOut},
)
def status_list(request: HttpRequest, list_id: int) -> HttpResponse:
    body = statuslist.document(list_id)
    if body is None:
        raise NotFound("没有该状态列表", code="status_list_not_found")
    return _cacheable(body, body["valid_until"])


class VerifyIn(Schema):
    text: str = Field(max_length=20000, description="the QR code's text (TB1:…)")


class VerifyOut(Schema):
    verdict: str
    label: str
    reason: str
    details: dict[str, Any]


@public.post("/licences/verify", response={200: VerifyOut, 422: ErrorOut}, summary="Verify a code")
def verify(request: HttpRequest, payload: VerifyIn) -> dict[str, Any]:
    result = verify_online(payload.text)
    return {
        "verdict": str(result.verdict),
        "label": result.label,
        "reason": result.reason,
        "details": result.details,
    }


class LicenceOut(Schema):
    number: str
    licence_type: str
    licence_type_name: str
    department: str
    holder_name: str
    holder_identifier: str
    data: dict[str, Any]
    labels: dict[str, Any]
    version: int
    state: str
    state_label: str
    issued_at: str
    valid_from: str
    valid_until: str | None
    case_number: str
    revocation_reason: str


@router.get("/licences/mine", response={200: list[LicenceOut], **ERRORS}, summary="My licences")
def mine(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        selectors.licence_dict(request.user, lic) for lic in selectors.my_licences(request.user)
    ]


@router.get("/licences/{number}", response={200: LicenceOut, **ERRORS}, summary="One licence")
def detail(request: HttpRequest, number: str) -> dict[str, Any]:
    licence = services.get_visible(request.user, number)
    return selectors.licence_dict(request.user, licence)


class CodeOut(Schema):
    text: str
    dynamic: bool
    expires_at: str | None


@router.get(
    "/licences/{number}/code",
    response={200: CodeOut, **ERRORS},
    summary="A signed QR text; dynamic=true for 亮证 (expires in 60 s)",
)
def code(request: HttpRequest, number: str, dynamic: bool = False) -> dict[str, Any]:
    licence = services.get_visible(request.user, number)
    if not access.is_holder(request.user, licence):
        raise PermissionDenied("只有持证人可以出示证照")
    now = timezone.now()
    text = tokens.make_token(licence, dynamic=dynamic, now=now)
    expires = None
    if dynamic:
        from django.conf import settings

        expires = now + dt.timedelta(seconds=settings.TONGBAN_LICENCE_DYNAMIC_QR_SECONDS)
    return {
        "text": text,
        "dynamic": dynamic,
        "expires_at": expires.isoformat() if expires else None,
    }


class ReasonIn(Schema):
    reason: str = ""


class ChangeIn(Schema):
    data: dict[str, Any]
    reason: str = ""


@router.post("/licences/{number}/change", response={200: LicenceOut, **ERRORS}, summary="变更")
def change(request: HttpRequest, number: str, payload: ChangeIn) -> dict[str, Any]:
    licence = services.check_change(request.user, number, payload.data, payload.reason)
    return selectors.licence_dict(request.user, licence)


@router.post("/licences/{number}/reissue", response={200: LicenceOut, **ERRORS}, summary="换发")
def reissue(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    licence = services.check_reissue(request.user, number, payload.reason)
    return selectors.licence_dict(request.user, licence)


@router.post("/licences/{number}/cancel", response={200: LicenceOut, **ERRORS}, summary="注销")
def cancel(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    licence = services.check_cancel(request.user, number, payload.reason)
    return selectors.licence_dict(request.user, licence)


@router.post("/licences/{number}/revoke", response={200: LicenceOut, **ERRORS}, summary="撤销")
def revoke(request: HttpRequest, number: str, payload: ReasonIn) -> dict[str, Any]:
    licence = services.check_revoke(request.user, number, payload.reason)
    return selectors.licence_dict(request.user, licence)


class GrantIn(Schema):
    purpose: str
    valid_until: dt.datetime
    department: str = Field("", description="code of the department granted")
    username: str = Field("", description="account granted (a bank's, for instance)")


class GrantOut(Schema):
    id: int
    grantee: str
    purpose: str
    valid_from: str
    valid_until: str
    revoked_at: str | None


class AccessOut(Schema):
    who: str
    at: str
    purpose: str
    allowed: bool
    grant: int | None


@router.post("/licences/{number}/grants", response={201: GrantOut, **ERRORS}, summary="授权用证")
def grant(request: HttpRequest, number: str, payload: GrantIn) -> Status[dict[str, Any]]:
    valid_until = payload.valid_until
    if timezone.is_naive(valid_until):
        valid_until = timezone.make_aware(valid_until)
    created = services.check_grant(
        request.user,
        number,
        purpose=payload.purpose,
        valid_until=valid_until,
        department_code=payload.department,
        username=payload.username,
    )
    return Status(201, selectors.grant_dict(created))


def _holder_licence(request: HttpRequest, number: str) -> Any:
    licence = services.get_visible(request.user, number)
    if not access.is_holder(request.user, licence):
        raise PermissionDenied("只有持证人可以查看授权和用证记录")
    return licence


@router.get("/licences/{number}/grants", response={200: list[GrantOut], **ERRORS})
def grants(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    licence = _holder_licence(request, number)
    return [selectors.grant_dict(g) for g in selectors.grants(licence)]


@router.post("/licences/grants/{grant_id}/withdraw", response={200: GrantOut, **ERRORS})
def withdraw_grant(request: HttpRequest, grant_id: int) -> dict[str, Any]:
    return selectors.grant_dict(services.check_withdraw_grant(request.user, grant_id))


@router.get(
    "/licences/{number}/accesses",
    response={200: list[AccessOut], **ERRORS},
    summary="用证记录: who used or tried to use the licence",
)
def accesses(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    licence = _holder_licence(request, number)
    return [selectors.access_dict(a) for a in selectors.accesses(licence)]


class UseIn(Schema):
    purpose: str


@router.post(
    "/licences/{number}/use",
    response={200: LicenceOut, **ERRORS},
    summary="Use a licence under the holder's grant (logged; 403 without one)",
)
def use(request: HttpRequest, number: str, payload: UseIn) -> dict[str, Any]:
    licence = services.check_use(request.user, number, payload.purpose)
    return selectors.licence_dict(request.user, licence)


class RotateIn(Schema):
    department: str
    algorithm: str | None = None
    activate_at: dt.datetime | None = None


class KeyOut(Schema):
    kid: str
    algorithm: str
    department: str
    not_before: str


@router.post("/licences/seal-keys/rotate", response={201: KeyOut, **ERRORS}, summary="Rotate")
def rotate(request: HttpRequest, payload: RotateIn) -> Status[dict[str, Any]]:
    department = Department.objects.filter(code=payload.department).first()
    if department is None:
        raise NotFound("没有该部门", code="department_not_found")
    key = seals.check_rotate_seal_key(
        request.user, department, algorithm=payload.algorithm, activate_at=payload.activate_at
    )
    return Status(
        201,
        {
            "kid": key.kid,
            "algorithm": key.algorithm,
            "department": department.code,
            "not_before": key.not_before.isoformat(),
        },
    )
