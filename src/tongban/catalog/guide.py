"""情形引导 (guidance): turn an applicant's answers into a personal list of materials and fields.

``GuideSpec`` is an item version compiled once (versions are immutable, so it is cached by
version id); ``evaluate`` is pure and fast. Questions are asked in order; a follow-up question is
asked only when its ``when`` holds on the answers before it. A material or field whose rule
depends on a question not yet answered is listed as *depends on …*, never silently included or
dropped.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any, Literal

from django.utils.translation import gettext as _

from tongban.catalog.models import ItemVersion
from tongban.catalog.rules import (
    SKIPPED,
    Answer,
    AnswerError,
    QuestionSpec,
    Rule,
    Truth,
    compile_rule,
    parse_answer,
)
from tongban.core.errors import FieldError, ValidationFailed


@dataclass(frozen=True)
class GuideQuestion:
    spec: QuestionSpec
    text: str
    help_text: str
    options: tuple[tuple[str, str], ...]  # (value, label)
    when: Rule


@dataclass(frozen=True)
class GuideMaterial:
    key: str
    name: str
    requirement: str
    source: str
    commitment_replaceable: bool
    licence_type: str
    data_source: str
    formats: tuple[str, ...]
    max_size_mb: int
    originals: int
    copies: int
    notes: str
    when: Rule


@dataclass(frozen=True)
class GuideField:
    key: str
    label: str
    element_code: str
    element_name: str
    value_type: str
    required: bool
    prefill: str
    data_source: str
    when: Rule


@dataclass(frozen=True)
class GuideSpec:
    item_code: str
    version: int
    questions: tuple[GuideQuestion, ...]
    materials: tuple[GuideMaterial, ...]
    fields: tuple[GuideField, ...]

    @property
    def question_specs(self) -> dict[str, QuestionSpec]:
        return {q.spec.key: q.spec for q in self.questions}


QuestionState = Literal["asked", "pending", "hidden"]
LineStatus = Literal["applies", "depends"]


@dataclass
class QuestionResult:
    key: str
    text: str
    answer_type: str
    options: list[tuple[str, str]]
    state: QuestionState
    answer: Any = None


@dataclass
class MaterialResult:
    material: GuideMaterial
    status: LineStatus
    depends_on: list[str] = dc_field(default_factory=list)


@dataclass
class FieldResult:
    field: GuideField
    status: LineStatus
    depends_on: list[str] = dc_field(default_factory=list)


@dataclass
class GuideResult:
    item_code: str
    version: int
    questions: list[QuestionResult]
    materials: list[MaterialResult]
    fields: list[FieldResult]
    unanswered: list[str]
    ignored: list[str]

    @property
    def complete(self) -> bool:
        return not self.unanswered


def compile_version(version: ItemVersion) -> GuideSpec:
    """Compile an item version's questions, materials and fields (rules already checked on import)."""
    questions = list(version.questions.all())
    specs = {
        q.key: QuestionSpec(q.key, q.answer_type, tuple(o["value"] for o in q.options))
        for q in questions
    }
    guide_questions = tuple(
        GuideQuestion(
            spec=specs[q.key],
            text=q.text,
            help_text=q.help_text,
            options=tuple((o["value"], o["label"]) for o in q.options),
            when=compile_rule(q.when, specs),
        )
        for q in questions
    )
    materials = tuple(
        GuideMaterial(
            key=m.key,
            name=m.name,
            requirement=m.requirement,
            source=m.source,
            commitment_replaceable=m.commitment_replaceable,
            licence_type=m.licence_type,
            data_source=m.data_source,
            formats=tuple(m.formats),
            max_size_mb=m.max_size_mb,
            originals=m.originals,
            copies=m.copies,
            notes=m.notes,
            when=compile_rule(m.when, specs),
        )
        for m in version.materials.all()
    )
    fields = tuple(
        GuideField(
            key=f.key,
            label=f.label,
            element_code=f.element.code,
            element_name=f.element.name,
            value_type=f.element.value_type,
            required=f.required,
            prefill=f.prefill,
            data_source=f.data_source,
            when=compile_rule(f.when, specs),
        )
        for f in version.fields.select_related("element")
    )
    return GuideSpec(version.item.code, version.number, guide_questions, materials, fields)


@functools.lru_cache(maxsize=4096)
def _cached_spec(version_id: int, content_hash: str) -> GuideSpec:
    version = ItemVersion.objects.select_related("item").get(pk=version_id)
    return compile_version(version)


def spec_for(version: ItemVersion) -> GuideSpec:
    """The compiled guide of a version. Versions never change, so it is cached; the key holds
    the content digest too, so a reused id (a rolled-back test database) never hits a stale one."""
    return _cached_spec(version.pk, version.content_hash)


def parse_answers(spec: GuideSpec, raw: Mapping[str, Any]) -> dict[str, Answer]:
    """Validate raw answers; every problem is reported at once with its path."""
    specs = spec.question_specs
    errors: list[FieldError] = []
    parsed: dict[str, Answer] = {}
    for key, value in raw.items():
        if key not in specs:
            errors.append(FieldError(f"answers.{key}", _("本事项没有这个问题")))
            continue
        if value is None or value == "":
            continue
        try:
            parsed[key] = parse_answer(specs[key], value)
        except AnswerError as exc:
            errors.append(FieldError(f"answers.{key}", exc.message))
    if errors:
        raise ValidationFailed(_("情形回答有误"), code="invalid_answers", errors=errors)
    return parsed


_STATE_OF: dict[Truth, QuestionState] = {
    Truth.TRUE: "asked",
    Truth.UNKNOWN: "pending",
    Truth.FALSE: "hidden",
}


def evaluate(spec: GuideSpec, answers: Mapping[str, Answer]) -> GuideResult:
    """Decide which questions are asked and which materials and fields apply."""
    effective: dict[str, Answer] = {}
    questions: list[QuestionResult] = []
    unanswered: list[str] = []
    for q in spec.questions:
        shown = q.when.evaluate(effective)
        state: QuestionState = _STATE_OF[shown]
        answer = answers.get(q.spec.key) if state == "asked" else None
        if state == "asked":
            if answer is None:
                unanswered.append(q.spec.key)
            else:
                effective[q.spec.key] = answer
        elif state == "hidden":
            effective[q.spec.key] = SKIPPED
        questions.append(
            QuestionResult(q.spec.key, q.text, q.spec.answer_type, list(q.options), state, answer)
        )
    ignored = sorted(k for k in answers if effective.get(k, SKIPPED) is SKIPPED)
    pending = {q.key for q in questions if q.state != "hidden" and q.key not in effective}

    def status(rule: Rule) -> tuple[Truth, list[str]]:
        truth = rule.evaluate(effective)
        waiting = sorted(rule.questions() & pending) if truth is Truth.UNKNOWN else []
        return truth, waiting

    materials = []
    for m in spec.materials:
        truth, waiting = status(m.when)
        if truth is not Truth.FALSE:
            materials.append(
                MaterialResult(m, "applies" if truth is Truth.TRUE else "depends", waiting)
            )
    fields = []
    for f in spec.fields:
        truth, waiting = status(f.when)
        if truth is not Truth.FALSE:
            fields.append(FieldResult(f, "applies" if truth is Truth.TRUE else "depends", waiting))
    return GuideResult(
        spec.item_code, spec.version, questions, materials, fields, unanswered, ignored
    )
