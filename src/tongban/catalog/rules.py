"""情形 rules: the small condition language that decides which questions, materials and fields apply.

A rule is a mapping (see ``document.RuleDoc``). Rules are *compiled* once against the item's
questions — unknown questions, unknown options and type mismatches are errors — and evaluated in
three-valued (Kleene) logic: a rule over an unanswered question is ``UNKNOWN``, so a guide can
show "depends on your answer to …" instead of guessing. ``analyse`` decides, exactly, whether a
rule can ever be true or false, by testing every combination of *representative* answers: the
options of a choice question, yes/no, and for numbers and dates the constants the rules compare
with and the points between them. That is complete for this language because every comparison
is between one answer and a constant.
"""

from __future__ import annotations

import datetime as dt
import enum
import itertools
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

COMPARE_OPS = ("eq", "ne", "gt", "gte", "lt", "lte")
SET_OPS = ("in", "not_in")
ORDERED_OPS = ("gt", "gte", "lt", "lte")


class Truth(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    def __and__(self, other: Truth) -> Truth:
        if Truth.FALSE in (self, other):
            return Truth.FALSE
        if Truth.UNKNOWN in (self, other):
            return Truth.UNKNOWN
        return Truth.TRUE

    def __or__(self, other: Truth) -> Truth:
        if Truth.TRUE in (self, other):
            return Truth.TRUE
        if Truth.UNKNOWN in (self, other):
            return Truth.UNKNOWN
        return Truth.FALSE

    def __invert__(self) -> Truth:
        return {Truth.TRUE: Truth.FALSE, Truth.FALSE: Truth.TRUE}.get(self, Truth.UNKNOWN)

    @classmethod
    def of(cls, value: bool) -> Truth:
        return cls.TRUE if value else cls.FALSE


class RuleError(ValueError):
    """A rule is malformed or does not fit the questions; ``path`` points inside the rule."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


@dataclass(frozen=True)
class QuestionSpec:
    """What the rule compiler needs to know about a question."""

    key: str
    answer_type: str  # choice | multi_choice | yes_no | number | date | text
    options: tuple[str, ...] = ()


Answer = str | int | float | bool | dt.date | tuple[str, ...]


class _Skipped:
    """The answer of a question that was not asked (its ``when`` is false): compares to nothing."""

    _instance: _Skipped | None = None

    def __new__(cls) -> _Skipped:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "SKIPPED"


SKIPPED: Any = _Skipped()


# --- compiled rule nodes ----------------------------------------------------------------------
@dataclass(frozen=True)
class Compare:
    question: str
    op: str
    value: Any

    def evaluate(self, answers: Mapping[str, Answer]) -> Truth:
        if self.question not in answers:
            return Truth.UNKNOWN
        answer = answers[self.question]
        if answer is SKIPPED:
            return Truth.FALSE
        return Truth.of(_apply(self.op, answer, self.value))

    def questions(self) -> set[str]:
        return {self.question}


@dataclass(frozen=True)
class Answered:
    question: str
    expected: bool

    def evaluate(self, answers: Mapping[str, Answer]) -> Truth:
        if self.question not in answers:
            return Truth.UNKNOWN
        return Truth.of((answers[self.question] is not SKIPPED) == self.expected)

    def questions(self) -> set[str]:
        return {self.question}


@dataclass(frozen=True)
class All:
    parts: tuple[Rule, ...]

    def evaluate(self, answers: Mapping[str, Answer]) -> Truth:
        result = Truth.TRUE
        for part in self.parts:
            result = result & part.evaluate(answers)
            if result is Truth.FALSE:
                break
        return result

    def questions(self) -> set[str]:
        return set().union(*(p.questions() for p in self.parts))


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Rule, ...]

    def evaluate(self, answers: Mapping[str, Answer]) -> Truth:
        result = Truth.FALSE
        for part in self.parts:
            result = result | part.evaluate(answers)
            if result is Truth.TRUE:
                break
        return result

    def questions(self) -> set[str]:
        return set().union(*(p.questions() for p in self.parts))


@dataclass(frozen=True)
class Not:
    part: Rule

    def evaluate(self, answers: Mapping[str, Answer]) -> Truth:
        return ~self.part.evaluate(answers)

    def questions(self) -> set[str]:
        return self.part.questions()


Rule = Compare | Answered | All | AnyOf | Not
ALWAYS = All(())


def _apply(op: str, answer: Answer, constant: Any) -> bool:
    if isinstance(answer, tuple):  # multi_choice: the set of selected options
        selected = set(answer)
        if op == "in":
            return bool(selected & set(constant))
        if op == "not_in":
            return not selected & set(constant)
        if op == "eq":
            return constant in selected
        return constant not in selected  # ne
    if op == "eq":
        return bool(answer == constant)
    if op == "ne":
        return bool(answer != constant)
    if op == "in":
        return answer in constant
    if op == "not_in":
        return answer not in constant
    if op == "gt":
        return bool(answer > constant)
    if op == "gte":
        return bool(answer >= constant)
    if op == "lt":
        return bool(answer < constant)
    return bool(answer <= constant)


# --- compiling --------------------------------------------------------------------------------
def compile_rule(doc: Any, questions: Mapping[str, QuestionSpec], path: str = "when") -> Rule:
    """Check ``doc`` against the questions and return an evaluable rule (``RuleError`` if not)."""
    if doc is None:
        return ALWAYS
    if not isinstance(doc, Mapping):
        raise RuleError(path, "规则应为一个映射（如 {q: 问题标识, eq: 值}）")
    keys = set(doc)
    if keys & {"all", "any"}:
        (combinator,) = keys if len(keys) == 1 else (None,)
        if combinator is None:
            raise RuleError(path, f"all/any 不能与其他键同时出现：{sorted(keys)}")
        parts = doc[combinator]
        if not isinstance(parts, list) or not parts:
            raise RuleError(f"{path}.{combinator}", "应为非空的规则列表")
        compiled = tuple(
            compile_rule(p, questions, f"{path}.{combinator}[{i}]") for i, p in enumerate(parts)
        )
        return All(compiled) if combinator == "all" else AnyOf(compiled)
    if "not" in keys:
        if len(keys) != 1:
            raise RuleError(path, "not 不能与其他键同时出现")
        return Not(compile_rule(doc["not"], questions, f"{path}.not"))
    if "q" not in keys:
        raise RuleError(path, "规则应包含 q（问题标识）或 all/any/not")
    key = doc["q"]
    if not isinstance(key, str) or key not in questions:
        known = ", ".join(sorted(questions)) or "无"
        raise RuleError(f"{path}.q", f"未知的问题 {key!r}（本事项的问题：{known}）")
    spec = questions[key]
    ops = keys - {"q"}
    if len(ops) != 1:
        raise RuleError(path, f"应恰好包含一个比较运算，实际为 {sorted(ops) or '无'}")
    (op,) = ops
    raw = doc[op]
    if op == "answered":
        if not isinstance(raw, bool):
            raise RuleError(f"{path}.answered", "应为 true 或 false")
        return Answered(key, raw)
    if op not in COMPARE_OPS + SET_OPS:
        raise RuleError(f"{path}.{op}", f"未知的运算 {op!r}")
    if op in SET_OPS:
        if not isinstance(raw, list) or not raw:
            raise RuleError(f"{path}.{op}", "应为非空的值列表")
        values = tuple(_constant(spec, v, f"{path}.{op}[{i}]") for i, v in enumerate(raw))
        return Compare(key, op, frozenset(values))
    if op in ORDERED_OPS and spec.answer_type not in ("number", "date"):
        raise RuleError(f"{path}.{op}", f"问题 {key} 是{spec.answer_type}类型，不能比较大小")
    return Compare(key, op, _constant(spec, raw, f"{path}.{op}"))


def _constant(spec: QuestionSpec, raw: Any, path: str) -> Any:
    kind = spec.answer_type
    if kind in ("choice", "multi_choice"):
        if not isinstance(raw, str) or raw not in spec.options:
            raise RuleError(
                path, f"{raw!r} 不是问题 {spec.key} 的选项（{', '.join(spec.options)}）"
            )
        return raw
    if kind == "yes_no":
        if not isinstance(raw, bool):
            raise RuleError(path, f"问题 {spec.key} 是是/否题，应与 true/false 比较")
        return raw
    if kind == "text":
        if not isinstance(raw, str):
            raise RuleError(path, f"{spec.key} 是文本，应与文字比较")
        return raw
    if kind == "number":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise RuleError(path, f"问题 {spec.key} 是数值题，应与数字比较")
        return raw
    if isinstance(raw, dt.date):
        return raw
    # a number (20250101) is not a date, though ``fromisoformat`` would read its digits as one
    if isinstance(raw, str) and _ISO_DATE.fullmatch(raw):
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            pass
    raise RuleError(path, f"问题 {spec.key} 是日期题，应与 YYYY-MM-DD 日期比较")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def to_document(rule: Rule) -> dict[str, Any] | None:
    """The inverse of ``compile_rule`` (canonical form), used by catalog export."""
    if rule == ALWAYS:
        return None
    return _doc(rule)


def _doc(rule: Rule) -> dict[str, Any]:
    if isinstance(rule, Compare):
        value = rule.value
        if isinstance(value, frozenset):
            return {"q": rule.question, rule.op: sorted(value, key=str)}
        if isinstance(value, dt.date):
            value = value.isoformat()
        return {"q": rule.question, rule.op: value}
    if isinstance(rule, Answered):
        return {"q": rule.question, "answered": rule.expected}
    if isinstance(rule, All):
        return {"all": [_doc(p) for p in rule.parts]}
    if isinstance(rule, AnyOf):
        return {"any": [_doc(p) for p in rule.parts]}
    return {"not": _doc(rule.part)}


# --- answers ------------------------------------------------------------------------------------
class AnswerError(ValueError):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key
        self.message = message


def parse_answer(spec: QuestionSpec, raw: Any) -> Answer:
    """Check one raw answer (from JSON or a form) against its question and normalise it."""
    kind = spec.answer_type
    if kind == "choice":
        if not isinstance(raw, str) or raw not in spec.options:
            raise AnswerError(spec.key, _("请从给出的选项中选择"))
        return raw
    if kind == "multi_choice":
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or any(v not in spec.options for v in values):
            raise AnswerError(spec.key, _("请从给出的选项中选择"))
        return tuple(sorted(set(values)))
    if kind == "yes_no":
        if isinstance(raw, bool):
            return raw
        if raw in ("yes", "true", "是", "1"):
            return True
        if raw in ("no", "false", "否", "0"):
            return False
        raise AnswerError(spec.key, _("请回答“是”或“否”"))
    if kind == "number":
        if isinstance(raw, bool):
            raise AnswerError(spec.key, _("请填写数字"))
        if isinstance(raw, int):
            return raw
        try:
            number = raw if isinstance(raw, float) else float(str(raw))
        except ValueError:
            raise AnswerError(spec.key, _("请填写数字")) from None
        if not math.isfinite(number):  # 1e999, "inf", "nan": no real quantity, and not JSON
            raise AnswerError(spec.key, _("请填写一个有限的数字"))
        return int(number) if number.is_integer() else number
    if isinstance(raw, dt.date):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise AnswerError(spec.key, _("请填写日期，格式为 YYYY-MM-DD")) from None


# --- analysis ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reach:
    """What a rule can do: whether some answers make it true, and some make it false."""

    can_be_true: bool
    can_be_false: bool
    witness: dict[str, Answer] | None  # answers that make it true, if any


MAX_COMBINATIONS = 200_000


def representative_answers(spec: QuestionSpec, rules: Iterable[Rule]) -> list[Answer]:
    """A finite set of answers that exercises every outcome of every comparison on ``spec``.

    ``SKIPPED`` stands for "not asked" (the question may be a follow-up that was hidden)."""
    if spec.answer_type == "choice":
        return [SKIPPED, *spec.options]
    if spec.answer_type == "multi_choice":
        subsets: list[Answer] = [SKIPPED]
        for size in range(len(spec.options) + 1):
            subsets.extend(tuple(c) for c in itertools.combinations(spec.options, size))
        return subsets
    if spec.answer_type == "yes_no":
        return [SKIPPED, True, False]
    if spec.answer_type == "text":
        texts = sorted({c for r in rules for c in _constants_of(r, spec.key) if isinstance(c, str)})
        return [SKIPPED, *texts, "\x00another text"]
    constants = sorted({c for r in rules for c in _constants_of(r, spec.key)})
    points: list[Answer] = [SKIPPED]
    if spec.answer_type == "number":
        if not constants:
            return [SKIPPED, 0]
        points.append(constants[0] - 1)
        for low, high in itertools.pairwise(constants):
            points.extend([low, (low + high) / 2])
        points.extend([constants[-1], constants[-1] + 1])
        return points
    if not constants:
        return [SKIPPED, dt.date(2000, 1, 1)]
    one = dt.timedelta(days=1)
    if constants[0] > dt.date.min:
        points.append(constants[0] - one)
    for low, high in itertools.pairwise(constants):
        points.append(low)
        if (high - low).days > 1:
            points.append(low + one)
    points.append(constants[-1])
    if constants[-1] < dt.date.max:
        points.append(constants[-1] + one)
    return points


def _constants_of(rule: Rule, key: str) -> Iterator[Any]:
    if isinstance(rule, Compare):
        if rule.question == key:
            if isinstance(rule.value, frozenset):
                yield from rule.value
            else:
                yield rule.value
    elif isinstance(rule, All | AnyOf):
        for part in rule.parts:
            yield from _constants_of(part, key)
    elif isinstance(rule, Not):
        yield from _constants_of(rule.part, key)


def analyse(
    rule: Rule, questions: Mapping[str, QuestionSpec], context: Sequence[Rule] = ()
) -> Reach | None:
    """Exact reachability of ``rule`` over all complete answer sets (``None`` if too large).

    In a complete answer set every question is answered or skipped, so the result is never
    ``UNKNOWN``.

    ``context`` are the other rules of the item, so numeric/date test points cover every
    threshold in play."""
    keys = sorted(rule.questions())
    every = [rule, *context]
    domains = [representative_answers(questions[k], every) for k in keys]
    total = 1
    for domain in domains:
        total *= len(domain)
        if total > MAX_COMBINATIONS:
            return None
    can_true = can_false = False
    witness: dict[str, Answer] | None = None
    for combo in itertools.product(*domains):
        answers = dict(zip(keys, combo, strict=True))
        result = rule.evaluate(answers)
        if result is Truth.TRUE and not can_true:
            can_true, witness = True, answers
        elif result is Truth.FALSE:
            can_false = True
        if can_true and can_false:
            break
    return Reach(can_true, can_false, witness)
