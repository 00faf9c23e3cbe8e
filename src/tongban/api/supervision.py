"""督办 endpoint: ``GET /api/v1/supervision/overview`` — each department's open cases, review
tasks and 告知承诺 核查 tasks by light, the overdue and at-risk work, the 督办 escalations sent
(cases, review tasks and 核查 tasks, each counted once) and the 按时办结率 of the last 30 days,
as the workbench's 督办总览 shows them.

Thin: ``tongban.cases.supervision.overview`` decides who may see what (supervisors: their
division and below; department heads: their departments). Anonymous callers get 401; applicants
and staff who are neither supervisor nor head get 403, and so does a division or department
filter outside the caller's oversight; an unknown code is 422 naming the parameter.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.security import django_auth
from pydantic import Field

from tongban.api.catalog_schemas import ErrorOut
from tongban.cases import supervision
from tongban.cases.queues import QueueRow

router = Router(tags=["supervision"], auth=django_auth)


class OverviewQuery(Schema):
    division: str | None = Field(None, description="GB/T 2260 code: this division and below")
    department: str | None = Field(None, description="department code")
    item: str = Field("", max_length=64, description="item code prefix or part of its name")


class LightsOut(Schema):
    red: int
    yellow: int
    green: int
    paused: int
    total: int


class EscalationsOut(Schema):
    cases: int = Field(
        description="cases whose own deadline (预审 period, due date, 送达 period) was escalated"
    )
    tasks: int = Field(description="review tasks escalated")
    verifications: int = Field(description="告知承诺 核查 tasks escalated")


class DepartmentOut(Schema):
    code: str
    name: str
    division: str = Field(description="GB/T 2260 code of the department's division")
    cases: LightsOut = Field(description="open cases (审查中, 待决定) by light")
    tasks: LightsOut = Field(description="open review tasks by light")
    verifications: LightsOut = Field(
        description="open 告知承诺 核查 tasks (cases approved on a commitment) by light"
    )
    escalations: int = Field(
        description="cases, review tasks and 核查 tasks escalated (督办) in the window, each once"
    )
    escalations_by_kind: EscalationsOut
    decided: int = Field(description="cases decided in the window")
    decided_on_time: int
    on_time_rate: float | None = Field(description="按时办结率 in percent; null if none decided")


class TotalsOut(Schema):
    cases: LightsOut
    tasks: LightsOut
    verifications: LightsOut
    escalations: int
    escalations_by_kind: EscalationsOut
    decided: int
    decided_on_time: int
    on_time_rate: float | None


class RowOut(Schema):
    kind: str = Field(description="case, task (a review) or verification (a 核查 task)")
    number: str
    item_code: str
    item_name: str
    department: str = Field(description="the handling department (case) or reviewing one (task)")
    stage_name: str | None
    task_name: str | None
    due_date: dt.date
    light: str
    workdays_left: int | None
    overdue_workdays: int | None


class OverviewOut(Schema):
    today: dt.date
    since: dt.date = Field(description="first day of the window of escalations and decisions")
    window_days: int
    departments: list[DepartmentOut]
    totals: TotalsOut
    overdue: list[RowOut] = Field(description="the earliest overdue cases and tasks")
    more_overdue: bool
    at_risk: list[RowOut] = Field(description="the earliest cases and tasks near their deadline")
    more_at_risk: bool


def _figures(line: supervision.DepartmentLine) -> dict[str, Any]:
    return {
        "cases": line.cases.as_dict(),
        "tasks": line.tasks.as_dict(),
        "verifications": line.verifications.as_dict(),
        "escalations": line.escalations,
        "escalations_by_kind": {
            "cases": line.escalated_cases,
            "tasks": line.escalated_tasks,
            "verifications": line.escalated_verifications,
        },
        "decided": line.decided,
        "decided_on_time": line.decided_on_time,
        "on_time_rate": line.on_time_rate,
    }


def _row(row: QueueRow) -> dict[str, Any]:
    case = row.case
    task = row.task
    return {
        "kind": supervision.row_kind(row),
        "number": case.number,
        "item_code": case.item_code,
        "item_name": case.item_name,
        "department": (task.department if task else case.department).code,
        "stage_name": task.stage_name if task else None,
        "task_name": task.name if task else None,
        "due_date": row.due_date,
        "light": row.light,
        "workdays_left": row.signal.workdays_left,
        "overdue_workdays": row.signal.overdue_workdays,
    }


@router.get(
    "/supervision/overview",
    response={200: OverviewOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="督办总览: open work by light, overdue and at-risk lists, escalations, on-time rate",
)
def overview(request: HttpRequest, query: Query[OverviewQuery]) -> dict[str, Any]:
    supervision.check_oversight(request.user)
    filters = supervision.filters_from_codes(
        division=query.division, department=query.department, item=query.item
    )
    result = supervision.overview(request.user, filters)
    return {
        "today": result.today,
        "since": result.since,
        "window_days": supervision.WINDOW_DAYS,
        "departments": [
            {
                "code": line.department.code,
                "name": line.department.name,
                "division": line.department.division.code,
                **_figures(line),
            }
            for line in result.lines
            if line.department is not None
        ],
        "totals": _figures(result.totals),
        "overdue": [_row(row) for row in result.overdue],
        "more_overdue": result.more_overdue,
        "at_risk": [_row(row) for row in result.at_risk],
        "more_at_risk": result.more_at_risk,
    }
