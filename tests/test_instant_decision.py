"""智能秒办: rules as data decide at once, store which rules fired and what they saw, send the
case to a person when data is missing, and are checked when the catalog is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.catalog_fixtures import BODIES, write_catalog
from tests.factories import ApplicantFactory
from tongban.cases.models import CaseState, Outcome
from tongban.cases.services import check_create_draft, submit_draft
from tongban.catalog.models import Item, ItemVersion
from tongban.catalog.services import CatalogInvalid, import_catalog

pytestmark = pytest.mark.django_db

NIGHT_WORK = """\
schema: tongban-catalog/1
data_elements:
  - {code: days, name: 天数, type: integer}
  - {code: site, name: 工地名称, type: text}
items:
  - code: CG-NIGHT-001
    name: 夜间施工许可
    type: licensing
    department: 3301-SCJG
    legal_basis: 《中华人民共和国噪声污染防治法》第四十三条
    acceptance_conditions: 因生产工艺要求或特殊需要必须连续施工作业
    promised_limit_days: 3
    applicant_types: [enterprise, person]
    fields:
      - {key: consecutive_days, label: 连续夜间施工天数, element: days}
      - {key: monthly_days, label: 本月累计夜间施工天数, element: days}
      - {key: site, label: 工地名称, element: site, required: false}
    instant_rules:
      - name: 连续施工超过3天
        when: {q: form.consecutive_days, gt: 3}
        outcome: deny
        reason: 连续夜间施工不得超过3天
        legal_basis: 示例：《武汉市夜间施工管理规定》（数值取自 seeds/002）
      - name: 当月累计超过12天
        when: {q: form.monthly_days, gt: 12}
        outcome: deny
        reason: 当月累计夜间施工不得超过12天
        legal_basis: 示例：《武汉市夜间施工管理规定》（当月累计天数上限取自 seeds/002）
      - name: 符合条件且无违诺记录
        when: {all: [{q: form.consecutive_days, lte: 3}, {q: form.monthly_days, lte: 12}, {q: fact.commitment_barred, eq: false}]}
        outcome: approve
        reason: 符合夜间施工条件，系统自动准予
"""


@pytest.fixture
def applicant(tmp_path: Path) -> Any:
    import_catalog(write_catalog(tmp_path, bodies=BODIES, night=NIGHT_WORK))
    return ApplicantFactory()


def apply(applicant: Any, **form: Any) -> Any:
    draft = check_create_draft(
        applicant, item_code="CG-NIGHT-001", division_code="330100", form_data=form
    )
    return submit_draft(applicant, draft.pk)


def test_rules_approve_at_once_with_an_explanation(applicant: Any) -> None:
    case = apply(applicant, consecutive_days="2", monthly_days=5)
    assert case.state == CaseState.DECIDED
    assert case.outcome == Outcome.APPROVED
    assert [e["rule"] for e in case.instant_explanation] == [
        "连续施工超过3天",
        "当月累计超过12天",
        "符合条件且无违诺记录",
    ]
    assert [e["result"] for e in case.instant_explanation] == ["false", "false", "true"]
    assert case.instant_explanation[2]["values"] == {
        "fact.commitment_barred": False,
        "form.consecutive_days": 2,
        "form.monthly_days": 5,
    }
    event = case.events.get(action="instant_decision")
    assert event.data["rule"] == "符合条件且无违诺记录"
    assert not case.tasks.exists()


def test_rules_deny_with_the_reason(applicant: Any) -> None:
    case = apply(applicant, consecutive_days=4, monthly_days=5)
    assert case.outcome == Outcome.DENIED
    assert case.decision_reason == "连续夜间施工不得超过3天"
    case = apply(applicant, consecutive_days=1, monthly_days=13)
    assert case.decision_reason == "当月累计夜间施工不得超过12天"


def test_a_denial_records_its_legal_basis(applicant: Any) -> None:
    case = apply(applicant, consecutive_days=1, monthly_days=13)
    assert (
        case.decision_basis == "示例：《武汉市夜间施工管理规定》（当月累计天数上限取自 seeds/002）"
    )
    event = case.events.get(action="instant_decision")
    assert event.data["legal_basis"] == case.decision_basis


def test_a_deny_rule_without_legal_basis_is_refused_on_import(tmp_path: Path) -> None:
    basis = (
        "        legal_basis: 示例：《武汉市夜间施工管理规定》（当月累计天数上限取自 seeds/002）\n"
    )
    assert basis in NIGHT_WORK
    with pytest.raises(CatalogInvalid) as info:
        import_catalog(write_catalog(tmp_path, bodies=BODIES, night=NIGHT_WORK.replace(basis, "")))
    problems = [p for p in info.value.problems if p.path.endswith("legal_basis")]
    assert [p.path for p in problems] == ["items[0].instant_rules[1].legal_basis"]
    assert "法律依据" in problems[0].message
    # an approve rule needs none
    assert "outcome: approve\n        reason: 符合夜间施工条件，系统自动准予\n" in NIGHT_WORK


def test_missing_data_goes_to_a_person(applicant: Any) -> None:
    case = apply(applicant, monthly_days=5)
    assert case.state == CaseState.SUBMITTED
    first = case.instant_explanation[0]
    assert first["result"] == "unknown"
    assert first["missing"] == ["form.consecutive_days"]
    assert case.events.get(action="instant_check").reason == "规则无法自动判定，转人工办理"


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (
            "{q: form.consecutive_days, gt: 3}",
            "{q: form.days_in_row, gt: 3}",
            "未知的问题 'form.days_in_row'",
        ),
        ("{q: form.monthly_days, gt: 12}", "{q: form.monthly_days, gt: 十二}", "应与数字比较"),
        (
            "{q: fact.commitment_barred, eq: false}",
            "{q: fact.dishonest, eq: false}",
            "未知的问题 'fact.dishonest'",
        ),
    ],
)
def test_rules_are_checked_on_import(tmp_path: Path, old: str, new: str, fragment: str) -> None:
    assert old in NIGHT_WORK
    with pytest.raises(CatalogInvalid) as info:
        import_catalog(write_catalog(tmp_path, bodies=BODIES, night=NIGHT_WORK.replace(old, new)))
    assert any("instant_rules" in p.path and fragment in p.message for p in info.value.problems)


def test_a_stored_deny_rule_without_legal_basis_sends_the_case_to_a_person(
    applicant: Any,
) -> None:
    version = Item.objects.get(code="CG-NIGHT-001").current_version
    assert version is not None
    rules = [dict(rule) for rule in version.instant_rules]
    rules[1]["legal_basis"] = ""  # as a version imported before the basis was required
    ItemVersion.objects.filter(pk=version.pk).update(instant_rules=rules)
    case = apply(applicant, consecutive_days=1, monthly_days=13)
    assert case.state == CaseState.SUBMITTED
    assert case.outcome == ""
    assert case.instant_explanation[1]["result"] == "true"
    assert case.instant_explanation[1]["held_back"] == "no_legal_basis"
    assert case.events.get(action="instant_check").reason == "规则无法自动判定，转人工办理"
