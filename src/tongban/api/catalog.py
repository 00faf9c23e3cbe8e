"""Catalog endpoints: items (list, search, detail, versions), 情形 guidance, divisions, departments.

Reads only; each endpoint maps a selector's result to a schema. Lists use keyset cursors.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from tongban.api.catalog_schemas import (
    DepartmentOut,
    DivisionOut,
    ErrorOut,
    GuideIn,
    GuideOut,
    ItemDetail,
    ItemPageOut,
    SearchOut,
)
from tongban.catalog import guide, selectors
from tongban.catalog.document import json_schema
from tongban.catalog.models import ItemVersion
from tongban.catalog.services import item_document

router = Router(tags=["catalog"])


def _department(v: ItemVersion) -> dict[str, str]:
    return {
        "code": v.department.code,
        "name": v.department.name,
        "division": v.department.division.code,
    }


def _summary(v: ItemVersion) -> dict[str, Any]:
    return {
        "code": v.item.code,
        "name": v.name,
        "version": v.number,
        "type": v.item_type,
        "department": _department(v),
        "promised_limit_days": v.promised_limit_days,
        "online_depth": v.online_depth,
        "required_trips": v.required_trips,
        "applicant_types": v.applicant_types,
    }


@router.get("/items", response=ItemPageOut, summary="List items (keyset pagination)")
def list_items(
    request: HttpRequest,
    cursor: str | None = None,
    limit: int = Query(20, ge=1, le=100),
    department: str | None = None,
    division: str | None = None,
    type: str | None = None,
    applicant_type: str | None = None,
    theme: str | None = None,
) -> dict[str, Any]:
    page = selectors.list_items(
        cursor=cursor,
        limit=limit,
        department=department,
        division=division,
        item_type=type,
        applicant_type=applicant_type,
        theme=theme,
    )
    return {"results": [_summary(v) for v in page.items], "next_cursor": page.next_cursor}


@router.get("/items/search", response=SearchOut, summary="Search items (Chinese, synonyms, pinyin)")
def search_items(
    request: HttpRequest,
    q: str = Query(..., max_length=100),
    division: str | None = None,
    applicant_type: str | None = None,
    limit: int = Query(20, ge=1, le=50),
) -> dict[str, Any]:
    from tongban.catalog.search import search_items as run_search

    hits = run_search(q, division_code=division, applicant_type=applicant_type, limit=limit)
    return {
        "query": q,
        "results": [
            {
                "code": h.code,
                "name": h.name,
                "type": h.item_type,
                "highlight": [list(span) for span in h.highlight],
                "department": h.department_name,
                "score": round(h.score, 4),
                "matched_terms": list(h.matched_terms),
            }
            for h in hits
        ],
    }


def _detail(effective: selectors.EffectiveItem) -> dict[str, Any]:
    version = selectors.guide_parts(effective.version)
    doc = item_document(version)
    data = doc.model_dump(mode="json")
    impl = effective.implementation
    data.update(
        version=version.number,
        department=_department(version),
        questions=[{**q, "help": q.get("help", "")} for q in data["questions"]],
        implementation=None
        if impl is None
        else {
            "division": impl.division.code,
            "division_name": impl.division.name,
            "handling_department": effective.handling_department.name,
            "promised_limit_days": effective.promised_limit_days,
            "fee": effective.fee,
            "service_centre": effective.service_centre_name,
            "windows": effective.windows,
            "online_depth": effective.online_depth,
            "required_trips": effective.required_trips,
        },
        implemented_in=[i.division.code for i in selectors.implementations_of(doc.code)],
    )
    return data


@router.get(
    "/items/{code}",
    response={200: ItemDetail, 404: ErrorOut},
    summary="An item's current version with every standard element",
)
def item_detail(request: HttpRequest, code: str, division: str | None = None) -> dict[str, Any]:
    return _detail(selectors.effective_item(code, division))


@router.get(
    "/items/{code}/versions/{number}",
    response={200: ItemDetail, 404: ErrorOut},
    summary="A specific published version (cases keep the version they were filed under)",
)
def item_version(request: HttpRequest, code: str, number: int) -> dict[str, Any]:
    version = selectors.get_version(code, number)
    effective = selectors.EffectiveItem(
        version=version,
        division=None,
        implementation=None,
        handling_department=version.department,
        promised_limit_days=version.promised_limit_days,
        fee=version.fee,
        online_depth=version.online_depth,
        required_trips=version.required_trips,
        service_centre_name="",
        windows="",
    )
    return _detail(effective)


@router.post(
    "/items/{code}/guide",
    response={200: GuideOut, 404: ErrorOut, 422: ErrorOut},
    summary="情形引导: answers → personal material list and fields",
)
def item_guide(request: HttpRequest, code: str, payload: GuideIn) -> dict[str, Any]:
    version = selectors.get_current_version(code)
    spec = guide.spec_for(version)
    result = guide.evaluate(spec, guide.parse_answers(spec, payload.answers))
    return {
        "item": result.item_code,
        "version": result.version,
        "complete": result.complete,
        "unanswered": result.unanswered,
        "ignored": result.ignored,
        "questions": [
            {
                "key": q.key,
                "text": q.text,
                "type": q.answer_type,
                "state": q.state,
                "answer": _jsonable(q.answer),
            }
            for q in result.questions
        ],
        "materials": [
            {
                "key": m.material.key,
                "name": m.material.name,
                "requirement": m.material.requirement,
                "source": m.material.source,
                "status": m.status,
                "depends_on": m.depends_on,
                "commitment_replaceable": m.material.commitment_replaceable,
                "licence_type": m.material.licence_type,
                "data_source": m.material.data_source,
                "originals": m.material.originals,
                "copies": m.material.copies,
                "formats": list(m.material.formats),
            }
            for m in result.materials
        ],
        "fields": [
            {
                "key": f.field.key,
                "label": f.field.label,
                "element": f.field.element_code,
                "required": f.field.required,
                "prefill": f.field.prefill,
                "status": f.status,
                "depends_on": f.depends_on,
            }
            for f in result.fields
        ],
    }


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


@router.get("/divisions", response=list[DivisionOut], summary="Divisions (GB/T 2260 tree)")
def divisions(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {
            "code": d.code,
            "name": d.name,
            "level": d.level,
            "parent": d.parent.code if d.parent else None,
        }
        for d in selectors.list_divisions()
    ]


@router.get("/departments", response=list[DepartmentOut], summary="Departments")
def departments(request: HttpRequest, division: str | None = None) -> list[dict[str, Any]]:
    return [
        {
            "code": d.code,
            "name": d.name,
            "short_name": d.short_name,
            "division": d.division.code,
            "division_name": d.division.name,
        }
        for d in selectors.list_departments(division)
    ]


@router.get("/catalog/schema.json", summary="JSON Schema of a catalog-as-code file")
def catalog_schema(request: HttpRequest) -> dict[str, Any]:
    return json_schema()
