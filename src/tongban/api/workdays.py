"""Working-day endpoints: deadline arithmetic, the known years and the calendar horizon.

Reads only, open to everyone (the schedule is public). A date in a year nobody has entered yet
answers 409 ``calendar_unknown`` naming the field (``start`` or ``end``); bad input answers 422
with field paths. Conventions (the period starts the day after ``start``; ``between`` counts
``(start, end]``) are documented in ``tongban.workdays.arithmetic``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from tongban.workdays import selectors
from tongban.workdays.arithmetic import MAX_WORKDAYS

router = Router(tags=["workdays"])


class ErrorOut(Schema):
    code: str
    message: str
    errors: list[dict[str, str]]


class AddOut(Schema):
    start: dt.date
    days: int
    deadline: dt.date = Field(description="the days-th working day after start")
    division: str | None


class BetweenOut(Schema):
    start: dt.date
    end: dt.date
    workdays: int = Field(description="working days in (start, end]")


class HorizonOut(Schema):
    today: dt.date
    last_known_date: dt.date | None
    days_left: int
    warn: bool = Field(description="fewer than 60 days of known calendar remain")
    missing_year: int = Field(description="the year an administrator must enter next")


class YearOut(Schema):
    year: int
    source: str
    notice: str
    entered_at: dt.datetime
    holidays: int
    makeup_workdays: int


class DayOut(Schema):
    date: dt.date
    kind: str
    name: str


class YearDetailOut(Schema):
    year: int
    source: str
    notice: str
    entered_at: dt.datetime
    days: list[DayOut]


ERRORS: dict[int, Any] = {404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.get(
    "/workdays/add",
    response={200: AddOut, **ERRORS},
    summary="The deadline: the N-th working day after a date",
)
def add(
    request: HttpRequest,
    start: dt.date,
    days: int = Query(..., ge=0, le=MAX_WORKDAYS),
    division: str | None = Query(None, max_length=12, description="GB/T 2260 code"),
) -> dict[str, Any]:
    deadline = selectors.add_workdays(start, days, division or None)
    return {"start": start, "days": days, "deadline": deadline, "division": division or None}


@router.get(
    "/workdays/between",
    response={200: BetweenOut, **ERRORS},
    summary="Working days in (start, end]",
)
def between(
    request: HttpRequest,
    start: dt.date,
    end: dt.date,
    division: str | None = Query(None, max_length=12, description="GB/T 2260 code"),
) -> dict[str, Any]:
    count = selectors.workdays_between(start, end, division or None)
    return {"start": start, "end": end, "workdays": count}


@router.get(
    "/workdays/calendar/horizon",
    response=HorizonOut,
    summary="How far the known calendar reaches (warns when fewer than 60 days remain)",
)
def horizon(request: HttpRequest) -> dict[str, Any]:
    today = timezone.localdate()
    result = selectors.calendar_horizon(today)
    return {"today": today, **result._asdict()}


@router.get("/workdays/years", response=list[YearOut], summary="Known calendar years")
def years(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "year": y.year,
            "source": y.source,
            "notice": y.notice,
            "entered_at": y.entered_at,
            "holidays": y.holiday_count,
            "makeup_workdays": y.makeup_count,
        }
        for y in selectors.list_years()
    ]


@router.get(
    "/workdays/years/{year}",
    response={200: YearDetailOut, 404: ErrorOut},
    summary="One known year with its holidays and make-up workdays",
)
def year_detail(request: HttpRequest, year: int) -> dict[str, Any]:
    row = selectors.get_year(year)
    return {
        "year": row.year,
        "source": row.source,
        "notice": row.notice,
        "entered_at": row.entered_at,
        "days": [{"date": d.date, "kind": d.kind, "name": d.name} for d in row.days.all()],
    }
