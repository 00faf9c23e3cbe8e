"""Staff work queue endpoints (工作台待办): ``GET /api/v1/queues`` lists the queues the caller's
roles give them, ``GET /api/v1/queues/{name}`` returns one page of a queue with its traffic
lights, filtered by item, light (or ``overdue``), case state and department, paged by an opaque
keyset cursor (never a row count).

Thin, over ``tongban.cases.queues``, with the workbench page's rules: anonymous → 401, applicant
accounts and staff without the queue's role → 403, an unknown queue → 404, a filter value the
queue does not offer → 422 naming the parameter. Rows are scoped to the caller's departments
and divisions by the selector; applicant names are masked.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.security import django_auth
from pydantic import Field

from tongban.api.catalog_schemas import ErrorOut
from tongban.cases import queues
from tongban.core.errors import FieldError, PermissionDenied, ValidationFailed
from tongban.core.masking import mask_name
from tongban.identity.models import Department
from tongban.identity.permissions import is_staff_member

router = Router(tags=["queues"], auth=django_auth)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
MAX_PAGE_SIZE = 100


class QueueOut(Schema):
    name: str
    label: str
    kind: str = Field(description="case: rows are cases; task: rows are tasks of cases")
    task_kind: str | None = Field(
        description="for task queues: review (审查) or verification (告知承诺核查)"
    )
    states: list[str] = Field(description="case states the state filter accepts")
    lights: list[str] = Field(description="light filters offered ('' = the default rows)")
    default_lights: list[str] = Field(description="lights shown when none is chosen (all if [])")


class TaskRowOut(Schema):
    id: int
    kind: str = Field(description="review (审查) or verification (告知承诺核查)")
    name: str
    stage_name: str
    department: str


class RowOut(Schema):
    kind: str
    case: str = Field(description="case number")
    item: str
    item_name: str
    state: str
    state_label: str
    applicant: str = Field(description="enterprise name, or the person's name masked")
    division: str
    department: str = Field(description="the handling department")
    task: TaskRowOut | None
    due_date: str | None
    light: str
    light_label: str
    workdays_left: int | None
    overdue_workdays: int | None


class PageOut(Schema):
    queue: str
    rows: list[RowOut]
    next_cursor: str | None = Field(description="pass as cursor for the next page; null at the end")
    partial: bool = Field(description="the scan limit was reached before the page filled")


class QueueQuery(Schema):
    cursor: str | None = None
    item: str = Field("", max_length=64, description="item code prefix or part of its name")
    light: str = Field("", description="one of the queue's lights")
    overdue: bool = Field(False, description="only overdue rows (the red light)")
    state: str = Field("", description="one of the queue's case states")
    department: str = Field("", description="department code")
    page_size: int = Field(queues.PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


def _queue(spec: queues.QueueSpec) -> dict[str, Any]:
    return {
        "name": spec.name,
        "label": str(spec.label),
        "kind": spec.kind,
        "task_kind": spec.task_kind if spec.kind == "task" else None,
        "states": list(spec.states),
        "lights": list(spec.lights),
        "default_lights": list(spec.default_lights),
    }


def _filters(spec: queues.QueueSpec, query: QueueQuery) -> queues.QueueFilters:
    problems: list[FieldError] = []
    light = query.light
    if query.overdue:
        if light not in ("", "red"):
            problems.append(FieldError("overdue", "overdue 只能与 light=red 同用"))
        light = "red"
    if light and light not in spec.lights:
        problems.append(FieldError("light", f"该队列的红黄牌筛选只能是 {', '.join(spec.lights)}"))
    if query.state and query.state not in spec.states:
        problems.append(FieldError("state", f"该队列的办件状态只能是 {', '.join(spec.states)}"))
    department: int | None = None
    if query.department:
        department = (
            Department.objects.filter(code=query.department).values_list("pk", flat=True).first()
        )
        if department is None:
            problems.append(FieldError("department", f"没有编码为 {query.department} 的部门"))
    if problems:
        raise ValidationFailed("筛选条件不正确", code="invalid_filter", errors=problems)
    return queues.QueueFilters(
        item=query.item.strip(), light=light, state=query.state, department=department
    )


def _row(row: queues.QueueRow) -> dict[str, Any]:
    case = row.case
    if case.applicant_enterprise is not None:
        applicant = case.applicant_enterprise.name
    elif case.applicant_person is not None:
        applicant = mask_name(case.applicant_person.name)
    else:
        applicant = ""
    task = row.task
    signal = row.signal
    return {
        "kind": row.kind,
        "case": case.number or "",
        "item": case.item_code,
        "item_name": case.item_name,
        "state": case.state,
        "state_label": case.get_state_display(),
        "applicant": applicant,
        "division": case.division.code,
        "department": case.department.name,
        "task": None
        if task is None
        else {
            "id": task.pk,
            "kind": task.kind,
            "name": task.name,
            "stage_name": task.stage_name,
            "department": task.department.name,
        },
        "due_date": signal.due_date.isoformat() if signal.due_date else None,
        "light": signal.light,
        "light_label": signal.label,
        "workdays_left": signal.workdays_left,
        "overdue_workdays": signal.overdue_workdays,
    }


@router.get("/queues", response={200: list[QueueOut], **ERRORS}, summary="My work queues")
def my_queues(request: HttpRequest) -> list[dict[str, Any]]:
    if not is_staff_member(request.user):
        raise PermissionDenied("只有工作人员可以查看待办队列", code="staff_only")
    return [_queue(spec) for spec in queues.queues_for(request.user)]


@router.get(
    "/queues/{name}",
    response={200: PageOut, **ERRORS},
    summary="One page of a work queue, with traffic lights (keyset cursor)",
)
def queue_page(request: HttpRequest, name: str, query: Query[QueueQuery]) -> dict[str, Any]:
    spec = queues.check_queue_access(request.user, name)
    page = queues.queue_page(
        request.user,
        spec.name,
        filters=_filters(spec, query),
        cursor=query.cursor or None,
        page_size=query.page_size,
    )
    return {
        "queue": page.queue,
        "rows": [_row(row) for row in page.rows],
        "next_cursor": page.next_cursor,
        "partial": page.partial,
    }
