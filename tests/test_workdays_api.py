"""The working-day REST endpoints (answers, 409 for an unknown year, 422 with field paths) and the
calendar's Django admin (system administrators only; edits make a year administrator-kept)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client

from tests.factories import DivisionFactory, StaffUserFactory
from tongban.identity.models import DivisionLevel, Role, User
from tongban.workdays import selectors, services
from tongban.workdays.models import CalendarDay, CalendarSource, CalendarYear, DivisionCalendarDay

# these tests are about the shipped calendar's end: no test years after it
pytestmark = [pytest.mark.django_db, pytest.mark.shipped_calendar]

D = dt.date


@pytest.fixture(autouse=True)
def calendar() -> None:
    services.do_sync_chinese_calendar()


def get(client: Client, url: str, status: int = 200, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == status, response.content
    return response.json()


# --- API -----------------------------------------------------------------------------------------


def test_add(client: Client) -> None:
    body = get(client, "/api/v1/workdays/add", start="2025-01-24", days=5)
    assert body == {"start": "2025-01-24", "days": 5, "deadline": "2025-02-07", "division": None}
    body = get(client, "/api/v1/workdays/add", start="2025-09-26", days=6)
    assert body["deadline"] == "2025-10-11"
    body = get(client, "/api/v1/workdays/add", start="2025-01-25", days=0)
    assert body["deadline"] == "2025-01-26"


def test_add_in_a_division(client: Client) -> None:
    region = DivisionFactory(code="450000", name="广西壮族自治区", level=DivisionLevel.PROVINCE)
    DivisionFactory(code="450100", name="南宁市", parent=region)
    services.do_set_division_day(
        region, D(2025, 3, 31), is_workday=False, reason="三月三（示例）", entered_by="admin"
    )
    body = get(client, "/api/v1/workdays/add", start="2025-03-28", days=1, division="450100")
    assert body == {
        "start": "2025-03-28",
        "days": 1,
        "deadline": "2025-04-01",
        "division": "450100",
    }
    body = get(
        client, "/api/v1/workdays/add", start="2025-03-28", days=1, division="999999", status=404
    )
    assert body["code"] == "division_not_found"
    assert body["errors"][0]["path"] == "division"


def test_unknown_year_is_409_naming_the_field(client: Client) -> None:
    body = get(client, "/api/v1/workdays/add", start="2026-12-25", days=5, status=409)
    assert body["code"] == "calendar_unknown"
    assert "2027 年的工作日历尚未录入" in body["message"]
    assert body["errors"][0]["path"] == "start"
    body = get(client, "/api/v1/workdays/between", start="2026-12-25", end="2027-01-08", status=409)
    assert (body["code"], body["errors"][0]["path"]) == ("calendar_unknown", "end")
    body = get(client, "/api/v1/workdays/add", start="9999-12-31", days=1, status=409)
    assert "9999 年" in body["message"]
    # nothing is answered about a year the calendar does not know, an empty span included
    for start, end, path in (
        ("9999-12-31", "9999-12-31", "start"),
        ("1900-01-01", "2025-01-02", "start"),
    ):
        body = get(client, "/api/v1/workdays/between", start=start, end=end, status=409)
        assert (body["code"], body["errors"][0]["path"]) == ("calendar_unknown", path)
    body = get(client, "/api/v1/workdays/add", start="2030-06-03", days=0, status=409)
    assert body["errors"][0]["path"] == "start"
    assert "2030 年" in body["message"]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"start": "2025-01-24", "days": -1}, "days"),
        ({"start": "2025-01-24", "days": 3651}, "days"),
        ({"start": "2025-01-24", "days": "five"}, "days"),
        ({"start": "2025-02-30", "days": 5}, "start"),
        ({"start": "24/01/2025", "days": 5}, "start"),
        ({"days": 5}, "start"),
    ],
)
def test_add_refuses_bad_input_with_field_paths(
    client: Client, params: dict[str, Any], path: str
) -> None:
    body = get(client, "/api/v1/workdays/add", status=422, **params)
    assert body["code"] == "invalid_request"
    assert [e["path"] for e in body["errors"]] == [path]


def test_between(client: Client) -> None:
    body = get(client, "/api/v1/workdays/between", start="2025-01-24", end="2025-02-07")
    assert body == {"start": "2025-01-24", "end": "2025-02-07", "workdays": 5}
    body = get(client, "/api/v1/workdays/between", start="2025-09-30", end="2025-10-08")
    assert body["workdays"] == 0
    body = get(client, "/api/v1/workdays/between", start="2025-02-07", end="2025-01-24", status=422)
    assert (body["code"], body["errors"][0]["path"]) == ("end_before_start", "end")
    body = get(client, "/api/v1/workdays/between", start="2025-01-24", end="x", status=422)
    assert body["errors"][0]["path"] == "end"


def test_horizon(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tongban.api.workdays.timezone.localdate", lambda: D(2026, 11, 23))
    body = get(client, "/api/v1/workdays/calendar/horizon")
    assert body == {
        "today": "2026-11-23",
        "last_known_date": "2026-12-31",
        "days_left": 38,
        "warn": True,
        "missing_year": 2027,
    }
    monkeypatch.setattr("tongban.api.workdays.timezone.localdate", lambda: D(2026, 9, 1))
    body = get(client, "/api/v1/workdays/calendar/horizon")
    assert (body["days_left"], body["warn"]) == (121, False)


def test_years(client: Client, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(1):
        body = get(client, "/api/v1/workdays/years")
    assert [y["year"] for y in body] == list(range(2026, 2003, -1))
    first = body[0]
    assert {k: first[k] for k in ("year", "source", "notice", "holidays", "makeup_workdays")} == {
        "year": 2026,
        "source": "chinese_calendar",
        "notice": "",
        "holidays": 33,
        "makeup_workdays": 6,
    }
    assert "entered_by" not in first  # staff account names are not published

    detail = get(client, "/api/v1/workdays/years/2025")
    assert detail["year"] == 2025
    days = {d["date"]: (d["kind"], d["name"]) for d in detail["days"]}
    assert days["2025-01-26"] == ("makeup_workday", "春节")
    assert days["2025-10-06"] == ("holiday", "中秋节")
    assert len(days) == 33
    body = get(client, "/api/v1/workdays/years/2030", status=404)
    assert body["code"] == "calendar_year_not_found"


def test_openapi_lists_the_endpoints(client: Client) -> None:
    paths = get(client, "/api/v1/openapi.json")["paths"]
    for path in (
        "/api/v1/workdays/add",
        "/api/v1/workdays/between",
        "/api/v1/workdays/calendar/horizon",
        "/api/v1/workdays/years",
        "/api/v1/workdays/years/{year}",
    ):
        assert paths[path]["get"]["tags"] == ["workdays"], path
    assert "409" in paths["/api/v1/workdays/add"]["get"]["responses"]


# --- admin ---------------------------------------------------------------------------------------

PAGES = [
    "/admin/workdays/calendaryear/",
    "/admin/workdays/calendaryear/add/",
    "/admin/workdays/calendarday/",
    "/admin/workdays/divisioncalendarday/",
    "/admin/workdays/divisioncalendarday/add/",
]


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def system_admin() -> User:
    return StaffUserFactory(roles=[Role.SYSTEM_ADMIN])


@pytest.mark.parametrize("url", PAGES)
def test_admin_pages_are_for_system_administrators(url: str, system_admin: User) -> None:
    response = client_for(None).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")
    catalog_admin = StaffUserFactory(roles=[Role.CATALOG_ADMIN])
    assert client_for(catalog_admin).get(url).status_code == 403
    assert client_for(system_admin).get(url).status_code == 200


def test_year_change_page_and_search(system_admin: User) -> None:
    client = client_for(system_admin)
    year = CalendarYear.objects.get(year=2025)
    response = client.get(f"/admin/workdays/calendaryear/{year.pk}/change/")
    assert response.status_code == 200
    assert "2025-01-26" in response.content.decode()
    response = client.get("/admin/workdays/calendaryear/", {"q": "中秋节"})
    years = [y.year for y in response.context["cl"].result_list]
    assert 2025 in years
    assert 2005 not in years
    response = client.get("/admin/workdays/calendarday/", {"q": "春节", "kind": "makeup_workday"})
    assert response.status_code == 200
    assert (
        response.context["cl"].result_count
        == CalendarDay.objects.filter(name="春节", kind="makeup_workday").count()
    )


def _inline(prefix: str, rows: list[dict[str, str]], initial: int = 0) -> dict[str, str]:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(rows)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


def test_system_admin_enters_a_year_with_its_days(system_admin: User) -> None:
    client = client_for(system_admin)
    rows = [
        {"date": "2027-01-01", "kind": "holiday", "name": "元旦"},
        {"date": "2027-02-17", "kind": "makeup_workday", "name": "春节"},  # a Wednesday
    ]
    data = {"year": "2027", "notice": "国办发明电〔2026〕样例号", **_inline("days", rows)}
    response = client.post("/admin/workdays/calendaryear/add/", data)
    assert response.status_code == 200  # the form again, with the error
    assert "调休上班日必须是周六或周日" in response.content.decode()
    assert not CalendarYear.objects.filter(year=2027).exists()

    rows[1]["date"] = "2027-02-13"
    rows.append({"date": "2026-12-31", "kind": "holiday", "name": "元旦"})
    response = client.post("/admin/workdays/calendaryear/add/", {**data, **_inline("days", rows)})
    assert "不在 2027 年内" in response.content.decode()

    rows.pop()
    response = client.post("/admin/workdays/calendaryear/add/", {**data, **_inline("days", rows)})
    assert response.status_code == 302, response.content.decode()
    year = CalendarYear.objects.get(year=2027)
    assert (year.source, year.entered_by) == (CalendarSource.ADMINISTRATOR, system_admin.username)
    assert year.days.count() == 2
    assert selectors.add_workdays(D(2026, 12, 31), 1) == D(2027, 1, 4)
    assert selectors.is_workday(D(2027, 2, 13))


def test_editing_a_package_year_makes_it_the_administrators(system_admin: User) -> None:
    client = client_for(system_admin)
    year = CalendarYear.objects.get(year=2025)
    days = list(year.days.order_by("date"))
    rows = [
        {
            "id": str(d.pk),
            "year": str(year.pk),
            "date": d.date.isoformat(),
            "kind": d.kind,
            "name": d.name,
        }
        for d in days
    ]
    url = f"/admin/workdays/calendaryear/{year.pk}/change/"
    data = {"year": "2025", "notice": "", **_inline("days", rows, initial=len(rows))}
    assert client.post(url, data).status_code == 302  # nothing changed
    year.refresh_from_db()
    assert year.source == CalendarSource.CHINESE_CALENDAR

    data["notice"] = "国办发明电〔2024〕12号"
    data["days-0-DELETE"] = "on"  # 1 Jan 2025 元旦
    assert client.post(url, data).status_code == 302
    year.refresh_from_db()
    assert (year.source, year.notice, year.entered_by) == (
        CalendarSource.ADMINISTRATOR,
        "国办发明电〔2024〕12号",
        system_admin.username,
    )
    assert selectors.is_workday(D(2025, 1, 1))
    assert services.do_sync_chinese_calendar().kept_administrator == [2025]
    assert selectors.is_workday(D(2025, 1, 1))


def test_days_are_read_only_in_their_own_list(system_admin: User) -> None:
    day = CalendarDay.objects.get(date=D(2025, 1, 26))
    client = client_for(system_admin)
    url = f"/admin/workdays/calendarday/{day.pk}/change/"
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"year": day.year_id, "date": "2025-01-26", "kind": "holiday", "name": "x"}
    )
    assert response.status_code == 403


def test_system_admin_adds_a_division_override(system_admin: User) -> None:
    division = DivisionFactory(code="450000", name="广西壮族自治区", level=DivisionLevel.PROVINCE)
    data = {
        "division": str(division.pk),
        "date": "2025-03-31",
        "is_workday": "",
        "reason": "壮族三月三（示例）",
    }
    response = client_for(system_admin).post("/admin/workdays/divisioncalendarday/add/", data)
    assert response.status_code == 302, response.content.decode()
    row = DivisionCalendarDay.objects.get()
    assert row.entered_by == system_admin.username
    assert not selectors.is_workday(D(2025, 3, 31), "450000")
    assert selectors.is_workday(D(2025, 3, 31))
