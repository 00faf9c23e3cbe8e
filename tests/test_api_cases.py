"""The case API: the permission matrix on every endpoint (anonymous / other applicant /
other-department staff / right staff), 409 and 422 answers, and two staff acting at once."""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from freezegun import freeze_time

from tests import case_actions
from tests.case_actions import ACTIONS, PDF, World, as_user
from tests.catalog_fixtures import sample, write_catalog
from tests.factories import (
    ApplicantFactory,
    EnterpriseAgentFactory,
    EnterpriseFactory,
    StaffUserFactory,
)
from tests.multipart import CONTENT_TYPE, multipart_body
from tongban.cases.applications import application_of
from tongban.cases.materials import check_attach_material
from tongban.cases.models import Case, CaseMaterial, CaseTask, TaskState
from tongban.cases.services import perform, submit_draft
from tongban.cases.transitions import TRANSITIONS
from tongban.catalog.services import import_catalog
from tongban.core.errors import Conflict
from tongban.identity.models import Department, Division
from tongban.workdays.services import do_sync_chinese_calendar

world = case_actions.world  # the shared fixture, under the name the tests ask for


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


ANSWERED = {"entity": "individual", "area": 80, "cold": False}  # every 情形 question


# Every action: who must not reach it (401, 404), who sees the case but may not act (403) and
# who may (200).
MATRIX = [
    pytest.param(name, who, status, id=f"{name}-{who}")
    for name, action in ACTIONS.items()
    for who, status in [
        ("anonymous", 401),
        ("other_applicant", 404),
        ("other_staff", 404),  # staff of a district department: the city case is not theirs
        *((refused, 403) for refused in action.refused),
        (action.actor, 200),
    ]
]


def test_the_matrix_covers_every_action() -> None:
    assert set(ACTIONS) == set(TRANSITIONS)


@pytest.mark.parametrize(("name", "who", "status"), MATRIX)
def test_action_permission_matrix(world: World, name: str, who: str, status: int) -> None:
    action = ACTIONS[name]
    getattr(world, action.start)()
    before = Case.objects.get(pk=world.case.pk)
    user = None if who == "anonymous" else getattr(world, who)
    response = post(as_user(user), f"/api/v1/cases/{world.number}/{name}", action.body(world))
    assert response.status_code == status, response.content
    case = Case.objects.get(pk=world.case.pk)
    last = case.events.order_by("-sequence").first()
    assert last is not None
    if status == 200:
        assert response.json()["state"] == case.state == action.after
        assert (last.action, last.actor_id, last.sequence) == (
            name,
            user.pk,
            before.event_count + 1,
        )
    else:
        if status != 401:
            assert response.json()["code"] == {403: "not_allowed", 404: "case_not_found"}[status]
        assert (case.state, case.event_count) == (before.state, before.event_count)
        assert last.sequence == before.event_count


@pytest.mark.parametrize("name", list(ACTIONS))
def test_an_action_in_the_wrong_state_names_the_state_and_what_is_allowed(
    world: World, name: str
) -> None:
    action = ACTIONS[name]
    getattr(world, action.wrong_state)()
    client = as_user(getattr(world, action.actor))
    response = post(client, f"/api/v1/cases/{world.number}/{name}", action.body(world))
    assert response.status_code == 409, response.content
    body = response.json()
    case = Case.objects.get(pk=world.case.pk)
    assert body["code"] == "invalid_transition"
    assert case.get_state_display() in body["message"]
    assert [e["message"] for e in body["errors"] if e["path"] == "state"] == [case.state]
    allowed = [e["message"] for e in body["errors"] if e["path"] == "allowed"]
    assert name not in allowed
    assert allowed == client.get(f"/api/v1/cases/{world.number}").json()["actions"]
    labels = "、".join(TRANSITIONS[a].label for a in allowed) or "无"
    assert f"当前可执行：{labels}" in body["message"]  # in words; the names are at ``allowed``


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


@pytest.mark.parametrize("action", ["countersign", "transfer_task"])
def test_routing_to_a_department_outside_the_case_s_region_is_refused(
    world: World, action: str
) -> None:
    ningbo = Division.objects.create(
        code="330200", name="宁波市", level="city", parent=Division.objects.get(code="330000")
    )
    Department.objects.create(code="3302-SCJG", name="宁波市市场监督管理局", division=ningbo)
    perform(world.window, world.number, "accept")
    task = CaseTask.objects.get(case=world.case, department__code="3301-GA")
    tasks, events = world.case.tasks.count(), world.case.events.count()
    body = {"task": task.pk, "department": "3302-SCJG", "reason": "需协同", "limit_days": 3}
    response = post(as_user(world.ga), f"/api/v1/cases/{world.number}/{action}", body)
    assert response.status_code == 422, response.content
    answer = response.json()
    assert answer["code"] == "department_out_of_scope"
    assert [e["path"] for e in answer["errors"]] == ["department"]
    assert "宁波市市场监督管理局" in answer["errors"][0]["message"]
    task.refresh_from_db()
    assert task.department.code == "3301-GA"
    assert (world.case.tasks.count(), world.case.events.count()) == (tasks, events)


@pytest.mark.parametrize(
    ("items", "paths"),
    [
        ([{"material": "application", "problem": 5}], ["items[0].problem"]),
        ([{"material": ["x"], "problem": "缺少签字"}], ["items[0].material"]),
        (
            [{"material": "application", "problem": "缺少签字"}, {"material": {"k": 1}}],
            ["items[1].material", "items[1].problem"],
        ),
    ],
)
def test_correction_items_of_the_wrong_shape_are_a_422(
    world: World, items: list[Any], paths: list[str]
) -> None:
    events = world.case.events.count()
    response = post(
        as_user(world.window),
        f"/api/v1/cases/{world.number}/request_correction",
        {"items": items},
    )
    assert response.status_code == 422, response.content
    assert [e["path"] for e in response.json()["errors"]] == paths
    world.case.refresh_from_db()
    assert world.case.state == "submitted"
    assert not world.case.corrections.exists()
    assert world.case.events.count() == events


def test_a_correction_item_that_is_not_an_object_is_a_422(world: World) -> None:
    response = post(
        as_user(world.window),
        f"/api/v1/cases/{world.number}/request_correction",
        {"items": ["application"]},
    )
    assert response.status_code == 422, response.content
    assert response.json()["errors"][0]["path"].startswith("items")
    assert not world.case.corrections.exists()


def test_extending_after_the_deadline_is_a_409(world: World) -> None:
    with freeze_time("2025-03-03 09:00:00+08:00"):
        perform(world.window, world.number, "accept")
    with freeze_time("2025-03-18 09:00:00+08:00"):
        response = post(
            as_user(world.head),
            f"/api/v1/cases/{world.number}/extend",
            {"days": 5, "reason": "情况复杂"},
        )
    assert response.status_code == 409, response.content
    answer = response.json()
    assert answer["code"] == "extension_after_deadline"
    assert "2025年03月17日" in answer["message"]
    assert {"path": "state", "message": "in_review"} in answer["errors"]
    world.case.refresh_from_db()
    assert world.case.extended_days == 0


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
    # every question the answers lead to is answered first: until then the materials are open
    before = Case.objects.count()
    response = post(
        client,
        "/api/v1/cases",
        {"item": "SC-FOOD-001", "division": "330100", "answers": {"area": 80}},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unanswered"
    assert {e["path"] for e in response.json()["errors"]} == {"answers.entity", "answers.cold"}
    assert Case.objects.count() == before
    response = post(
        client, "/api/v1/cases", {"item": "SC-FOOD-001", "division": "330100", "answers": ANSWERED}
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
        "materials.id_card",  # 户籍 has no record of this person: the file is needed after all
    }  # the operator's name and ID number came from the verified identity
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
    response = client.post(f"{materials}/id_card", {"file": SimpleUploadedFile("b.pdf", PDF)})
    assert response.status_code == 201, response.content
    response = post(client, f"/api/v1/cases/drafts/{draft['id']}/submit")
    assert response.status_code == 200
    assert response.json()["number"].startswith("330100-")
    assert response.json()["actions"] == ["withdraw"]
    again = post(client, f"/api/v1/cases/drafts/{draft['id']}/submit")
    assert again.status_code == 409
    # a submitted case's form can no longer be changed
    locked = client.put(form, {"form": {"site_area": 90}}, content_type="application/json")
    assert locked.status_code == 409


# --- drafts: only their applicant acts on them ---------------------------------------------------
# staff of another department, and of the department that will handle the application
DRAFT_MATRIX = [
    ("anonymous", 401),
    ("other_applicant", 404),
    ("other_staff", 404),
    ("window", 404),
    ("reviewer", 404),
    ("head", 404),
    ("applicant", 200),
]


def _draft(world: World) -> int:
    body = {"item": "SC-FOOD-001", "division": "330100", "answers": ANSWERED}
    response = post(as_user(world.applicant), "/api/v1/cases", {**body, "form": {"site_area": 80}})
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def _user(world: World, who: str) -> Any:
    return None if who == "anonymous" else getattr(world, who)


def test_an_infinite_answer_is_a_422_and_nothing_is_stored(world: World) -> None:
    before = Case.objects.count()
    body = '{"item": "SC-FOOD-001", "division": "330100", "answers": {"area": 1e999}}'
    response = as_user(world.applicant).post("/api/v1/cases", body, content_type="application/json")
    assert response.status_code == 422, response.content
    assert [e["path"] for e in response.json()["errors"]] == ["answers.area"]
    assert Case.objects.count() == before


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("window", 403), ("other_staff", 403), ("applicant", 201)],
)
def test_create_draft_permission_matrix(world: World, who: str, status: int) -> None:
    before = Case.objects.count()
    body = {"item": "SC-FOOD-001", "division": "330100", "answers": ANSWERED}
    response = post(as_user(_user(world, who)), "/api/v1/cases", body)
    assert response.status_code == status, response.content
    if status == 403:
        assert response.json()["code"] == "applicant_required"
    assert Case.objects.count() == before + (status == 201)


@pytest.mark.parametrize(("who", "status"), DRAFT_MATRIX)
def test_save_form_permission_matrix(world: World, who: str, status: int) -> None:
    draft = _draft(world)
    response = as_user(_user(world, who)).put(
        f"/api/v1/cases/drafts/{draft}/form",
        {"form": {"site_area": 95}},
        content_type="application/json",
    )
    assert response.status_code == status, response.content
    if status == 404:
        assert response.json()["code"] == "draft_not_found"
    saved = Case.objects.get(pk=draft).form_data["site_area"]
    assert saved == ("95" if status == 200 else "80")


@pytest.mark.parametrize(("who", "status"), [(w, 201 if s == 200 else s) for w, s in DRAFT_MATRIX])
def test_draft_material_permission_matrix(world: World, who: str, status: int) -> None:
    draft = _draft(world)
    upload = SimpleUploadedFile("申请书.pdf", PDF)
    response = as_user(_user(world, who)).post(
        f"/api/v1/cases/drafts/{draft}/materials/application", {"file": upload}
    )
    assert response.status_code == status, response.content
    if status == 404:
        assert response.json()["code"] == "case_not_found"
    assert CaseMaterial.objects.filter(case_id=draft).exists() == (status == 201)


@pytest.mark.parametrize(("who", "status"), DRAFT_MATRIX)
def test_submit_permission_matrix(world: World, who: str, status: int) -> None:
    draft = _draft(world)
    check_attach_material(world.applicant, draft, "application", "申请书.pdf", PDF)
    check_attach_material(world.applicant, draft, "id_card", "身份证.pdf", PDF)
    response = post(as_user(_user(world, who)), f"/api/v1/cases/drafts/{draft}/submit")
    assert response.status_code == status, response.content
    if status == 404:
        assert response.json()["code"] == "draft_not_found"
    case = Case.objects.get(pk=draft)
    assert (case.state == "submitted") == (case.number is not None) == (status == 200)


def test_a_draft_s_answers_are_changed_and_what_applies_follows(world: World) -> None:
    draft = _draft(world)  # 80 m², no cold food; the form has the site area
    url = f"/api/v1/cases/drafts/{draft}/answers"
    client = as_user(world.applicant)

    def put(user: Any, answers: dict[str, Any]) -> Any:
        body = {"answers": answers}
        return as_user(user).put(url, body, content_type="application/json")

    bigger = {**ANSWERED, "area": 400, "cold": True}  # leads to the cold-room question
    response = put(world.applicant, bigger)
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["answers.cold_room"]
    assert Case.objects.get(pk=draft).answers == ANSWERED  # nothing changed
    assert put(world.applicant, {**bigger, "area": "很大"}).status_code == 422
    for who, status in (("other_applicant", 404), ("window", 404), ("other_staff", 404)):
        assert put(getattr(world, who), {**bigger, "cold_room": False}).status_code == status
    assert put(None, {**bigger, "cold_room": False}).status_code == 401
    response = put(world.applicant, {**bigger, "cold_room": False})
    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=draft)
    assert case.answers == {**bigger, "cold_room": False}
    applying = {m.key for m in application_of(case).materials}
    assert {"layout", "cold_process"} <= applying  # over 300 m², cold food
    assert case.form_data["site_area"] == "80"
    response = put(world.applicant, {"entity": "individual", "area": 0})  # no site any more
    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=draft)
    assert "site_area" not in case.form_data  # its field no longer applies
    assert case.form_data["operator_id"] == world.applicant.person.id_number
    check_attach_material(world.applicant, draft, "application", "申请书.pdf", PDF)
    check_attach_material(world.applicant, draft, "id_card", "身份证.pdf", PDF)
    assert post(client, f"/api/v1/cases/drafts/{draft}/submit").status_code == 200
    assert put(world.applicant, ANSWERED).status_code == 409  # submitted: answers are final


def test_a_draft_with_an_invalid_form_is_not_created(world: World) -> None:
    client = as_user(world.applicant)
    drafts = Case.objects.filter(state="draft").count()
    response = post(
        client,
        "/api/v1/cases",
        {
            "item": "SC-FOOD-001",
            "division": "330100",
            "answers": ANSWERED,
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
            "answers": ANSWERED,
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


@pytest.mark.parametrize("file_name", [b"\xff\xfe.pdf", "申请书.pdf".encode("gbk")])
def test_a_file_name_that_is_not_utf8_is_a_422_at_file(world: World, file_name: bytes) -> None:
    draft = _draft(world)
    client = as_user(world.applicant)
    url = f"/api/v1/cases/drafts/{draft}/materials/application"
    body = multipart_body(files={"file": (file_name, PDF)})
    response = client.post(url, body, content_type=CONTENT_TYPE)
    assert response.status_code == 422, response.content
    answer = response.json()
    assert answer["code"] == "unreadable_file_name"
    assert [e["path"] for e in answer["errors"]] == ["file"]
    assert "文件名无法识别" in answer["errors"][0]["message"]
    assert not CaseMaterial.objects.filter(case_id=draft).exists()
    # the same body with a UTF-8 name: stored, its content byte for byte
    body = multipart_body(files={"file": ("申请书.pdf".encode(), PDF)})
    response = client.post(url, body, content_type=CONTENT_TYPE)
    assert response.status_code == 201, response.content
    assert response.json()["file_name"] == "申请书.pdf"
    assert CaseMaterial.objects.get(case_id=draft).file.read() == PDF
    # a multipart body sent to a JSON endpoint is read whole, as before: not JSON
    form = client.put(f"/api/v1/cases/drafts/{draft}/form", body, content_type=CONTENT_TYPE)
    assert form.status_code == 400, form.content
    assert form.json()["code"] == "malformed_json"
    # who may not upload is told so first, as before
    assert as_user(None).post(url, body, content_type=CONTENT_TYPE).status_code == 401
    other = as_user(world.other_applicant).post(url, body, content_type=CONTENT_TYPE)
    assert other.status_code == 404


def test_an_unknown_form_key_is_a_422_and_nothing_is_saved(world: World) -> None:
    draft = _draft(world)
    client = as_user(world.applicant)
    url = f"/api/v1/cases/drafts/{draft}/form"
    response = client.put(
        url, {"form": {"site_area": 95, "zz": "x"}}, content_type="application/json"
    )
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert [e["path"] for e in errors] == ["form.zz"]
    assert "未知字段" in errors[0]["message"]
    assert "zz" in errors[0]["message"]
    assert Case.objects.get(pk=draft).form_data["site_area"] == "80"  # nothing saved
    drafts = Case.objects.count()
    body = {"item": "SC-FOOD-001", "division": "330100", "answers": ANSWERED, "form": {"zz": 1}}
    response = post(client, "/api/v1/cases", body)
    assert response.status_code == 422, response.content
    assert [e["path"] for e in response.json()["errors"]] == ["form.zz"]
    assert Case.objects.count() == drafts  # no draft either


def test_a_form_value_for_a_field_the_answers_leave_out_is_dropped(world: World) -> None:
    client = as_user(world.applicant)
    body = {"item": "SC-FOOD-001", "division": "330100", "answers": {"entity": "individual"}}
    response = post(client, "/api/v1/cases", {**body, "answers": {**body["answers"], "area": 0}})
    assert response.status_code == 201, response.content
    draft = response.json()["id"]
    # 经营面积 is the item's field, but with no site it does not apply: dropped, not refused
    url = f"/api/v1/cases/drafts/{draft}/form"
    response = client.put(url, {"form": {"site_area": 95}}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert "site_area" not in Case.objects.get(pk=draft).form_data


STAFF_COUNT = """\
schema: tongban-catalog/1
data_elements:
  - {code: staff_count, name: 从业人数, type: integer}
items:
  - code: SC-STAFF-001
    name: 从业人员备案（示例）
    type: filing
    department: 3301-SCJG
    legal_basis: 示例
    acceptance_conditions: 示例
    promised_limit_days: 5
    applicant_types: [person]
    fields:
      - {key: staff, label: 从业人数, element: staff_count}
"""


def test_an_integer_of_too_many_digits_is_a_422_in_words(world: World, tmp_path: Path) -> None:
    import_catalog(write_catalog(tmp_path / "staff", staff=STAFF_COUNT))
    client = as_user(world.applicant)
    response = post(client, "/api/v1/cases", {"item": "SC-STAFF-001", "division": "330100"})
    assert response.status_code == 201, response.content
    draft = response.json()["id"]
    url = f"/api/v1/cases/drafts/{draft}/form"
    for body in (
        json.dumps({"form": {"staff": "9" * 4301}}),
        '{"form": {"staff": ' + "9" * 4301 + "}}",  # as a JSON number: still well-formed
        json.dumps({"form": {"staff": "-" + "0" * 4301}}),
    ):
        response = client.put(url, body, content_type="application/json")
        assert response.status_code == 422, response.content
        errors = response.json()["errors"]
        assert [e["path"] for e in errors] == ["form.staff"]
        assert "数字位数过多" in errors[0]["message"]
        assert "Exceeds" not in response.content.decode()
        assert Case.objects.get(pk=draft).form_data.get("staff") is None
    response = client.put(url, {"form": {"staff": "9" * 4300}}, content_type="application/json")
    assert response.status_code == 200, response.content
    assert Case.objects.get(pk=draft).form_data["staff"] == int("9" * 4300)
    response = client.put(url, {"form": {"staff": "12人"}}, content_type="application/json")
    assert response.json()["errors"][0]["message"] == "请填写整数"  # the other checks stand


MALFORMED = [
    pytest.param(b'{"a":', id="cut-short"),
    pytest.param(b"[1, 2]", id="array"),
    pytest.param(b'"text"', id="string"),
    pytest.param(b"{'a': 1}", id="single-quotes"),
    pytest.param(b'{"reason": "\xff"}', id="not-utf8"),
]


@pytest.mark.parametrize("body", MALFORMED)
def test_a_body_that_is_not_a_json_object_is_a_400_in_the_house_shape(
    world: World, body: bytes
) -> None:
    draft = _draft(world)
    before = Case.objects.get(pk=world.case.pk)
    drafts = Case.objects.count()
    client = as_user(world.applicant)
    window = as_user(world.window)
    for response in (
        client.post("/api/v1/cases", body, content_type="application/json"),
        client.put(f"/api/v1/cases/drafts/{draft}/form", body, content_type="application/json"),
        window.post(f"/api/v1/cases/{world.number}/accept", body, content_type="application/json"),
        as_user(None).post(
            "/api/v1/items/SC-FOOD-001/guide", body, content_type="application/json"
        ),
    ):
        assert response.status_code == 400, response.content
        answer = response.json()
        assert answer["code"] == "malformed_json"
        assert answer["message"] == "请求体无法解析，应为 JSON 对象"
        assert [e["path"] for e in answer["errors"]] == ["body"]
        assert "JSON" in answer["errors"][0]["message"]
    case = Case.objects.get(pk=world.case.pk)
    assert (case.state, case.event_count) == (before.state, before.event_count)
    assert Case.objects.count() == drafts
    assert Case.objects.get(pk=draft).form_data["site_area"] == "80"
    # the caller is known before the body is read: anonymous is 401 whatever it sent
    anonymous = as_user(None).post(
        f"/api/v1/cases/{world.number}/accept", body, content_type="application/json"
    )
    assert anonymous.status_code == 401


def action(world: World, user: Any, name: str, body: dict[str, Any] | None = None) -> Any:
    return post(as_user(user), f"/api/v1/cases/{world.number}/{name}", body)


def test_send_back_from_awaiting_decision_reopens_the_chosen_stage(world: World) -> None:
    world.awaiting_decision()
    response = action(world, world.head, "send_back", {"to": "stage:3", "reason": "重新核查"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"path": "to", "message": "可退回到：intake, stage:1, stage:2"}
    ]
    response = action(world, world.head, "send_back", {"to": "stage:2", "reason": "重新核查"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "in_review"
    assert [(t["stage"], t["state"]) for t in body["tasks"]] == [
        (1, "approved"),
        (1, "approved"),
        (2, "open"),
    ]
    event = Case.objects.get(pk=world.case.pk).events.order_by("-sequence").first()
    assert event is not None
    assert (event.action, event.from_state, event.data) == (
        "send_back",
        "awaiting_decision",
        {"to": "stage:2"},
    )


def test_send_back_to_intake_keeps_the_events(world: World) -> None:
    world.at_stage_two()
    before = list(Case.objects.get(pk=world.case.pk).events.values_list("sequence", "action"))
    response = action(world, world.window, "send_back", {"to": "intake", "reason": "材料不全"})
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "submitted"
    case = Case.objects.get(pk=world.case.pk)
    assert (case.current_stage, case.accepted_at, case.due_date) == (0, None, None)
    after = list(case.events.values_list("sequence", "action"))
    assert after == [*before, (len(before) + 1, "send_back")]
    timeline = as_user(world.window).get(f"/api/v1/cases/{world.number}/events").json()
    assert [e["action"] for e in timeline].count("approve_task") == 2


INTERNAL = ("内部意见：场地核查无误", "内部：属区局职责", "内部会签说明", "内部：请王某组织听证")


def _internal_steps(world: World) -> None:
    """Review with an opinion, 转办, 会签 and a 中止 with 恢复计时, each with a staff note."""
    opinion, transfer, countersign, hearing = INTERNAL
    perform(world.window, world.number, "accept")
    scjg, ga = world.task("3301-SCJG"), world.task("3301-GA")
    perform(world.reviewer, world.number, "approve_task", {"task": scjg, "opinion": opinion})
    body = {"task": ga, "department": "330106-SCJG", "reason": transfer}
    perform(world.ga, world.number, "transfer_task", body)
    body = {"task": ga, "department": "3301-GA", "reason": countersign, "limit_days": 3}
    perform(world.other_staff, world.number, "countersign", body)  # the task is theirs now
    perform(world.head, world.number, "suspend", {"kind": "hearing", "reason": hearing})
    perform(world.head, world.number, "resume")


def test_the_applicant_reads_the_public_timeline(world: World) -> None:
    """Internal routing is not shown, steps are shown without their staff notes, who acted is a
    role — and the task opinions are not in the case either."""
    _internal_steps(world)
    client = as_user(world.applicant)
    events = client.get(f"/api/v1/cases/{world.number}/events").json()
    actions = [e["action"] for e in events]
    assert actions == ["create_draft", "submit", "accept", "approve_task", "suspend", "resume"]
    assert [e["actor"] for e in events] == ["申请人"] * 2 + ["工作人员"] * 4  # never a name
    assert all(text not in response_text(events) for text in INTERNAL)
    by_action = {e["action"]: e for e in events}
    assert by_action["approve_task"]["data"] == {}
    assert by_action["approve_task"]["reason"] == ""
    assert (by_action["suspend"]["data"], by_action["suspend"]["reason"]) == (
        {"kind": "hearing"},
        "",
    )
    resumed = by_action["resume"]["data"]
    # 第四十五条: the applicant is told the days not counted and how the due date moved
    assert set(resumed) == {"paused_workdays", "due_date", "due_date_before", "due_date_after"}
    assert resumed["due_date"] == Case.objects.get(pk=world.case.pk).due_date.isoformat()
    assert resumed["due_date_after"] == resumed["due_date"]
    case = client.get(f"/api/v1/cases/{world.number}").json()
    assert [t["opinion"] for t in case["tasks"]] == [None] * len(case["tasks"])
    assert all(text not in response_text(case) for text in INTERNAL)


def test_staff_read_the_whole_timeline(world: World) -> None:
    _internal_steps(world)
    for staff in (world.window, world.head):
        client = as_user(staff)
        events = client.get(f"/api/v1/cases/{world.number}/events").json()
        assert [e["action"] for e in events][2:] == [
            "accept",
            "approve_task",
            "transfer_task",
            "countersign",
            "suspend",
            "resume",
        ]
        by_action = {e["action"]: e for e in events}
        assert by_action["approve_task"]["actor"] == str(world.reviewer)
        assert by_action["approve_task"]["data"]["opinion"] == INTERNAL[0]
        assert by_action["transfer_task"]["reason"] == INTERNAL[1]
        assert by_action["countersign"]["reason"] == INTERNAL[2]
        assert by_action["suspend"]["reason"] == INTERNAL[3]
        tasks = client.get(f"/api/v1/cases/{world.number}").json()["tasks"]
        assert INTERNAL[0] in [t["opinion"] for t in tasks]


def response_text(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)


def test_withdraw_is_refused_once_decided(world: World) -> None:
    world.decided()
    response = action(world, world.applicant, "withdraw")
    assert response.status_code == 409
    body = response.json()
    assert {"path": "state", "message": "decided"} in body["errors"]
    assert [e for e in body["errors"] if e["path"] == "allowed"] == []
    assert Case.objects.get(pk=world.case.pk).state == "decided"


def test_withdraw_during_a_clock_stop_ends_the_stop(world: World) -> None:
    """Withdrawal does not need the clock to run (the applicant may give up during a hearing):
    it cancels the tasks and ends the open clock stop on the day."""
    world.suspended()
    today = timezone.localdate()
    with freeze_time(timezone.now() + dt.timedelta(days=2)):
        detail = as_user(world.applicant).get(f"/api/v1/cases/{world.number}").json()
        assert detail["actions"] == ["withdraw"]
        response = action(world, world.applicant, "withdraw")
    assert response.status_code == 200, response.content
    case = Case.objects.get(pk=world.case.pk)
    assert (case.state, case.clock_stopped) == ("withdrawn", False)
    stop = case.clock_stops.get()
    assert (stop.started_on, stop.ended_on) == (today, today + dt.timedelta(days=2))
    assert not case.tasks.filter(state__in=[TaskState.OPEN, TaskState.WAITING]).exists()


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"kind": "hearing"}, "reason"),
        ({"kind": "hearing", "reason": "  "}, "reason"),
        ({"reason": "听证"}, "kind"),
        ({"kind": "lunch", "reason": "听证"}, "kind"),
        ({"kind": 5, "reason": "听证"}, "kind"),  # refused by the schema already
    ],
)
def test_suspend_names_the_missing_or_wrong_field(
    world: World, body: dict[str, Any], path: str
) -> None:
    world.in_review()
    response = action(world, world.reviewer, "suspend", body)
    assert response.status_code == 422, response.content
    assert [e["path"] for e in response.json()["errors"]] == [path]
    case = Case.objects.get(pk=world.case.pk)
    assert not case.clock_stopped
    assert not case.clock_stops.exists()


def test_suspending_twice_is_a_conflict(world: World) -> None:
    world.suspended()
    response = action(world, world.reviewer, "suspend", {"kind": "testing", "reason": "检测"})
    assert response.status_code == 409
    body = response.json()
    assert "中止中" in body["message"]
    assert [e["message"] for e in body["errors"] if e["path"] == "allowed"] == ["resume"]
    assert Case.objects.get(pk=world.case.pk).clock_stops.count() == 1


def test_resume_while_the_clock_runs_is_a_conflict(world: World) -> None:
    world.in_review()
    response = action(world, world.reviewer, "resume")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "invalid_transition"
    assert "resume" not in [e["message"] for e in body["errors"] if e["path"] == "allowed"]
    assert "suspend" in [e["message"] for e in body["errors"] if e["path"] == "allowed"]


def test_only_the_handling_department_head_extends(world: World) -> None:
    ga_head = StaffUserFactory(
        department=Department.objects.get(code="3301-GA"), roles=["department_head"]
    )
    world.in_review()
    due = Case.objects.get(pk=world.case.pk).due_date
    body = {"days": 3, "reason": "情况复杂"}
    for user, status in [
        (ga_head, 403),  # the head of a reviewing department sees the case
        (world.reviewer, 403),
        (world.window, 403),
        (world.other_staff, 404),  # a district head: not their case
    ]:
        response = action(world, user, "extend", body)
        assert response.status_code == status, (user, response.content)
    case = Case.objects.get(pk=world.case.pk)
    assert (case.extended_days, case.due_date) == (0, due)
    assert action(world, world.head, "extend", body).status_code == 200
    assert Case.objects.get(pk=world.case.pk).extended_days == 3


@pytest.mark.parametrize(("start", "name"), [("decided", "deliver"), ("delivered", "close")])
def test_delivery_and_closing_need_the_window_or_the_head(
    world: World, start: str, name: str
) -> None:
    ga_head = StaffUserFactory(
        department=Department.objects.get(code="3301-GA"), roles=["department_head"]
    )
    district_window = StaffUserFactory(
        department=Department.objects.get(code="330106-SCJG"), roles=["window"]
    )
    getattr(world, start)()
    state = Case.objects.get(pk=world.case.pk).state
    for user, status in [
        (world.reviewer, 403),
        (world.ga, 403),
        (ga_head, 403),
        (world.applicant, 403),
        (district_window, 404),  # a window below the case's division
    ]:
        response = action(world, user, name, {"method": "mail"})
        assert response.status_code == status, (user, response.content)
        assert Case.objects.get(pk=world.case.pk).state == state
    assert action(world, world.head, name, {"method": "mail"}).status_code == 200


def test_an_agent_files_only_for_the_enterprise_they_act_for(world: World) -> None:
    agency = EnterpriseAgentFactory(person=world.applicant.person)
    other = EnterpriseFactory()
    lapsed = EnterpriseAgentFactory(
        person=world.applicant.person, valid_until=dt.date.today() - dt.timedelta(days=1)
    )
    revoked = EnterpriseAgentFactory(person=world.applicant.person, revoked_at=timezone.now())
    client = as_user(world.applicant)

    def file_for(uscc: str) -> Any:
        body = {
            "item": "SC-FOOD-001",
            "division": "330100",
            "answers": {**ANSWERED, "entity": "company"},
            "enterprise_uscc": uscc,
        }
        return post(client, "/api/v1/cases", body)

    for uscc in (
        other.uscc,
        lapsed.enterprise.uscc,
        revoked.enterprise.uscc,
        "91330106MA2XXXXXX0",  # no such enterprise
    ):
        response = file_for(uscc)
        assert response.status_code == 403, uscc
        assert response.json()["code"] == "not_an_agent"
    assert not Case.objects.filter(applicant_enterprise__isnull=False).exists()
    response = file_for(agency.enterprise.uscc)
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.applicant_enterprise == agency.enterprise
    number = submit_draft(world.applicant, case.pk).number  # (completeness: another test)
    outsider = ApplicantFactory()  # an agent, but of another enterprise
    EnterpriseAgentFactory(person=outsider.person, enterprise=other)
    colleague = ApplicantFactory()  # another agent of the same enterprise
    EnterpriseAgentFactory(person=colleague.person, enterprise=agency.enterprise)
    assert post(as_user(outsider), f"/api/v1/cases/{number}/withdraw").status_code == 404
    response = post(as_user(colleague), f"/api/v1/cases/{number}/withdraw")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "withdrawn"


def test_an_agent_whose_authorisation_ends_loses_the_enterprise_s_cases(world: World) -> None:
    agency = EnterpriseAgentFactory(person=world.applicant.person)
    number = world.file_for_enterprise(agency)
    client = as_user(world.applicant)
    assert client.get(f"/api/v1/cases/{number}").status_code == 200
    assert number in client.get("/my/cases/").content.decode()
    agency.revoked_at = timezone.now()
    agency.save(update_fields=["revoked_at"])
    # the enterprise's case is gone for the former agent, although they filed it ...
    assert client.get(f"/api/v1/cases/{number}").status_code == 404
    assert post(client, f"/api/v1/cases/{number}/withdraw").status_code == 404
    page = client.get("/my/cases/").content.decode()
    assert number not in page
    # ... while the case they filed for themselves stays theirs
    assert client.get(f"/api/v1/cases/{world.number}").status_code == 200
    assert world.number in page
    assert Case.objects.get(number=number).state == "submitted"


ACTION_NAMES = (
    "accept",
    "refuse",
    "request_correction",
    "supplement",
    "withdraw",
    "approve_task",
    "reject_task",
    "countersign",
    "transfer_task",
    "send_back",
    "suspend",
    "resume",
    "extend",
    "decide",
    "deliver",
    "close",
    "approve_on_commitment",
    "verify_commitment",
    "revoke_for_broken_commitment",
)


def test_openapi_lists_every_action(client: Client) -> None:
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    prefix = "/api/v1/cases/{number}/"
    listed = {
        p.removeprefix(prefix) for p, ops in paths.items() if p.startswith(prefix) and "post" in ops
    }
    # every action, and the upload of a material to a submitted case (补正, 容缺)
    assert listed == {*ACTION_NAMES, "materials/{material_key}"}
    assert set(ACTION_NAMES) == set(TRANSITIONS)
    for path, method in (
        ("/api/v1/cases/drafts/{draft_id}/form", "put"),
        ("/api/v1/cases/drafts/{draft_id}/materials/{material_key}", "post"),
        ("/api/v1/cases/drafts/{draft_id}/submit", "post"),
    ):
        assert {"401", "404", "409", "422"} <= set(paths[path][method]["responses"]), path
    for action in ACTION_NAMES:
        operation = paths[f"{prefix}{action}"]["post"]
        assert operation["operationId"] == f"case_{action}"
        assert f"({action})" in operation["summary"]
        assert {"200", "401", "403", "404", "409", "422"} <= set(operation["responses"])


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
    response = post(applicant, f"/api/v1/cases/{world.number}/supplement", {"note": "已签字"})
    assert response.status_code == 422  # nothing uploaded for what the notice named
    assert [e["path"] for e in response.json()["errors"]] == ["materials.application"]
    assert Case.objects.get(pk=world.case.pk).state == "correction"
    response = applicant.post(upload, {"file": SimpleUploadedFile("申请书（已签字）.pdf", PDF)})
    assert response.status_code == 201, response.content
    response = post(applicant, f"/api/v1/cases/{world.number}/supplement")
    assert response.status_code == 200, response.content
    assert response.json()["state"] == "submitted"
    events = applicant.get(f"/api/v1/cases/{world.number}/events").json()
    assert [e["action"] for e in events][-2:] == ["attach_material", "supplement"]


def test_every_409_names_the_state_and_what_the_caller_may_do(world: World) -> None:
    def explained(response: Any, code: str, state: str) -> list[str]:
        assert response.status_code == 409, response.content
        body = response.json()
        assert body["code"] == code
        assert {"path": "state", "message": state} in body["errors"]
        return [e["message"] for e in body["errors"] if e["path"] == "allowed"]

    applicant = as_user(world.applicant)
    # a draft submitted already, and its form, and a material of a case under review
    again = post(applicant, f"/api/v1/cases/drafts/{world.case.pk}/submit")
    assert explained(again, "already_submitted", "submitted") == ["withdraw"]
    form = applicant.put(
        f"/api/v1/cases/drafts/{world.case.pk}/form", {"form": {}}, content_type="application/json"
    )
    assert explained(form, "already_submitted", "submitted") == ["withdraw"]
    perform(world.window, world.number, "accept")
    upload = applicant.post(
        f"/api/v1/cases/{world.number}/materials/application",
        {"file": SimpleUploadedFile("a.pdf", PDF)},
    )
    assert explained(upload, "locked", "in_review") == ["withdraw"]
    # the second reviewer of a task someone else has just done: the state is fine, the task not
    task = CaseTask.objects.get(case=world.case, department__code="3301-SCJG", stage=1)
    first = post(
        as_user(world.reviewer), f"/api/v1/cases/{world.number}/approve_task", {"task": task.pk}
    )
    assert first.status_code == 200
    second = post(
        as_user(world.reviewer_two), f"/api/v1/cases/{world.number}/approve_task", {"task": task.pk}
    )
    # their department's next task waits for the other department: nothing is theirs to do
    assert explained(second, "task_not_open", "in_review") == []
    # nor may they start a special procedure (中止): only a reviewer with an open task may
    stop = {"kind": "hearing", "reason": "听证"}
    refused = post(as_user(world.reviewer_two), f"/api/v1/cases/{world.number}/suspend", stop)
    assert refused.status_code == 403
    allowed = post(as_user(world.ga), f"/api/v1/cases/{world.number}/suspend", stop)
    assert allowed.status_code == 200, allowed.content
