"""行政许可法 edges of the lifecycle: 退回 only to a step the case has reached, and to intake
starting the period afresh (no 延期 carried over); the 预审 period of 第三十二条 (补正 and 不予受理
within five working days, else the materials count as accepted on receipt and the case is
reviewed and decided); a 补正 answered with the materials its notice names only; an acceptance
naming every missing 容缺 material; an automatic 准予 of a case filed on a commitment (核查
falls due as after any approval on a commitment; the case says it was filed so); and 秒办 rules
that no longer fit the catalog (a person decides; an import that would break them is refused)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from tests.catalog_fixtures import BODIES, DRAINAGE, sample, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tests.test_instant_decision import NIGHT_WORK
from tongban.cases.materials import check_attach_material
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
from tongban.cases.services import available_actions, check_create_draft, perform, submit_draft
from tongban.catalog.models import DataElement
from tongban.catalog.services import CatalogInvalid, import_catalog
from tongban.core.errors import Conflict, ValidationFailed
from tongban.identity.models import Department

pytestmark = pytest.mark.django_db

ANSWERS = {"entity": "individual", "area": 120, "cold": False}
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


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


def food_case(people: People, answers: dict[str, Any] | None = None) -> Case:
    draft = check_create_draft(
        people.applicant,
        item_code="SC-FOOD-001",
        division_code="330100",
        answers=answers or ANSWERS,
    )
    return submit_draft(people.applicant, draft.pk)


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(user: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return as_user(user).post(url, body or {}, content_type="application/json")


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


def test_a_send_back_to_intake_starts_the_extension_afresh(people: People) -> None:
    """The undone acceptance's 延期 belonged to its period: a new acceptance counts the
    promised limit from itself and may be extended by the whole legal maximum again."""
    with freeze_time("2025-03-03 10:00:00+08:00"):
        number = perform(people.window, food_case(people).number, "accept").number or ""
        case = perform(people.head, number, "extend", {"days": 10, "reason": "情况复杂"})
    assert (case.extended_days, case.due_date) == (10, dt.date(2025, 3, 31))
    with freeze_time("2025-03-04 10:00:00+08:00"):
        case = perform(people.window, number, "send_back", {"to": "intake", "reason": "重审"})
    assert (case.state, case.extended_days, case.due_date) == (CaseState.SUBMITTED, 0, None)
    assert case.events.get(action="send_back").data["extended_days_undone"] == 10
    with freeze_time("2025-03-05 10:00:00+08:00"):
        case = perform(people.window, number, "accept")
        assert case.due_date == dt.date(2025, 3, 19)  # Wed 5 Mar + 10 working days
        case = perform(people.head, number, "extend", {"days": 10, "reason": "仍需核查"})
    assert (case.extended_days, case.due_date) == (10, dt.date(2025, 4, 2))
    stored = Case.objects.get(pk=case.pk)
    assert (stored.extended_days, stored.due_date) == (10, dt.date(2025, 4, 2))


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


def test_a_refusal_to_accept_is_refused_once_the_intake_period_has_passed(people: People) -> None:
    """Not told to correct within the period, the application counts as accepted on receipt:
    the window may no longer refuse to accept it (nor ask for 补正) — it is reviewed and
    decided. Neither is offered then, and a forced one is a 409 naming the period's end."""
    refusal = {"reason": "不属于本机关职权范围", "legal_basis": "《行政许可法》第三十二条"}
    with freeze_time("2025-03-03 10:00:00+08:00"):  # Monday: 预审 until Monday 10 March
        late, timely = food_case(people), food_case(people)
    with freeze_time("2025-03-10 16:00:00+08:00"):
        assert {"refuse", "request_correction"} <= set(available_actions(people.window, timely))
        timely = perform(people.window, timely.number, "refuse", refusal)
    assert timely.state == CaseState.REFUSED
    with freeze_time("2025-03-11 09:00:00+08:00"):
        offered = available_actions(people.window, late)
        with pytest.raises(Conflict) as info:
            perform(people.window, late.number, "refuse", refusal)
        response = post(people.window, f"/api/v1/cases/{late.number}/refuse", refusal)
        bench = as_user(people.window)
        page = bench.get(reverse("workbench:case", args=[late.number])).content.decode()
        forced = bench.post(reverse("workbench:action", args=[late.number, "refuse"]), refusal)
    assert "accept" in offered
    assert not {"refuse", "request_correction"} & set(offered)
    assert info.value.code == "acceptance_period_over"
    assert "2025年03月10日" in info.value.message
    assert "第三十二条" in info.value.message
    allowed = {e.message for e in info.value.errors if e.path == "allowed"}
    assert "accept" in allowed
    assert "refuse" not in allowed
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "acceptance_period_over"
    assert {"path": "state", "message": "submitted"} in body["errors"]
    assert 'id="act-refuse"' not in page
    assert 'id="act-request_correction"' not in page
    assert 'id="act-accept"' in page
    assert 'id="deemed-accepted"' in page
    assert "2025-03-03" in page
    assert forced.status_code == 409
    assert "不能再作出不予受理决定" in forced.content.decode()
    late.refresh_from_db()
    assert (late.state, late.closed_at, late.decision_reason) == (CaseState.SUBMITTED, None, "")
    assert not late.events.filter(action="refuse").exists()


# --- 补正: only what the notice names ------------------------------------------------------------


def test_during_correction_only_the_materials_the_notice_names_may_be_uploaded(
    people: People, settings: Any, tmp_path: Path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    case = food_case(people)
    items = {"items": [{"material": "application", "problem": "缺少签字"}]}
    case = perform(people.window, case.number, "request_correction", items)
    with pytest.raises(Conflict) as info:
        check_attach_material(people.applicant, case.pk, "layout", "布局图.pdf", PDF)
    assert info.value.code == "material_not_requested"
    assert "食品经营许可申请书" in info.value.message
    paths = {e.path: e.message for e in info.value.errors}
    assert "application" in paths["material"]
    assert paths["state"] == CaseState.CORRECTION
    client = as_user(people.applicant)
    response = client.post(
        f"/api/v1/cases/{case.number}/materials/layout",
        {"file": SimpleUploadedFile("布局图.pdf", PDF)},
    )
    assert response.status_code == 409
    assert response.json()["code"] == "material_not_requested"
    assert not case.materials.exists()
    # the portal's 补正 form takes the notice's materials only: another file is not kept
    response = client.post(
        reverse("portal:supplement", args=[case.number]),
        {
            "m_application": SimpleUploadedFile("申请书.pdf", PDF),
            "m_layout": SimpleUploadedFile("布局图.pdf", PDF),
        },
    )
    assert response.status_code == 302
    assert list(case.materials.values_list("material_key", flat=True)) == ["application"]
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    # awaiting 预审 again, the applicant may add any material as before
    check_attach_material(people.applicant, case.pk, "layout", "布局图.pdf", PDF)


# --- 容缺受理: every missing tolerable material named --------------------------------------------


@pytest.fixture
def drainage(tmp_path: Path, settings: Any) -> People:
    settings.MEDIA_ROOT = tmp_path / "media"
    import_catalog(write_catalog(tmp_path / "catalog", bodies=BODIES, drainage=DRAINAGE))
    return People()


def drainage_case(people: People, *, upload: tuple[str, ...] = (), **options: Any) -> Case:
    draft = check_create_draft(
        people.applicant, item_code="SW-DRAIN-001", division_code="330100", **options
    )
    for key in upload:
        check_attach_material(people.applicant, draft.pk, key, f"{key}.pdf", PDF)
    return submit_draft(people.applicant, draft.pk)


@freeze_time("2025-03-03 10:00:00+08:00")
def test_an_acceptance_names_every_missing_tolerable_material(drainage: People) -> None:
    """A 容缺 material the applicant did not hand in is accepted missing only when named, with
    its due date (and so its reminders); otherwise the window asks for 补正 (422 at
    ``tolerated`` naming it, nothing accepted)."""
    people = drainage
    number = drainage_case(people, upload=("application", "drainage_plan")).number or ""
    with pytest.raises(ValidationFailed) as info:
        perform(people.window, number, "accept")
    assert info.value.code == "missing_not_tolerated"
    assert "water_report" in info.value.message
    assert [(e.path, "water_report" in e.message) for e in info.value.errors] == [
        ("tolerated", True)
    ]
    response = post(people.window, f"/api/v1/cases/{number}/accept", {})
    assert response.status_code == 422
    assert response.json()["code"] == "missing_not_tolerated"
    assert [e["path"] for e in response.json()["errors"]] == ["tolerated"]
    case = Case.objects.get(number=number)
    assert (case.state, case.accepted_at, case.due_date) == (CaseState.SUBMITTED, None, None)
    assert not case.tasks.exists()
    assert not case.tolerated.exists()
    assert not case.events.filter(action="accept").exists()
    # the workbench ticks it at first; unticked, the error stands next to the box
    bench = as_user(people.window)
    page = bench.get(reverse("workbench:case", args=[number])).content.decode()
    assert 'name="tolerated" value="water_report" checked' in page
    response = bench.post(reverse("workbench:action", args=[number, "accept"]), {})
    assert response.status_code == 422
    assert 'id="act-accept-tolerated-error"' in response.content.decode()
    # named, it gets its due date
    case = perform(people.window, number, "accept", {"tolerated": ["water_report"]})
    assert case.state == CaseState.IN_REVIEW
    tolerated = case.tolerated.get()
    assert (tolerated.material_key, tolerated.due_date) == ("water_report", dt.date(2025, 3, 10))


@freeze_time("2025-03-03 10:00:00+08:00")
def test_nothing_is_named_when_no_tolerable_material_is_missing(drainage: People) -> None:
    people = drainage
    handed_in = drainage_case(people, upload=("application", "drainage_plan", "water_report"))
    committed = drainage_case(
        people, upload=("application",), commitment_materials=["drainage_plan", "water_report"]
    )
    for case in (handed_in, committed):
        case = perform(people.window, case.number or "", "accept")
        assert case.state == CaseState.IN_REVIEW
        assert not case.tolerated.exists()


def test_a_missing_tolerable_material_of_an_item_without_tolerance_asks_for_correction(
    people: People,
) -> None:
    """An item that does not allow 容缺受理 cannot accept its 容缺 material missing at all."""
    case = food_case(people, {**ANSWERS, "cold": True, "cold_room": True})
    with pytest.raises(ValidationFailed) as info:
        perform(people.window, case.number, "accept")
    assert info.value.code == "missing_not_tolerated"
    assert "不适用容缺受理" in info.value.message
    assert "cold_room_plan" in info.value.message
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED


# --- 告知承诺: the case says it was filed on a commitment -----------------------------------------


def _commitment_reads(queries: list[dict[str, Any]]) -> list[str]:
    return [q["sql"] for q in queries if "cases_commitment" in q["sql"]]


@freeze_time("2025-03-03 10:00:00+08:00")
def test_an_approval_reads_a_commitment_only_for_a_case_filed_on_one(drainage: People) -> None:
    people = drainage
    plain = drainage_case(people, upload=("application", "drainage_plan", "water_report"))
    promised = drainage_case(
        people, upload=("application", "water_report"), commitment_materials=["drainage_plan"]
    )
    assert (plain.filed_on_commitment, promised.filed_on_commitment) == (False, True)
    assert Case.objects.get(pk=promised.pk).filed_on_commitment
    for case in (plain, promised):
        case = perform(people.window, case.number or "", "accept")
        task = case.tasks.get(state=TaskState.OPEN)
        perform(people.scjg, case.number or "", "approve_task", {"task": task.pk})
    with CaptureQueriesContext(connection) as plain_queries:
        plain = perform(people.head, plain.number or "", "decide", {"outcome": "approved"})
        offered = available_actions(people.head, plain)  # 核查 and 违诺撤销 are not asked about
    assert plain.state == CaseState.DECIDED
    assert "deliver" in offered
    assert _commitment_reads(plain_queries.captured_queries) == []
    assert not CaseTask.objects.filter(case=plain, kind=TaskKind.VERIFICATION).exists()
    with CaptureQueriesContext(connection) as promised_queries:
        promised = perform(people.head, promised.number or "", "decide", {"outcome": "approved"})
    assert _commitment_reads(promised_queries.captured_queries)
    promised.commitment.refresh_from_db()
    assert promised.commitment.state == CommitmentState.PENDING
    assert CaseTask.objects.filter(case=promised, kind=TaskKind.VERIFICATION).exists()


@freeze_time("2025-03-03 10:00:00+08:00")
def test_the_migration_marks_the_cases_filed_on_a_commitment(drainage: People) -> None:
    from importlib import import_module

    migration = import_module("tongban.cases.migrations.0016_case_filed_on_commitment")
    plain = drainage_case(drainage)
    promised = drainage_case(drainage, commitment_materials=["drainage_plan"])
    Case.objects.update(filed_on_commitment=False)
    migration.backfill_filed_on_commitment(apps, None)
    assert set(Case.objects.filter(filed_on_commitment=True)) == {promised}
    assert not Case.objects.get(pk=plain.pk).filed_on_commitment


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
    # reviewed in the ordinary way, on the commitment, its 容缺 test report to follow
    case = perform(window, number, "accept", {"tolerated": ["water_report"]})
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
