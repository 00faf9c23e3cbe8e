"""Shape catalog results for templates: material and field lines, division choices.

Nothing is decided here — the guide has already decided which materials apply; this module
only swaps question keys for question texts and groups lines the way the pages show them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.utils.translation import get_language

from tongban.catalog.guide import GuideMaterial, GuideResult
from tongban.identity.models import Division

_LEVEL_INDENT = {"province": 0, "city": 1, "district": 2, "street": 3}


def _chinese() -> bool:
    return (get_language() or "zh-hans").lower().startswith("zh")


def colon() -> str:
    """The label colon of the active language (全角 in Chinese)."""
    return "：" if _chinese() else ": "


def series(values: Iterable[object], *, clauses: bool = False) -> str:
    """Join words the way the active language lists them (顿号 in Chinese; 分号 for clauses)."""
    chinese, english = ("；", "; ") if clauses else ("、", ", ")
    separator = chinese if _chinese() else english
    return separator.join(str(v) for v in values)


@dataclass(frozen=True)
class MaterialLine:
    material: GuideMaterial
    status: str
    depends_on: tuple[str, ...]

    @property
    def exempt_hint(self) -> bool:
        """Whether the material may be replaced by an e-licence or shared data (免提交)."""
        return bool(self.material.licence_type or self.material.data_source)


@dataclass(frozen=True)
class FieldLine:
    label: str
    element_name: str
    required: bool
    prefill: str
    data_source: str
    status: str
    depends_on: tuple[str, ...]


@dataclass(frozen=True)
class GuideOutcome:
    """The personal list: what applies now, and what still depends on an answer."""

    materials: tuple[MaterialLine, ...]
    depends: tuple[MaterialLine, ...]
    fields: tuple[FieldLine, ...]
    unanswered: tuple[str, ...]
    complete: bool

    @property
    def required_count(self) -> int:
        return sum(1 for m in self.materials if m.material.requirement == "required")

    @property
    def exempt_count(self) -> int:
        return sum(1 for m in self.materials if m.exempt_hint)

    @property
    def prefilled_count(self) -> int:
        """Fields filled without typing: 自动填, 系统填 and 选择填."""
        return sum(1 for f in self.fields if f.prefill != "none")

    @property
    def prefilled_percent(self) -> int:
        return round(100 * self.prefilled_count / len(self.fields)) if self.fields else 0


def guide_outcome(result: GuideResult) -> GuideOutcome:
    texts = {q.key: q.text for q in result.questions}

    def named(keys: Iterable[str]) -> tuple[str, ...]:
        return tuple(texts.get(k, k) for k in keys)

    lines = [MaterialLine(m.material, m.status, named(m.depends_on)) for m in result.materials]
    return GuideOutcome(
        materials=tuple(m for m in lines if m.status == "applies"),
        depends=tuple(m for m in lines if m.status != "applies"),
        fields=tuple(
            FieldLine(
                f.field.label,
                f.field.element_name,
                f.field.required,
                f.field.prefill,
                f.field.data_source,
                f.status,
                named(f.depends_on),
            )
            for f in result.fields
        ),
        unanswered=named(result.unanswered),
        complete=result.complete,
    )


@dataclass(frozen=True)
class DivisionOption:
    code: str
    name: str
    indent: str
    selected: bool


def division_options(divisions: Iterable[Division], current: str | None) -> list[DivisionOption]:
    """Divisions for the header switch, indented by level (streets are left out)."""
    return [
        DivisionOption(d.code, d.name, "\u3000" * _LEVEL_INDENT.get(d.level, 0), d.code == current)
        for d in divisions
        if d.level != "street"
    ]
