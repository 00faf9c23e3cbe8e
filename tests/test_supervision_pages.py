"""The 督办总览 page (``/workbench/supervision/``) and ``GET /api/v1/supervision/overview``: the
permission matrix (anonymous / applicant / staff without the role / supervisor of another
division / the right supervisor and head), what they show, filters, drill-down links to the case
pages, the chart's data, the 告知承诺 核查 tasks and case-level 督办 shown on their own, and the
ECharts asset served by the app itself."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from tests.catalog_fixtures import sample
from tests.factories import (
    ApplicantFactory,
    DepartmentFactory,
    DivisionFactory,
    StaffUserFactory,
)
from tongban.cases.deadlines import warn_and_escalate
from tongban.cases.models import Case, CaseTask, TaskKind, TaskState
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.identity.models import Department, Division, DivisionLevel

pytestmark = pytest.mark.django_db

PAGE = "/workbench/supervision/"
API = "/api/v1/supervision/overview"


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with freeze_time("2025-03-03 10:00:00+08:00"):
        yield


class World:
    def __init__(self) -> None:
        self.scjg = Department.objects.get(code="3301-SCJG")
        self.ga = Department.objects.get(code="3301-GA")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=self.scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=self.scjg, roles=["reviewer"])
        self.head = StaffUserFactory(department=self.scjg, roles=["department_head"])
        self.supervisor = StaffUserFactory(department=self.ga, roles=["supervisor"])
        ningbo = DivisionFactory(
            code="330200",
            name="宁波市",
            level=DivisionLevel.CITY,
            parent=Division.objects.get(code="330000"),
        )
        self.other_supervisor = StaffUserFactory(
            department=DepartmentFactory(code="3302-GA", name="宁波市公安局", division=ningbo),
            roles=["supervisor", "department_head"],
        )
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"entity": "individual"},
        )
        case = submit_draft(self.applicant, draft.pk)
        self.case = perform(self.window, case.number or "", "accept")
        Case.objects.filter(pk=self.case.pk).update(due_date=dt.date(2025, 2, 28))
        CaseTask.objects.filter(case=self.case, department=self.ga, state=TaskState.OPEN).update(
            due_date=dt.date(2025, 3, 4)
        )

    @property
    def number(self) -> str:
        assert self.case.number is not None
        return self.case.number


@pytest.fixture
def world(tmp_path: Path) -> World:
    import_catalog(sample(tmp_path))
    return World()


def as_user(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


MATRIX = [
    ("anonymous", 302, 401),
    ("applicant", 403, 403),
    ("reviewer", 403, 403),
    ("window", 403, 403),
    ("other_supervisor", 200, 200),
    ("supervisor", 200, 200),
    ("head", 200, 200),
]


@pytest.mark.parametrize(("who", "page_status", "api_status"), MATRIX)
def test_permission_matrix(world: World, who: str, page_status: int, api_status: int) -> None:
    user = None if who == "anonymous" else getattr(world, who)
    page = as_user(user).get(PAGE)
    assert page.status_code == page_status, who
    if who == "anonymous":
        assert page["Location"].startswith(reverse("portal:login"))
    api = as_user(user).get(API)
    assert api.status_code == api_status, who
    html = page.content.decode()
    sees = who in ("supervisor", "head")
    assert (world.number in html) is sees
    if api_status == 200:
        body = api.json()
        numbers = {row["number"] for row in body["overdue"] + body["at_risk"]}
        assert (world.number in numbers) is sees
    if who == "other_supervisor":
        assert "杭州市市场监督管理局" not in html
        assert [d["code"] for d in api.json()["departments"]] == ["3302-GA"]
    if api_status == 403:
        assert api.json()["code"] == "supervision_not_allowed"


def test_the_supervisor_page_shows_the_departments_and_links_to_the_cases(world: World) -> None:
    client = as_user(world.supervisor)
    response = client.get(PAGE)
    html = response.content.decode()
    assert "督办总览" in html
    for name in ("杭州市市场监督管理局", "杭州市公安局", "西湖区市场监督管理局"):
        assert name in html
    case_url = reverse("workbench:case", args=[world.number])
    assert f'href="{case_url}"' in html
    assert client.get(case_url).status_code == 200  # the drill-down opens for them
    assert 'id="overdue-title"' in html
    # the chart: ECharts from the app's own static files, data as JSON, no CDN
    assert '/static/echarts/echarts.min.js"' in html
    assert '/static/workbench/supervision.js"' in html
    assert "cdn" not in html.lower()
    chart = response.context["chart"]
    assert chart["departments"]
    assert set(chart["series"]) == {"red", "yellow", "green", "paused"}
    scjg = chart["departments"].index(world.scjg.short_name)
    assert chart["series"]["red"][scjg] == 1  # the overdue case
    data = html.split('id="supervision-chart-data" type="application/json">')[1].split("</script>")[
        0
    ]
    assert json.loads(data) == chart
    # the home page links to it, the bar too
    home = client.get(reverse("workbench:home")).content.decode()
    assert f'href="{PAGE}"' in home


def test_the_assets_are_served_by_the_app(world: World) -> None:
    client = as_user(world.supervisor)
    for path in ("/static/echarts/echarts.min.js", "/static/workbench/supervision.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
        assert len(body) > 500


def test_the_head_sees_their_department_and_the_others_do_not_get_the_link(
    world: World,
) -> None:
    html = as_user(world.head).get(PAGE).content.decode()
    assert "杭州市市场监督管理局" in html
    assert "杭州市公安局" not in html  # neither their case nor their task
    assert 'id="f-division"' not in html  # no division filter for a head only
    reviewer_home = as_user(world.reviewer).get(reverse("workbench:home")).content.decode()
    assert f'href="{PAGE}"' not in reviewer_home


def test_page_filters(world: World) -> None:
    client = as_user(world.supervisor)
    only_ga = client.get(PAGE, {"department": world.ga.pk})
    assert only_ga.status_code == 200
    lines = only_ga.context["result"].lines
    assert [line.department.code for line in lines] == ["3301-GA"]
    assert world.number in only_ga.content.decode()  # the GA task is yellow
    xihu = Division.objects.get(code="330106")
    by_division = client.get(PAGE, {"division": xihu.pk}).context["result"]
    assert by_division.totals.cases.total == 0
    by_item = client.get(PAGE, {"item": "出生"}).context["result"]
    assert by_item.overdue == []
    ignored = client.get(PAGE, {"department": "abc", "division": "-1"})
    assert ignored.status_code == 200
    assert not ignored.context["filters"].active


def test_filters_outside_the_oversight_are_403(world: World) -> None:
    client = as_user(world.other_supervisor)
    response = client.get(PAGE, {"department": world.scjg.pk})
    assert response.status_code == 403
    assert "不在您的督办范围内" in response.content.decode()
    city = Division.objects.get(code="330100")
    assert client.get(PAGE, {"division": city.pk}).status_code == 403
    api = client.get(API, {"department": "3301-SCJG"})
    assert api.status_code == 403
    assert api.json()["errors"][0]["path"] == "department"
    assert client.get(API, {"division": "330100"}).status_code == 403


def test_api_overview(world: World) -> None:
    client = as_user(world.supervisor)
    body = client.get(API).json()
    assert body["today"] == "2025-03-03"
    assert body["since"] == "2025-02-02"
    assert body["window_days"] == 30
    scjg = next(d for d in body["departments"] if d["code"] == "3301-SCJG")
    assert scjg["cases"] == {"red": 1, "yellow": 0, "green": 0, "paused": 0, "total": 1}
    assert scjg["division"] == "330100"
    assert scjg["on_time_rate"] is None
    assert body["totals"]["cases"]["red"] == 1
    [overdue] = body["overdue"]
    assert overdue == {
        "kind": "case",
        "number": world.number,
        "item_code": "SC-FOOD-001",
        "item_name": "食品经营许可（餐饮服务）",
        "department": "3301-SCJG",
        "stage_name": None,
        "task_name": None,
        "due_date": "2025-02-28",
        "light": "red",
        "workdays_left": None,
        "overdue_workdays": 1,
    }
    [risk] = body["at_risk"]
    assert (risk["kind"], risk["department"], risk["workdays_left"]) == ("task", "3301-GA", 1)
    narrowed = client.get(API, {"department": "3301-GA", "division": "330100", "item": "SC"})
    assert [d["code"] for d in narrowed.json()["departments"]] == ["3301-GA"]


def test_verification_tasks_and_case_escalations_are_shown_on_their_own(world: World) -> None:
    draft = check_create_draft(
        world.applicant,
        item_code="SC-FOOD-001",
        division_code="330100",
        answers={"entity": "individual"},
        commitment_materials=[],
    )
    submitted = submit_draft(world.applicant, draft.pk)
    committed = perform(world.window, submitted.number or "", "approve_on_commitment")
    CaseTask.objects.filter(case=committed, kind=TaskKind.VERIFICATION).update(
        due_date=dt.date(2025, 2, 27)
    )
    report = warn_and_escalate(dt.date(2025, 3, 3))  # the case due 28 Feb, the 核查 due 27 Feb
    assert (report["decision_escalated"], report["verification_escalated"]) == (1, 1)

    client = as_user(world.supervisor)
    page = client.get(PAGE)
    html = page.content.decode()
    assert "在办核查任务" in html
    assert "近30日督办（办件 1，审查 0，核查 1）" in html
    assert "核查任务 · 承诺核查 · 告知承诺核查" in html  # the overdue row says what it is
    assert committed.number in html
    chart = page.context["chart"]
    scjg_bar = chart["departments"].index(world.scjg.short_name)
    assert chart["series"]["red"][scjg_bar] == 2  # the overdue case and the overdue 核查

    body = client.get(API).json()
    scjg = next(d for d in body["departments"] if d["code"] == "3301-SCJG")
    assert scjg["verifications"] == {"red": 1, "yellow": 0, "green": 0, "paused": 0, "total": 1}
    assert scjg["cases"]["total"] == 1  # the decided case is not counted as an open case
    assert scjg["escalations_by_kind"] == {"cases": 1, "tasks": 0, "verifications": 1}
    assert scjg["escalations"] == 2
    assert body["totals"]["verifications"]["red"] == 1
    assert body["totals"]["escalations_by_kind"]["cases"] == 1
    rows = {(row["kind"], row["number"]) for row in body["overdue"]}
    assert rows == {("case", world.number), ("verification", committed.number)}
    [verification] = [row for row in body["overdue"] if row["kind"] == "verification"]
    assert (verification["department"], verification["stage_name"]) == ("3301-SCJG", "承诺核查")
    assert verification["overdue_workdays"] == 2

    # the supervisor of another city and the head of another department see none of it
    other = as_user(world.other_supervisor).get(API).json()
    assert other["totals"]["verifications"]["total"] == 0
    assert other["totals"]["escalations"] == 0
    assert committed.number not in as_user(world.other_supervisor).get(PAGE).content.decode()
    ga_head = StaffUserFactory(department=world.ga, roles=["department_head"])
    ga = as_user(ga_head).get(API).json()
    assert ga["totals"]["verifications"]["total"] == 0
    assert ga["totals"]["escalations_by_kind"] == {"cases": 0, "tasks": 0, "verifications": 0}
    assert committed.number not in {row["number"] for row in ga["overdue"]}


def test_api_unknown_codes_are_422(world: World) -> None:
    client = as_user(world.supervisor)
    division = client.get(API, {"division": "999999"})
    assert division.status_code == 422
    assert division.json()["errors"][0]["path"] == "division"
    department = client.get(API, {"department": "NOPE"})
    assert department.status_code == 422
    assert department.json()["errors"][0]["path"] == "department"


def test_the_endpoint_is_in_the_openapi_document(world: World) -> None:
    document = Client().get("/api/v1/openapi.json").json()
    assert "/api/v1/supervision/overview" in document["paths"]
