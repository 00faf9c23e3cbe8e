"""Case endpoints: drafts, submission, every lifecycle action as
``POST /api/v1/cases/{number}/{action}``, case detail, tasks and the event timeline.

Thin: each endpoint calls one service or selector. Errors come back as 403/404/409/422 with
field paths (``tongban.api.router``); a 409 names the current state and the allowed actions.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.security import django_auth
from pydantic import ConfigDict, Field

from tongban.api.catalog_schemas import ErrorOut
from tongban.cases import applications, selectors, services
from tongban.cases.materials import check_attach_material
from tongban.cases.models import Case
from tongban.cases.transitions import TRANSITIONS
from tongban.core.errors import FieldError, ValidationFailed
from tongban.sharing.services import check_fill_draft

router = Router(tags=["cases"], auth=django_auth)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class DraftIn(Schema):
    model_config = ConfigDict(extra="forbid")  # a misspelt key is a 422, not silently ignored

    item: str = Field(description="item code")
    division: str = Field(description="division code where the application is filed")
    answers: dict[str, Any] = Field(default_factory=dict)
    form: dict[str, Any] = Field(default_factory=dict)
    enterprise_uscc: str | None = None
    commitment_materials: list[str] | None = Field(
        None,
        description="告知承诺: the materials a signed commitment replaces (the item must allow it)",
    )


class AnswersIn(Schema):
    model_config = ConfigDict(extra="forbid")

    answers: dict[str, Any] = Field(description="question key → answer (情形)")


class FormIn(Schema):
    model_config = ConfigDict(extra="forbid")

    form: dict[str, Any] = Field(description="field key → value (text, number or yes/no)")


class MaterialOut(Schema):
    material: str
    name: str
    file_name: str
    format: str = Field(description="the format read from the content")
    size: int
    sha256: str


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
    opinion: str | None = Field(None, description="staff only: the department's review opinion")


class InstantConditionOut(Schema):
    depth: int = Field(description="0 for a rule's own conditions, deeper inside any/not groups")
    label: str = Field(description="what was tested: the question, form field or fact")
    requirement: str = Field(description="what the rule asks of it, e.g. 大于 3; empty for a group")
    seen: str = Field(
        description="the value the rule saw, in words; personal data masked for staff"
    )
    met: str = Field(description="yes | no | unknown")
    group: bool = Field(description="a heading for the conditions below it (all / any / not)")
    key: str | None = Field(None, description="staff only: the data key, e.g. form.days")
    raw: Any = Field(None, description="staff only: the value as stored, personal data masked")


class InstantRuleOut(Schema):
    number: int = Field(description="position in the item's rules; tried in this order")
    outcome: str = Field(description="what the rule decides when it holds: approve | deny")
    result: str = Field(description="true | false | unknown")
    fired: bool = Field(description="this rule decided the case")
    reason: str
    conditions: list[InstantConditionOut]
    missing: list[str] = Field(description="data the rule could not see (keys for staff)")
    name: str | None = Field(None, description="staff only: the rule's name")


class InstantDecisionOut(Schema):
    """智能秒办 决定依据: which rules were tried, which one decided, and the data each saw."""

    audience: str = Field(description="staff | applicant: staff also get names, keys, raw values")
    outcome: str = Field(description="approve | deny")
    reason: str
    legal_basis: str
    decided_at: str | None
    rule_version: int = Field(description="the item version whose rules decided")
    rules: list[InstantRuleOut]
    rule: str | None = Field(None, description="staff only: the name of the rule that decided")


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
    instant_decision: InstantDecisionOut | None = Field(
        None, description="智能秒办: why the rules decided the case; null when they did not"
    )


class EventOut(Schema):
    sequence: int
    action: str
    actor: str = Field(description="for staff the person who acted; for the applicant a role")
    at: str
    from_state: str
    to_state: str
    reason: str
    data: dict[str, Any]


class ActionIn(Schema):
    """Action input; which keys are used depends on the action (see each action's summary)."""

    model_config = ConfigDict(extra="forbid")

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
    tolerated: list[str] | None = Field(
        None, description="accept: 容缺 material keys (every tolerable material still missing)"
    )
    tolerance_days: int | None = Field(None, description="accept: working days to supply them")
    verify_within_days: int | None = Field(None, description="approve_on_commitment")
    finding: str | None = Field(None, description="verify_commitment: 核查结论")
    department: str | None = Field(None, description="countersign / transfer_task: department")
    limit_days: int | None = Field(None, description="countersign: working days for the task")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


def _instant(actor: Any, case: Case) -> dict[str, Any] | None:
    decision = selectors.instant_decision(actor, case) if case.number else None
    if decision is None:
        return None
    return {
        "audience": decision.audience,
        "outcome": decision.outcome,
        "reason": decision.reason,
        "legal_basis": decision.legal_basis,
        "decided_at": _iso(decision.decided_at),
        "rule_version": decision.rule_version,
        "rule": decision.rule,
        "rules": [
            {
                "number": r.number,
                "outcome": r.outcome,
                "result": r.result,
                "fired": r.fired,
                "reason": r.reason,
                "missing": list(r.missing),
                "name": r.name,
                "conditions": [dataclasses.asdict(c) for c in r.conditions],
            }
            for r in decision.rules
        ],
    }


def _case(actor: Any, case: Case) -> dict[str, Any]:
    staff_view = selectors.shows_staff_view(actor, case)
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
                "opinion": t.opinion if staff_view else None,
            }
            for t in case.tasks.current().select_related("department").order_by("stage", "id")
            if staff_view or t.countersign_for_id is None  # 会签 is staff business
        ],
        "actions": services.available_actions(actor, case) if case.number else ["submit"],
        "instant_decision": _instant(actor, case),
    }


def _form_values(form: dict[str, Any]) -> dict[str, str]:
    """The form as the applicant's typed values: text, numbers and yes/no; anything else is a
    422 at ``form.<key>``. Each value is then checked against its data element."""
    values: dict[str, str] = {}
    errors: list[FieldError] = []
    for key, value in form.items():
        if isinstance(value, bool):
            values[key] = "yes" if value else "no"
        elif isinstance(value, str | int | float):
            values[key] = str(value)
        else:
            errors.append(FieldError(f"form.{key}", "应为文字、数字或是/否"))
    if errors:
        raise ValidationFailed("表单有内容需要修改", code="invalid_form", errors=errors)
    return values


@router.post("/cases", response={201: CaseOut, **ERRORS}, summary="Start an application (草稿)")
def create_draft(request: HttpRequest, payload: DraftIn) -> Status[dict[str, Any]]:
    """The draft with ``form`` checked field by field as on the draft page (422 ``form.<key>``,
    nothing written), then 系统填 and 免提交 from shared data, as the portal does."""
    case = applications.check_start_application(
        request.user,
        item_code=payload.item,
        division_code=payload.division,
        answers=payload.answers,
        values=_form_values(payload.form),
        enterprise_uscc=payload.enterprise_uscc,
        commitment_materials=payload.commitment_materials,
    )
    check_fill_draft(request.user, case.pk)  # (GET /sharing/drafts/{id})
    return Status(201, _case(request.user, case))


@router.put(
    "/cases/drafts/{draft_id}/form",
    response={200: CaseOut, **ERRORS},
    summary="Save the draft's form (every field checked; 422 names form.<key>)",
)
def save_form(request: HttpRequest, draft_id: int, payload: FormIn) -> dict[str, Any]:
    values = _form_values(payload.form)
    return _case(request.user, applications.check_save_draft_form(request.user, draft_id, values))


@router.put(
    "/cases/drafts/{draft_id}/answers",
    response={200: CaseOut, **ERRORS},
    summary="Answer the draft's 情形 questions anew (422 names answers.<key>)",
)
def change_answers(request: HttpRequest, draft_id: int, payload: AnswersIn) -> dict[str, Any]:
    """Which materials and fields apply follows the new answers; form values of fields that no
    longer apply are dropped, and shared data is asked for what now applies (系统填, 免提交)."""
    case = applications.check_change_answers(request.user, draft_id, payload.answers)
    check_fill_draft(request.user, case.pk)
    return _case(request.user, case)


def _material(
    request: HttpRequest, case_id: int, material_key: str, file: UploadedFile
) -> Status[dict[str, Any]]:
    stored = check_attach_material(
        request.user, case_id, material_key, file.name or material_key, file
    )
    return Status(
        201,
        {
            "material": stored.material_key,
            "name": stored.material_name,
            "file_name": stored.original_name,
            "format": stored.detected_format,
            "size": stored.size,
            "sha256": stored.sha256,
        },
    )


@router.post(
    "/cases/drafts/{draft_id}/materials/{material_key}",
    response={201: MaterialOut, **ERRORS},
    summary="Upload a material of a draft (its format is read from the content)",
)
def attach_to_draft(
    request: HttpRequest, draft_id: int, material_key: str, file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    return _material(request, draft_id, material_key, file)


@router.post(
    "/cases/{number}/materials/{material_key}",
    response={201: MaterialOut, **ERRORS},
    summary="Upload a material of a submitted case (补正, or a 容缺 material that was due)",
)
def attach_to_case(
    request: HttpRequest, number: str, material_key: str, file: File[UploadedFile]
) -> Status[dict[str, Any]]:
    case = selectors.case_for(request.user, number)
    return _material(request, case.pk, material_key, file)


@router.post(
    "/cases/drafts/{draft_id}/submit",
    response={200: CaseOut, **ERRORS},
    summary="Submit a complete draft: it gets its case number (422 lists what is missing)",
)
def submit(request: HttpRequest, draft_id: int) -> dict[str, Any]:
    check_fill_draft(request.user, draft_id, only_new=True)
    return _case(request.user, applications.check_submit_application(request.user, draft_id))


@router.get("/cases/{number}", response={200: CaseOut, **ERRORS}, summary="One case")
def case_detail(request: HttpRequest, number: str) -> dict[str, Any]:
    return _case(request.user, selectors.case_for(request.user, number))


@router.get(
    "/cases/{number}/events",
    response={200: list[EventOut], **ERRORS},
    summary="The case's timeline (the applicant reads the public view: no internal steps, "
    "staff notes or staff names)",
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
            "data": selectors.event_details(e),
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
