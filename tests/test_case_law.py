"""行政许可法 edges of the lifecycle: 退回 only to a step the case has reached, the 预审 period of
第三十二条 (补正 within five working days, else the materials count as accepted on receipt), an
automatic 准予 of a case filed on a commitment (核查 falls due as after any approval on a
commitment), and 秒办 rules that no longer fit the catalog (a person decides; an import that
would break them is refused)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from freezegun import freeze_time

from tests.catalog_fixtures import BODIES, DRAINAGE, sample, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tests.test_instant_decision import NIGHT_WORK
from tongban.cases.models import (
    Case,
    CaseState,
    CaseTask,
    CommitmentBar,
    CommitmentState,
    Outcome,
    TaskKind,
    TaskState,
)
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.models import DataElement
from tongban.catalog.services import CatalogInvalid, import_catalog
from tongban.core.errors import Conflict, ValidationFailed
from tongban.identity.models import Department

pytestmark = pytest.mark.django_db

ANSWERS = {"entity": "individual", "area": 120, "cold": False}


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.scjg = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga = StaffUserFactory(
            department=Department.objects.get(code="3301-GA"), roles=["reviewer"]
        )
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])


@pytest.fixture
def people(tmp_path: Path) -> People:
    import_catalog(sample(tmp_path))
    return People()


def food_case(people: People) -> Case:
    draft = check_create_draft(
        people.applicant, item_code="SC-FOOD-001", division_code="330100", answers=ANSWERS
    )
    return submit_draft(people.applicant, draft.pk)


def open_task(case: Case, department: str) -> CaseTask:
    return case.tasks.get(department__code=department, state=TaskState.OPEN)


# --- 退回 -----------------------------------------------------------------------------------------


def test_a_case_rejected_in_the_first_stage_cannot_be_sent_back_to_a_later_one(
    people: People,
) -> None:
    case = perform(people.window, food_case(people).number, "accept")
    task = open_task(case, "3301-GA").pk
    case = perform(people.ga, case.number, "reject_task", {"task": task, "opinion": "不符合"})
    assert (case.state, case.current_stage) == (CaseState.AWAITING_DECISION, 1)
    with pytest.raises(ValidationFailed) as info:
        perform(people.head, case.number, "send_back", {"to": "stage:2", "reason": "复核"})
    assert info.value.code == "invalid_target"
    assert "stage:2" not in info.value.errors[0].message
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_DECISION
    assert not case.tasks.filter(stage=2, state=TaskState.OPEN).exists()
    case = perform(people.head, case.number, "send_back", {"to": "stage:1", "reason": "复核"})
    assert case.tasks.filter(stage=1, state=TaskState.OPEN).count() == 2


# --- 第三十二条: 补正 within the 预审 period ---------------------------------------------------------


def test_a_correction_is_refused_once_the_intake_period_has_passed(people: People) -> None:
    items = {"items": [{"material": "application", "problem": "缺少签字"}]}
    with freeze_time("2025-03-03 10:00:00+08:00"):  # Monday: 预审 until Monday 10 March
        late, timely = food_case(people), food_case(people)
    with freeze_time("2025-03-10 16:00:00+08:00"):
        timely = perform(people.window, timely.number, "request_correction", items)
    assert timely.state == CaseState.CORRECTION
    with freeze_time("2025-03-11 09:00:00+08:00"), pytest.raises(Conflict) as info:
        perform(people.window, late.number, "request_correction", items)
    assert info.value.code == "correction_period_over"
    assert "2025年03月10日" in info.value.message
    assert {e.path for e in info.value.errors} >= {"state", "allowed"}
    late.refresh_from_db()
    assert late.state == CaseState.SUBMITTED
    assert not late.corrections.exists()


def test_a_late_acceptance_counts_the_period_from_receipt(people: People) -> None:
    with freeze_time("2025-03-03 10:00:00+08:00"):
        late, timely = food_case(people), food_case(people)
    with freeze_time("2025-03-07 10:00:00+08:00"):  # within the 预审 period
        timely = perform(people.window, timely.number, "accept")
    assert timely.due_date == dt.date(2025, 3, 21)  # Fri 7 Mar + 10 working days
    with freeze_time("2025-03-12 10:00:00+08:00"):
        late = perform(people.window, late.number, "accept")
    # not told to correct within five working days: accepted on receipt (Mon 3 Mar) + 10
    assert late.due_date == dt.date(2025, 3, 17)
    event = late.events.get(action="accept")
    assert event.data["deemed_accepted_on"] == "2025-03-03"
    assert event.data["due_date"] == "2025-03-17"
    assert "deemed_accepted_on" not in timely.events.get(action="accept").data


# --- 智能秒办 of a case filed on a commitment -----------------------------------------------------

PROMISE = """\
schema: tongban-catalog/1
items:
  - code: SW-PROMISE-001
    name: 排水许可（告知承诺，示例）
    type: licensing
    department: 3301-SCJG
    legal_basis: 示例依据
    acceptance_conditions: 示例条件
    promised_limit_days: 5
    applicant_types: [person, enterprise]
    allows_commitment: true
    materials:
      - {key: application, name: 排水许可申请表}
      - {key: drainage_plan, name: 排水管网图, commitment_replaceable: true}
    instant_rules:
      - name: 无违诺记录
        when: {q: fact.commitment_barred, eq: false}
        outcome: approve
        reason: 申请人已作出承诺且无违诺记录，系统自动准予
"""


@freeze_time("2025-03-03 10:00:00+08:00")
def test_an_automatic_approval_on_a_commitment_opens_its_verification(tmp_path: Path) -> None:
    import_catalog(write_catalog(tmp_path, bodies=BODIES, promise=PROMISE))
    applicant = ApplicantFactory()
    scjg = Department.objects.get(code="3301-SCJG")
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    draft = check_create_draft(
        applicant,
        item_code="SW-PROMISE-001",
        division_code="330100",
        commitment_materials=["drainage_plan"],
    )
    case = submit_draft(applicant, draft.pk)
    assert (case.state, case.outcome) == (CaseState.DECIDED, Outcome.APPROVED)
    commitment = case.commitment
    commitment.refresh_from_db()
    assert commitment.state == CommitmentState.PENDING
    assert commitment.verification_due == dt.date(2025, 3, 31)  # 20 working days
    task = CaseTask.objects.get(case=case, kind=TaskKind.VERIFICATION)
    assert (task.state, task.due_date) == (TaskState.OPEN, dt.date(2025, 3, 31))
    assert case.events.get(action="instant_decision").data["verification_due"] == "2025-03-31"
    # a broken commitment can be revoked, and bars the applicant, as after any such approval
    case = perform(head, case.number or "", "revoke_for_broken_commitment", {"reason": "承诺不实"})
    assert case.outcome == Outcome.REVOKED
    assert CommitmentBar.objects.get().person == applicant.person


@freeze_time("2025-03-03 10:00:00+08:00")
def test_an_ordinary_approval_of_a_case_filed_on_a_commitment_opens_its_verification(
    tmp_path: Path,
) -> None:
    import_catalog(write_catalog(tmp_path, bodies=BODIES, drainage=DRAINAGE))
    applicant = ApplicantFactory()
    scjg = Department.objects.get(code="3301-SCJG")
    window = StaffUserFactory(department=scjg, roles=["window"])
    reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    draft = check_create_draft(
        applicant,
        item_code="SW-DRAIN-001",
        division_code="330100",
        commitment_materials=["drainage_plan"],
    )
    number = submit_draft(applicant, draft.pk).number or ""
    case = perform(window, number, "accept")  # reviewed in the ordinary way, on the commitment
    task = case.tasks.get(state=TaskState.OPEN)
    perform(reviewer, number, "approve_task", {"task": task.pk})
    case = perform(head, number, "decide", {"outcome": "approved"})
    case.commitment.refresh_from_db()
    assert case.commitment.state == CommitmentState.PENDING
    verification = CaseTask.objects.get(case=case, kind=TaskKind.VERIFICATION)
    assert (verification.state, verification.stage) == (TaskState.OPEN, 2)
    assert case.events.get(action="decide").data["verification_due"] == "2025-03-31"
    case = perform(head, number, "revoke_for_broken_commitment", {"reason": "承诺不实"})
    assert case.outcome == Outcome.REVOKED


# --- 秒办 rules that no longer fit the catalog ---------------------------------------------------


def night_work(applicant: Any, **form: Any) -> Case:
    draft = check_create_draft(
        applicant, item_code="CG-NIGHT-001", division_code="330100", form_data=form
    )
    return submit_draft(applicant, draft.pk)


def test_a_rule_over_a_retyped_element_sends_the_case_to_a_person(tmp_path: Path) -> None:
    import_catalog(write_catalog(tmp_path, bodies=BODIES, night=NIGHT_WORK))
    DataElement.objects.filter(code="days").update(value_type="text")  # edited in the admin
    case = night_work(ApplicantFactory(), consecutive_days="2", monthly_days="5")
    assert case.state == CaseState.SUBMITTED
    first = case.instant_explanation[0]
    assert (first["rule"], first["result"]) == ("连续施工超过3天", "unknown")
    assert "form.consecutive_days" in first["invalid"]
    check = case.events.get(action="instant_check")
    assert check.reason == "规则无法自动判定，转人工办理"


def test_retyping_an_element_a_stored_rule_compares_is_refused(tmp_path: Path) -> None:
    import_catalog(write_catalog(tmp_path, bodies=BODIES, night=NIGHT_WORK))
    retyped = (
        "schema: tongban-catalog/1\ndata_elements:\n  - {code: days, name: 天数, type: text}\n"
    )
    with pytest.raises(CatalogInvalid) as info:
        import_catalog(write_catalog(tmp_path / "next", elements=retyped))
    problems = info.value.problems
    assert {p.path for p in problems} == {"data_elements[0].type"}
    assert len(problems) == 3  # each of the item's three rules compares a number of days
    assert any("CG-NIGHT-001" in p.message and "连续施工超过3天" in p.message for p in problems)
    assert DataElement.objects.get(code="days").value_type == "integer"
    # a type the rules still fit is fine
    import_catalog(write_catalog(tmp_path / "fine", elements=retyped.replace("text", "decimal")))
    assert DataElement.objects.get(code="days").value_type == "decimal"


def test_a_date_rule_compares_with_a_date_not_a_number(tmp_path: Path) -> None:
    dated = NIGHT_WORK.replace(
        "  - {code: site, name: 工地名称, type: text}\n",
        "  - {code: site, name: 工地名称, type: text}\n  - {code: day, name: 日期, type: date}\n",
    ).replace(
        "      - {key: site, label: 工地名称, element: site, required: false}\n",
        "      - {key: site, label: 工地名称, element: site, required: false}\n"
        "      - {key: start, label: 开工日期, element: day, required: false}\n",
    )
    dated = dated.replace("{q: form.consecutive_days, gt: 3}", "{q: form.start, gt: 20250101}")
    with pytest.raises(CatalogInvalid) as info:
        import_catalog(write_catalog(tmp_path, bodies=BODIES, night=dated))
    assert any(
        p.path == "items[0].instant_rules[0].when.gt" and "日期" in p.message
        for p in info.value.problems
    )
