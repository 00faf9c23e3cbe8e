"""Case endpoints: drafts, submission, every lifecycle action as
``POST /api/v1/cases/{number}/{action}``, case detail, tasks and the event timeline.

Thin: each endpoint calls one service or selector. Errors come back as 403/404/409/422 with
field paths (``tongban.api.router``); a 409 names the current state and the allowed actions.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.security import django_auth
from pydantic import Field

from tongban.api.catalog_schemas import ErrorOut
from tongban.cases import selectors, services
from tongban.cases.models import Case
from tongban.cases.transitions import TRANSITIONS
from tongban.sharing.services import check_fill_draft

router = Router(tags=["cases"], auth=django_auth)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class DraftIn(Schema):
    item: str = Field(description="item code")
    division: str = Field(description="division code where the application is filed")
    answers: dict[str, Any] = Field(default_factory=dict)
    form: dict[str, Any] = Field(default_factory=dict)
    enterprise_uscc: str | None = None


class TaskOut(Schema):
    id: int
    kind: str = Field(description="review (审查) or verification (告知承诺核查)")
    stage: int
    stage_name: str
    name: str
    department: str
    department_code: str
    countersign_for: int | None = Field(None, description="会签: the task that asked for it")
    state: str
    limit_days: int
    due_date: str | None
    opinion: str


class CaseOut(Schema):
    id: int
    number: str | None
    item: str
    item_name: str
    item_version: int
    state: str
    state_label: str
    division: str
    department: str
    submitted_at: str | None
    accepted_at: str | None
    due_date: str | None
    outcome: str
    decision_reason: str
    tasks: list[TaskOut]
    actions: list[str] = Field(description="what the caller may do now")


class EventOut(Schema):
    sequence: int
    action: str
    actor: str
    at: str
    from_state: str
    to_state: str
    reason: str
    data: dict[str, Any]


class ActionIn(Schema):
    """Action input; which keys are used depends on the action (see each action's summary)."""

    reason: str | None = None
    legal_basis: str | None = None
    opinion: str | None = None
    task: int | None = None
    items: list[dict[str, Any]] | None = None
    outcome: str | None = None
    method: str | None = None
    kind: str | None = None
    days: int | None = None
    to: str | None = None
    note: str | None = None
    tolerated: list[str] | None = Field(None, description="accept: 容缺 material keys")
    tolerance_days: int | None = Field(None, description="accept: working days to supply them")
    verify_within_days: int | None = Field(None, description="approve_on_commitment")
    finding: str | None = Field(None, description="verify_commitment: 核查结论")
    department: str | None = Field(None, description="countersign / transfer_task: department")
    limit_days: int | None = Field(None, description="countersign: working days for the task")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _case(actor: Any, case: Case) -> dict[str, Any]:
    return {
        "id": case.pk,
        "number": case.number,
        "item": case.item_code,
        "item_name": case.item_name,
        "item_version": case.item_version.number,
        "state": case.state,
        "state_label": case.get_state_display(),
        "division": case.division.code,
        "department": case.department.name,
        "submitted_at": _iso(case.submitted_at),
        "accepted_at": _iso(case.accepted_at),
        "due_date": _iso(case.due_date),
        "outcome": case.outcome,
        "decision_reason": case.decision_reason,
        "tasks": [
            {
                "id": t.pk,
                "kind": t.kind,
                "stage": t.stage,
                "stage_name": t.stage_name,
                "name": t.name,
                "department": t.department.name,
                "department_code": t.department.code,
                "countersign_for": t.countersign_for_id,
                "state": t.state,
                "limit_days": t.limit_days,
                "due_date": _iso(t.due_date),
                "opinion": t.opinion,
            }
            for t in case.tasks.select_related("department").order_by("stage", "id")
        ],
        "actions": services.available_actions(actor, case) if case.number else ["submit"],
    }


@router.post("/cases", response={201: CaseOut, **ERRORS}, summary="Start an application (草稿)")
def create_draft(request: HttpRequest, payload: DraftIn) -> Status[dict[str, Any]]:
    case = services.check_create_draft(
        request.user,
        item_code=payload.item,
        division_code=payload.division,
        answers=payload.answers,
        form_data=payload.form,
        enterprise_uscc=payload.enterprise_uscc,
    )
    check_fill_draft(request.user, case.pk)  # 系统填 and 免提交 (GET /sharing/drafts/{id})
    return Status(201, _case(request.user, case))


@router.post(
    "/cases/drafts/{draft_id}/submit",
    response={200: CaseOut, **ERRORS},
    summary="Submit a draft: it gets its case number",
)
def submit(request: HttpRequest, draft_id: int) -> dict[str, Any]:
    return _case(request.user, services.submit_draft(request.user, draft_id))


@router.get("/cases/{number}", response={200: CaseOut, **ERRORS}, summary="One case")
def case_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return _case(request.user, selectors.case_for(request.user, number))


@router.get(
    "/cases/{number}/events",
    response={200: list[EventOut], **ERRORS},
    summary="The case's timeline (the applicant sees the public events)",
)
def case_events(request: HttpRequest, number: str) -> list[dict[str, Any]]:
    case = selectors.case_for(request.user, number)
    return [
        {
            "sequence": e.sequence,
            "action": e.action,
            "actor": e.actor_label,
            "at": e.at.isoformat(),
            "from_state": e.from_state,
            "to_state": e.to_state,
            "reason": e.reason,
            "data": e.data,
        }
        for e in selectors.timeline(request.user, case)
    ]


def _register(name: str, label: str) -> None:
    def act(request: HttpRequest, number: str, payload: ActionIn) -> dict[str, Any]:
        data = payload.model_dump(exclude_none=True)
        case = services.perform(request.user, number, name, data)
        return _case(request.user, case)

    act.__name__ = f"case_{name}"
    router.post(
        f"/cases/{{number}}/{name}",
        response={200: CaseOut, **ERRORS},
        summary=f"{label} ({name})",
        operation_id=f"case_{name}",
    )(act)


for _name, _transition in TRANSITIONS.items():
    _register(_name, _transition.label)
