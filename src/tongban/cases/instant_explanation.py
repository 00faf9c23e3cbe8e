"""智能秒办 决定依据: the stored explanation of an automatic decision, as staff and the applicant
read it.

``explain`` pairs each rule the case engine looked at (``Case.instant_explanation``, written by
``tongban.cases.instant``) with the rule as the item version states it, and turns every condition
into a line: what was tested, what the rule requires, the value the rule saw and whether it
held. The applicant reads their own data in plain words; staff also read the rule names, the
data keys and the raw values, with personal data masked (``applications.mask_personal``) unless
the page is a logged reveal (``unmasked``, ``tongban.cases.reveal``). The values come from what
was stored at the decision, never from the case as it is now.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongban.cases import applications, instant
from tongban.cases.models import Case, Outcome
from tongban.catalog import guide
from tongban.catalog.rules import (
    All,
    Answered,
    AnyOf,
    Compare,
    Not,
    QuestionSpec,
    Rule,
    RuleError,
    Truth,
    compile_rule,
)
from tongban.core.facts import facts

STAFF = "staff"
APPLICANT = "applicant"
_OUTCOMES = {"approve": Outcome.APPROVED, "deny": Outcome.DENIED}


@dataclass(frozen=True)
class ConditionLine:
    """One condition of a rule (or a group of conditions, ``group``), as shown."""

    depth: int  # 0 for the rule's own conditions, deeper inside any/not groups
    label: str  # what was tested: the question, the form field or the fact
    requirement: str  # what the rule asks of it, e.g. 大于 3 ("" for a group)
    seen: str  # the value the rule saw, in words ("" for a group)
    met: str  # "yes" | "no" | "unknown"
    group: bool = False
    key: str | None = None  # staff only: the data key, e.g. form.consecutive_days
    raw: Any = None  # staff only: the value as stored (personal data masked but in a reveal)

    @property
    def met_label(self) -> str:
        return {"yes": _("满足"), "no": _("不满足")}.get(self.met, _("缺少数据"))

    @property
    def raw_text(self) -> str:
        return "" if self.key is None else json.dumps(self.raw, ensure_ascii=False)


@dataclass(frozen=True)
class RuleLine:
    """One rule the engine looked at, in the order it tried them."""

    number: int  # 1-based position in the item's rules
    outcome: str  # what the rule decides when it holds: "approve" | "deny"
    outcome_label: str
    result: str  # "true" | "false" | "unknown"
    reason: str  # the rule's reason, as the catalog states it
    conditions: tuple[ConditionLine, ...]
    missing: tuple[str, ...]  # data the rule could not see (labels; keys for staff)
    name: str | None = None  # staff only

    @property
    def fired(self) -> bool:
        return self.result == Truth.TRUE.value

    @property
    def result_label(self) -> str:
        if self.fired:
            return _("条件满足，据此作出“%(outcome)s”决定") % {"outcome": self.outcome_label}
        if self.result == Truth.FALSE.value:
            return _("条件不满足，本项不适用")
        return _("缺少数据，无法判断")


@dataclass(frozen=True)
class InstantDecision:
    """智能秒办 决定依据 of one case, for one audience."""

    audience: str  # STAFF | APPLICANT
    outcome: str  # "approve" | "deny"
    outcome_label: str
    reason: str
    legal_basis: str
    decided_at: dt.datetime | None
    item_code: str
    rule_version: int  # the item version whose rules decided
    rules: tuple[RuleLine, ...]
    rule: str | None = None  # staff only: the name of the rule that decided
    unmasked: bool = False  # staff only: personal data shown in full (a logged reveal)

    @property
    def for_staff(self) -> bool:
        return self.audience == STAFF


@dataclass(frozen=True)
class _Subject:
    """What a data key stands for: its words, its option labels, its data element."""

    label: str
    options: Mapping[str, str]
    element: str = ""


def decided_by_rules(case: Case) -> bool:
    """Whether 智能秒办 rules decided ``case`` (the last rule looked at held)."""
    entries = case.instant_explanation or []
    return bool(entries) and entries[-1].get("result") == Truth.TRUE.value


def explain(case: Case, *, for_staff: bool, unmasked: bool = False) -> InstantDecision | None:
    """The explanation of ``case``'s automatic decision; ``None`` when rules did not decide it.

    The caller has checked that the actor may see the case, and for ``unmasked`` (staff only)
    that the actor may see its applicant in full and that the reveal was logged."""
    if not decided_by_rules(case):
        return None
    entries: list[dict[str, Any]] = case.instant_explanation or []
    version = case.item_version
    documents = list(version.instant_rules)
    fields = list(version.fields.select_related("element"))
    specs = instant.rule_specs(version, fields)
    subjects = _subjects(version, fields)
    masked = for_staff and not unmasked
    rules = tuple(
        _rule_line(n, entry, _document(documents, n, entry), specs, subjects, for_staff, masked)
        for n, entry in enumerate(entries, start=1)
    )
    fired = _document(documents, len(entries), entries[-1])
    outcome = _OUTCOMES.get(fired.get("outcome", ""))
    return InstantDecision(
        audience=STAFF if for_staff else APPLICANT,
        outcome=fired.get("outcome", ""),
        outcome_label=str(outcome.label) if outcome else "",
        reason=fired.get("reason", ""),
        legal_basis=fired.get("legal_basis", ""),
        decided_at=case.decided_at,
        item_code=case.item_code,
        rule_version=version.number,
        rules=rules,
        rule=entries[-1].get("rule") if for_staff else None,
        unmasked=for_staff and unmasked,
    )


def _document(
    documents: list[dict[str, Any]], number: int, entry: dict[str, Any]
) -> dict[str, Any]:
    """The rule the ``number``-th entry was made from (rules are tried in order)."""
    if number <= len(documents) and documents[number - 1].get("name") == entry.get("rule"):
        return documents[number - 1]
    return next((d for d in documents if d.get("name") == entry.get("rule")), {})


def _subjects(version: Any, fields: list[Any]) -> dict[str, _Subject]:
    subjects = {
        f"answer.{q.spec.key}": _Subject(q.text, dict(q.options))
        for q in guide.spec_for(version).questions
    }
    for f in fields:
        subjects[f"form.{f.key}"] = _Subject(f.label, {}, f.element.code)
    for name, fact in facts.items():
        subjects[name] = _Subject(fact.label, {})
    return subjects


def _rule_line(
    number: int,
    entry: dict[str, Any],
    document: dict[str, Any],
    specs: dict[str, QuestionSpec],
    subjects: dict[str, _Subject],
    for_staff: bool,
    masked: bool,
) -> RuleLine:
    stored: dict[str, Any] = entry.get("values") or {}
    values = {k: _answer(specs.get(k), v) for k, v in stored.items() if v is not None}
    explainer = _Explainer(specs, subjects, stored, values, for_staff, masked)
    try:
        rule: Rule | None = compile_rule(document.get("when"), specs) if document else None
    except RuleError:  # a fact no longer registered: show what was seen, without the test
        rule = None
    if rule is None:
        conditions = tuple(explainer.seen_only(key) for key in sorted(stored))
    else:
        conditions = tuple(explainer.lines(rule))
    outcome = _OUTCOMES.get(document.get("outcome", ""))
    missing = entry.get("missing") or []
    return RuleLine(
        number=number,
        outcome=document.get("outcome", ""),
        outcome_label=str(outcome.label) if outcome else "",
        result=entry.get("result", Truth.UNKNOWN.value),
        reason=document.get("reason", ""),
        conditions=conditions,
        missing=tuple(missing if for_staff else (explainer.label(k) for k in missing)),
        name=entry.get("rule") if for_staff else None,
    )


def _answer(spec: QuestionSpec | None, stored: Any) -> Any:
    """A stored value as the rule compared it (dates were stored as text, choices as lists)."""
    if isinstance(stored, list):
        return tuple(stored)
    if spec is not None and spec.answer_type == "date" and isinstance(stored, str):
        try:
            return dt.date.fromisoformat(stored)
        except ValueError:
            return stored
    return stored


class _Explainer:
    def __init__(
        self,
        specs: dict[str, QuestionSpec],
        subjects: dict[str, _Subject],
        stored: dict[str, Any],
        values: dict[str, Any],
        for_staff: bool,
        masked: bool,
    ) -> None:
        self.specs = specs
        self.subjects = subjects
        self.stored = stored
        self.values = values
        self.for_staff = for_staff
        self.masked = masked  # staff's personal data masked (the applicant reads their own)

    def label(self, key: str) -> str:
        subject = self.subjects.get(key)
        return subject.label if subject else key

    def lines(self, rule: Rule, depth: int = 0) -> list[ConditionLine]:
        if isinstance(rule, All) and depth == 0:  # the rule's own list of conditions
            return [line for part in rule.parts for line in self.lines(part, depth)]
        if isinstance(rule, All | AnyOf | Not):
            heading = {
                All: _("以下条件全部满足"),
                AnyOf: _("以下条件满足其一"),
                Not: _("以下条件不成立"),
            }[type(rule)]
            parts = (rule.part,) if isinstance(rule, Not) else rule.parts
            group = ConditionLine(depth, heading, "", "", _met(rule.evaluate(self.values)), True)
            return [group, *(line for part in parts for line in self.lines(part, depth + 1))]
        return [self.leaf(rule, depth)]

    def leaf(self, rule: Compare | Answered, depth: int) -> ConditionLine:
        key = rule.question
        return ConditionLine(
            depth,
            self.label(key),
            self.requirement(rule),
            self.seen(key),
            _met(rule.evaluate(self.values)),
            key=key if self.for_staff else None,
            raw=self.raw(key) if self.for_staff else None,
        )

    def seen_only(self, key: str) -> ConditionLine:
        return ConditionLine(
            0,
            self.label(key),
            "",
            self.seen(key),
            "unknown",
            key=key if self.for_staff else None,
            raw=self.raw(key) if self.for_staff else None,
        )

    def _personal(self, key: str) -> str:
        subject = self.subjects.get(key)
        return subject.element if subject and self.masked else ""

    def seen(self, key: str) -> str:
        if key not in self.values:
            return _("（未提供）")
        return applications.mask_personal(self._personal(key), self.words(key, self.values[key]))

    def raw(self, key: str) -> Any:
        value = self.stored.get(key)
        if isinstance(value, str):
            return applications.mask_personal(self._personal(key), value)
        return value

    def words(self, key: str, value: Any) -> str:
        subject = self.subjects.get(key)
        options = subject.options if subject else {}
        if isinstance(value, bool):
            return _("是") if value else _("否")
        if isinstance(value, tuple | list | frozenset | set):
            return "、".join(str(options.get(v, v)) for v in sorted(value, key=str)) or _("（无）")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(options.get(value, value)) if isinstance(value, str) else str(value)

    def requirement(self, rule: Compare | Answered) -> str:
        if isinstance(rule, Answered):
            return _("已填写") if rule.expected else _("未填写")
        spec = self.specs.get(rule.question)
        kind = spec.answer_type if spec else "text"
        value = rule.value
        if isinstance(value, frozenset):
            shown = "、".join(f"“{self.words(rule.question, v)}”" for v in sorted(value, key=str))
            if kind == "multi_choice":
                text = (
                    _("包含%(values)s中的任一项")
                    if rule.op == "in"
                    else _("不包含%(values)s中的任何一项")
                )
            else:
                text = _("为%(values)s之一") if rule.op == "in" else _("不为%(values)s中的任何一项")
            return text % {"values": shown}
        shown = self.words(rule.question, value)
        if kind == "multi_choice":
            text = _("包含“%(value)s”") if rule.op == "eq" else _("不包含“%(value)s”")
            return text % {"value": shown}
        if kind in ("number", "date") and rule.op not in ("eq", "ne"):
            return f"{_ORDER_WORDS[kind][rule.op]} {shown}"
        text = _("为“%(value)s”") if rule.op == "eq" else _("不为“%(value)s”")
        return text % {"value": shown}


_ORDER_WORDS: dict[str, dict[str, Any]] = {
    "number": {
        "gt": gettext_lazy("大于"),
        "gte": gettext_lazy("不少于"),
        "lt": gettext_lazy("小于"),
        "lte": gettext_lazy("不超过"),
    },
    "date": {
        "gt": gettext_lazy("晚于"),
        "gte": gettext_lazy("不早于"),
        "lt": gettext_lazy("早于"),
        "lte": gettext_lazy("不晚于"),
    },
}


def _met(truth: Truth) -> str:
    return {Truth.TRUE: "yes", Truth.FALSE: "no"}.get(truth, "unknown")
