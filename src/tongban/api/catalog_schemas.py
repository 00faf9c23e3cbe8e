"""Response and request shapes of the catalog API (no logic here: mapping only)."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import Field


class DepartmentRef(Schema):
    code: str
    name: str
    division: str


class ItemSummary(Schema):
    code: str
    name: str
    version: int
    type: str
    department: DepartmentRef
    promised_limit_days: int
    online_depth: int
    required_trips: int
    applicant_types: list[str]


class ItemPageOut(Schema):
    results: list[ItemSummary]
    next_cursor: str | None = Field(description="pass as ?cursor= to get the next page")


class SearchHitOut(Schema):
    code: str
    name: str
    type: str
    department: str
    score: float
    matched_terms: list[str]
    highlight: list[tuple[int, int]] = Field(
        description="character spans [start, end) of the name that matched the query"
    )


class SearchOut(Schema):
    query: str
    results: list[SearchHitOut]


class OptionOut(Schema):
    value: str
    label: str


class QuestionOut(Schema):
    key: str
    text: str
    help: str
    type: str
    options: list[OptionOut]
    when: dict[str, Any] | None


class MaterialOut(Schema):
    key: str
    name: str
    source: str
    requirement: str
    commitment_replaceable: bool
    licence_type: str
    data_source: str
    formats: list[str]
    max_size_mb: int
    originals: int
    copies: int
    notes: str
    when: dict[str, Any] | None


class FieldOut(Schema):
    key: str
    label: str
    element: str
    required: bool
    prefill: str
    data_source: str
    when: dict[str, Any] | None


class ImplementationOut(Schema):
    division: str
    division_name: str
    handling_department: str
    promised_limit_days: int
    fee: str
    service_centre: str
    windows: str
    online_depth: int
    required_trips: int


class ReviewTaskOut(Schema):
    department: str
    name: str
    limit_days: int


class ReviewStageOut(Schema):
    name: str
    tasks: list[ReviewTaskOut]


class ItemDetail(Schema):
    code: str
    version: int
    name: str
    type: str
    department: DepartmentRef
    legal_basis: str
    acceptance_conditions: str
    statutory_limit_days: int | None
    promised_limit_days: int
    fee: str
    result: str
    result_name: str
    result_licence_type: str
    handling_mode: str
    online_depth: int
    required_trips: int
    applicant_types: list[str]
    allows_commitment: bool
    allows_tolerance: bool
    tongban_scope: str
    keywords: list[str]
    themes: list[str]
    sample_note: str
    review_stages: list[ReviewStageOut]
    extension_max_days: int
    extension_legal_basis: str
    instant_rules: list[dict[str, Any]]
    implementation: ImplementationOut | None
    implemented_in: list[str]
    questions: list[QuestionOut]
    materials: list[MaterialOut]
    fields: list[FieldOut]


class GuideIn(Schema):
    answers: dict[str, Any] = Field(default_factory=dict)


class GuideQuestionOut(Schema):
    key: str
    text: str
    type: str
    state: str = Field(description="asked | pending (waits for an earlier answer) | hidden")
    answer: Any = None


class GuideMaterialOut(Schema):
    key: str
    name: str
    requirement: str
    source: str
    status: str = Field(description="applies | depends (on an unanswered question)")
    depends_on: list[str]
    commitment_replaceable: bool
    licence_type: str
    data_source: str
    originals: int
    copies: int
    formats: list[str]


class GuideFieldOut(Schema):
    key: str
    label: str
    element: str
    required: bool
    prefill: str
    status: str
    depends_on: list[str]


class GuideOut(Schema):
    item: str
    version: int
    complete: bool
    unanswered: list[str]
    ignored: list[str]
    questions: list[GuideQuestionOut]
    materials: list[GuideMaterialOut]
    fields: list[GuideFieldOut]


class DivisionOut(Schema):
    code: str
    name: str
    level: str
    parent: str | None


class DepartmentOut(Schema):
    code: str
    name: str
    short_name: str
    division: str
    division_name: str


class ErrorOut(Schema):
    code: str
    message: str
    errors: list[dict[str, str]]
