"""智能秒办 over shared data: ``fact.credit_dishonest`` comes from the 公共信用信息 source. It is
asked (and logged) when the draft is filled, before submission; a rule approves an applicant with
no 失信 record who gave the commitment, anyone else goes to a person. The source answers three
ways, kept apart: not on the list (a record saying so, or no record at all — a definite "no"),
on the list, or unavailable (down, failing, a record without the fact: unknown, a person
decides). A rule naming an unknown fact, or comparing this one with a non-boolean, is refused
when the catalog is imported."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.catalog_fixtures import BODIES, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tests.sharing_support import Gateway, running_gateway
from tests.test_instant_decision import NIGHT_WORK
from tongban.cases.models import Case, CaseState, Outcome
from tongban.cases.services import check_create_draft, submit_draft
from tongban.catalog.services import CatalogInvalid, import_catalog
from tongban.identity.models import Department
from tongban.sharing.models import DataLookup, SharedItem
from tongban.sharing.services import check_fill_draft, do_load_registry_records

pytestmark = pytest.mark.django_db

# After the Binhai example: no 失信 record and the applicant's commitment → approve at once.
CREDIT_ITEM = """\
schema: tongban-catalog/1
items:
  - code: BH-PROMISE-001
    name: 经营许可（告知承诺，示例）
    type: licensing
    department: 3301-SCJG
    legal_basis: 示例依据
    acceptance_conditions: 示例条件
    promised_limit_days: 5
    applicant_types: [person, enterprise]
    questions:
      - {key: promise, text: 是否承诺符合许可条件并承担相应法律责任, type: yes_no}
    instant_rules:
      - name: 无失信记录且已承诺
        when: {all: [{q: fact.credit_dishonest, eq: false}, {q: answer.promise, eq: true}]}
        outcome: approve
        reason: 申请人无严重失信记录并已作出承诺，系统自动准予
"""
FACT = "fact.credit_dishonest"


@pytest.fixture
def applicant(tmp_path: Path) -> Any:
    import_catalog(write_catalog(tmp_path, bodies=BODIES, credit=CREDIT_ITEM, night=NIGHT_WORK))
    return ApplicantFactory()


def credit_record(applicant: Any, **data: Any) -> None:
    record = {"credit_level": "A", "summary": "公共信用信息（测试）", "reference": "XY1", **data}
    do_load_registry_records([("credit", applicant.person.id_number, record)])


def apply(applicant: Any, promise: str = "yes") -> Case:
    draft = check_create_draft(
        applicant,
        item_code="BH-PROMISE-001",
        division_code="330100",
        answers={"promise": promise},
    )
    check_fill_draft(applicant, draft.pk)
    return submit_draft(applicant, draft.pk)


def test_no_dishonest_record_and_a_commitment_approve_at_once(applicant: Any) -> None:
    credit_record(applicant, dishonest=False)
    case = apply(applicant)
    assert case.state == CaseState.DECIDED
    assert case.outcome == Outcome.APPROVED
    assert case.instant_explanation[0]["values"] == {FACT: False, "answer.promise": True}
    item = SharedItem.objects.get(case=case, key=FACT)
    assert (item.target, item.status, item.value, item.source) == (
        "fact",
        "obtained",
        False,
        "credit",
    )
    lookup = DataLookup.objects.get(case=case, source="credit")
    assert lookup.result == "found"
    assert item.lookup_id == lookup.pk


def test_a_dishonest_record_or_no_commitment_goes_to_a_person(applicant: Any) -> None:
    credit_record(applicant, dishonest=True)
    case = apply(applicant)
    assert case.state == CaseState.SUBMITTED
    assert case.instant_explanation[0]["result"] == "false"
    assert case.events.filter(action="instant_check").exists()

    credit_record(applicant, dishonest=False)
    assert apply(applicant, promise="no").state == CaseState.SUBMITTED


def test_no_record_on_the_list_is_a_definite_no(applicant: Any) -> None:
    """The local registry holds nothing about the applicant: not listed, approved at once."""
    case = apply(applicant)
    assert case.state == CaseState.DECIDED
    assert case.outcome == Outcome.APPROVED
    assert case.instant_explanation[0]["values"] == {FACT: False, "answer.promise": True}
    item = SharedItem.objects.get(case=case, key=FACT)
    assert (item.status, item.value, item.reason) == ("obtained", False, "")
    assert "没有该申请人的记录（未列入名单）" in item.summary
    lookup = DataLookup.objects.get(case=case, source="credit")
    assert lookup.result == "not_found"
    assert item.lookup_id == lookup.pk


@pytest.fixture
def gateway() -> Any:
    with running_gateway() as running:
        yield running


@pytest.mark.parametrize(
    ("answer", "lookup_result", "seen", "state"),
    [
        ("not_listed", "found", False, CaseState.DECIDED),
        ("no_record", "not_found", False, CaseState.DECIDED),
        ("listed", "found", True, CaseState.SUBMITTED),
        ("down", "error", None, CaseState.SUBMITTED),
        ("failing", "error", None, CaseState.SUBMITTED),
    ],
)
def test_the_credit_gateway_answers_no_yes_and_unavailable_distinctly(
    applicant: Any,
    settings: Any,
    gateway: Gateway,
    answer: str,
    lookup_result: str,
    seen: Any,
    state: str,
) -> None:
    settings.TONGBAN_SHARING_CONNECTORS = {
        "default": {"plugin": "local_registry"},
        "credit": gateway.connector_entry(),
    }
    credit_record(applicant, dishonest=False)  # the local registry is not what is asked
    subject = ("credit", applicant.person.id_number)
    if answer in ("not_listed", "listed"):
        gateway.script.records[subject] = {"dishonest": answer == "listed", "summary": "网关"}
    elif answer == "down":
        gateway.stop()
    elif answer == "failing":
        gateway.script.status = 500
    case = apply(applicant)
    assert DataLookup.objects.get(case=case, source="credit").result == lookup_result
    assert case.state == state
    (entry,) = case.instant_explanation
    item = SharedItem.objects.get(case=case, key=FACT)
    if seen is None:  # unavailable: unknown, never read as "not listed"
        assert (entry["result"], entry["missing"]) == ("unknown", [FACT])
        assert entry["values"][FACT] is None
        assert (item.status, item.value) == ("unavailable", None)
        assert "暂时无法访问" in item.reason
    else:
        assert entry["values"][FACT] is seen
        assert entry["result"] == ("false" if seen else "true")
        assert (item.status, item.value) == ("obtained", seen)


@pytest.mark.parametrize("record", [{}, {"dishonest": "否"}])
def test_without_a_usable_credit_answer_the_rule_is_unknown(applicant: Any, record: Any) -> None:
    credit_record(applicant, **record)
    case = apply(applicant)
    assert case.state == CaseState.SUBMITTED
    assert case.instant_explanation[0]["result"] == "unknown"
    assert case.instant_explanation[0]["missing"] == [FACT]
    assert SharedItem.objects.get(case=case, key=FACT).status == "unavailable"


def test_the_fact_is_asked_once_and_only_where_rules_use_it(applicant: Any) -> None:
    credit_record(applicant, dishonest=False)
    draft = check_create_draft(
        applicant, item_code="BH-PROMISE-001", division_code="330100", answers={"promise": "yes"}
    )
    assert check_fill_draft(applicant, draft.pk).obtained == [f"fact:{FACT}"]
    assert check_fill_draft(applicant, draft.pk).lookups == 0  # obtained once, kept

    night = check_create_draft(
        applicant, item_code="CG-NIGHT-001", division_code="330100", form_data={}
    )
    check_fill_draft(applicant, night.pk)
    assert not DataLookup.objects.filter(case_id=night.pk).exists()


def test_the_explanation_names_the_credit_source(applicant: Any) -> None:
    credit_record(applicant, dishonest=False)
    case = apply(applicant)
    head = StaffUserFactory(
        department=Department.objects.get(code="3301-SCJG"), roles=["department_head"]
    )
    client = Client()
    client.force_login(head)
    decision = client.get(f"/api/v1/cases/{case.number}").json()["instant_decision"]
    credit = next(c for c in decision["rules"][0]["conditions"] if c["key"] == FACT)
    assert credit["label"] == "申请人被列入严重失信主体名单（公共信用信息）"
    assert (credit["requirement"], credit["seen"], credit["met"]) == ("为“否”", "否", "yes")


@pytest.mark.parametrize(
    ("when", "fragment"),
    [
        ("{q: fact.credit_dishonset, eq: false}", "未知的问题 'fact.credit_dishonset'"),
        ("{q: fact.credit_dishonest, eq: 无}", "应与 true/false 比较"),
        ("{q: fact.credit_dishonest, gt: 1}", "不能比较大小"),
    ],
)
def test_rules_over_the_fact_are_checked_on_import(
    tmp_path: Path, when: str, fragment: str
) -> None:
    text = CREDIT_ITEM.replace(
        "{all: [{q: fact.credit_dishonest, eq: false}, {q: answer.promise, eq: true}]}", when
    )
    assert text != CREDIT_ITEM
    with pytest.raises(CatalogInvalid) as info:
        import_catalog(write_catalog(tmp_path, bodies=BODIES, credit=text))
    assert any("instant_rules" in p.path and fragment in p.message for p in info.value.problems)
