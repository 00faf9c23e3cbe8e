"""The catalog-as-code file format (``tongban-catalog/1``), as typed models.

A catalog is a folder of YAML files; each file is one ``CatalogDocument`` holding any of
divisions, departments, service centres, data elements, items, implementations and 一件事
bundles. The JSON
Schema published at ``docs/catalog.schema.json`` (and ``/api/v1/catalog/schema.json``) is
generated from these models; ``tongban catalog schema`` rewrites it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Code = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-]+$")]
Key = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
Scalar = str | int | float | bool

SCHEMA_ID = "tongban-catalog/1"
# 行政许可法 第四十二条: the head may extend the period by ten (working) days; a longer extension
# needs a law or regulation that provides for it (``ItemDoc.extension_legal_basis``).
STATUTORY_EXTENSION_DAYS = 10


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- Rules (情形规则) ---------------------------------------------------------------------------
# A rule is a mapping with exactly one of these shapes:
#   {q: KEY, eq|ne|gt|gte|lt|lte: VALUE}   compare an answer with a constant
#   {q: KEY, in|not_in: [VALUE, ...]}      membership (for multi_choice: any selected value)
#   {q: KEY, answered: true|false}         whether the question was answered
#   {all: [RULE, ...]} / {any: [RULE, ...]} / {not: RULE}
RuleDoc = dict[str, Any]


class DivisionDoc(_Strict):
    code: Annotated[str, Field(pattern=r"^\d{6}(\d{3})?$")]
    name: str = Field(min_length=1, max_length=64)
    level: Literal["province", "city", "district", "street"]
    parent: str | None = None


class DepartmentDoc(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=128)
    short_name: str = Field(default="", max_length=32)
    division: str


class WindowDoc(_Strict):
    number: str = Field(min_length=1, max_length=16)
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["general", "dedicated", "help", "complaint"] = "general"
    departments: list[Code] = Field(default_factory=list)


class ServiceCentreDoc(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=128)
    division: str
    address: str = ""
    opening_hours: str = ""
    phone: str = ""
    windows: list[WindowDoc] = Field(default_factory=list)


class DataElementDoc(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=64)
    type: Literal["text", "integer", "decimal", "date", "boolean", "choice"]
    validator: Literal["none", "id_number", "uscc", "mobile", "division", "postcode", "regex"] = (
        "none"
    )
    pattern: str = ""
    max_length: int | None = Field(default=None, ge=1)
    choices: list[str] = Field(default_factory=list)
    description: str = ""


class OptionDoc(_Strict):
    value: Annotated[str, Field(min_length=1, max_length=64)]
    label: str = Field(min_length=1, max_length=128)


class QuestionDoc(_Strict):
    key: Key
    text: str = Field(min_length=1, max_length=255)
    help: str = ""
    type: Literal["choice", "multi_choice", "yes_no", "number", "date"]
    options: list[OptionDoc] = Field(default_factory=list)
    when: RuleDoc | None = None


FileFormat = Literal["pdf", "jpg", "png", "ofd", "doc", "docx", "xls", "xlsx", "zip"]
DEFAULT_FORMATS: tuple[FileFormat, ...] = ("pdf", "jpg", "png")


class MaterialDoc(_Strict):
    key: Key
    name: str = Field(min_length=1, max_length=255)
    source: Literal["applicant", "government", "third_party"] = "applicant"
    requirement: Literal["required", "tolerable", "optional"] = "required"
    commitment_replaceable: bool = False
    licence_type: str = ""
    data_source: str = ""
    formats: list[FileFormat] = Field(default_factory=lambda: list(DEFAULT_FORMATS))
    max_size_mb: int = Field(default=10, ge=1, le=200)
    originals: int = Field(default=0, ge=0, le=20)
    copies: int = Field(default=0, ge=0, le=20)
    template: str = ""
    notes: str = ""
    when: RuleDoc | None = None


class FieldDoc(_Strict):
    key: Key
    label: str = Field(min_length=1, max_length=128)
    element: Code
    required: bool = True
    prefill: Literal["none", "identity", "history", "data_source"] = "none"
    data_source: str = ""
    when: RuleDoc | None = None


class ReviewTaskDoc(_Strict):
    """One department's review (审查) inside a stage, with its own limit in working days."""

    department: Code
    name: str = Field(default="", max_length=64)
    limit_days: int = Field(ge=1, le=365)
    # 超时默认: what happens when the task's deadline passes without action
    on_timeout: Literal["none", "approve", "escalate"] = "none"


class ReviewStageDoc(_Strict):
    """A stage of review: its tasks run in parallel (并联); stages run one after another."""

    name: str = Field(min_length=1, max_length=64)
    tasks: list[ReviewTaskDoc] = Field(min_length=1)


class InstantRuleDoc(_Strict):
    """智能秒办: decide at once when ``when`` holds. ``q`` in the rule names ``answer.<question>``,
    ``form.<field>`` or a registered ``fact.<name>``; rules are tried in order and an earlier
    rule that cannot be decided (missing data) sends the case to a person. A ``deny`` rule must
    give its ``legal_basis`` (the import refuses one without): a denial states its basis."""

    name: str = Field(min_length=1, max_length=64)
    when: RuleDoc
    outcome: Literal["approve", "deny"]
    reason: str = Field(min_length=1)
    legal_basis: str = ""


class ItemDoc(_Strict):
    code: Code
    name: str = Field(min_length=1, max_length=200)
    type: Literal[
        "licensing",
        "confirmation",
        "payment",
        "adjudication",
        "reward",
        "filing",
        "other_administrative",
        "public_service",
    ]
    department: Code
    legal_basis: str = Field(min_length=1)
    acceptance_conditions: str = Field(min_length=1)
    statutory_limit_days: int | None = Field(default=None, ge=0, le=3650)
    promised_limit_days: int = Field(ge=0, le=3650)
    fee: str = "不收费"
    result: Literal["none", "document", "licence"] = "document"
    result_name: str = ""
    result_licence_type: str = ""
    handling_mode: Literal["immediate", "promised"] = "promised"
    online_depth: int = Field(default=3, ge=1, le=4)
    required_trips: int = Field(default=1, ge=0, le=9)
    applicant_types: list[Literal["person", "enterprise"]] = Field(min_length=1)
    allows_commitment: bool = False
    allows_tolerance: bool = False
    tongban_scope: Literal["local", "city", "province", "cross_province"] = "local"
    keywords: list[str] = Field(default_factory=list)
    themes: list[str] = Field(default_factory=list)
    popularity: int = Field(default=0, ge=0)
    sample_note: str = ""
    review_stages: list[ReviewStageDoc] = Field(default_factory=list)
    extension_max_days: int = Field(default=0, ge=0, le=365)
    extension_legal_basis: str = ""
    instant_rules: list[InstantRuleDoc] = Field(default_factory=list)
    questions: list[QuestionDoc] = Field(default_factory=list)
    materials: list[MaterialDoc] = Field(default_factory=list)
    fields: list[FieldDoc] = Field(default_factory=list)


class ImplementationDoc(_Strict):
    item: Code
    division: str
    handling_department: Code | None = None
    promised_limit_days: int | None = Field(default=None, ge=0, le=3650)
    fee: str = ""
    service_centre: Code | None = None
    windows: str = ""
    online_depth: int | None = Field(default=None, ge=1, le=4)
    required_trips: int | None = Field(default=None, ge=0, le=9)


# --- 一件事 bundles ----------------------------------------------------------------------------
ItemPart = Annotated[
    str, Field(min_length=3, max_length=130, pattern=r"^[A-Za-z0-9_.\-]+:[a-z][a-z0-9_]*$")
]


class BundleComponentDoc(_Strict):
    """One component item of a bundle. ``needs`` names the components whose result it waits
    for (a later stage); ``when`` (over the bundle's own questions) says in which situation it
    is part of the application at all."""

    item: Code
    needs: list[Code] = Field(default_factory=list)
    when: RuleDoc | None = None
    note: str = ""


class BundleLinkDoc(_Strict):
    """Declares that differently named fields (or materials) of several items are one and the
    same (``ITEM:key`` each); fields must be bound to compatible data elements."""

    key: Key
    label: str = Field(min_length=1, max_length=255)
    parts: list[ItemPart] = Field(min_length=2)


class FigureDoc(_Strict):
    before: float = Field(ge=0)
    after: float = Field(ge=0)


class PublishedFiguresDoc(_Strict):
    """Before → after figures a source document publishes for this bundle (shown beside the
    computed report, never used in it)."""

    source: str = Field(min_length=1)
    forms: FigureDoc | None = None
    fields: FigureDoc | None = None
    materials: FigureDoc | None = None
    days: FigureDoc | None = None
    trips: FigureDoc | None = None
    departments: FigureDoc | None = None


class BundleDoc(_Strict):
    """一件事: one application for several items, in stages derived from ``needs``."""

    code: Code
    name: str = Field(min_length=1, max_length=200)
    summary: str = ""
    division: str
    applicant_types: list[Literal["person", "enterprise"]] = Field(min_length=1)
    themes: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    required_trips: int = Field(default=0, ge=0, le=9)
    # when an item is denied: the rest proceed, or stages not yet started are held
    on_denial: Literal["continue", "hold"] = "continue"
    questions: list[QuestionDoc] = Field(default_factory=list)
    components: list[BundleComponentDoc] = Field(min_length=2)
    same_fields: list[BundleLinkDoc] = Field(default_factory=list)
    same_materials: list[BundleLinkDoc] = Field(default_factory=list)
    # the situation (answers to bundle and item questions) the reform report is computed for
    report_answers: dict[str, Scalar | list[str]] = Field(default_factory=dict)
    published: PublishedFiguresDoc | None = None
    sample_note: str = ""


class CatalogDocument(_Strict):
    """One catalog file. Every section is optional; a folder's files are merged on import."""

    schema_: Literal["tongban-catalog/1"] = Field(alias="schema")
    divisions: list[DivisionDoc] = Field(default_factory=list)
    departments: list[DepartmentDoc] = Field(default_factory=list)
    service_centres: list[ServiceCentreDoc] = Field(default_factory=list)
    data_elements: list[DataElementDoc] = Field(default_factory=list)
    items: list[ItemDoc] = Field(default_factory=list)
    implementations: list[ImplementationDoc] = Field(default_factory=list)
    bundles: list[BundleDoc] = Field(default_factory=list)

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def json_schema() -> dict[str, Any]:
    """The published JSON Schema (2020-12) of a catalog file."""
    schema = CatalogDocument.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://tongban.invalid/schemas/" + SCHEMA_ID + ".json"
    schema["title"] = "tongban catalog file"
    return schema
