"""督办 overview selectors (``tongban.cases.supervision``): who oversees what (supervisors by
division, heads by department), counts by light that agree with the lights shown (with and
without division calendars), 告知承诺 核查 tasks counted and listed on their own, overdue and
at-risk lists, 督办 escalations sent (cases, review tasks and 核查 tasks, each once), 按时办结率
over the last 30 days, filters, refusals, and a fixed number of queries whatever the number of
cases."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from freezegun import freeze_time

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases import supervision
from tongban.cases.deadlines import warn_and_escalate
from tongban.cases.models import Case, CaseState, CaseTask, TaskKind, TaskState
from tongban.cases.queues import classify
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.cases.supervision import OverviewFilters, overview
from tongban.catalog.services import import_catalog
from tongban.core.errors import PermissionDenied
from tongban.identity.models import Department, Division
from tongban.notifications.models import Notification
from tongban.workdays.models import DivisionCalendarDay
from tongban.workdays.selectors import working_calendar

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2025, 3, 3)  # an ordinary week: Tue 4 … Fri 7, Mon 10 are working days


def day(n: int) -> dt.date:
    return MONDAY + dt.timedelta(days=n)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with freeze_time("2025-03-03 10:00:00+08:00"):
        yield


class People:
    def __init__(self) -> None:
        self.scjg = Department.objects.get(code="3301-SCJG")
        self.ga = Department.objects.get(code="3301-GA")
        self.district = Department.objects.get(code="330106-SCJG")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=self.scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=self.scjg, roles=["reviewer"])
        self.head = StaffUserFactory(department=self.scjg, roles=["department_head"])
        self.ga_head = StaffUserFactory(department=self.ga, roles=["department_head"])
        self.city_supervisor = StaffUserFactory(department=self.ga, roles=["supervisor"])
        self.district_supervisor = StaffUserFactory(department=self.district, roles=["supervisor"])

    def accepted(self, division: str = "330100") -> Case:
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code=division,
            answers={"entity": "individual"},
        )
        case = submit_draft(self.applicant, draft.pk)
        return perform(self.window, case.number or "", "accept")

    def approved_on_commitment(self, division: str = "330100") -> Case:
        """A case approved at once on the applicant's 告知承诺: decided, with its 核查 task open
        in the handling department (20 working days, due 31 March)."""
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code=division,
            answers={"entity": "individual"},
            commitment_materials=[],
        )
        case = submit_draft(self.applicant, draft.pk)
        return perform(self.window, case.number or "", "approve_on_commitment")


@pytest.fixture
def people(tmp_path: Path) -> People:
    import_catalog(sample(tmp_path))
    return People()


def fresh(user: Any) -> Any:
    """The account as a new request loads it (no cached roles)."""
    return type(user).objects.get(pk=user.pk)


def line_of(result: supervision.Overview, code: str) -> supervision.DepartmentLine:
    return next(line for line in result.lines if line.department and line.department.code == code)


def verification_of(case: Case, due: dt.date | None = None) -> CaseTask:
    task = CaseTask.objects.get(case=case, kind=TaskKind.VERIFICATION)
    if due is not None:
        CaseTask.objects.filter(pk=task.pk).update(due_date=due)
    return task


def set_task_due(case: Case, department: str, due: dt.date, limit: int | None = None) -> CaseTask:
    task = CaseTask.objects.get(case=case, department__code=department, state=TaskState.OPEN)
    fields: dict[str, Any] = {"due_date": due}
    if limit is not None:
        fields["limit_days"] = limit
    CaseTask.objects.filter(pk=task.pk).update(**fields)
    return task


# --- who may look -----------------------------------------------------------------------------


def test_only_supervisors_and_heads_may_look(people: People) -> None:
    for who in (people.applicant, people.reviewer, people.window):
        with pytest.raises(PermissionDenied):
            overview(who)
    assert overview(people.head).lines
    assert overview(people.city_supervisor).lines


def test_supervisors_see_their_division_and_below_heads_their_departments(
    people: People,
) -> None:
    city = people.accepted("330100")
    district = people.accepted("330106")
    Case.objects.filter(pk__in=[city.pk, district.pk]).update(due_date=day(-1))

    assert (city.department.code, district.department.code) == ("3301-SCJG", "330106-SCJG")

    city_view = overview(people.city_supervisor)
    assert {r.case.number for r in city_view.overdue} == {city.number, district.number}
    assert line_of(city_view, "3301-SCJG").cases.red == 1
    assert line_of(city_view, "330106-SCJG").cases.red == 1
    assert line_of(city_view, "3301-GA").tasks.total == 2
    codes = {line.department.code for line in city_view.lines if line.department}
    assert codes == {"3301-SCJG", "3301-GA", "330106-SCJG"}
    assert {d.code for d in city_view.divisions} == {"330100", "330106"}

    # the district supervisor oversees what is filed in 西湖区, whoever reviews it
    district_view = overview(people.district_supervisor)
    assert [r.case.number for r in district_view.overdue] == [district.number]
    assert line_of(district_view, "330106-SCJG").cases.red == 1
    assert line_of(district_view, "3301-GA").tasks.total == 1  # the city reviews it
    assert district_view.totals.cases.total == 1
    assert {d.code for d in district_view.divisions} == {"330106"}

    # a head sees the cases their department handles and the tasks it holds, nothing else
    ga_view = overview(people.ga_head)
    assert [line.department.code for line in ga_view.lines if line.department] == ["3301-GA"]
    assert ga_view.totals.cases.total == 0
    assert ga_view.totals.tasks.total == 2  # the GA task of each case
    assert ga_view.divisions == []


def test_counts_agree_with_the_lights(people: People) -> None:
    spread = [(-3, 5), (0, 2), (1, 10), (2, 10), (3, 10), (4, 20), (7, 20), (12, 40)]
    expected: Counter[str] = Counter()
    calendar = working_calendar()
    for offset, limit in spread:
        case = people.accepted()
        set_task_due(case, "3301-GA", day(offset), limit)
        signal = classify(day(offset), limit, MONDAY, calendar.workdays_between)
        expected[signal.light] += 1
    suspended = people.accepted()
    perform(people.head, suspended.number or "", "suspend", {"kind": "hearing", "reason": "听证"})
    expected["paused"] += 1
    assert set(expected) == {"red", "yellow", "green", "paused"}

    ga = line_of(overview(people.city_supervisor), "3301-GA")
    assert ga.tasks.as_dict() == {
        "red": expected["red"],
        "yellow": expected["yellow"],
        "green": expected["green"],
        "paused": expected["paused"],
        "total": len(spread) + 1,
    }


@pytest.mark.parametrize("local_holiday", [False, True])
def test_counts_and_lists_with_a_division_calendar(people: People, local_holiday: bool) -> None:
    if local_holiday:  # 杭州市 rests on Wednesday: tasks due Thursday have one day less
        DivisionCalendarDay.objects.create(
            division=Division.objects.get(code="330100"),
            date=day(2),
            is_workday=False,
            reason="示例地方假日",
        )
    tasks = []
    for offset in (-2, 1, 3, 4, 9):
        case = people.accepted()
        tasks.append(set_task_due(case, "3301-GA", day(offset), 10))
    calendar = working_calendar()
    chain = tuple(Division.objects.get(code="330100").pk for _ in range(1))
    chain = (*chain, Division.objects.get(code="330000").pk)
    expected: dict[str, set[int]] = {}
    for task, offset in zip(tasks, (-2, 1, 3, 4, 9), strict=True):
        light = classify(
            day(offset), 10, MONDAY, lambda a, b: calendar.workdays_between(a, b, chain)
        ).light
        expected.setdefault(light, set()).add(task.pk)
    result = overview(people.city_supervisor)
    ga = line_of(result, "3301-GA")
    for light in ("red", "yellow", "green"):
        assert getattr(ga.tasks, light) == len(expected.get(light, set())), light
    ga_rows = {r.task.pk for r in result.at_risk if r.task and r.task.department.code == "3301-GA"}
    assert ga_rows == expected.get("yellow", set())
    assert all(r.light == "yellow" for r in result.at_risk)
    assert {r.task.pk for r in result.overdue if r.task} == expected["red"]
    if local_holiday:
        assert len(expected["yellow"]) == 2  # Tuesday and Thursday
    else:
        assert len(expected["yellow"]) == 1


def test_lists_are_earliest_first_and_say_when_there_is_more(people: People) -> None:
    cases = [people.accepted() for _ in range(3)]
    for n, case in enumerate(cases):
        Case.objects.filter(pk=case.pk).update(due_date=day(-1 - n))
    result = overview(people.head)
    assert [r.case.number for r in result.overdue if r.task is None] == [
        c.number for c in reversed(cases)
    ]
    assert not result.more_overdue
    assert all(r.signal.overdue_workdays for r in result.overdue)


def test_more_than_the_list_limit(people: People, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervision, "LIST_LIMIT", 2)
    for _ in range(3):
        case = people.accepted()
        Case.objects.filter(pk=case.pk).update(due_date=day(-1))
    result = overview(people.head)
    assert len(result.overdue) == 2
    assert result.more_overdue


# --- 告知承诺 核查 tasks ---------------------------------------------------------------------------


def test_verification_tasks_are_counted_by_light_beside_cases_and_reviews(people: People) -> None:
    red, yellow, green = (people.approved_on_commitment() for _ in range(3))
    district = people.approved_on_commitment("330106")
    assert {c.state for c in (red, yellow, green, district)} == {CaseState.DECIDED}
    red_task = verification_of(red, day(-1))
    yellow_task = verification_of(yellow, day(1))  # 1 working day left of 20: yellow
    green_task = verification_of(green)  # due 31 March: green
    assert (green_task.limit_days, green_task.due_date) == (20, dt.date(2025, 3, 31))
    district_task = verification_of(district, day(-2))
    review = people.accepted()  # a case under review beside them, with its review tasks

    result = overview(people.city_supervisor)
    scjg = line_of(result, "3301-SCJG")
    assert scjg.verifications.as_dict() == {
        "red": 1,
        "yellow": 1,
        "green": 1,
        "paused": 0,
        "total": 3,
    }
    assert scjg.tasks.total == 1  # the review task of the case under review only
    assert scjg.cases.total == 1
    assert line_of(result, "330106-SCJG").verifications.as_dict()["red"] == 1
    assert result.totals.verifications.total == 4
    assert result.totals.tasks.total == 2  # and its GA task
    # the lists carry them, said to be 核查 tasks, earliest deadline first
    assert [(r.task.pk if r.task else None) for r in result.overdue] == [
        district_task.pk,
        red_task.pk,
    ]
    assert {supervision.row_kind(r) for r in result.overdue} == {"verification"}
    kinds = {r.task.pk: supervision.row_kind(r) for r in result.at_risk if r.task}
    assert kinds[yellow_task.pk] == "verification"
    assert set(kinds.values()) == {"verification", "task"}  # the GA review task is yellow too
    assert [pk for pk, kind in kinds.items() if kind == "verification"] == [yellow_task.pk]
    assert result.totals.open_work.red == 2
    assert result.totals.open_work.yellow == 2  # the 核查 task and the GA review task
    chart = supervision.chart_data(result)
    scjg_bar = chart["departments"].index("市场监管局")
    assert chart["series"]["red"][scjg_bar] == 1
    assert chart["series"]["green"][scjg_bar] == 3  # the 核查 task, the review task, the case

    # the district supervisor oversees 西湖区 only: the city's 核查 tasks are not theirs
    district_view = overview(people.district_supervisor)
    assert district_view.totals.verifications.as_dict()["total"] == 1
    assert [r.task.pk for r in district_view.overdue if r.task] == [district_task.pk]
    assert district_view.at_risk == []
    # the head of the handling department sees its own, the head of another department none
    head_view = overview(people.head)
    assert head_view.totals.verifications.total == 3
    assert [r.task.pk for r in head_view.overdue if r.task] == [red_task.pk]
    ga_view = overview(people.ga_head)
    assert ga_view.totals.verifications.total == 0
    assert all(supervision.row_kind(r) != "verification" for r in ga_view.overdue)
    assert ga_view.totals.tasks.total == 1  # the GA review task of the case under review
    # a 核查 task closed is counted no more
    perform(people.reviewer, red.number or "", "verify_commitment", {"finding": "属实"})
    closed = overview(fresh(people.head))
    assert closed.totals.verifications.as_dict()["red"] == 0
    assert review.number not in {r.case.number for r in closed.overdue}


def test_verification_tasks_follow_the_filters(people: People) -> None:
    city = people.approved_on_commitment()
    district = people.approved_on_commitment("330106")
    verification_of(city, day(-1))
    verification_of(district, day(-1))
    xihu = Division.objects.get(code="330106")
    by_division = overview(people.city_supervisor, OverviewFilters(division=xihu.pk))
    assert by_division.totals.verifications.red == 1
    assert [r.case.number for r in by_division.overdue] == [district.number]
    by_department = overview(people.city_supervisor, OverviewFilters(department=people.ga.pk))
    assert by_department.totals.verifications.total == 0
    assert overview(people.city_supervisor, OverviewFilters(item="出生")).overdue == []


# --- escalations and on-time rate ------------------------------------------------------------


def test_escalations_sent_in_the_window(people: People) -> None:
    late = people.accepted()
    set_task_due(late, "3301-GA", day(-1))
    timed_out = people.accepted()
    task = set_task_due(timed_out, "3301-SCJG", day(-1))
    CaseTask.objects.filter(pk=task.pk).update(escalated_at=timezone.now())
    moved = people.accepted()  # escalated on timeout, then its deadline moved (中止 and back)
    task = set_task_due(moved, "3301-SCJG", day(3))
    CaseTask.objects.filter(pk=task.pk).update(escalated_at=timezone.now())
    report = warn_and_escalate(MONDAY)
    assert report["escalated"] == 2
    warn_and_escalate(MONDAY)  # again: nothing new

    result = overview(people.city_supervisor)
    assert line_of(result, "3301-GA").escalations == 1
    assert line_of(result, "3301-SCJG").escalations == 2  # each task counted once
    assert result.totals.escalations == 3
    with freeze_time("2025-04-10 10:00:00+08:00"):  # 38 days later: out of the window
        later = overview(fresh(people.city_supervisor), today=dt.date(2025, 4, 10))
        assert later.totals.escalations == 0


def test_case_and_verification_escalations_are_counted_each_once(people: People) -> None:
    # one case escalated on its 预审 period, then (accepted) on its due date: one case
    twice = submit_draft(
        people.applicant,
        check_create_draft(
            people.applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"entity": "individual"},
        ).pk,
    )
    Case.objects.filter(pk=twice.pk).update(received_at=timezone.now() - dt.timedelta(days=14))
    assert warn_and_escalate(MONDAY)["intake_escalated"] == 1
    twice = perform(people.window, twice.number or "", "accept")
    Case.objects.filter(pk=twice.pk).update(due_date=day(-1))
    late = people.accepted()  # another case past its due date
    Case.objects.filter(pk=late.pk).update(due_date=day(-2))
    district = people.accepted("330106")
    Case.objects.filter(pk=district.pk).update(due_date=day(-1))
    committed = people.approved_on_commitment()
    verification_of(committed, day(-1))
    report = warn_and_escalate(MONDAY)
    assert report["decision_escalated"] == 3
    assert report["verification_escalated"] == 1
    assert "escalated" not in report  # no review task is late
    warn_and_escalate(MONDAY)  # again: nothing new
    case_messages = Notification.objects.filter(
        template__in=["case.intake_overdue", "case.case_overdue"]
    )
    told = case_messages.filter(dedupe_key__startswith=f"deadline:{twice.pk}:")
    assert told.count() >= 4  # two deadlines, each to the head and the supervisor

    result = overview(people.city_supervisor)
    scjg = line_of(result, "3301-SCJG")
    assert (scjg.escalated_cases, scjg.escalated_tasks, scjg.escalated_verifications) == (2, 0, 1)
    assert scjg.escalations == 3
    assert line_of(result, "330106-SCJG").escalated_cases == 1
    assert line_of(result, "3301-GA").escalations == 0
    assert (result.totals.escalated_cases, result.totals.escalated_verifications) == (3, 1)
    assert result.totals.escalations == 4
    # each sees the escalations of what they oversee
    district_view = overview(people.district_supervisor)
    assert (district_view.totals.escalated_cases, district_view.totals.escalations) == (1, 1)
    head_view = overview(people.head)
    assert (head_view.totals.escalated_cases, head_view.totals.escalated_verifications) == (2, 1)
    assert overview(people.ga_head).totals.escalations == 0
    with freeze_time("2025-04-10 10:00:00+08:00"):  # 38 days later: out of the window
        later = overview(fresh(people.city_supervisor), today=dt.date(2025, 4, 10))
        assert later.totals.escalated_cases == later.totals.escalated_verifications == 0


def test_on_time_rate_of_the_last_30_days(people: People) -> None:
    decided = [people.accepted() for _ in range(4)]
    now = timezone.now()
    moments = [
        (now - dt.timedelta(days=2), day(0)),  # on time
        (now - dt.timedelta(days=3), day(-4)),  # decided 28 Feb, due 27 Feb: late
        (now - dt.timedelta(days=10), day(-5)),  # on the due date itself: on time
        (now - dt.timedelta(days=40), day(-30)),  # before the window
    ]
    for case, (at, due) in zip(decided, moments, strict=True):
        Case.objects.filter(pk=case.pk).update(state="decided", decided_at=at, due_date=due)
    line = line_of(overview(people.head), "3301-SCJG")
    assert (line.decided, line.decided_on_time) == (3, 2)
    assert line.on_time_rate == pytest.approx(66.7)
    assert line_of(overview(people.city_supervisor), "3301-GA").on_time_rate is None


# --- filters ------------------------------------------------------------------------------------


def test_filters(people: People) -> None:
    city = people.accepted("330100")
    district = people.accepted("330106")
    Case.objects.filter(pk__in=[city.pk, district.pk]).update(due_date=day(-1))
    supervisor = people.city_supervisor
    xihu = Division.objects.get(code="330106")
    by_division = overview(supervisor, OverviewFilters(division=xihu.pk))
    assert [r.case.number for r in by_division.overdue if r.task is None] == [district.number]
    assert by_division.totals.cases.red == 1

    by_department = overview(supervisor, OverviewFilters(department=people.ga.pk))
    assert [line.department.code for line in by_department.lines if line.department] == ["3301-GA"]
    assert by_department.totals.cases.total == 0
    assert by_department.totals.tasks.total == 2

    assert overview(supervisor, OverviewFilters(item="SC-FOOD")).totals.cases.red == 2
    assert overview(supervisor, OverviewFilters(item="食品经营")).totals.cases.red == 2
    nothing = overview(supervisor, OverviewFilters(item="出生"))
    assert nothing.totals.cases.total == 0
    assert nothing.overdue == []


def test_filters_outside_the_oversight_are_refused(people: People) -> None:
    city = Division.objects.get(code="330100")
    with pytest.raises(PermissionDenied) as division:
        overview(people.district_supervisor, OverviewFilters(division=city.pk))
    assert division.value.errors[0].path == "division"
    with pytest.raises(PermissionDenied) as department:
        overview(people.district_supervisor, OverviewFilters(department=people.ga.pk))
    assert department.value.errors[0].path == "department"  # no work of theirs in 西湖区 yet
    with pytest.raises(PermissionDenied):
        overview(people.head, OverviewFilters(department=people.ga.pk))
    # a city department reviewing a case filed in 西湖区 may be picked by the district supervisor
    people.accepted("330106")
    narrowed = overview(people.district_supervisor, OverviewFilters(department=people.ga.pk))
    assert narrowed.totals.tasks.total == 1
    assert narrowed.totals.cases.total == 0


# --- cost ---------------------------------------------------------------------------------------


def test_the_overview_costs_a_fixed_number_of_queries(
    people: People, django_assert_max_num_queries: Any
) -> None:
    """Roles, calendar fingerprint, two largest limits, two light counts (cases; review and 核查
    tasks), escalated tasks, escalated cases, decided, departments, four list queries, division
    and department choices: 16, whatever the number of cases, 核查 tasks and escalations; a
    filtered department is checked with one more, and rows of a division with its own calendar
    days cost one more for cases and one for tasks."""

    def add_cases(count: int) -> None:
        for n in range(count):
            division = "330106" if n % 2 else "330100"
            case = people.accepted(division)
            Case.objects.filter(pk=case.pk).update(due_date=day(n % 5 - 2))
            if n % 3 == 0:
                verification_of(people.approved_on_commitment(division), day(n % 5 - 2))
        warn_and_escalate(MONDAY)  # 督办 messages about cases and tasks

    def measure(budget: int) -> list[int]:
        overview(people.city_supervisor)  # the calendar snapshot is loaded
        counts = []
        for filters, allowed in (
            (OverviewFilters(), budget),
            (OverviewFilters(department=people.scjg.pk, item="SC"), budget + 1),
        ):
            supervisor = fresh(people.city_supervisor)
            with django_assert_max_num_queries(allowed) as captured:
                overview(supervisor, filters)
            counts.append(len(captured))
        return counts

    add_cases(2)
    few = measure(16)
    add_cases(12)
    grown = overview(fresh(people.city_supervisor))
    assert grown.totals.verifications.total == 5
    assert grown.totals.escalated_cases > 0
    assert grown.totals.escalated_verifications > 0
    assert measure(16) == few
    DivisionCalendarDay.objects.create(
        division=Division.objects.get(code="330106"),
        date=day(1),
        is_workday=False,
        reason="示例地方假日",
    )
    local = measure(18)
    add_cases(6)
    assert measure(18) == local


def test_on_time_is_judged_in_local_days(people: People) -> None:
    """Decided at 23:30 Beijing time on the due date is on time; at 00:30 the next day it is
    late, although both are the same UTC date."""
    shanghai = dt.timezone(dt.timedelta(hours=8))
    just_in, just_late, early = (people.accepted() for _ in range(3))
    due = dt.date(2025, 2, 27)
    for case, at in (
        (just_in, dt.datetime(2025, 2, 27, 23, 30, tzinfo=shanghai)),
        (just_late, dt.datetime(2025, 2, 28, 0, 30, tzinfo=shanghai)),
        (early, dt.datetime(2025, 2, 20, 9, 0, tzinfo=shanghai)),
    ):
        Case.objects.filter(pk=case.pk).update(state="closed", decided_at=at, due_date=due)
    line = line_of(overview(people.head), "3301-SCJG")
    assert (line.decided, line.decided_on_time) == (3, 2)


@pytest.mark.shipped_calendar  # the known calendar ends on 31 December 2026
def test_overdue_work_is_listed_when_today_is_past_the_known_calendar(people: People) -> None:
    """On 5 January 2027, before anyone entered 2027, a case due in December 2026 is counted
    red and listed as overdue (not dropped from the list the count links to)."""
    with freeze_time("2026-12-14 10:00:00+08:00"):
        case = people.accepted()
    assert case.due_date == dt.date(2026, 12, 28)
    result = overview(fresh(people.head), today=dt.date(2027, 1, 5))
    assert line_of(result, "3301-SCJG").cases.red == 1
    assert [row.case.pk for row in result.overdue if row.task is None] == [case.pk]
    [row] = [row for row in result.overdue if row.task is None]
    assert (row.light, row.signal.overdue_workdays) == ("red", None)
