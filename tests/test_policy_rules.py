"""The rule language: what the type checker refuses (with the path and a precise message), the
three-valued semantics, date arithmetic and the explanation of a verdict."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tongban.policies.evaluate import (
    Context,
    amount_fen,
    evaluate,
    explain,
    missing_data,
    whole_years,
)
from tongban.policies.rules import RuleInvalid, compile_amount, compile_rule
from tongban.policies.schema import ENTERPRISE, PERSON, division_prefix

CTX = Context(dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 11, 5))


def errors_of(
    raw: Any, *, amount: bool = False, schema: Any = ENTERPRISE, named: Any = None
) -> list[tuple[str, str]]:
    compile_ = compile_amount if amount else compile_rule
    with pytest.raises(RuleInvalid) as info:
        compile_(raw, schema, named=named)
    return [(e.path, e.message) for e in info.value.errors]


def test_unknown_attribute_is_refused_with_its_path() -> None:
    errors = errors_of(
        {
            "all": [
                {"attr": "employees", "op": ">=", "value": 1},
                {"attr": "staff", "op": ">=", "value": 1},
            ]
        }
    )
    assert errors[0][0] == "conditions.all[1].attr"
    assert "未知属性“staff”" in errors[0][1]
    assert "employees" in errors[0][1]  # lists what exists


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ({"attr": "employees", "op": ">=", "value": "ten"}, "conditions.value", "比较值应为数字"),
        ({"attr": "employees", "op": ">=", "value": 1.5}, "conditions.value", "应为整数"),
        ({"attr": "employees", "op": ">=", "value": True}, "conditions.value", "比较值应为数字"),
        ({"attr": "tax_credit_grade", "op": ">", "value": "A"}, "conditions.op", "不适用于枚举"),
        (
            {"attr": "tax_credit_grade", "op": "==", "value": "E"},
            "conditions.value",
            "只能取 A、B、M、C、D",
        ),
        (
            {"attr": "registered_on", "op": ">=", "value": "2026-02-30"},
            "conditions.value",
            "应为日期",
        ),
        (
            {"attr": "registered_on", "op": ">=", "value": "$tomorrow"},
            "conditions.value",
            "未知的参考日期",
        ),
        ({"attr": "tags", "op": "has_tag", "value": "独角兽"}, "conditions.value", "未知标签"),
        (
            {"attr": "employees", "op": "has_tag", "value": "专精特新"},
            "conditions.op",
            "不适用于整数",
        ),
        ({"attr": "division", "op": "within", "value": "3301"}, "conditions.value", "行政区划代码"),
        (
            {"attr": "employees", "op": "between", "value": [10, 5]},
            "conditions.value",
            "下限 10 大于上限 5",
        ),
        (
            {"years_since": "employees", "on": "$payment_date", "op": ">=", "value": 3},
            "conditions.years_since",
            "不是日期",
        ),
        ({"years_since": "registered_on", "op": ">=", "value": 3}, "conditions.on", "参考日期"),
        ({"attr": "employees", "op": "~", "value": 3}, "conditions.op", "未知运算符"),
        ({"attr": "employees", "op": ">="}, "conditions.value", "缺少比较值"),
        ({"all": []}, "conditions.all", "非空列表"),
        ({"ref": "nowhere"}, "conditions.ref", "没有名为“nowhere”的命名条件"),
    ],
)
def test_type_errors(raw: Any, path: str, fragment: str) -> None:
    errors = errors_of(raw)
    assert errors[0][0] == path
    assert fragment in errors[0][1]


def test_named_conditions_resolve_check_target_and_refuse_cycles() -> None:
    named = {
        "good_credit": (
            "enterprise",
            {"attr": "tax_credit_grade", "op": "in", "value": ["A", "B"]},
        ),
        "a": ("enterprise", {"ref": "b"}),
        "b": ("enterprise", {"all": [{"ref": "a"}]}),
        "elderly": (
            "person",
            {"years_since": "birth_date", "on": "$payment_date", "op": ">=", "value": 80},
        ),
    }
    rule = compile_rule({"ref": "good_credit"}, ENTERPRISE, named=named.get)
    assert evaluate(rule, {"tax_credit_grade": "B"}, CTX) is True
    cycle = errors_of({"ref": "a"}, named=named.get)
    assert any("循环引用：a → b → a" in message for _, message in cycle)
    wrong = errors_of({"ref": "elderly"}, named=named.get)
    assert "适用于person" in wrong[0][1]


@pytest.mark.parametrize(
    ("raw", "path", "fragment"),
    [
        ({"percent_of": "revenue_growth", "percent": 5}, "amount", "可能得出负数"),
        ({"minus": [1000, {"per_head": "employees", "amount": 10}]}, "amount", "可能得出负数"),
        ({"fixed": -1}, "amount", "最小可能值 -1"),
        ({"per_head": "employees", "amount": -100}, "amount", "可能得出负数"),
        ({"divide": [1000, {"attr": "employees"}]}, "amount.divide[1]", "除数可能为零"),
        ({"divide": [1000, {"minus": [5, 5]}]}, "amount.divide[1]", "除数可能为零"),
        ({"fixed": 100, "cap": 0}, "amount.cap", "封顶金额应为正数"),
        ({"per_head": "name", "amount": 1}, "amount.per_head", "不是数值属性"),
        ({"per_head": "staff", "amount": 1}, "amount.per_head", "未知属性"),
        (
            {"tiers": "employees", "bands": [{"from": 10, "amount": 1}, {"from": 5, "amount": 2}]},
            "amount.bands[1].from",
            "严格递增",
        ),
        (
            {"cases": [{"when": {"attr": "x", "op": "==", "value": 1}, "amount": 1}]},
            "amount.cases[0].when.attr",
            "未知属性",
        ),
        ("lots", "amount", "金额应为数字或公式对象"),
    ],
)
def test_amount_errors(raw: Any, path: str, fragment: str) -> None:
    errors = errors_of(raw, amount=True)
    assert errors[0][0] == path, errors
    assert fragment in errors[0][1]


def test_safe_formulas_pass_the_interval_analysis() -> None:
    compile_amount({"max": [0, {"percent_of": "revenue_growth", "percent": 5}]}, ENTERPRISE)
    compile_amount(
        {"divide": [{"per_head": "employees", "amount": 100}, {"sum": [1, {"attr": "employees"}]}]},
        ENTERPRISE,
    )
    compile_amount({"min": [{"per_head": "new_hires", "amount": 1000}, 50000]}, ENTERPRISE)


def test_three_valued_logic() -> None:
    rule = compile_rule(
        {
            "any": [
                {"attr": "employees", "op": ">=", "value": 10},
                {"attr": "tags", "op": "has_tag", "value": "专精特新"},
            ]
        },
        ENTERPRISE,
    )
    assert evaluate(rule, {"employees": None, "tags": None}, CTX) is None
    assert evaluate(rule, {"employees": None, "tags": frozenset({"专精特新"})}, CTX) is True
    assert evaluate(rule, {"employees": 3, "tags": frozenset()}, CTX) is False
    negated = compile_rule({"not": {"attr": "employees", "op": ">=", "value": 10}}, ENTERPRISE)
    assert evaluate(negated, {"employees": None}, CTX) is None
    known = compile_rule({"attr": "employees", "op": "known"}, ENTERPRISE)
    assert evaluate(known, {"employees": None}, CTX) is False


def test_age_on_the_payment_date_and_leap_day_birthdays() -> None:
    rule = compile_rule(
        {"years_since": "birth_date", "on": "$payment_date", "op": ">=", "value": 80}, PERSON
    )
    assert (
        evaluate(rule, {"birth_date": dt.date(1946, 11, 5)}, CTX) is True
    )  # 80th birthday that day
    assert evaluate(rule, {"birth_date": dt.date(1946, 11, 6)}, CTX) is False
    assert whole_years(dt.date(2000, 2, 29), dt.date(2026, 2, 28)) == 25
    assert whole_years(dt.date(2000, 2, 29), dt.date(2026, 3, 1)) == 26
    assert division_prefix("320300") == "3203"
    assert division_prefix("330106001") == "330106001"


def test_amount_formulas_and_rounding() -> None:
    beds = compile_amount(
        {
            "cases": [
                {"when": {"attr": "care_property", "op": "==", "value": "own"},
                 "amount": {"tiers": "care_beds_new", "bands": [{"from": 50, "amount": {"per_head": "care_beds_new", "amount": 10000}}]}},
                {"when": {"attr": "care_property", "op": "==", "value": "leased"},
                 "amount": {"tiers": "care_beds_new", "bands": [{"from": 20, "amount": {"per_head": "care_beds_new", "amount": 5000}}]}},
            ]
        },
        ENTERPRISE,
    )  # fmt: skip
    assert amount_fen(beds, {"care_property": "own", "care_beds_new": 60}, CTX) == 60 * 10000 * 100
    assert amount_fen(beds, {"care_property": "own", "care_beds_new": 49}, CTX) == 0
    assert (
        amount_fen(beds, {"care_property": "leased", "care_beds_new": 20}, CTX) == 20 * 5000 * 100
    )
    assert amount_fen(beds, {"care_property": None, "care_beds_new": 60}, CTX) is None
    capped = compile_amount({"percent_of": "tax_paid", "percent": 5, "cap": 100000}, ENTERPRISE)
    assert amount_fen(capped, {"tax_paid": 123456.789}, CTX) == 617284  # 6172.84 yuan, half-up
    assert amount_fen(capped, {"tax_paid": 9e7}, CTX) == 100000 * 100


def test_explanation_names_values_thresholds_and_missing_data() -> None:
    rule = compile_rule(
        {
            "all": [
                {"years_since": "birth_date", "on": "$payment_date", "op": ">=", "value": 80},
                {"attr": "household_division", "op": "within", "value": "320300"},
                {"attr": "bank_account_on_file", "op": "==", "value": True},
            ]
        },
        PERSON,
    )
    profile = {
        "birth_date": dt.date(1940, 2, 18),
        "household_division": "320311",
        "bank_account_on_file": None,
    }
    explained = explain(rule, profile, CTX)
    assert explained.verdict == "unknown"
    age, division, bank = explained.children
    assert age.verdict == "pass"
    assert age.actual.startswith("86")
    assert age.threshold == "80"
    assert "出生日期" in age.label
    assert "发放日" in age.label
    assert division.actual == "320311"
    assert division.threshold == "320300"
    assert division.verdict == "pass"
    assert bank.verdict == "unknown"
    assert bank.actual == "（无数据）"
    assert missing_data(explained) == ["已登记银行账户"]
    assert explained.as_dict()["children"][2]["result"] == "unknown"
