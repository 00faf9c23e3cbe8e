"""Policy endpoints under ``/api/v1/policies``: published policies (public), authoring, review,
simulation, runs and the ledger (staff of the departments concerned), 政策体检, offers and
payments of the caller's own entities (applicants).

Thin: each endpoint calls one service or selector; permissions are checked there. Errors come
back as 401/403/404/409/422 with field paths. A person's 身份证号 is masked in staff listings.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from tongban.api.catalog_schemas import ErrorOut
from tongban.core.errors import NotFound, PermissionDenied
from tongban.core.masking import mask_id_number
from tongban.policies import access, runs, selectors, services
from tongban.policies.models import Candidate, PaymentInstruction, Run
from tongban.policies.rules import compile_amount, compile_rule
from tongban.policies.schema import Target, schema_for
from tongban.policies.simulation import simulate_version

router = Router(tags=["policies"])
ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class ItemOut(Schema):
    code: str
    name: str
    mode: str
    priority: int
    conditions: Any
    amount: Any
    catalog_item: str = Field("", description="申请制: the catalog item applied through")


class PolicyOut(Schema):
    code: str
    title: str
    target: str
    department: str
    version: int | None
    legal_basis: str
    summary: str
    period_kind: str | None
    items: list[ItemOut]


def _policy(policy: Any, version: Any = None) -> dict[str, Any]:
    version = version or policy.published_version
    return {
        "code": policy.code,
        "title": policy.title,
        "target": policy.target,
        "department": policy.department.name,
        "version": version.number if version else None,
        "legal_basis": version.legal_basis if version else "",
        "summary": version.summary if version else "",
        "period_kind": version.period_kind if version else None,
        "items": [
            {
                "code": i.code,
                "name": i.name,
                "mode": i.mode,
                "priority": i.priority,
                "conditions": i.conditions,
                "amount": i.amount,
                "catalog_item": i.catalog_item,
            }
            for i in (version.items.all() if version else [])
        ],
    }


@router.get("/policies", response=list[PolicyOut], auth=None)
def list_policies(request: HttpRequest, target: str | None = None) -> list[dict[str, Any]]:
    """Published policies (public)."""
    return [
        _policy(p)
        for p in selectors.published_policies(target).prefetch_related("published_version__items")
    ]


class PolicyIn(Schema):
    code: str
    title: str
    target: str = Field(description="enterprise or person")
    department: str = Field(description="funding department code")


@router.post("/policies", response={201: PolicyOut, **ERRORS}, auth=django_auth)
def create_policy(request: HttpRequest, payload: PolicyIn) -> Any:
    policy = services.check_create_policy(request.user, **payload.dict())
    return Status(201, _policy(policy))


# --- applicant endpoints (fixed paths before the {code} routes) ---------------------------------
class ExplainedOut(Schema):
    path: str
    kind: str
    label: str
    result: str
    actual: str
    threshold: str
    missing: str
    children: list[Any]


class CheckOut(Schema):
    policy: str
    policy_title: str
    item: str
    item_name: str
    mode: str
    verdict: str = Field(description="eligible, ineligible or unknown")
    amount_fen: int | None
    missing: list[str]
    explanation: ExplainedOut


@router.get("/policies/me/checkup", response={200: list[CheckOut], **ERRORS}, auth=django_auth)
def checkup(request: HttpRequest, entity: str) -> Any:
    """政策体检 for one of the caller's own entities (their 身份证号 or a represented USCC)."""
    keys = access.entity_keys(request.user)
    if entity not in keys:
        raise NotFound("没有这个对象的档案", code="profile_not_found")
    return [
        {
            "policy": c.policy.code,
            "policy_title": c.policy.title,
            "item": c.item.code,
            "item_name": c.item.name,
            "mode": c.item.mode,
            "verdict": c.verdict,
            "amount_fen": c.amount_fen,
            "missing": c.missing,
            "explanation": c.explanation.as_dict(),
        }
        for c in selectors.check_entity(keys[entity], entity)
    ]


class OfferOut(Schema):
    id: int
    policy: str
    item: str
    entity_key: str
    period: str
    amount_fen: int | None
    confirm_by: dt.date | None
    status: str


def _offer(c: Candidate) -> dict[str, Any]:
    return {
        "id": c.pk,
        "policy": c.run.policy.code,
        "item": c.item_code,
        "entity_key": c.entity_key,
        "period": c.run.period,
        "amount_fen": c.amount_fen,
        "confirm_by": c.confirm_by,
        "status": c.status,
    }


@router.get("/policies/me/offers", response={200: list[OfferOut], **ERRORS}, auth=django_auth)
def my_offers(request: HttpRequest) -> Any:
    return [_offer(c) for c in selectors.offers_for(access.entity_keys(request.user))]


class PaymentOut(Schema):
    id: int
    policy: str
    item: str
    entity_key: str
    period: str
    amount_fen: int
    status: str
    bank_reference: str
    case_number: str = Field("", description="申请制: the case whose 准予 wrote the instruction")
    note: str = ""


def _payment(p: PaymentInstruction, *, mask: bool = False) -> dict[str, Any]:
    key = p.entity_key
    if mask and p.policy.target == Target.PERSON:
        key = mask_id_number(key)
    return {
        "id": p.pk,
        "policy": p.policy.code,
        "item": p.item_code,
        "entity_key": key,
        "period": p.period,
        "amount_fen": p.amount_fen,
        "status": p.status,
        "bank_reference": p.bank_reference,
        "case_number": p.case_number,
        "note": p.note,
    }


@router.get("/policies/me/payments", response={200: list[PaymentOut], **ERRORS}, auth=django_auth)
def my_payments(request: HttpRequest) -> Any:
    return [_payment(p) for p in selectors.payments_for(access.entity_keys(request.user))]


@router.post(
    "/policies/offers/{offer_id}/confirm", response={200: PaymentOut, **ERRORS}, auth=django_auth
)
def confirm_offer(request: HttpRequest, offer_id: int) -> Any:
    """即申即享: one-click confirmation of an offer to the caller's entity."""
    return _payment(runs.check_confirm_offer(request.user, offer_id))


# --- rules ----------------------------------------------------------------------------------------
class RuleCheckIn(Schema):
    target: str
    conditions: Any = None
    amount: Any = None


class RuleCheckOut(Schema):
    ok: bool


@router.post("/policies/rules/check", response={200: RuleCheckOut, **ERRORS}, auth=django_auth)
def check_rule(request: HttpRequest, payload: RuleCheckIn) -> Any:
    """Type-check conditions and/or an amount formula as they would be saved."""
    if not access.can_author_any(request.user):
        raise PermissionDenied("只有政策主管部门工作人员可以校验规则", code="forbidden")
    try:
        schema = schema_for(payload.target)
    except KeyError:
        raise NotFound("没有这种对象", code="unknown_target") from None
    if payload.conditions is not None:
        compile_rule(payload.conditions, schema, named=selectors.named_lookup)
    if payload.amount is not None:
        compile_amount(payload.amount, schema, named=selectors.named_lookup)
    return {"ok": True}


class NamedIn(Schema):
    target: str
    rule: Any
    description: str = ""


class NamedOut(Schema):
    name: str
    target: str
    rule: Any
    description: str


@router.put(
    "/policies/named-conditions/{name}", response={200: NamedOut, **ERRORS}, auth=django_auth
)
def save_named(request: HttpRequest, name: str, payload: NamedIn) -> Any:
    c = services.check_save_named_condition(
        request.user, name, payload.target, payload.rule, payload.description
    )
    return {"name": c.name, "target": c.target, "rule": c.rule, "description": c.description}


# --- runs -----------------------------------------------------------------------------------------
class RunOut(Schema):
    id: int
    policy: str
    version: int
    period: str
    trigger: str
    status: str
    payment_date: dt.date
    eligible_count: int
    unknown_count: int
    eligible_fen: int
    instructed_count: int
    over_budget_count: int


def _run(run: Run) -> dict[str, Any]:
    return {
        "id": run.pk,
        "policy": run.policy.code,
        "version": run.version.number,
        "period": run.period,
        "trigger": run.trigger,
        "status": run.status,
        "payment_date": run.payment_date,
        "eligible_count": run.eligible_count,
        "unknown_count": run.unknown_count,
        "eligible_fen": run.eligible_fen,
        "instructed_count": run.instructed_count,
        "over_budget_count": run.over_budget_count,
    }


def _visible_run(user: Any, run_id: int) -> Run:
    run = Run.objects.select_related("policy", "version").filter(pk=run_id).first()
    if run is None or not (
        access.can_see_policy_work(user, run.policy) or access.can_approve_run(user, run.policy)
    ):
        raise NotFound("没有这个兑现批次", code="run_not_found")
    return run


@router.get("/policies/runs/{run_id}", response={200: RunOut, **ERRORS}, auth=django_auth)
def get_run(request: HttpRequest, run_id: int) -> Any:
    return _run(_visible_run(request.user, run_id))


class CandidateOut(Schema):
    id: int
    item: str
    entity_key: str
    entity_name: str
    amount_fen: int | None
    status: str


@router.get(
    "/policies/runs/{run_id}/candidates",
    response={200: list[CandidateOut], **ERRORS},
    auth=django_auth,
)
def run_candidates(request: HttpRequest, run_id: int, after: int = 0, limit: int = 100) -> Any:
    """A page of the candidate list (keyset on id; person identifiers masked)."""
    run = _visible_run(request.user, run_id)
    person = run.policy.target == Target.PERSON
    rows = Candidate.objects.filter(run=run, pk__gt=after).order_by("pk")[: max(1, min(limit, 500))]
    return [
        {
            "id": c.pk,
            "item": c.item_code,
            "entity_key": mask_id_number(c.entity_key) if person else c.entity_key,
            "entity_name": c.entity_name,
            "amount_fen": c.amount_fen,
            "status": c.status,
        }
        for c in rows
    ]


class ApproveOut(Schema):
    instructed: int
    offered: int
    over_budget: int
    already_paid: int
    spent_fen: int


@router.post(
    "/policies/runs/{run_id}/approve", response={200: ApproveOut, **ERRORS}, auth=django_auth
)
def approve_run(request: HttpRequest, run_id: int) -> Any:
    _visible_run(request.user, run_id)
    report = runs.check_approve_run(request.user, run_id)
    return {k: v for k, v in vars(report).items() if k != "notified"}


@router.post("/policies/runs/{run_id}/cancel", response={200: RunOut, **ERRORS}, auth=django_auth)
def cancel_run(request: HttpRequest, run_id: int) -> Any:
    _visible_run(request.user, run_id)
    return _run(runs.check_cancel_run(request.user, run_id))


# --- one policy (path parameter routes last) ------------------------------------------------------
@router.get("/policies/{code}", response={200: PolicyOut, **ERRORS}, auth=None)
def get_policy(request: HttpRequest, code: str) -> Any:
    policy = selectors.get_policy(code)
    if policy.published_version is None and not access.can_see_policy_work(request.user, policy):
        raise NotFound("没有这项政策", code="policy_not_found")
    return _policy(policy, policy.published_version or policy.versions.order_by("-number").first())


class DraftIn(Schema):
    legal_basis: str
    summary: str = ""
    period_kind: str
    budget: str | float = Field(description="budget per period in yuan (> 0)")
    schedule: str = "manual"
    confirm_window_days: int = 15
    legality_department: str
    finance_department: str
    items: list[dict[str, Any]]


class VersionOut(Schema):
    policy: str
    number: int
    status: str
    budget_fen: int
    items: int


def _version(v: Any) -> dict[str, Any]:
    return {
        "policy": v.policy.code,
        "number": v.number,
        "status": v.status,
        "budget_fen": v.budget_fen,
        "items": v.items.count(),
    }


@router.put("/policies/{code}/draft", response={200: VersionOut, **ERRORS}, auth=django_auth)
def save_draft(request: HttpRequest, code: str, payload: DraftIn) -> Any:
    return _version(services.check_save_draft(request.user, code, payload.dict()))


@router.post(
    "/policies/{code}/versions/{number}/submit",
    response={200: VersionOut, **ERRORS},
    auth=django_auth,
)
def submit(request: HttpRequest, code: str, number: int) -> Any:
    return _version(services.check_submit(request.user, code, number))


class ReviewIn(Schema):
    step: str = Field(description="legality or finance")
    approved: bool
    comment: str = ""


@router.post(
    "/policies/{code}/versions/{number}/review",
    response={200: VersionOut, **ERRORS},
    auth=django_auth,
)
def review(request: HttpRequest, code: str, number: int, payload: ReviewIn) -> Any:
    return _version(services.check_review(request.user, code, number, **payload.dict()))


@router.get(
    "/policies/{code}/versions/{number}/simulation",
    response={200: dict[str, Any], **ERRORS},
    auth=django_auth,
)
def simulation(request: HttpRequest, code: str, number: int) -> Any:
    policy = selectors.get_policy(code)
    version = selectors.get_version(policy, number)
    return simulate_version(request.user, version).as_dict()


class RunIn(Schema):
    period: str | None = None
    payment_date: dt.date | None = None


@router.post("/policies/{code}/runs", response={201: RunOut, **ERRORS}, auth=django_auth)
def start_run(request: HttpRequest, code: str, payload: RunIn) -> Any:
    run = runs.check_start_run(
        request.user, code, period=payload.period, payment_date=payload.payment_date
    )
    return Status(201, _run(run))


class PeriodIn(Schema):
    period: str


class CountOut(Schema):
    count: int


@router.post("/policies/{code}/payments/sent", response={200: CountOut, **ERRORS}, auth=django_auth)
def payments_sent(request: HttpRequest, code: str, payload: PeriodIn) -> Any:
    return {"count": runs.check_mark_sent(request.user, code, payload.period)}


class ReconciliationIn(Schema):
    file_name: str = "reconciliation.csv"
    csv: str


@router.post(
    "/policies/{code}/reconciliation", response={200: CountOut, **ERRORS}, auth=django_auth
)
def reconciliation(request: HttpRequest, code: str, payload: ReconciliationIn) -> Any:
    return {
        "count": runs.check_import_reconciliation(
            request.user, code, payload.file_name, payload.csv
        )
    }


@router.get(
    "/policies/{code}/payments", response={200: list[PaymentOut], **ERRORS}, auth=django_auth
)
def policy_payments(
    request: HttpRequest, code: str, period: str | None = None, after: int = 0
) -> Any:
    policy = selectors.get_policy(code)
    if not (
        access.can_see_policy_work(request.user, policy)
        or access.can_approve_run(request.user, policy)
    ):
        raise NotFound("没有这项政策", code="policy_not_found")
    rows = (
        PaymentInstruction.objects.filter(policy=policy, pk__gt=after)
        .select_related("policy")
        .order_by("pk")
    )
    if period:
        rows = rows.filter(period=period)
    return [_payment(p, mask=True) for p in rows[:200]]
