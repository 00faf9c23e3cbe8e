"""The staff queue API (``GET /api/v1/queues`` and ``/api/v1/queues/{name}``): the permission
matrix (anonymous / applicant / other-department staff / right staff), keyset pages through
the cursor, filters by light, ``overdue``, state, department and item, 422 for a filter the queue
does not offer, masked applicant names and a fixed number of SQL statements per page."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, PersonFactory, StaffUserFactory
from tongban.cases.models import Case, CaseTask
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.identity.models import Department

pytestmark = pytest.mark.django_db

MONDAY = dt.date(2025, 3, 3)


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with freeze_time("2025-03-03 10:00:00+08:00"):
        yield


class World:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        self.applicant = ApplicantFactory(person=PersonFactory(name="王小明"))
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga_reviewer = StaffUserFactory(department=ga, roles=["reviewer"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.supervisor = StaffUserFactory(department=ga, roles=["supervisor"])
        self.other_staff = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["window", "reviewer", "department_head"],
        )

    def case(self) -> Case:
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"entity": "individual"},
        )
        return submit_draft(self.applicant, draft.pk)

    def accepted(self) -> Case:
        return perform(self.window, self.case().number or "", "accept")


@pytest.fixture
def world(tmp_path: Path) -> World:
    import_catalog(sample(tmp_path))
    return World()


def get(user: Any, url: str, **params: Any) -> Any:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get(url, params)


def numbers(body: dict[str, Any]) -> list[str]:
    return [row["case"] for row in body["rows"]]


# --- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("applicant", 403), ("other_staff", 200), ("window", 200)],
)
def test_intake_queue_permission_matrix(world: World, who: str, status: int) -> None:
    case = world.case()
    user = None if who == "anonymous" else getattr(world, who)
    response = get(user, "/api/v1/queues/intake")
    assert response.status_code == status, response.content
    if status == 200:
        # the district window holds the role but the case was filed in the city: not theirs
        expected = [case.number] if who == "window" else []
        assert numbers(response.json()) == expected


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("applicant", 403), ("other_staff", 200), ("head", 403), ("window", 200)],
)
def test_decided_and_delivered_cases_wait_for_the_window(
    world: World, who: str, status: int
) -> None:
    """送达 and 办结 are the window's: a decided case, and a delivered one not yet closed, are in
    its 待送达与办结 queue until it is closed."""
    decided, delivered, closed, _in_review = (world.accepted() for _ in range(4))
    for case in (decided, delivered, closed):
        for task in case.tasks.filter(state="open"):
            reviewer = world.ga_reviewer if task.department.code == "3301-GA" else world.reviewer
            perform(reviewer, case.number or "", "approve_task", {"task": task.pk})
        for task in case.tasks.filter(state="open"):  # the second stage
            perform(world.reviewer, case.number or "", "approve_task", {"task": task.pk})
        perform(world.head, case.number or "", "decide", {"outcome": "approved"})
    for case in (delivered, closed):
        perform(world.window, case.number or "", "deliver", {"method": "electronic"})
    perform(world.window, closed.number or "", "close")
    user = None if who == "anonymous" else getattr(world, who)
    response = get(user, "/api/v1/queues/delivery")
    assert response.status_code == status, response.content
    if status == 200:
        expected = {decided.number, delivered.number} if who == "window" else set()
        assert set(numbers(response.json())) == expected
        states = {row["case"]: row["state"] for row in response.json()["rows"]}
        if who == "window":
            assert states == {decided.number: "decided", delivered.number: "delivered"}
            # 行政许可法 第四十四条: ten working days from the decision (Monday 3 March 2025)
            row = response.json()["rows"][0]
            assert (row["due_date"], row["light"]) == ("2025-03-17", "green")
    with freeze_time("2025-03-18 10:00:00+08:00"):
        late = get(user, "/api/v1/queues/delivery")
    if who == "window":
        assert {row["light"] for row in late.json()["rows"]} == {"red"}


@pytest.mark.parametrize(
    ("who", "status", "rows"),
    [
        ("anonymous", 401, 0),
        ("applicant", 403, 0),
        ("other_staff", 200, 0),  # a reviewer, but of another department
        ("window", 403, 0),  # staff without the reviewer role
        ("reviewer", 200, 1),
        ("ga_reviewer", 200, 1),
    ],
)
def test_review_queue_permission_matrix(world: World, who: str, status: int, rows: int) -> None:
    world.accepted()
    user = None if who == "anonymous" else getattr(world, who)
    response = get(user, "/api/v1/queues/review")
    assert response.status_code == status, response.content
    if status == 200:
        assert len(response.json()["rows"]) == rows
    elif status == 403:
        assert response.json()["code"] in {"staff_only", "queue_not_yours"}


@pytest.mark.parametrize(
    ("who", "status", "names"),
    [
        ("anonymous", 401, None),
        ("applicant", 403, None),
        ("window", 200, ["intake", "delivery"]),
        ("head", 200, ["decision", "verification", "risk_cases", "risk_tasks"]),
        ("supervisor", 200, ["risk_cases", "risk_tasks"]),
    ],
)
def test_my_queues(world: World, who: str, status: int, names: list[str] | None) -> None:
    user = None if who == "anonymous" else getattr(world, who)
    response = get(user, "/api/v1/queues")
    assert response.status_code == status, response.content
    if names is not None:
        assert [q["name"] for q in response.json()] == names


def test_unknown_queue_is_404(world: World) -> None:
    response = get(world.head, "/api/v1/queues/nonexistent")
    assert response.status_code == 404
    assert response.json()["code"] == "queue_not_found"


# --- rows, pages and filters ----------------------------------------------------------------------


def test_rows_carry_lights_and_masked_applicant(world: World) -> None:
    case = world.accepted()
    body = get(world.ga_reviewer, "/api/v1/queues/review").json()
    [row] = body["rows"]
    assert row["case"] == case.number
    assert row["kind"] == "task"
    assert row["task"]["department"] == Department.objects.get(code="3301-GA").name
    assert row["applicant"] == "王**"
    assert row["light"] in {"green", "yellow"}
    assert row["due_date"] is not None
    assert body["next_cursor"] is None
    assert body["partial"] is False


def test_cursor_pages_walk_the_queue_in_due_date_order(world: World) -> None:
    cases = [world.accepted() for _ in range(5)]
    dues = [10, 3, -2, 3, 7]
    for case, offset in zip(cases, dues, strict=True):
        CaseTask.objects.filter(case=case, department__code="3301-GA").update(
            due_date=MONDAY + dt.timedelta(days=offset)
        )
    expected = [c.number for c, d in sorted(zip(cases, dues, strict=True), key=lambda p: p[1])]
    seen: list[str] = []
    cursor = ""
    for _page in range(5):
        body = get(world.ga_reviewer, "/api/v1/queues/review", page_size=2, cursor=cursor).json()
        seen += numbers(body)
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert seen == expected


def test_a_cursor_the_queue_did_not_give_is_a_422(world: World) -> None:
    world.accepted()
    for bad in ("%%%", "bm90LWEta2V5"):  # not base64; base64 of "not-a-key"
        response = get(world.ga_reviewer, "/api/v1/queues/review", cursor=bad)
        assert response.status_code == 422, bad
        assert response.json()["code"] == "invalid_cursor"
        assert [e["path"] for e in response.json()["errors"]] == ["cursor"]


def test_filters(world: World) -> None:
    late, fine = world.accepted(), world.accepted()
    Case.objects.filter(pk=late.pk).update(due_date=MONDAY - dt.timedelta(days=1))
    Case.objects.filter(pk=fine.pk).update(due_date=MONDAY + dt.timedelta(days=30))
    url = "/api/v1/queues/risk_cases"
    assert numbers(get(world.supervisor, url).json()) == [late.number]  # red and yellow
    assert numbers(get(world.supervisor, url, overdue="true").json()) == [late.number]
    assert numbers(get(world.head, url, light="red", item="SC-FOOD").json()) == [late.number]
    assert numbers(get(world.head, url, item="出生").json()) == []
    assert numbers(get(world.head, url, state="in_review").json()) == [late.number]
    assert numbers(get(world.head, url, state="awaiting_decision").json()) == []
    assert numbers(get(world.supervisor, url, department="3301-SCJG").json()) == [late.number]
    assert numbers(get(world.supervisor, url, department="3301-GA").json()) == []
    ga_tasks = get(world.supervisor, "/api/v1/queues/review")
    assert ga_tasks.status_code == 403  # a supervisor has no review queue


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"light": "green"}, "light"),  # risk queues offer red and yellow only
        ({"light": "purple"}, "light"),
        ({"state": "closed"}, "state"),
        ({"department": "NO-SUCH"}, "department"),
        ({"overdue": "true", "light": "yellow"}, "overdue"),
        ({"page_size": "500"}, "page_size"),
    ],
)
def test_bad_filters_are_422_with_the_parameter(
    world: World, params: dict[str, str], path: str
) -> None:
    response = get(world.head, "/api/v1/queues/risk_cases", **params)
    assert response.status_code == 422, response.content
    assert path in [e["path"] for e in response.json()["errors"]]


def test_a_page_costs_a_fixed_number_of_statements(world: World) -> None:
    client = Client()
    client.force_login(world.ga_reviewer)
    world.accepted()
    client.get("/api/v1/queues/review")
    with CaptureQueriesContext(connection) as few:
        assert client.get("/api/v1/queues/review").status_code == 200
    for _ in range(6):
        world.accepted()
    with CaptureQueriesContext(connection) as many:
        body = client.get("/api/v1/queues/review", light="green").json()
    assert len(body["rows"]) >= 6
    assert len(many.captured_queries) <= len(few.captured_queries) + 1  # + the light's MAX(limit)
