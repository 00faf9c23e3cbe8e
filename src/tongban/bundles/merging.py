"""Merging a bundle's items into one questionnaire, one form and one material list (pure).

- **Questions** are merged by key: the bundle's own questions first (which components apply),
  then each component's 情形 questions in component order; a question several items ask is
  asked once (``compile_bundle`` has checked they agree).
- **Fields** are merged by data element. Identity: a declared link (``same_fields``) → the
  link; 自动填 from the verified identity → the data element alone (one 姓名, one 身份证号 of the
  applicant); 系统填 from a data source → the data element and the source; any other field →
  the data element and the field key (the deceased's 身份证号 is not the applicant's).
- **Materials** are merged by material identity: a declared link (``same_materials``) → the
  link; a material an e-licence stands for → the licence type; otherwise → the material's name.
  A merged material is covered in exactly one way: **produced** inside the bundle (an earlier
  stage's item issues the licence it names), **exempt** (免提交: an e-licence or shared data
  stands for it), or an **upload** (one file serves every item that needs it); optional ones
  are offered, not required.

``form_keys`` says which keys the merged form can have whatever the answers, so that a key
no item of the bundle has a field for is refused rather than dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tongban.bundles.spec import BundleSpec, ComponentSpec
from tongban.catalog.guide import FieldResult, GuideResult, evaluate
from tongban.catalog.rules import SKIPPED, AnswerError, Truth, parse_answer

Coverage = Literal["upload", "exempt", "produced", "optional"]
Status = Literal["applies", "depends"]
_REQUIREMENT_RANK = {"required": 3, "tolerable": 2, "optional": 1}
PREFILLED = ("identity", "data_source")


@dataclass
class MergedQuestion:
    key: str
    text: str
    help_text: str
    answer_type: str
    options: list[tuple[str, str]]
    state: str  # asked | pending | hidden
    answer: Any
    asked_by: list[str]  # "bundle" or item codes


@dataclass
class MergedField:
    key: str
    label: str
    element_code: str
    value_type: str
    required: bool
    prefill: str
    data_source: str
    status: Status
    parts: list[tuple[str, str]] = field(default_factory=list)  # (item code, field key)

    @property
    def prefilled(self) -> bool:
        return self.prefill in PREFILLED


@dataclass
class MergedMaterial:
    key: str
    name: str
    requirement: str
    licence_type: str
    data_source: str
    formats: tuple[str, ...]
    max_size_mb: int
    status: Status
    parts: list[tuple[str, str]] = field(default_factory=list)  # (item code, material key)
    produced_by: str = ""  # item code of the earlier stage that issues it
    notes: str = ""

    @property
    def coverage(self) -> Coverage:
        if self.produced_by:
            return "produced"
        if self.licence_type or self.data_source:
            return "exempt"
        if self.requirement == "optional":
            return "optional"
        return "upload"


@dataclass
class ComponentState:
    component: ComponentSpec
    status: Literal["applies", "depends", "excluded"]
    guide: GuideResult | None

    @property
    def code(self) -> str:
        return self.component.code


@dataclass
class Merged:
    spec: BundleSpec
    questions: list[MergedQuestion]
    components: list[ComponentState]
    fields: list[MergedField]
    materials: list[MergedMaterial]
    answers: dict[str, Any]  # parsed answers by question key
    errors: dict[str, str]  # answers.<key> → message

    @property
    def included(self) -> list[ComponentState]:
        return [c for c in self.components if c.status != "excluded"]

    @property
    def unanswered(self) -> list[str]:
        return [q.key for q in self.questions if q.state == "asked" and q.answer is None]

    def field_parts(self) -> dict[tuple[str, str], MergedField]:
        return {part: f for f in self.fields for part in f.parts}

    def material_parts(self) -> dict[tuple[str, str], MergedMaterial]:
        return {part: m for m in self.materials for part in m.parts}


def _parse(spec: BundleSpec, raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse every answer against the (merged) question it answers; unknown keys are errors."""
    known = {q.spec.key: q.spec for q in spec.questions}
    for component in spec.components:
        for q in component.item.guide.questions:
            known.setdefault(q.spec.key, q.spec)
    parsed: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, value in raw.items():
        if key not in known:
            errors[f"answers.{key}"] = "本一件事没有这个问题"
            continue
        if value is None or value == "" or value == []:
            continue
        try:
            parsed[key] = parse_answer(known[key], value)
        except AnswerError as exc:
            errors[f"answers.{key}"] = exc.message
    return parsed, errors


def merge(spec: BundleSpec, raw_answers: Mapping[str, Any] | None = None) -> Merged:
    """The merged application for these answers (unanswered questions leave lines *depends*)."""
    answers, errors = _parse(spec, raw_answers or {})
    questions: list[MergedQuestion] = []
    by_key: dict[str, MergedQuestion] = {}
    effective: dict[str, Any] = {}
    for q in spec.questions:
        shown = q.when.evaluate(effective)
        state = {Truth.TRUE: "asked", Truth.FALSE: "hidden"}.get(shown, "pending")
        answer = answers.get(q.spec.key) if state == "asked" else None
        if state == "asked" and answer is not None:
            effective[q.spec.key] = answer
        elif state == "hidden":
            effective[q.spec.key] = SKIPPED
        merged_q = MergedQuestion(
            q.spec.key,
            q.text,
            q.help_text,
            q.spec.answer_type,
            list(q.options),
            state,
            answer,
            ["bundle"],
        )
        questions.append(merged_q)
        by_key[q.spec.key] = merged_q
    components: list[ComponentState] = []
    for component in spec.components:
        truth = component.when.evaluate(effective)
        if truth is Truth.FALSE:
            components.append(ComponentState(component, "excluded", None))
            continue
        guide_spec = component.item.guide
        own = {q.spec.key for q in guide_spec.questions}
        result = evaluate(guide_spec, {k: v for k, v in answers.items() if k in own})
        components.append(
            ComponentState(component, "applies" if truth is Truth.TRUE else "depends", result)
        )
        for rq in result.questions:
            existing = by_key.get(rq.key)
            if existing is None:
                merged_q = MergedQuestion(
                    rq.key,
                    rq.text,
                    "",
                    rq.answer_type,
                    list(rq.options),
                    rq.state,
                    rq.answer,
                    [component.code],
                )
                help_text = next(
                    (g.help_text for g in guide_spec.questions if g.spec.key == rq.key), ""
                )
                merged_q.help_text = help_text
                questions.append(merged_q)
                by_key[rq.key] = merged_q
            else:
                existing.asked_by.append(component.code)
                if rq.state == "asked" or (rq.state == "pending" and existing.state == "hidden"):
                    existing.state = rq.state
                    existing.answer = rq.answer if rq.state == "asked" else existing.answer
    included = [c for c in components if c.guide is not None]
    return Merged(
        spec,
        questions,
        components,
        _merge_fields(spec, included),
        _merge_materials(spec, included),
        answers,
        errors,
    )


def form_keys(merged: Merged) -> set[str]:
    """Every key of ``merged``'s form, and every key the bundle's form has with every component
    and every field applying: a key taken twice is numbered in component order, so a field may
    carry another key when some components are left out, and both are the field's."""
    every = [
        ComponentState(
            c,
            "applies",
            GuideResult(
                c.item.guide.item_code,
                c.item.guide.version,
                [],
                [],
                [FieldResult(f, "applies") for f in c.item.guide.fields],
                [],
                [],
            ),
        )
        for c in merged.spec.components
    ]
    return {f.key for f in merged.fields} | {f.key for f in _merge_fields(merged.spec, every)}


def _unique_key(wanted: str, taken: set[str]) -> str:
    key, n = wanted, 2
    while key in taken:
        key, n = f"{wanted}_{n}", n + 1
    taken.add(key)
    return key


def _merge_fields(spec: BundleSpec, included: list[ComponentState]) -> list[MergedField]:
    merged: dict[Any, MergedField] = {}
    taken: set[str] = set()
    for state in included:
        assert state.guide is not None
        code = state.code
        for result in state.guide.fields:
            f = result.field
            link = spec.field_links.get((code, f.key))
            if link is not None:
                identity: Any = ("link", link[0])
            elif f.prefill == "identity":
                identity = ("identity", f.element_code)
            elif f.prefill == "data_source":
                identity = ("source", f.element_code, f.data_source)
            else:
                identity = ("field", f.element_code, f.key)
            status: Status = "applies" if result.status == "applies" else "depends"
            if state.status == "depends":
                status = "depends"
            current = merged.get(identity)
            if current is None:
                merged[identity] = MergedField(
                    key=_unique_key(link[0] if link else f.key, taken),
                    label=link[1] if link else f.label,
                    element_code=f.element_code,
                    value_type=f.value_type,
                    required=f.required,
                    prefill=f.prefill,
                    data_source=f.data_source,
                    status=status,
                    parts=[(code, f.key)],
                )
                continue
            current.parts.append((code, f.key))
            current.required = current.required or f.required
            if status == "applies":
                current.status = "applies"
            if f.prefill in PREFILLED and not current.prefilled:
                current.prefill, current.data_source = f.prefill, f.data_source
    return list(merged.values())


def _merge_materials(spec: BundleSpec, included: list[ComponentState]) -> list[MergedMaterial]:
    merged: dict[Any, MergedMaterial] = {}
    consumers: dict[Any, set[str]] = {}
    taken: set[str] = set()
    for state in included:
        assert state.guide is not None
        code = state.code
        for result in state.guide.materials:
            m = result.material
            link = spec.material_links.get((code, m.key))
            if link is not None:
                identity: Any = ("link", link[0])
            elif m.licence_type:
                identity = ("licence", m.licence_type)
            else:
                identity = ("name", m.name.strip())
            status: Status = "applies" if result.status == "applies" else "depends"
            if state.status == "depends":
                status = "depends"
            consumers.setdefault(identity, set()).add(code)
            current = merged.get(identity)
            if current is None:
                merged[identity] = MergedMaterial(
                    key=_unique_key(link[0] if link else m.key, taken),
                    name=link[1] if link else m.name,
                    requirement=m.requirement,
                    licence_type=m.licence_type,
                    data_source=m.data_source,
                    formats=tuple(m.formats),
                    max_size_mb=m.max_size_mb,
                    status=status,
                    parts=[(code, m.key)],
                    notes=m.notes,
                )
                continue
            current.parts.append((code, m.key))
            if _REQUIREMENT_RANK[m.requirement] > _REQUIREMENT_RANK[current.requirement]:
                current.requirement = m.requirement
            if status == "applies":
                current.status = "applies"
            # one upload must satisfy every item: the formats all accept, the smallest limit
            common = tuple(f for f in current.formats if f in m.formats)
            current.formats = common or current.formats
            current.max_size_mb = min(current.max_size_mb, m.max_size_mb)
            # an e-licence or shared data stands in only when it does so for every item
            if not m.licence_type:
                current.licence_type = ""
            if not m.data_source:
                current.data_source = ""
    stage_of = {c.code: c.component.stage for c in included}
    for identity, material in merged.items():
        if not material.licence_type:
            continue
        users = consumers[identity]
        producer = next(
            (
                c.code
                for c in included
                if c.component.item.result_licence_type == material.licence_type
                and all(
                    c.code in spec.component(u).needs or _waits_for(spec, u, c.code) for u in users
                )
                and all(stage_of[c.code] < stage_of[u] for u in users)
            ),
            "",
        )
        material.produced_by = producer
    return list(merged.values())


def _waits_for(spec: BundleSpec, code: str, producer: str) -> bool:
    """Whether ``code`` waits (directly or through others) for ``producer``'s result."""
    todo, seen = list(spec.component(code).needs), set()
    while todo:
        current = todo.pop()
        if current == producer:
            return True
        if current not in seen:
            seen.add(current)
            todo.extend(spec.component(current).needs)
    return False
