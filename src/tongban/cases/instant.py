"""智能秒办: decide a submitted case at once by the item's rules, and keep the explanation.

Rules are tried in order. The first rule that holds decides (approve or deny). A rule that
cannot be decided because data is missing stops the attempt: the case goes to a person, and the
explanation says which data was missing. A deny rule without a legal basis (only a version
imported before catalog validation required one can hold it) never denies: the case goes to a
person. A stored rule that no longer fits the catalog (a data element retyped since, a fact no
longer registered) never decides either: the case goes to a person, and the explanation says
why (``invalid``). Every rule looked at is recorded with the values it
saw, so staff and the applicant can read why.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tongban.cases.models import Case
from tongban.catalog import guide
from tongban.catalog.models import Field, ItemVersion
from tongban.catalog.rules import QuestionSpec, Rule, RuleError, Truth, compile_rule
from tongban.catalog.services import instant_rule_specs
from tongban.core.errors import ValidationFailed
from tongban.core.facts import facts


@dataclass
class InstantResult:
    outcome: str | None  # "approve" | "deny" | None (a person decides)
    rule: dict[str, Any] | None
    explanation: list[dict[str, Any]]


def _form_value(spec: QuestionSpec, raw: Any) -> Any:
    if raw is None or raw == "":
        return None
    if spec.answer_type == "number":
        try:
            number = float(raw)
        except (TypeError, ValueError):
            return None
        return int(number) if number.is_integer() else number
    if spec.answer_type == "date":
        try:
            return dt.date.fromisoformat(str(raw))
        except ValueError:
            return None
    if spec.answer_type == "yes_no":
        return raw if isinstance(raw, bool) else {"true": True, "false": False}.get(str(raw))
    return str(raw)


def _shown(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def rule_specs(version: ItemVersion, fields: list[Field]) -> dict[str, QuestionSpec]:
    """What the version's 秒办 rules may refer to (``fields``: its fields with their elements)."""
    elements = {f.element.code: (f.element.value_type, tuple(f.element.choices)) for f in fields}
    return instant_rule_specs(
        guide.spec_for(version).question_specs, [(f.key, f.element.code) for f in fields], elements
    )


def names_used(version: ItemVersion) -> set[str]:
    """Every name (``answer.*``, ``form.*``, ``fact.*``) the version's 秒办 rules refer to."""
    if not version.instant_rules:
        return set()
    specs = rule_specs(version, list(version.fields.select_related("element")))
    rules = (_compiled(rule_doc, specs) for rule_doc in version.instant_rules)
    return {name for rule in rules if not isinstance(rule, RuleError) for name in rule.questions()}


def _compiled(rule_doc: dict[str, Any], specs: dict[str, QuestionSpec]) -> Rule | RuleError:
    """The stored rule compiled against the catalog as it is now, or why it no longer fits."""
    try:
        return compile_rule(rule_doc["when"], specs)
    except RuleError as exc:
        return exc


def evaluate(case: Case) -> InstantResult:
    version = case.item_version
    if not version.instant_rules:
        return InstantResult(None, None, [])
    spec = guide.spec_for(version)
    fields = list(version.fields.select_related("element"))
    specs = rule_specs(version, fields)
    values: dict[str, Any] = {}
    try:
        answers = guide.parse_answers(spec, case.answers)
    except ValidationFailed:
        answers = {}
    values.update({f"answer.{k}": v for k, v in answers.items()})
    for f in fields:
        key = f"form.{f.key}"
        value = _form_value(specs[key], case.form_data.get(f.key))
        if value is not None:
            values[key] = value
    explanation: list[dict[str, Any]] = []
    for rule_doc in version.instant_rules:
        rule = _compiled(rule_doc, specs)
        if isinstance(rule, RuleError):
            explanation.append(
                {
                    "rule": rule_doc["name"],
                    "result": Truth.UNKNOWN.value,
                    "values": {},
                    "missing": [],
                    "invalid": str(rule),
                }
            )
            return InstantResult(None, None, explanation)
        for name in rule.questions():
            if name.startswith("fact.") and name not in values:
                value = facts.get(name).provider(case)
                if value is not None:
                    values[name] = value
        truth = rule.evaluate(values)
        seen = {k: _shown(values.get(k)) for k in sorted(rule.questions())}
        missing = sorted(k for k in rule.questions() if k not in values)
        explanation.append(
            {
                "rule": rule_doc["name"],
                "result": truth.value,
                "values": seen,
                "missing": missing,
            }
        )
        if truth is Truth.TRUE:
            if rule_doc["outcome"] == "deny" and not (rule_doc.get("legal_basis") or "").strip():
                # a version imported before denials needed a basis: never 不予 without one
                explanation[-1]["held_back"] = "no_legal_basis"
                return InstantResult(None, None, explanation)
            return InstantResult(rule_doc["outcome"], rule_doc, explanation)
        if truth is Truth.UNKNOWN:
            return InstantResult(None, None, explanation)
    return InstantResult(None, None, explanation)
