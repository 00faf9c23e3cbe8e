"""情形 rule language: compilation errors, three-valued evaluation, exact reachability analysis."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tongban.catalog.rules import (
    ALWAYS,
    SKIPPED,
    QuestionSpec,
    RuleError,
    Truth,
    analyse,
    compile_rule,
    parse_answer,
    representative_answers,
    to_document,
)

QUESTIONS = {
    "kind": QuestionSpec("kind", "choice", ("company", "individual", "cooperative")),
    "cold": QuestionSpec("cold", "yes_no"),
    "area": QuestionSpec("area", "number"),
    "opened": QuestionSpec("opened", "date"),
    "extras": QuestionSpec("extras", "multi_choice", ("alcohol", "takeaway", "live_music")),
}


@pytest.mark.parametrize(
    ("doc", "path", "fragment"),
    [
        ({"q": "colour", "eq": "red"}, "when.q", "未知的问题 'colour'"),
        ({"q": "kind", "eq": "bank"}, "when.eq", "不是问题 kind 的选项"),
        ({"q": "kind", "gt": "company"}, "when.gt", "不能比较大小"),
        ({"q": "cold", "eq": "yes"}, "when.eq", "应与 true/false 比较"),
        ({"q": "area", "gte": "big"}, "when.gte", "应与数字比较"),
        ({"q": "opened", "lt": "yesterday"}, "when.lt", "YYYY-MM-DD"),
        ({"q": "area", "gt": 1, "lt": 5}, "when", "恰好包含一个比较运算"),
        ({"q": "area", "between": [1, 2]}, "when.between", "未知的运算"),
        ({"all": []}, "when.all", "非空的规则列表"),
        ({"all": [{"q": "cold", "eq": True}], "any": []}, "when", "不能与其他键同时出现"),
        ({"any": [{"q": "cold", "eq": True}, {"q": "kind", "in": []}]}, "when.any[1].in", "非空"),
        ("cold", "when", "应为一个映射"),
        ({"not": {"q": "nope", "eq": 1}}, "when.not.q", "未知的问题"),
    ],
)
def test_compile_errors_name_the_path(doc: object, path: str, fragment: str) -> None:
    with pytest.raises(RuleError) as info:
        compile_rule(doc, QUESTIONS)
    assert info.value.path == path
    assert fragment in info.value.message


def test_no_rule_always_applies() -> None:
    assert compile_rule(None, QUESTIONS) == ALWAYS
    assert ALWAYS.evaluate({}) is Truth.TRUE


def test_kleene_logic() -> None:
    rule = compile_rule({"any": [{"q": "cold", "eq": True}, {"q": "area", "gt": 300}]}, QUESTIONS)
    assert rule.evaluate({}) is Truth.UNKNOWN
    assert rule.evaluate({"cold": True}) is Truth.TRUE  # decided without area
    assert rule.evaluate({"cold": False}) is Truth.UNKNOWN
    assert rule.evaluate({"cold": False, "area": 300}) is Truth.FALSE
    both = compile_rule({"all": [{"q": "cold", "eq": True}, {"q": "area", "gt": 300}]}, QUESTIONS)
    assert both.evaluate({"cold": False}) is Truth.FALSE  # decided without area
    assert both.evaluate({"cold": True}) is Truth.UNKNOWN
    negated = compile_rule({"not": {"q": "cold", "eq": True}}, QUESTIONS)
    assert negated.evaluate({}) is Truth.UNKNOWN
    assert negated.evaluate({"cold": False}) is Truth.TRUE


def test_skipped_question_compares_to_nothing() -> None:
    rule = compile_rule({"q": "kind", "ne": "company"}, QUESTIONS)
    assert rule.evaluate({"kind": SKIPPED}) is Truth.FALSE
    answered = compile_rule({"q": "kind", "answered": False}, QUESTIONS)
    assert answered.evaluate({"kind": SKIPPED}) is Truth.TRUE
    assert answered.evaluate({"kind": "company"}) is Truth.FALSE
    assert answered.evaluate({}) is Truth.UNKNOWN


def test_multi_choice_membership_and_dates() -> None:
    rule = compile_rule({"q": "extras", "in": ["alcohol", "live_music"]}, QUESTIONS)
    assert rule.evaluate({"extras": ("takeaway",)}) is Truth.FALSE
    assert rule.evaluate({"extras": ("live_music", "takeaway")}) is Truth.TRUE
    before = compile_rule({"q": "opened", "lt": "2025-01-01"}, QUESTIONS)
    assert before.evaluate({"opened": dt.date(2024, 12, 31)}) is Truth.TRUE
    assert before.evaluate({"opened": dt.date(2025, 1, 1)}) is Truth.FALSE


def test_parse_answer_checks_types() -> None:
    assert parse_answer(QUESTIONS["cold"], "是") is True
    assert parse_answer(QUESTIONS["area"], "120") == 120
    assert parse_answer(QUESTIONS["area"], "12.5") == 12.5
    assert parse_answer(QUESTIONS["extras"], ["takeaway", "alcohol", "alcohol"]) == (
        "alcohol",
        "takeaway",
    )
    assert parse_answer(QUESTIONS["opened"], "2025-02-03") == dt.date(2025, 2, 3)
    for spec, raw in [
        (QUESTIONS["kind"], "bank"),
        (QUESTIONS["cold"], "maybe"),
        (QUESTIONS["area"], "lots"),
        (QUESTIONS["area"], True),
        (QUESTIONS["opened"], "03/02/2025"),
        (QUESTIONS["extras"], ["alcohol", "karaoke"]),
    ]:
        with pytest.raises(ValueError, match=spec.key):
            parse_answer(spec, raw)


def test_analysis_finds_contradictions_and_tautologies() -> None:
    contradiction = compile_rule(
        {"all": [{"q": "area", "gt": 300}, {"q": "area", "lte": 300}]}, QUESTIONS
    )
    reach = analyse(contradiction, QUESTIONS)
    assert reach is not None
    assert not reach.can_be_true
    narrow = compile_rule({"all": [{"q": "area", "gt": 300}, {"q": "area", "lt": 301}]}, QUESTIONS)
    reach = analyse(narrow, QUESTIONS)
    assert reach is not None
    assert reach.can_be_true
    assert narrow.evaluate(reach.witness or {}) is Truth.TRUE
    tautology = compile_rule(
        {"any": [{"q": "cold", "eq": True}, {"not": {"q": "cold", "eq": True}}]}, QUESTIONS
    )
    reach = analyse(tautology, QUESTIONS)
    assert reach is not None
    assert reach.can_be_true
    assert not reach.can_be_false
    impossible_option = compile_rule(
        {
            "all": [
                {"q": "kind", "eq": "company"},
                {"q": "kind", "in": ["individual", "cooperative"]},
            ]
        },
        QUESTIONS,
    )
    reach = analyse(impossible_option, QUESTIONS)
    assert reach is not None
    assert not reach.can_be_true


# --- property tests -------------------------------------------------------------------------------
def _leaf(key: str) -> st.SearchStrategy[dict[str, object]]:
    spec = QUESTIONS[key]
    if spec.answer_type in ("choice", "multi_choice"):
        option = st.sampled_from(spec.options)
        return st.one_of(
            st.builds(lambda op, v: {"q": key, op: v}, st.sampled_from(["eq", "ne"]), option),
            st.builds(
                lambda op, vs: {"q": key, op: sorted(set(vs))},
                st.sampled_from(["in", "not_in"]),
                st.lists(option, min_size=1, max_size=3),
            ),
        )
    if spec.answer_type == "yes_no":
        return st.builds(
            lambda op, v: {"q": key, op: v}, st.sampled_from(["eq", "ne"]), st.booleans()
        )
    if spec.answer_type == "number":
        return st.builds(
            lambda op, v: {"q": key, op: v},
            st.sampled_from(["eq", "ne", "gt", "gte", "lt", "lte"]),
            st.integers(-5, 5),
        )
    return st.builds(
        lambda op, d: {"q": key, op: d.isoformat()},
        st.sampled_from(["eq", "gt", "lt"]),
        st.dates(dt.date(2024, 1, 1), dt.date(2024, 1, 10)),
    )


LEAVES = st.one_of(
    *[_leaf(k) for k in QUESTIONS],
    st.builds(
        lambda k, b: {"q": k, "answered": b}, st.sampled_from(sorted(QUESTIONS)), st.booleans()
    ),
)
RULES = st.recursive(
    LEAVES,
    lambda inner: st.one_of(
        st.builds(lambda parts: {"all": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"any": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda part: {"not": part}, inner),
    ),
    max_leaves=6,
)


def _answers_for(rule_docs: list[object]) -> st.SearchStrategy[dict[str, object]]:
    rules = [compile_rule(d, QUESTIONS) for d in rule_docs]
    pools = {k: representative_answers(spec, rules) for k, spec in QUESTIONS.items()}
    return st.fixed_dictionaries({}, optional={k: st.sampled_from(v) for k, v in pools.items()})


@given(st.data(), RULES)
def test_more_answers_never_change_a_decided_rule(data: st.DataObject, doc: object) -> None:
    """Monotonicity of Kleene logic: once TRUE or FALSE, answering more cannot flip it."""
    rule = compile_rule(doc, QUESTIONS)
    full = data.draw(_answers_for([doc]))
    keys = list(full)
    partial = {k: full[k] for k in keys[: data.draw(st.integers(0, len(keys)))]}
    before = rule.evaluate(partial)
    after = rule.evaluate(full)
    if before is not Truth.UNKNOWN:
        assert after is before


@given(RULES)
def test_complete_answers_always_decide(doc: object) -> None:
    rule = compile_rule(doc, QUESTIONS)
    keys = sorted(rule.questions())
    domains = [representative_answers(QUESTIONS[k], [rule]) for k in keys]
    for combo in itertools.islice(itertools.product(*domains), 500):
        assert rule.evaluate(dict(zip(keys, combo, strict=True))) is not Truth.UNKNOWN


@given(st.data(), RULES)
def test_analysis_is_sound(data: st.DataObject, doc: object) -> None:
    """A witness really makes the rule true; a rule called unreachable is never true on any
    complete answer set drawn from a wider pool of values."""
    rule = compile_rule(doc, QUESTIONS)
    reach = analyse(rule, QUESTIONS)
    assert reach is not None
    if reach.can_be_true:
        assert reach.witness is not None
        assert rule.evaluate(reach.witness) is Truth.TRUE
    else:
        answers = {
            "kind": data.draw(st.sampled_from([SKIPPED, *QUESTIONS["kind"].options])),
            "cold": data.draw(st.sampled_from([SKIPPED, True, False])),
            "area": data.draw(st.one_of(st.just(SKIPPED), st.integers(-8, 8), st.floats(-8, 8))),
            "opened": data.draw(
                st.one_of(st.just(SKIPPED), st.dates(dt.date(2023, 12, 25), dt.date(2024, 1, 20)))
            ),
            "extras": data.draw(
                st.one_of(
                    st.just(SKIPPED),
                    st.lists(st.sampled_from(QUESTIONS["extras"].options), unique=True).map(
                        lambda v: tuple(sorted(v))
                    ),
                )
            ),
        }
        assert rule.evaluate(answers) is not Truth.TRUE


@given(RULES)
def test_canonical_document_round_trips(doc: object) -> None:
    rule = compile_rule(doc, QUESTIONS)
    again = compile_rule(to_document(rule), QUESTIONS)
    assert again == rule
    assert to_document(again) == to_document(rule)


def test_analysis_handles_the_ends_of_the_calendar() -> None:
    last = compile_rule({"q": "opened", "lt": "9999-12-31"}, QUESTIONS)
    first = compile_rule({"q": "opened", "gt": "0001-01-01"}, QUESTIONS)
    for rule in (last, first):
        reach = analyse(rule, QUESTIONS)
        assert reach is not None
        assert reach.can_be_true
        assert reach.can_be_false
