"""The case lifecycle: every transition and refusal, deadlines in working days, clock stops,
case numbers, the event trail and who may do what."""

from __future__ import annotations

import datetime as dt
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from django.db.models import RestrictedError
from django.utils import timezone
from freezegun import freeze_time

from tests.catalog_fixtures import sample
from tests.concurrency import at_once
from tests.factories import SAMPLE_PDF, ApplicantFactory, StaffUserFactory
from tongban.cases import selectors
from tongban.cases.materials import check_attach_material
from tongban.cases.models import Case, CaseEvent, CaseState, CaseTask, TaskState
from tongban.cases.services import available_actions, check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.identity.models import Department, Division
from tongban.portal.case_display import event_details
from tongban.workdays.services import do_sync_chinese_calendar

pytestmark = pytest.mark.django_db

ANSWERS = {"entity": "individual", "area": 120, "cold": False}


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        self.applicant = ApplicantFactory()
        self.stranger = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.scjg = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga = StaffUserFactory(department=ga, roles=["reviewer"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.outsider = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["reviewer", "window", "department_head"],
        )


@pytest.fixture
def people(tmp_path: Path) -> People:
    import_catalog(sample(tmp_path))
    return People()


def new_case(people: People) -> Case:
    draft = check_create_draft(
        people.applicant, item_code="SC-FOOD-001", division_code="330100", answers=ANSWERS
    )
    return submit_draft(people.applicant, draft.pk)


def open_task(case: Case, department: str) -> CaseTask:
    return case.tasks.get(department__code=department, state=TaskState.OPEN)


def approve(case: Case, user: Any, department: str) -> Case:
    return perform(
        user,
        case.number,
        "approve_task",
        {"task": open_task(case, department).pk, "opinion": "符合要求"},
    )


def to_decision(people: People) -> Case:
    """A new case accepted and approved by every review task: awaiting the head's decision."""
    case = perform(people.window, new_case(people).number, "accept")
    case = approve(case, people.ga, "3301-GA")
    case = approve(case, people.scjg, "3301-SCJG")
    return approve(case, people.scjg, "3301-SCJG")


@freeze_time("2025-01-24 10:00:00+08:00")
def test_full_lifecycle_with_parallel_then_serial_review(people: People) -> None:
    case = new_case(people)
    assert case.number == "330100-20250124-00001"
    assert case.state == CaseState.SUBMITTED
    case = perform(people.window, case.number, "accept")
    assert case.state == CaseState.IN_REVIEW
    # Friday 24 Jan 2025 + 10 working days, counted from the next day: 26 Jan (Sun, 调休),
    # 27 Jan; 28 Jan–4 Feb are the Spring Festival; 5, 6, 7, 8 (Sat, 调休), 10, 11, 12, 13 Feb.
    assert case.due_date == dt.date(2025, 2, 13)
    stage_one = case.tasks.filter(stage=1)
    assert {t.state for t in stage_one} == {TaskState.OPEN}
    assert case.tasks.get(stage=2).state == TaskState.WAITING
    assert open_task(case, "3301-GA").due_date == dt.date(2025, 1, 27)  # 2 working days

    case = approve(case, people.ga, "3301-GA")
    assert case.current_stage == 1  # the other parallel task is still open
    case = approve(case, people.scjg, "3301-SCJG")
    assert case.current_stage == 2
    assert open_task(case, "3301-SCJG").stage == 2
    case = approve(case, people.scjg, "3301-SCJG")
    assert case.state == CaseState.AWAITING_DECISION

    case = perform(people.head, case.number, "decide", {"outcome": "approved"})
    assert case.state == CaseState.DECIDED
    case = perform(people.window, case.number, "deliver", {"method": "electronic"})
    case = perform(people.window, case.number, "close")
    assert case.state == CaseState.CLOSED
    actions = list(case.events.values_list("action", flat=True))
    assert actions == [
        "create_draft",
        "submit",
        "accept",
        "approve_task",
        "approve_task",
        "approve_task",
        "decide",
        "deliver",
        "close",
    ]
    assert list(case.events.values_list("sequence", flat=True)) == list(range(1, 10))


@freeze_time("2025-03-03 09:00:00+08:00")
def test_case_numbers_run_per_division_and_day(people: People) -> None:
    numbers = [new_case(people).number for _ in range(3)]
    assert numbers == [f"330100-20250303-{n:05d}" for n in (1, 2, 3)]


@pytest.mark.django_db(transaction=True)
def test_case_numbers_stay_unique_when_submitted_at_once(tmp_path: Path) -> None:
    """Real concurrent connections, one per submission: the counter row queues them (a row
    lock on PostgreSQL, the write lock of SQLite's immediate transactions), so the numbers
    are unique and gap-free; then one more, submitted alone, takes the next."""
    do_sync_chinese_calendar()  # a transactional test starts from an emptied database
    import_catalog(sample(tmp_path))
    people = People()
    drafts = [
        check_create_draft(
            people.applicant, item_code="SC-FOOD-001", division_code="330100", answers=ANSWERS
        )
        for _ in range(7)
    ]
    submitted = at_once(
        [partial(submit_draft, people.applicant, d.pk) for d in drafts[:6]], expected=Exception
    )
    assert all(isinstance(case, Case) for case in submitted), submitted
    prefix = f"330100-{timezone.localdate():%Y%m%d}"
    numbers = sorted(case.number for case in submitted)
    assert numbers == [f"{prefix}-{n:05d}" for n in range(1, 7)]
    assert sorted(Case.objects.exclude(number=None).values_list("number", flat=True)) == numbers
    assert submit_draft(people.applicant, drafts[6].pk).number == f"{prefix}-00007"


def test_correction_lists_everything_once(people: People) -> None:
    case = new_case(people)
    with pytest.raises(ValidationFailed) as info:
        perform(people.window, case.number, "request_correction", {"items": []})
    assert info.value.errors[0].path == "items"
    case = perform(
        people.window,
        case.number,
        "request_correction",
        {
            "items": [
                {"material": "application", "problem": "缺少签字"},
                {"material": "id_card", "problem": "复印件不清晰"},
            ]
        },
    )
    assert case.state == CaseState.CORRECTION
    with pytest.raises(Conflict):  # the applicant has not answered yet
        perform(people.window, case.number, "accept")
    with pytest.raises(ValidationFailed) as info:  # a note alone does not answer it
        perform(people.applicant, case.number, "supplement", {"note": "已补签"})
    assert info.value.code == "supplement_incomplete"
    assert [e.path for e in info.value.errors] == ["materials.application", "materials.id_card"]
    check_attach_material(people.applicant, case.pk, "application", "a.pdf", SAMPLE_PDF)
    with pytest.raises(ValidationFailed) as info:  # every material named, not only one
        perform(people.applicant, case.number, "supplement", {"note": "已补签"})
    assert [e.path for e in info.value.errors] == ["materials.id_card"]
    assert Case.objects.get(pk=case.pk).state == CaseState.CORRECTION
    check_attach_material(people.applicant, case.pk, "id_card", "id.pdf", SAMPLE_PDF)
    case = perform(people.applicant, case.number, "supplement", {"note": "已补签"})
    assert case.state == CaseState.SUBMITTED
    with pytest.raises(ValidationFailed) as info:
        perform(
            people.window,
            case.number,
            "request_correction",
            {
                "items": [
                    {"material": "application", "problem": "签字与身份证不符"},
                    {"material": "layout", "problem": "缺少平面图"},
                ]
            },
        )
    assert [e.path for e in info.value.errors] == ["items[1].material"]
    assert "不在首次补正告知中" in info.value.errors[0].message
    case = perform(
        people.window,
        case.number,
        "request_correction",
        {
            "items": [
                {"material": "application", "problem": "签字与身份证不符"},
            ]
        },
    )
    assert case.corrections.count() == 2


def test_refusal_needs_reason_and_basis(people: People) -> None:
    case = new_case(people)
    with pytest.raises(ValidationFailed) as info:
        perform(people.window, case.number, "refuse", {"reason": "  "})
    assert info.value.errors[0].path == "reason"
    case = perform(
        people.window,
        case.number,
        "refuse",
        {"reason": "不属于本机关职权范围", "legal_basis": "《行政许可法》第三十二条"},
    )
    assert case.state == CaseState.REFUSED
    assert case.closed_at is not None


def test_invalid_transition_names_state_and_allowed_actions(people: People) -> None:
    case = new_case(people)
    with pytest.raises(Conflict) as info:
        perform(people.head, case.number, "decide", {"outcome": "approved"})
    assert "待预审" in info.value.message
    with pytest.raises(Conflict) as info:
        perform(people.window, case.number, "close")
    allowed = [e.message for e in info.value.errors if e.path == "allowed"]
    assert allowed == ["accept", "refuse", "request_correction"]


def test_who_may_act(people: People) -> None:
    case = new_case(people)
    for outsider in (people.stranger, people.outsider):
        with pytest.raises(NotFound):  # cannot even see it
            perform(outsider, case.number, "accept")
        with pytest.raises(NotFound):
            selectors.case_for(outsider, case.number)
    with pytest.raises(PermissionDenied):  # the applicant cannot accept their own case
        perform(people.applicant, case.number, "accept")
    case = perform(people.window, case.number, "accept")
    with pytest.raises(PermissionDenied):  # 公安 reviewer on the 市场监管 task
        perform(people.ga, case.number, "approve_task", {"task": open_task(case, "3301-SCJG").pk})
    with pytest.raises(PermissionDenied):
        perform(people.scjg, case.number, "decide", {"outcome": "approved"})
    assert available_actions(people.ga, case) == [
        "approve_task",
        "reject_task",
        "countersign",
        "transfer_task",
        "suspend",
    ]
    assert available_actions(people.head, case) == [
        "countersign",
        "transfer_task",
        "send_back",
        "suspend",
        "extend",
    ]
    assert "withdraw" in available_actions(people.applicant, case)


def test_a_task_is_done_once(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    task = open_task(case, "3301-GA")
    perform(people.ga, case.number, "approve_task", {"task": task.pk})
    with pytest.raises(Conflict):
        perform(people.ga, case.number, "approve_task", {"task": task.pk})


@freeze_time("2025-09-26 10:00:00+08:00")
def test_clock_stop_moves_every_deadline(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    # Fri 26 Sep + 10: 28 Sep (Sun, 调休), 29, 30 Sep; 国庆/中秋 1–8 Oct; 9, 10, 11 (Sat, 调休),
    # 13, 14, 15, 16 Oct.
    assert case.due_date == dt.date(2025, 10, 16)
    case = perform(
        people.scjg, case.number, "suspend", {"kind": "expert_review", "reason": "组织专家评审"}
    )
    with pytest.raises(Conflict) as info:
        approve(case, people.ga, "3301-GA")
    assert "中止中" in info.value.message
    with freeze_time("2025-10-10 10:00:00+08:00"):
        case = perform(people.scjg, case.number, "resume")
    stop = case.clock_stops.get()
    assert stop.paused_workdays == 5  # (26 Sep, 10 Oct]: 28, 29, 30 Sep, 9, 10 Oct
    case.refresh_from_db()
    assert case.due_date == dt.date(2025, 10, 23)  # 16 Oct + 5: 17, 20, 21, 22, 23 Oct
    resumed = case.events.filter(action="resume").get()
    assert resumed.data["paused_workdays"] == 5
    assert (resumed.data["due_date_before"], resumed.data["due_date_after"]) == (
        "2025-10-16",
        "2025-10-23",
    )
    assert "办结期限：2025-10-16 → 2025-10-23" in event_details(resumed)


def test_extension_is_capped_by_law(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    due = case.due_date
    with pytest.raises(ValidationFailed) as info:
        perform(people.head, case.number, "extend", {"days": 11, "reason": "情况复杂"})
    assert info.value.code == "extension_too_long"
    case = perform(people.head, case.number, "extend", {"days": 10, "reason": "情况复杂"})
    assert case.due_date is not None
    assert due is not None
    assert case.due_date > due
    with pytest.raises(ValidationFailed):
        perform(people.head, case.number, "extend", {"days": 1, "reason": "再延"})


@freeze_time("2025-03-03 09:00:00+08:00")
def test_extension_is_decided_before_the_deadline_passes(people: People) -> None:
    late = perform(people.window, new_case(people).number, "accept")
    timely = perform(people.window, new_case(people).number, "accept")
    assert late.due_date == timely.due_date == dt.date(2025, 3, 17)  # Mon 3 Mar + 10
    with freeze_time("2025-03-18 09:00:00+08:00"), pytest.raises(Conflict) as info:
        perform(people.head, late.number, "extend", {"days": 5, "reason": "情况复杂"})
    assert info.value.code == "extension_after_deadline"
    assert "2025年03月17日" in info.value.message
    paths = {e.path: e.message for e in info.value.errors}
    assert paths["state"] == CaseState.IN_REVIEW
    late.refresh_from_db()
    assert (late.extended_days, late.due_date) == (0, dt.date(2025, 3, 17))
    assert not late.events.filter(action="extend").exists()

    with freeze_time("2025-03-17 17:00:00+08:00"):  # the last day of the period still counts
        timely = perform(people.head, timely.number, "extend", {"days": 5, "reason": "情况复杂"})
    assert timely.due_date == dt.date(2025, 3, 24)
    event = timely.events.get(action="extend")
    assert event.data["due_date_before"] == "2025-03-17"
    assert event.data["due_date_after"] == event.data["due_date"] == "2025-03-24"
    assert "办结期限：2025-03-17 → 2025-03-24" in event_details(event)


def test_rejection_by_a_department_goes_to_the_head(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    with pytest.raises(ValidationFailed):
        perform(people.ga, case.number, "reject_task", {"task": open_task(case, "3301-GA").pk})
    case = perform(
        people.ga,
        case.number,
        "reject_task",
        {"task": open_task(case, "3301-GA").pk, "opinion": "消防通道不符合要求"},
    )
    assert case.state == CaseState.AWAITING_DECISION
    assert not case.tasks.filter(state=TaskState.OPEN).exists()
    with pytest.raises(ValidationFailed) as info:
        perform(people.head, case.number, "decide", {"outcome": "denied"})
    assert {e.path for e in info.value.errors} == {"reason"}
    case = perform(
        people.head,
        case.number,
        "decide",
        {"outcome": "denied", "reason": "消防安全条件不符合", "legal_basis": "《消防法》第十五条"},
    )
    assert case.outcome == "denied"


def test_send_back_and_withdraw(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    approve(case, people.ga, "3301-GA")
    case = approve(case, people.scjg, "3301-SCJG")
    assert case.current_stage == 2
    with pytest.raises(ValidationFailed):
        perform(people.head, case.number, "send_back", {"to": "stage:2", "reason": "重新审查"})
    case = perform(people.head, case.number, "send_back", {"to": "stage:1", "reason": "重新审查"})
    assert case.current_stage == 1
    assert case.tasks.filter(stage=1, state=TaskState.OPEN).count() == 2
    assert case.tasks.get(stage=2).state == TaskState.WAITING
    case = perform(people.applicant, case.number, "withdraw")
    assert case.state == CaseState.WITHDRAWN
    assert not case.tasks.filter(state=TaskState.OPEN).exists()


@freeze_time("2025-03-03 09:00:00+08:00")
def test_send_back_to_intake_keeps_the_trail_and_a_new_acceptance_reviews_afresh(
    people: People,
) -> None:
    case = to_decision(people)
    reviewed = list(case.events.filter(action="approve_task").values_list("pk", "task_id"))
    assert len(reviewed) == 3
    case = perform(people.window, case.number, "send_back", {"reason": "申请人须重新核对材料"})
    assert (case.state, case.current_stage, case.due_date) == (CaseState.SUBMITTED, 0, None)
    # the reviews stay on record: their events and the tasks they name, with the opinions
    assert list(case.events.filter(action="approve_task").values_list("pk", "task_id")) == (
        reviewed
    )
    old = CaseTask.objects.filter(case=case)
    assert old.count() == 3
    assert all(t.superseded_at is not None for t in old)
    assert {t.opinion for t in old} == {"符合要求"}
    assert not case.tasks.current().exists()
    # a new acceptance opens new tasks; the old ones are not reopened or counted
    case = perform(people.window, case.number, "accept")
    current = list(case.tasks.current().order_by("stage", "id"))
    assert [(t.stage, t.state) for t in current] == [
        (1, TaskState.OPEN),
        (1, TaskState.OPEN),
        (2, TaskState.WAITING),
    ]
    assert not {t.pk for t in current} & {pk for _, pk in reviewed}
    case = approve(case, people.ga, "3301-GA")
    case = approve(case, people.scjg, "3301-SCJG")
    assert case.current_stage == 2
    case = approve(case, people.scjg, "3301-SCJG")
    assert case.state == CaseState.AWAITING_DECISION
    assert list(case.events.values_list("sequence", flat=True)) == list(
        range(1, case.event_count + 1)
    )
    # a task that events name cannot be deleted on its own
    with pytest.raises(RestrictedError):
        CaseTask.objects.get(pk=reviewed[0][1]).delete()


def test_applicant_sees_only_public_events(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    CaseEvent.objects.filter(case=case, action="accept").update(visible_to_applicant=False)
    mine = [e.action for e in selectors.timeline(people.applicant, case)]
    staff = [e.action for e in selectors.timeline(people.window, case)]
    assert "accept" not in mine
    assert "accept" in staff
    event = case.events.first()
    assert event is not None
    with pytest.raises(RuntimeError):
        event.save()


def test_drafts_check_applicant_and_answers(people: People) -> None:
    with pytest.raises(PermissionDenied):
        check_create_draft(people.window, item_code="SC-FOOD-001", division_code="330100")
    with pytest.raises(ValidationFailed) as info:
        check_create_draft(
            people.applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"area": "大"},
        )
    assert info.value.errors[0].path == "answers.area"
    with pytest.raises(NotFound):
        check_create_draft(people.applicant, item_code="NOPE", division_code="330100")
    draft = check_create_draft(people.applicant, item_code="SC-FOOD-001", division_code="330100")
    with pytest.raises(NotFound):
        submit_draft(people.stranger, draft.pk)
    submit_draft(people.applicant, draft.pk)
    with pytest.raises(Conflict):
        submit_draft(people.applicant, draft.pk)


@freeze_time("2025-03-03 09:00:00+08:00")
def test_countersign_adds_a_parallel_task_the_stage_waits_for(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    ga_task = open_task(case, "3301-GA")
    bad = [
        ({"department": "330106-SCJG"}, "reason"),
        ({"department": "NOPE", "reason": "需区局会签"}, "department"),
        ({"department": "3301-SCJG", "reason": "已在审查"}, "department"),
        ({"department": "330106-SCJG", "reason": "需区局会签", "limit_days": 0}, "limit_days"),
    ]
    for payload, path in bad:
        with pytest.raises(ValidationFailed) as info:
            perform(people.ga, case.number, "countersign", {"task": ga_task.pk, **payload})
        assert path in [e.path for e in info.value.errors]
    with pytest.raises(PermissionDenied):  # 市场监管 cannot countersign on 公安's behalf
        perform(
            people.scjg,
            case.number,
            "countersign",
            {"task": ga_task.pk, "department": "330106-SCJG", "reason": "需区局会签"},
        )
    case = perform(
        people.ga,
        case.number,
        "countersign",
        {
            "task": ga_task.pk,
            "department": "330106-SCJG",
            "reason": "涉及区属场所",
            "limit_days": 2,
        },
    )
    co = case.tasks.get(countersign_for=ga_task)
    assert (co.stage, co.state, co.department.code) == (1, TaskState.OPEN, "330106-SCJG")
    assert co.due_date == dt.date(2025, 3, 5)  # Mon 3 Mar + 2 working days
    event = case.events.get(action="countersign")
    assert event.data["department"] == "330106-SCJG"
    assert event.reason == "涉及区属场所"

    case = approve(case, people.ga, "3301-GA")
    case = approve(case, people.scjg, "3301-SCJG")
    assert case.current_stage == 1  # the countersign is still open
    case = approve(case, people.outsider, "330106-SCJG")  # now a reviewer of this case
    assert case.current_stage == 2


@freeze_time("2025-03-03 09:00:00+08:00")
def test_transfer_moves_the_task_with_its_deadline(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    task = open_task(case, "3301-GA")
    due = task.due_date
    with pytest.raises(ValidationFailed) as info:
        perform(
            people.ga,
            case.number,
            "transfer_task",
            {"task": task.pk, "department": "3301-GA", "reason": "误派"},
        )
    assert info.value.errors[0].path == "department"
    case = perform(
        people.ga,
        case.number,
        "transfer_task",
        {"task": task.pk, "department": "330106-SCJG", "reason": "属区局职责"},
    )
    task.refresh_from_db()
    assert (task.department.code, task.due_date, task.state) == ("330106-SCJG", due, "open")
    event = case.events.get(action="transfer_task")
    assert event.data == {"from": "3301-GA", "to": "330106-SCJG", "task_due_date": "2025-03-05"}
    assert "审查期限：2025-03-05" in event_details(event)
    with pytest.raises(NotFound):  # 公安 no longer reviews this case at all
        perform(people.ga, case.number, "approve_task", {"task": task.pk})
    perform(people.outsider, case.number, "approve_task", {"task": task.pk, "opinion": "同意"})


@freeze_time("2025-03-03 09:00:00+08:00")
def test_countersign_event_records_both_task_deadlines(people: People) -> None:
    case = perform(people.window, new_case(people).number, "accept")
    ga_task = open_task(case, "3301-GA")  # due Wed 5 Mar
    case = perform(
        people.ga,
        case.number,
        "countersign",
        {"task": ga_task.pk, "department": "330106-SCJG", "reason": "涉及区属", "limit_days": 4},
    )
    event = case.events.get(action="countersign")
    assert (event.data["task_due_date"], event.data["countersign_due_date"]) == (
        "2025-03-05",
        "2025-03-07",
    )
    assert "due_date" not in event.data  # not the case's 办结期限
    lines = event_details(event)
    assert "会签期限：2025-03-07" in lines
    assert "审查期限：2025-03-05" in lines
    assert not any(line.startswith("办结期限") for line in lines)


@freeze_time("2025-03-03 09:00:00+08:00")
def test_countersign_and_transfer_stay_within_the_case_s_region(people: People) -> None:
    ningbo = Division.objects.create(
        code="330200", name="宁波市", level="city", parent=Division.objects.get(code="330000")
    )
    elsewhere = Department.objects.create(
        code="3302-SCJG", name="宁波市市场监督管理局", division=ningbo
    )
    street = Department.objects.create(
        code="330106001-ZX", name="北山街道办事处", division=Division.objects.get(code="330106001")
    )
    far = StaffUserFactory(department=elsewhere, roles=["reviewer", "department_head"])
    case = perform(people.window, new_case(people).number, "accept")
    task = open_task(case, "3301-GA")
    events = case.events.count()
    refusals = [
        ("countersign", elsewhere.code, "department_out_of_scope"),
        ("countersign", street.code, "department_out_of_scope"),  # two levels below
        ("countersign", "3301-GA", "same_department"),
        ("transfer_task", elsewhere.code, "department_out_of_scope"),
        ("transfer_task", "3301-GA", "same_department"),
    ]
    messages = {}
    for action, code, error in refusals:
        with pytest.raises(ValidationFailed) as info:
            perform(
                people.ga,
                case.number,
                action,
                {"task": task.pk, "department": code, "reason": "需协同", "limit_days": 2},
            )
        assert info.value.code == error, (action, code)
        assert [e.path for e in info.value.errors] == ["department"]
        messages[action, code] = info.value.errors[0].message
    assert "宁波市市场监督管理局不在本办件可会签的范围内" in messages["countersign", "3302-SCJG"]
    assert "不在本办件可转办的范围内" in messages["transfer_task", "3302-SCJG"]
    task.refresh_from_db()
    assert task.department.code == "3301-GA"
    assert case.tasks.count() == 3  # no countersign task was created
    assert case.events.count() == events
    with pytest.raises(NotFound):  # the far department still cannot see the case
        selectors.case_for(far, case.number)
    assert {d.code for d in selectors.routing_departments(case)} == {
        "3301-SCJG",
        "3301-GA",
        "330106-SCJG",
    }


def test_correction_items_of_the_wrong_shape_are_named(people: People) -> None:
    case = new_case(people)
    bad = [
        ({"material": "application", "problem": 5}, "items[0].problem"),
        ({"material": ["application"], "problem": "缺少签字"}, "items[0].material"),
        ({"material": None, "problem": "缺少签字"}, "items[0].material"),
        ("application", "items[0]"),
        (["application", "缺少签字"], "items[0]"),
    ]
    for item, path in bad:
        with pytest.raises(ValidationFailed) as info:
            perform(people.window, case.number, "request_correction", {"items": [item]})
        assert [e.path for e in info.value.errors] == [path], item
    with pytest.raises(ValidationFailed) as info:
        perform(
            people.window,
            case.number,
            "request_correction",
            {"items": [{"material": "application", "problem": "缺少签字"}, {"material": 7}]},
        )
    assert [e.path for e in info.value.errors] == ["items[1].material", "items[1].problem"]
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    assert not case.corrections.exists()
