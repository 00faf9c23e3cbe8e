"""Queue selectors (``tongban.cases.queues``): who sees which rows, traffic lights in working days
(red / yellow by ``TONGBAN_YELLOW_WORKDAYS`` or 20 % of the limit / green / paused), keyset
pages ordered by (due date, id) without counting, filters — the SQL light filter agrees with the
lights shown, with and without division calendars — and fixed query counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from freezegun import freeze_time

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory, answer_correction
from tongban.cases import queues
from tongban.cases.models import Case, CaseTask, TaskState
from tongban.cases.queues import QueueFilters, classify, queue_page, yellow_threshold
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import ValidationFailed
from tongban.identity.models import Department, Division
from tongban.workdays.models import DivisionCalendarDay
from tongban.workdays.selectors import workdays_between, working_calendar

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
        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        district = Department.objects.get(code="330106-SCJG")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.district_window = StaffUserFactory(department=district, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga = StaffUserFactory(department=ga, roles=["reviewer"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.city_supervisor = StaffUserFactory(department=ga, roles=["supervisor"])
        self.district_supervisor = StaffUserFactory(department=district, roles=["supervisor"])

    def case(self, division: str = "330100") -> Case:
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code=division,
            answers={"entity": "individual"},
        )
        return submit_draft(self.applicant, draft.pk)

    def accepted(self, division: str = "330100") -> Case:
        case = self.case(division)
        return perform(self.window, case.number or "", "accept")


@pytest.fixture
def people(tmp_path: Path) -> People:
    import_catalog(sample(tmp_path))
    return People()


def numbers(page: queues.QueuePage) -> list[str]:
    return [row.case.number or "" for row in page.rows]


# --- lights -----------------------------------------------------------------------------------


def left_national(a: dt.date, b: dt.date) -> int:
    return workdays_between(a, b)


@pytest.mark.parametrize(
    ("due", "limit", "light", "left"),
    [
        (day(-1), 10, "red", None),
        (day(0), 10, "yellow", 0),
        (day(2), 10, "yellow", 2),  # 2 working days left ≤ 2
        (day(3), 10, "green", 3),
        (day(4), 20, "yellow", 4),  # 20 % of 20 is 4
        (day(5), 20, "yellow", 4),  # Saturday: still 4 working days
        (day(7), 20, "green", 5),
        (day(3), 3, "green", 3),
    ],
)
def test_lights(people: People, due: dt.date, limit: int, light: str, left: int | None) -> None:
    signal = classify(due, limit, MONDAY, left_national)
    assert signal.light == light
    assert signal.workdays_left == left
    assert signal.label


def test_overdue_counts_working_days_and_paused_wins(people: People) -> None:
    red = classify(dt.date(2025, 2, 27), 10, MONDAY, left_national)  # Thursday
    assert (red.light, red.overdue_workdays) == ("red", 2)  # Fri 28 Feb, Mon 3 Mar
    assert classify(day(-5), 10, MONDAY, left_national, paused=True).light == "paused"
    assert classify(None, 10, MONDAY, left_national).light == "unknown"


def test_a_deadline_passed_is_red_even_when_today_is_past_the_known_calendar() -> None:
    """Overdue is overdue whatever the unknown year's holidays: red, with the working days
    overdue left uncounted (None) rather than guessed; a deadline not yet passed that cannot be
    counted stays unknown."""
    from tongban.workdays.arithmetic import WorkingCalendar

    shipped = WorkingCalendar(frozenset({2026}))
    new_year = dt.date(2027, 1, 5)
    red = classify(dt.date(2026, 12, 28), 10, new_year, shipped.workdays_between)
    assert (red.light, red.overdue_workdays, red.workdays_left) == ("red", None, None)
    assert classify(new_year, 10, new_year, shipped.workdays_between).light == "unknown"


def test_yellow_threshold_follows_the_setting(people: People, settings: Any) -> None:
    assert yellow_threshold(10) == 2
    assert yellow_threshold(30) == 6
    settings.TONGBAN_YELLOW_WORKDAYS = 0
    assert yellow_threshold(3) == 0
    assert classify(day(1), 3, MONDAY, left_national).light == "green"
    settings.TONGBAN_YELLOW_WORKDAYS = 5
    assert classify(day(7), 10, MONDAY, left_national).light == "yellow"


def test_yellow_threshold_from_the_environment() -> None:
    """The variable is read once, by the settings, like every other setting."""
    import os
    import subprocess
    import sys

    code = "import django; django.setup(); from tongban.cases.queues import yellow_threshold; print(yellow_threshold(5))"
    env = {
        **os.environ,
        "TONGBAN_TESTING": "1",
        "TONGBAN_YELLOW_WORKDAYS": "3",
        "DJANGO_SETTINGS_MODULE": "tongban.settings",
    }
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1] == "3"


# --- who sees what ----------------------------------------------------------------------------


def test_intake_queue_is_the_windows_division_and_below(people: People) -> None:
    city = people.case("330100")
    district = people.case("330106")
    assert set(numbers(queue_page(people.window, "intake"))) == {city.number, district.number}
    assert numbers(queue_page(people.district_window, "intake")) == [district.number]
    assert numbers(queue_page(people.reviewer, "intake")) == []  # no window role


def test_review_queue_is_open_tasks_of_the_users_departments(people: People) -> None:
    case = people.accepted()
    rows = queue_page(people.ga, "review").rows
    assert [(r.case.number, r.task.department.code) for r in rows if r.task] == [
        (case.number, "3301-GA")
    ]
    assert [r.task.stage for r in queue_page(people.reviewer, "review").rows if r.task] == [1]
    assert queue_page(people.head, "review").rows == []


def test_decision_queue_and_risk_queues(people: People) -> None:
    waiting = people.accepted()
    for task in CaseTask.objects.filter(case=waiting):
        task.state = TaskState.APPROVED
        task.save(update_fields=["state"])
    Case.objects.filter(pk=waiting.pk).update(state="awaiting_decision")
    late = people.accepted()
    Case.objects.filter(pk=late.pk).update(due_date=day(-1))
    assert numbers(queue_page(people.head, "decision")) == [waiting.number]
    assert numbers(queue_page(people.head, "risk_cases")) == [late.number]
    assert numbers(queue_page(people.city_supervisor, "risk_cases")) == [late.number]
    assert numbers(queue_page(people.district_supervisor, "risk_cases")) == []  # not theirs
    CaseTask.objects.filter(case=late, state=TaskState.OPEN).update(due_date=day(-2))
    tasks = queue_page(people.city_supervisor, "risk_tasks").rows
    assert {r.task.department.code for r in tasks if r.task} == {"3301-SCJG", "3301-GA"}
    assert all(r.light == "red" for r in tasks)
    ga = Department.objects.get(code="3301-GA")
    only_ga = queue_page(
        people.city_supervisor, "risk_tasks", filters=QueueFilters(department=ga.pk)
    )
    assert [r.task.department.code for r in only_ga.rows if r.task] == ["3301-GA"]
    assert ga in queues.supervised_departments(people.city_supervisor)


def test_stopped_clocks_are_paused_not_red(people: People) -> None:
    case = people.accepted()
    perform(people.head, case.number or "", "suspend", {"kind": "hearing", "reason": "听证"})
    Case.objects.filter(pk=case.pk).update(due_date=day(-3))
    assert numbers(queue_page(people.head, "risk_cases")) == []
    paused = queue_page(people.reviewer, "review", filters=QueueFilters(light="paused"))
    assert [r.light for r in paused.rows] == ["paused"]


# --- pages ------------------------------------------------------------------------------------


def test_keyset_pages_follow_due_date_then_id(people: People) -> None:
    cases = [people.accepted() for _ in range(7)]
    dues = [day(9), day(2), day(9), day(-4), day(1), day(2), day(30)]
    for case, due in zip(cases, dues, strict=True):
        CaseTask.objects.filter(case=case, department__code="3301-GA").update(due_date=due)
    expected = [
        c.number for c, _d in sorted(zip(cases, dues, strict=True), key=lambda p: (p[1], p[0].pk))
    ]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = queue_page(people.ga, "review", cursor=cursor, page_size=3)
        pages += 1
        seen += numbers(page)
        if not page.has_next:
            break
        cursor = page.next_cursor
    assert seen == expected
    assert pages == 3
    # a cursor edited by hand, or one whose key is not a position, is refused at ``cursor``
    for bad in ("!!not-a-cursor", queues.encode_cursor("yesterday|7"), queues.encode_cursor("x")):
        with pytest.raises(ValidationFailed) as refused:
            queue_page(people.ga, "review", cursor=bad, page_size=3)
        assert [e.path for e in refused.value.errors] == ["cursor"]


def test_intake_pages_follow_the_day_materials_arrived(people: People) -> None:
    first, second, third = (people.case() for _ in range(3))
    perform(
        people.window,
        first.number or "",
        "request_correction",
        {"items": [{"material": "application", "problem": "缺少签字"}]},
    )
    with freeze_time("2025-03-04 09:00:00+08:00"):
        answer_correction(people.applicant, first.number or "", "application")
        page = queue_page(people.window, "intake", page_size=2)
        assert numbers(page) == [second.number, third.number]
        rest = queue_page(people.window, "intake", page_size=2, cursor=page.next_cursor)
        assert numbers(rest) == [first.number]
        assert rest.rows[0].due_date == dt.date(2025, 3, 11)  # 5 working days after 4 March
        assert not rest.has_next


def test_filters_by_item_and_state(people: People) -> None:
    case = people.accepted()
    Case.objects.filter(pk=case.pk).update(due_date=day(-1))
    assert numbers(queue_page(people.head, "risk_cases", filters=QueueFilters(item="SC-FOOD")))
    assert numbers(queue_page(people.head, "risk_cases", filters=QueueFilters(item="SC-FOOD-001")))
    assert numbers(queue_page(people.head, "risk_cases", filters=QueueFilters(item="食品")))
    assert not queue_page(people.head, "risk_cases", filters=QueueFilters(item="出生")).rows
    in_review = QueueFilters(state="in_review")
    assert numbers(queue_page(people.head, "risk_cases", filters=in_review)) == [case.number]
    waiting = QueueFilters(state="awaiting_decision")
    assert not queue_page(people.head, "risk_cases", filters=waiting).rows


@pytest.fixture
def spread(people: People) -> list[CaseTask]:
    """Open GA tasks with deadlines from 3 days ago to 20 days ahead and limits 2 … 41."""
    tasks = []
    for n, (offset, limit) in enumerate(
        [
            (-3, 5),
            (0, 2),
            (1, 10),
            (2, 10),
            (3, 10),
            (4, 20),
            (5, 20),
            (7, 20),
            (8, 40),
            (12, 40),
            (20, 10),
        ]
    ):
        case = people.accepted()
        task = CaseTask.objects.get(case=case, department__code="3301-GA")
        CaseTask.objects.filter(pk=task.pk).update(due_date=day(offset), limit_days=limit + n % 2)
        tasks.append(task)
    return tasks


def _lights_by_python(people: People, spread: list[CaseTask]) -> dict[str, set[int]]:
    calendar = working_calendar()
    division = Division.objects.get(code="330100")
    chain = (division.pk, division.parent_id)
    found: dict[str, set[int]] = {}
    for task in CaseTask.objects.filter(pk__in=[t.pk for t in spread]):
        signal = classify(
            task.due_date,
            task.limit_days,
            MONDAY,
            lambda a, b: calendar.workdays_between(a, b, [c for c in chain if c]),
        )
        found.setdefault(signal.light, set()).add(task.pk)
    return found


@pytest.mark.parametrize("local_holiday", [False, True])
def test_light_filter_agrees_with_the_lights(
    people: People, spread: list[CaseTask], local_holiday: bool
) -> None:
    if local_holiday:  # 杭州市 has a day off on Wednesday: the SQL boundaries move
        DivisionCalendarDay.objects.create(
            division=Division.objects.get(code="330100"),
            date=day(2),
            is_workday=False,
            reason="示例地方假日",
        )
    expected = _lights_by_python(people, spread)
    assert set(expected) == {"red", "yellow", "green"}
    for light in ("red", "yellow", "green"):
        page = queue_page(people.ga, "review", filters=QueueFilters(light=light), page_size=50)
        assert {r.task.pk for r in page.rows if r.task} == expected[light], light
        assert all(r.light == light for r in page.rows)
    risk = queue_page(people.head, "risk_tasks", page_size=50)
    assert {r.task.department.code for r in risk.rows if r.task} <= {"3301-SCJG"}  # not GA's
    everything = queue_page(people.city_supervisor, "risk_tasks", page_size=50)
    ga_risk = {r.task.pk for r in everything.rows if r.task and r.task.department.code == "3301-GA"}
    assert ga_risk == expected["red"] | expected["yellow"]


def test_light_filter_pages_without_losing_rows(people: People, spread: list[CaseTask]) -> None:
    green = QueueFilters(light="green")
    first = queue_page(people.ga, "review", filters=green, page_size=2)
    rest = queue_page(people.ga, "review", filters=green, page_size=50, cursor=first.next_cursor)
    expected = _lights_by_python(people, spread)["green"]
    got = [r.task.pk for r in first.rows + rest.rows if r.task]
    assert len(got) == len(set(got))
    assert set(got) == expected


def test_queue_pages_cost_fixed_queries(
    people: People, spread: list[CaseTask], django_assert_max_num_queries: Any
) -> None:
    queue_page(people.ga, "review")  # the calendar snapshot is loaded once
    people.ga = type(people.ga).objects.get(pk=people.ga.pk)  # roles not cached yet
    # roles, calendar fingerprint, the page's keys, its rows
    with django_assert_max_num_queries(4):
        queue_page(people.ga, "review")
    people.ga = type(people.ga).objects.get(pk=people.ga.pk)
    # roles, calendar fingerprint, the largest limit (for the yellow boundaries), keys, rows
    with django_assert_max_num_queries(5):
        queue_page(people.ga, "review", filters=QueueFilters(light="yellow"))


@pytest.mark.shipped_calendar
def test_an_intake_period_past_the_known_calendar_is_shown_not_guessed(people: People) -> None:
    """Filed on 28 December 2026: five working days reach into 2027, which nobody has entered
    yet — the row says so instead of guessing a date."""
    with freeze_time("2026-12-28 10:00:00+08:00"):
        case = people.case()
        row = queue_page(people.window, "intake").rows[0]
        assert row.case == case
        assert (row.light, row.due_date) == ("unknown", None)
        with translation.override("zh-hans"):
            assert row.signal.label == "日历未录入"
        assert queue_page(people.window, "intake", filters=QueueFilters(light="unknown")).rows
        assert not queue_page(people.window, "intake", filters=QueueFilters(light="green")).rows
