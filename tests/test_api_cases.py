"""The case API: the permission matrix on every endpoint (anonymous / other applicant /
other-department staff / right staff), 409 and 422 answers, and two staff acting at once."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases.models import Case, CaseTask, TaskState
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import Conflict
from tongban.identity.models import Department
from tongban.workdays.services import do_sync_chinese_calendar

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


class World:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        self.applicant = ApplicantFactory()
        self.other_applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.reviewer_two = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga = StaffUserFactory(
            department=Department.objects.get(code="3301-GA"), roles=["reviewer"]
        )
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.other_staff = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["window", "reviewer", "department_head"],
        )
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"entity": "individual"},
        )
        self.case = submit_draft(self.applicant, draft.pk)

    @property
    def number(self) -> str:
        assert self.case.number is not None
        return self.case.number


@pytest.fixture
def world(tmp_path: Path, db: None) -> World:
    import_catalog(sample(tmp_path))
    return World()


def as_user(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type="application/json")


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("other_applicant", 404), ("other_staff", 404), ("window", 200)],
)
def test_accept_permission_matrix(world: World, who: str, status: int) -> None:
    user = None if who == "anonymous" else getattr(world, who)
    response = post(as_user(user), f"/api/v1/cases/{world.number}/accept")
    assert response.status_code == status, response.content
    world.case.refresh_from_db()
    assert (world.case.state == "in_review") == (status == 200)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("other_applicant", 404),
        ("other_staff", 404),
        ("applicant", 200),
        ("window", 200),
        ("ga", 200),
    ],
)
def test_reading_a_case(world: World, who: str, status: int) -> None:
    if who == "ga":
        perform(world.window, world.number, "accept")  # 公安 sees it once it has a task
    user = None if who == "anonymous" else getattr(world, who)
    client = as_user(user)
    for url in (f"/api/v1/cases/{world.number}", f"/api/v1/cases/{world.number}/events"):
        assert client.get(url).status_code == status, url


def test_each_review_action_needs_the_right_department(world: World) -> None:
    perform(world.window, world.number, "accept")
    task = CaseTask.objects.get(case=world.case, department__code="3301-SCJG", stage=1)
    url = f"/api/v1/cases/{world.number}/approve_task"
    assert post(as_user(world.ga), url, {"task": task.pk}).status_code == 403
    assert post(as_user(world.other_staff), url, {"task": task.pk}).status_code == 404
    assert post(as_user(world.applicant), url, {"task": task.pk}).status_code == 403
    response = post(as_user(world.reviewer), url, {"task": task.pk, "opinion": "符合"})
    assert response.status_code == 200
    body = response.json()
    assert {t["state"] for t in body["tasks"] if t["stage"] == 1} == {"approved", "open"}


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 401),
        ("other_applicant", 404),
        ("other_staff", 404),
        ("reviewer", 403),  # 市场监管 reviewer, not 公安's task
        ("ga", 200),
    ],
)
def test_countersign_permission_matrix(world: World, who: str, status: int) -> None:
    perform(world.window, world.number, "accept")
    task = CaseTask.objects.get(case=world.case, department__code="3301-GA")
    user = None if who == "anonymous" else getattr(world, who)
    body = {"task": task.pk, "department": "330106-SCJG", "reason": "涉及区属", "limit_days": 3}
    response = post(as_user(user), f"/api/v1/cases/{world.number}/countersign", body)
    assert response.status_code == status, response.content
    created = CaseTask.objects.filter(countersign_for=task)
    assert created.exists() == (status == 200)
    if status == 200:
        (co,) = [t for t in response.json()["tasks"] if t["countersign_for"] == task.pk]
        assert (co["department_code"], co["state"], co["limit_days"]) == ("330106-SCJG", "open", 3)


def test_tolerated_acceptance_through_the_api(world: World) -> None:
    response = post(
        as_user(world.window),
        f"/api/v1/cases/{world.number}/accept",
        {"tolerated": ["nope"], "tolerance_days": 5},
    )
    assert response.status_code == 422  # the key reaches the service and is checked there
    assert response.json()["errors"][0]["path"].startswith("tolerated")


def test_conflict_and_validation_answers(world: World) -> None:
    response = post(
        as_user(world.head), f"/api/v1/cases/{world.number}/decide", {"outcome": "approved"}
    )
    assert response.status_code == 409  # the head may decide, but not before review
    response = post(as_user(world.window), f"/api/v1/cases/{world.number}/close")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert {"path": "state", "message": "submitted"} in body["errors"]
    allowed = {e["message"] for e in body["errors"] if e["path"] == "allowed"}
    assert allowed == {"accept", "refuse", "request_correction"}
    response = post(
        as_user(world.window),
        f"/api/v1/cases/{world.number}/request_correction",
        {"items": [{"material": "nope", "problem": "x"}]},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "items[0].material"
    response = post(as_user(world.window), f"/api/v1/cases/{world.number}/refuse", {"reason": 12})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "reason"


def test_apply_through_the_api(world: World) -> None:
    client = as_user(world.applicant)
    response = post(
        client,
        "/api/v1/cases",
        {"item": "SC-FOOD-001", "division": "330100", "answers": {"area": "很大"}},
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "answers.area"
    response = post(
        client,
        "/api/v1/cases",
        {"item": "SC-FOOD-001", "division": "330100", "answers": {"area": 80}},
    )
    assert response.status_code == 201
    draft = response.json()
    assert draft["number"] is None
    other = post(as_user(world.other_applicant), f"/api/v1/cases/drafts/{draft['id']}/submit")
    assert other.status_code == 404
    # an incomplete application is not submitted: every missing field and material is named
    response = post(client, f"/api/v1/cases/drafts/{draft['id']}/submit")
    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {
        "form.site_area",
        "materials.application",
    }  # the operator's name and ID number came from the verified identity, the ID card from
    # shared data (免提交)
    assert Case.objects.get(pk=draft["id"]).number is None
    form = f"/api/v1/cases/drafts/{draft['id']}/form"
    bad = client.put(form, {"form": {"site_area": "很大"}}, content_type="application/json")
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "form.site_area"
    response = client.put(form, {"form": {"site_area": 80}}, content_type="application/json")
    assert response.status_code == 200
    assert Case.objects.get(pk=draft["id"]).form_data["site_area"] == "80"
    materials = f"/api/v1/cases/drafts/{draft['id']}/materials"
    lying = SimpleUploadedFile("申请书.pdf", b"MZ\x90\x00 not a pdf")
    response = client.post(f"{materials}/application", {"file": lying})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "file"
    upload = SimpleUploadedFile("申请书.pdf", PDF)
    denied = as_user(world.other_applicant).post(f"{materials}/application", {"file": upload})
    assert denied.status_code == 404
    response = client.post(f"{materials}/application", {"file": SimpleUploadedFile("a.pdf", PDF)})
    assert response.status_code == 201, response.content
    assert (response.json()["material"], response.json()["format"]) == ("application", "pdf")
    response = post(client, f"/api/v1/cases/drafts/{draft['id']}/submit")
    assert response.status_code == 200
    assert response.json()["number"].startswith("330100-")
    assert response.json()["actions"] == ["withdraw"]
    again = post(client, f"/api/v1/cases/drafts/{draft['id']}/submit")
    assert again.status_code == 409
    # a submitted case's form can no longer be changed
    locked = client.put(form, {"form": {"site_area": 90}}, content_type="application/json")
    assert locked.status_code == 409


def test_a_draft_with_an_invalid_form_is_not_created(world: World) -> None:
    client = as_user(world.applicant)
    drafts = Case.objects.filter(state="draft").count()
    response = post(
        client,
        "/api/v1/cases",
        {
            "item": "SC-FOOD-001",
            "division": "330100",
            "answers": {"area": 80},
            "form": {"site_area": "not a number", "shop": {"nested": 1}},
        },
    )
    assert response.status_code == 422
    assert {e["path"] for e in response.json()["errors"]} == {"form.shop"}
    response = post(
        client,
        "/api/v1/cases",
        {
            "item": "SC-FOOD-001",
            "division": "330100",
            "answers": {"area": 80},
            "form": {"site_area": "not a number"},
        },
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "form.site_area"
    assert Case.objects.filter(state="draft").count() == drafts  # nothing half-written
    assert (
        post(
            as_user(None), "/api/v1/cases", {"item": "SC-FOOD-001", "division": "330100"}
        ).status_code
        == 401
    )


def test_openapi_lists_every_action(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    for action in (
        "accept",
        "refuse",
        "request_correction",
        "supplement",
        "approve_task",
        "reject_task",
        "send_back",
        "suspend",
        "resume",
        "extend",
        "decide",
        "deliver",
        "close",
        "withdraw",
    ):
        assert f"/api/v1/cases/{{number}}/{action}" in paths


@pytest.mark.django_db(transaction=True)
def test_two_reviewers_on_one_task_exactly_one_wins(tmp_path: Path) -> None:
    """Real concurrent connections: both start together; the lock (a row lock on PostgreSQL, the
    write lock of SQLite's immediate transactions) makes the second wait and then find the task
    done."""
    do_sync_chinese_calendar()  # a transactional test starts from an emptied database
    import_catalog(sample(tmp_path))
    world = World()
    perform(world.window, world.number, "accept")
    task = CaseTask.objects.get(case=world.case, department__code="3301-SCJG", stage=1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(user: Any) -> None:
        try:
            barrier.wait()
            perform(user, world.number, "approve_task", {"task": task.pk, "opinion": "同意"})
            outcomes.append("ok")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=act, args=(u,)) for u in (world.reviewer, world.reviewer_two)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "ok"]
    task.refresh_from_db()
    assert task.state == TaskState.APPROVED
    case = Case.objects.get(pk=world.case.pk)
    assert case.events.filter(action="approve_task").count() == 1


def test_a_correction_is_answered_through_the_api(world: World) -> None:
    window = as_user(world.window)
    response = post(
        window,
        f"/api/v1/cases/{world.number}/request_correction",
        {"items": [{"material": "application", "problem": "申请书未签字"}]},
    )
    assert response.status_code == 200, response.content
    upload = f"/api/v1/cases/{world.number}/materials/application"
    refused = {
        "anonymous": as_user(None).post(upload, {"file": SimpleUploadedFile("a.pdf", PDF)}),
        "other_applicant": as_user(world.other_applicant).post(
            upload, {"file": SimpleUploadedFile("a.pdf", PDF)}
        ),
        "other_staff": as_user(world.other_staff).post(
            upload, {"file": SimpleUploadedFile("a.pdf", PDF)}
        ),
        "window": window.post(upload, {"file": SimpleUploadedFile("a.pdf", PDF)}),
    }
    assert {who: r.status_code for who, r in refused.items()} == {
        "anonymous": 401,
        "other_applicant": 404,
        "other_staff": 404,
        "window": 403,  # staff see the case but only the applicant files its materials
    }
    applicant = as_user(world.applicant)
    response = applicant.post(upload, {"file": SimpleUploadedFile("申请书（已签字）.pdf", PDF)})
    assert response.status_code == 201, response.content
    response = post(applicant, f"/api/v1/cases/{world.number}/supplement")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "submitted"
    events = applicant.get(f"/api/v1/cases/{world.number}/events").json()
    assert [e["action"] for e in events][-2:] == ["attach_material", "supplement"]
