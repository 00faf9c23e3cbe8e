"""A bundle definition compiled against its component items (pure Python, no database).

``compile_bundle`` turns a ``BundleDoc`` and the facts of its items (``ItemFacts``: the item's
compiled 情形 guide, limits, department, result) into a ``BundleSpec``, or reports every problem
with its path inside the definition: an item missing from the catalog, a dependency cycle, a
component that can never start (it waits for a result that is never issued in some situation
where it applies), a link joining fields bound to incompatible data elements, a question two
items ask differently. Stages are derived from ``needs``: a component with no needs is in stage
1, otherwise one after the latest stage it waits for. Merging and the reform report work on
the compiled spec (``tongban.bundles.merging``, ``tongban.bundles.report``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tongban.catalog.document import BundleDoc
from tongban.catalog.guide import GuideQuestion, GuideSpec
from tongban.catalog.rules import ALWAYS, All, Not, QuestionSpec, Rule, RuleError, analyse
from tongban.catalog.rules import compile_rule as _compile_rule

PathKey = tuple[str | int, ...]


@dataclass(frozen=True)
class ElementFacts:
    code: str
    value_type: str
    validator: str
    choices: tuple[str, ...] = ()

    def compatible(self, other: ElementFacts) -> bool:
        return (self.value_type, self.validator, self.choices) == (
            other.value_type,
            other.validator,
            other.choices,
        )


@dataclass(frozen=True)
class ItemFacts:
    """What a bundle needs to know about one component item (as carried out where it runs)."""

    code: str
    name: str
    version: int
    department: str  # department code
    department_name: str
    promised_limit_days: int
    required_trips: int
    result_kind: str
    result_name: str
    result_licence_type: str
    guide: GuideSpec
    elements: Mapping[str, ElementFacts] = field(default_factory=dict)


@dataclass(frozen=True)
class ComponentSpec:
    item: ItemFacts
    needs: tuple[str, ...]
    when: Rule
    stage: int
    note: str = ""

    @property
    def code(self) -> str:
        return self.item.code


@dataclass(frozen=True)
class BundleSpec:
    code: str
    name: str
    summary: str
    division: str
    applicant_types: tuple[str, ...]
    required_trips: int
    on_denial: str
    questions: tuple[GuideQuestion, ...]  # the bundle's own (which components apply)
    components: tuple[ComponentSpec, ...]
    field_links: Mapping[tuple[str, str], tuple[str, str]]  # (item, key) → (merged key, label)
    material_links: Mapping[tuple[str, str], tuple[str, str]]
    report_answers: Mapping[str, Any]
    published: Mapping[str, Any] | None
    sample_note: str = ""
    themes: tuple[str, ...] = ()

    def component(self, code: str) -> ComponentSpec:
        return next(c for c in self.components if c.code == code)

    @property
    def stages(self) -> int:
        return max((c.stage for c in self.components), default=0)


@dataclass(frozen=True)
class SpecProblem:
    path: PathKey
    message: str
    severity: str = "error"


class BundleSpecInvalid(Exception):
    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))


def _question_spec(q: Any) -> QuestionSpec:
    return QuestionSpec(q.key, q.type, tuple(o.value for o in q.options))


def compile_bundle(doc: BundleDoc, items: Mapping[str, ItemFacts]) -> BundleSpec:
    """The compiled bundle, or ``BundleSpecInvalid`` listing every problem (paths relative to
    the bundle entry)."""
    problems: list[SpecProblem] = []

    def err(path: PathKey, message: str) -> None:
        problems.append(SpecProblem(path, message))

    # the bundle's own questions (choose components); follow-ups may use earlier ones
    specs: dict[str, QuestionSpec] = {}
    questions: list[GuideQuestion] = []
    for j, q in enumerate(doc.questions):
        try:
            when = _compile_rule(q.when, dict(specs), "when")
        except RuleError as exc:
            err(("questions", j, "when"), exc.message)
            when = ALWAYS
        spec = _question_spec(q)
        specs[q.key] = spec
        questions.append(
            GuideQuestion(spec, q.text, q.help, tuple((o.value, o.label) for o in q.options), when)
        )
    codes = [c.item for c in doc.components]
    seen: set[str] = set()
    for j, component in enumerate(doc.components):
        if component.item in seen:
            err(("components", j, "item"), f"事项 {component.item} 在本一件事中重复")
        seen.add(component.item)
        if component.item not in items:
            err(("components", j, "item"), f"事项目录中没有事项 {component.item}")
    whens: dict[str, Rule] = {}
    for j, component in enumerate(doc.components):
        try:
            whens[component.item] = _compile_rule(component.when, specs, "when")
        except RuleError as exc:
            err(("components", j, "when"), exc.message + "（只能引用一件事自身的问题）")
            whens[component.item] = ALWAYS
        for k, need in enumerate(component.needs):
            if need not in codes:
                err(("components", j, "needs", k), f"所依赖的事项 {need} 不是本一件事的组成事项")
            elif need == component.item:
                err(("components", j, "needs", k), "事项不能依赖自身")
    stages = _stages(doc, err)
    # a component that applies in a situation where an input it waits for is never issued
    for j, component in enumerate(doc.components):
        for k, need in enumerate(component.needs):
            if need not in items or need not in whens or component.item not in items:
                continue
            producer = items[need]
            if producer.result_kind == "none":
                err(
                    ("components", j, "needs", k),
                    f"所依赖的事项 {need} 没有办理结果，本事项永远无法开始",
                )
                continue
            gap = All((whens[component.item], Not(whens[need])))
            reach = analyse(gap, specs) if gap.questions() else None
            if reach is not None and reach.can_be_true:
                err(
                    ("components", j, "needs", k),
                    f"在情形 {_witness(reach.witness)} 下本事项需要办理，但所依赖的事项 {need} "
                    "不办理，本事项永远无法开始",
                )
    field_links = _links(doc, items, "same_fields", err)
    material_links = _links(doc, items, "same_materials", err)
    _check_questions(doc, items, specs, err)
    _check_link_elements(doc, items, err)
    present = [items[c] for c in codes if c in items]
    if present and doc.required_trips > sum(i.required_trips for i in present):
        err(
            ("required_trips",),
            f"一件事的跑动次数 {doc.required_trips} 多于各事项分别办理的总和 "
            f"{sum(i.required_trips for i in present)}",
        )
    if problems:
        raise BundleSpecInvalid(problems)
    components = tuple(
        ComponentSpec(items[c.item], tuple(c.needs), whens[c.item], stages[c.item], c.note)
        for c in doc.components
    )
    return BundleSpec(
        code=doc.code,
        name=doc.name,
        summary=doc.summary,
        division=doc.division,
        applicant_types=tuple(doc.applicant_types),
        required_trips=doc.required_trips,
        on_denial=doc.on_denial,
        questions=tuple(questions),
        components=components,
        field_links=field_links,
        material_links=material_links,
        report_answers=dict(doc.report_answers),
        published=doc.published.model_dump(exclude_none=True) if doc.published else None,
        sample_note=doc.sample_note,
        themes=tuple(doc.themes),
    )


def _witness(answers: Mapping[str, Any] | None) -> str:
    if not answers:
        return "（任意回答）"
    shown = {
        k: ("不问" if not isinstance(v, str | int | float | bool | tuple) else v)
        for k, v in answers.items()
    }
    return "、".join(f"{k}={v}" for k, v in shown.items())


def _stages(doc: BundleDoc, err: Any) -> dict[str, int]:
    """Stage of each component (longest chain of ``needs``); a cycle is reported once."""
    needs = {c.item: [n for n in c.needs if n != c.item] for c in doc.components}
    index = {c.item: j for j, c in enumerate(doc.components)}
    stages: dict[str, int] = {}
    reported = False

    def visit(code: str, trail: list[str]) -> int:
        nonlocal reported
        if code in stages:
            return stages[code]
        if code in trail:
            if not reported:
                cycle = [*trail[trail.index(code) :], code]
                err(
                    ("components", index[trail[trail.index(code)]], "needs"),
                    "事项之间的依赖形成循环：" + " → ".join(cycle),
                )
                reported = True
            return 1
        stage = 1 + max(
            (visit(n, [*trail, code]) for n in needs.get(code, []) if n in needs), default=0
        )
        stages[code] = stage
        return stage

    for component in doc.components:
        visit(component.item, [])
    return stages


def _split(part: str) -> tuple[str, str]:
    item, _, key = part.rpartition(":")
    return item, key


def _links(
    doc: BundleDoc, items: Mapping[str, ItemFacts], section: str, err: Any
) -> dict[tuple[str, str], tuple[str, str]]:
    out: dict[tuple[str, str], tuple[str, str]] = {}
    codes = {c.item for c in doc.components}
    keys: set[str] = set()
    for j, link in enumerate(getattr(doc, section)):
        if link.key in keys:
            err((section, j, "key"), f"合并标识 {link.key} 重复")
        keys.add(link.key)
        for k, part in enumerate(link.parts):
            item_code, key = _split(part)
            path = (section, j, "parts", k)
            if item_code not in codes:
                err(path, f"{item_code} 不是本一件事的组成事项")
                continue
            if item_code not in items:
                continue
            guide = items[item_code].guide
            names = (
                {f.key for f in guide.fields}
                if section == "same_fields"
                else {m.key for m in guide.materials}
            )
            if key not in names:
                what = "字段" if section == "same_fields" else "材料"
                err(path, f"事项 {item_code} 没有{what} {key}")
                continue
            if (item_code, key) in out:
                err(path, f"{part} 已在另一项合并中出现")
                continue
            out[(item_code, key)] = (link.key, link.label)
    return out


def _check_link_elements(doc: BundleDoc, items: Mapping[str, ItemFacts], err: Any) -> None:
    """A field link may only join fields whose data elements agree (type, validator, choices)."""
    for j, link in enumerate(doc.same_fields):
        first: tuple[str, ElementFacts] | None = None
        for k, part in enumerate(link.parts):
            item_code, key = _split(part)
            facts = items.get(item_code)
            if facts is None:
                continue
            found = next((f for f in facts.guide.fields if f.key == key), None)
            if found is None:
                continue
            element = facts.elements.get(found.element_code) or ElementFacts(
                found.element_code, found.value_type, "none"
            )
            if first is None:
                first = (part, element)
            elif not first[1].compatible(element):
                err(
                    ("same_fields", j, "parts", k),
                    f"{part} 绑定数据元 {element.code}（{element.value_type}/{element.validator}），"
                    f"与 {first[0]} 的数据元 {first[1].code}（{first[1].value_type}/"
                    f"{first[1].validator}）不兼容，不能合并为一个字段",
                )


def _check_questions(
    doc: BundleDoc, items: Mapping[str, ItemFacts], own: Mapping[str, QuestionSpec], err: Any
) -> None:
    """A question asked by several items (same key) is asked once, so they must agree."""
    seen: dict[str, tuple[str, QuestionSpec]] = {k: ("一件事", v) for k, v in own.items()}
    for j, component in enumerate(doc.components):
        facts = items.get(component.item)
        if facts is None:
            continue
        for q in facts.guide.questions:
            earlier = seen.get(q.spec.key)
            if earlier is None:
                seen[q.spec.key] = (component.item, q.spec)
            elif earlier[0] == "一件事":
                err(
                    ("questions",),
                    f"一件事的问题 {q.spec.key} 与事项 {component.item} 的问题同名；请换一个标识",
                )
            elif (earlier[1].answer_type, set(earlier[1].options)) != (
                q.spec.answer_type,
                set(q.spec.options),
            ):
                err(
                    ("components", j, "item"),
                    f"事项 {component.item} 的问题 {q.spec.key} 与事项 {earlier[0]} 的同名问题"
                    "类型或选项不同，无法合并为一个问题",
                )
