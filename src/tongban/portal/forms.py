"""The 情形 questionnaire as an HTML form: read raw answers from a request, show them back.

Questions are not a fixed Django ``Form``: which ones are asked depends on earlier answers, so
the catalog's guide (``tongban.catalog.guide``) decides, and this module only translates between
request data (``a_<question key>`` inputs) and the guide's raw answers, and builds what the
template needs to render each asked question with its value and its error.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.http import QueryDict
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from tongban.catalog.guide import GuideResult, GuideSpec, parse_answers
from tongban.catalog.rules import Answer
from tongban.core.errors import ValidationFailed
from tongban.portal.presenters import series

ANSWER_PREFIX = "a_"


def answer_name(key: str) -> str:
    """The name of the form input carrying the answer to question ``key``."""
    return f"{ANSWER_PREFIX}{key}"


def raw_answers(spec: GuideSpec, data: QueryDict) -> dict[str, Any]:
    """The non-empty answers in ``data`` for this guide's questions (lists for multi-choice)."""
    raw: dict[str, Any] = {}
    for question in spec.questions:
        key = question.spec.key
        name = answer_name(key)
        if question.spec.answer_type == "multi_choice":
            values = [v for v in data.getlist(name) if v]
            if values:
                raw[key] = values
        else:
            value = (data.get(name) or "").strip()
            if value:
                raw[key] = value
    return raw


def parse_with_errors(
    spec: GuideSpec, raw: Mapping[str, Any]
) -> tuple[dict[str, Answer], dict[str, str]]:
    """Parse answers; invalid ones are left out and their messages returned by question key."""
    try:
        return parse_answers(spec, raw), {}
    except ValidationFailed as exc:
        errors: dict[str, str] = {}
        for error in exc.errors:
            errors.setdefault(error.path.removeprefix("answers."), error.message)
        valid = {k: v for k, v in raw.items() if k not in errors}
        try:
            return parse_answers(spec, valid), errors
        except ValidationFailed:
            return {}, errors


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    checked: bool
    input_id: str


@dataclass(frozen=True)
class QuestionField:
    """One asked question as the template shows it."""

    key: str
    name: str
    input_id: str
    text: str
    help_text: str
    answer_type: str
    choices: tuple[Choice, ...]
    value: str
    answer_display: str
    error: str

    @property
    def help_id(self) -> str:
        return f"{self.input_id}-help"

    @property
    def error_id(self) -> str:
        return f"{self.input_id}-error"

    @property
    def describedby(self) -> str:
        ids = [self.help_id] if self.help_text else []
        if self.error:
            ids.append(self.error_id)
        return " ".join(ids)

    @property
    def uses_choices(self) -> bool:
        return self.answer_type in ("choice", "multi_choice", "yes_no")

    @property
    def first_input_id(self) -> str:
        """Where an error-summary link should move focus to."""
        return self.choices[0].input_id if self.choices else self.input_id


def _selected(answer_type: str, answer: Any, raw: Any) -> set[str]:
    if answer is not None:
        if answer_type == "yes_no":
            return {"yes" if answer else "no"}
        if answer_type == "multi_choice":
            return set(answer)
        return {str(answer)}
    if raw is None:
        return set()
    if isinstance(raw, list):
        return {str(v) for v in raw}
    return {str(raw)}


def _value_text(answer: Any, raw: Any) -> str:
    if isinstance(answer, dt.date):
        return answer.isoformat()
    if answer is not None and not isinstance(answer, tuple | bool):
        return str(answer)
    return "" if raw is None or isinstance(raw, list) else str(raw)


def question_fields(
    spec: GuideSpec, result: GuideResult, raw: Mapping[str, Any], errors: Mapping[str, str]
) -> list[QuestionField]:
    """The asked questions, in order, with the applicant's current answers and errors."""
    guide_questions = {q.spec.key: q for q in spec.questions}
    yes_no = (("yes", _("是")), ("no", _("否")))
    fields = []
    for question in result.questions:
        if question.state != "asked":
            continue
        key = question.key
        input_id = f"q-{key}"
        options = yes_no if question.answer_type == "yes_no" else tuple(question.options)
        selected = _selected(question.answer_type, question.answer, raw.get(key))
        choices = tuple(
            Choice(value, label, value in selected, f"{input_id}-{index}")
            for index, (value, label) in enumerate(options)
        )
        chosen = [c.label for c in choices if c.checked]
        value = _value_text(question.answer, raw.get(key))
        display = series(chosen) if choices else value
        fields.append(
            QuestionField(
                key=key,
                name=answer_name(key),
                input_id=input_id,
                text=question.text,
                help_text=guide_questions[key].help_text,
                answer_type=question.answer_type,
                choices=choices,
                value=value,
                answer_display=display if question.answer is not None else "",
                error=_choice_error(question.answer_type, errors.get(key, "")),
            )
        )
    return fields


def _choice_error(answer_type: str, message: str) -> str:
    """Choice errors name option codes the applicant never sees; say it in their terms."""
    if message and answer_type in ("choice", "multi_choice", "yes_no"):
        return _("请从给出的选项中选择。")
    return message


def answers_query(fields: list[QuestionField]) -> str:
    """The answers given so far as a query string (for the printable version's link)."""
    pairs: list[tuple[str, str]] = []
    for field in fields:
        if not field.answer_display:
            continue
        if field.choices:
            pairs.extend((field.name, c.value) for c in field.choices if c.checked)
        else:
            pairs.append((field.name, field.value))
    return urlencode(pairs)
