"""Edges of the case engine a reviewer probes: outcomes a decision may take, who hears about an
enterprise's case once an agent's authorisation ends, the 预审 period after a 退回 to the window,
what the applicant's API shows of 会签, odd numbers and cursors on the pages, the 告知承诺 route
and unknown keys through the API, the access log's purpose, and the length of what staff write."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests import case_actions
from tests.case_actions import World, as_user
from tests.factories import ApplicantFactory, EnterpriseAgentFactory
from tongban.cases import deadlines
from tongban.cases.models import Case, CaseMaterial
from tongban.cases.transitions import MAX_TEXT
from tongban.identity.models import PersonalDataAccess
from tongban.notifications.models import Notification

world = case_actions.world
ANSWERED = {"entity": "individual", "area": 80, "cold": False}


def post(user: Any, url: str, body: dict[str, Any] | None = None) -> Any:
    return as_user(user).post(url, body or {}, content_type="application/json")


def test_a_decision_is_approved_or_denied_never_revoked(world: World) -> None:
    world.awaiting_decision()
    url = f"/api/v1/cases/{world.number}/decide"
    response = post(world.head, url, {"outcome": "revoked", "reason": "x"})
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == ["outcome"]
    case = Case.objects.get(pk=world.case.pk)
    assert (case.state, case.outcome) == ("awaiting_decision", "")


def test_an_enterprise_s_case_is_told_to_its_valid_agents_not_a_former_one(world: World) -> None:
    agency = EnterpriseAgentFactory(person=world.applicant.person)
    colleague = ApplicantFactory()  # another agent of the enterprise, with an account
    EnterpriseAgentFactory(person=colleague.person, enterprise=agency.enterprise)
    number = world.file_for_enterprise(agency)
    agency.revoked_at = timezone.now()
    agency.save(update_fields=["revoked_at"])
    reason = {"reason": "不属于本机关职权范围", "legal_basis": "《行政许可法》第三十二条"}
    assert post(world.window, f"/api/v1/cases/{number}/refuse", reason).status_code == 200
    told = Notification.objects.filter(template="case.refuse")
    assert told.exists()
    assert {n.recipient_id for n in told} == {colleague.pk}
    assert not told.filter(recipient=world.applicant).exists()


def test_a_case_sent_back_to_the_window_starts_its_intake_period_again(world: World) -> None:
    world.in_review()
    long_ago = timezone.now() - dt.timedelta(days=30)
    Case.objects.filter(pk=world.case.pk).update(received_at=long_ago, submitted_at=long_ago)
    body = {"to": "intake", "reason": "材料需重新预审"}
    assert post(world.head, f"/api/v1/cases/{world.number}/send_back", body).status_code == 200
    case = Case.objects.get(pk=world.case.pk)
    assert case.received_at is not None
    assert case.received_at > long_ago
    assert deadlines.warn_and_escalate()["intake_escalated"] == 0
    assert not Notification.objects.filter(template="case.intake_overdue").exists()


def test_the_applicant_does_not_see_countersign_tasks(world: World) -> None:
    world.in_review()
    body = {"task": world.task("3301-GA"), "department": "330106-SCJG", "reason": "请协助核查"}
    assert post(world.ga, f"/api/v1/cases/{world.number}/countersign", body).status_code == 200
    mine = as_user(world.applicant).get(f"/api/v1/cases/{world.number}").json()["tasks"]
    staff = as_user(world.ga).get(f"/api/v1/cases/{world.number}").json()["tasks"]
    assert [t for t in staff if t["countersign_for"]]  # staff see the 会签 task ...
    assert not [t for t in mine if t["countersign_for"]]  # ... the applicant does not
    assert "330106-SCJG" not in {t["department_code"] for t in mine}
    assert len(mine) == len(staff) - 1


@pytest.mark.parametrize("days", ["--5", "²", "9" * 5000, "5.5"])
def test_a_number_that_is_not_one_is_a_422_on_the_page(world: World, days: str) -> None:
    world.in_review()
    response = as_user(world.head).post(
        f"/workbench/cases/{world.number}/extend/", {"days": days, "reason": "需要专家论证"}
    )
    assert response.status_code == 422
    assert Case.objects.get(pk=world.case.pk).extended_days == 0


@pytest.mark.parametrize("cursor", ["²", "9" * 5000, "-1", "abc"])
def test_my_cases_with_a_broken_page_link_goes_back_to_the_first_page(
    world: World, cursor: str
) -> None:
    client = as_user(world.applicant)
    response = client.get("/my/cases/", {"cursor": cursor})
    assert response.status_code == 302
    assert response["Location"] == "/my/cases/"
    assert world.number in client.get("/my/cases/").content.decode()


def test_the_api_files_a_commitment_application(world: World) -> None:
    body = {
        "item": "SW-DRAIN-001",
        "division": "330100",
        "commitment_materials": ["drainage_plan"],
    }
    response = post(world.applicant, "/api/v1/cases", body)
    assert response.status_code == 201, response.content
    case = Case.objects.get(pk=response.json()["id"])
    assert case.commitment.materials == ["drainage_plan"]
    refused = post(world.applicant, "/api/v1/cases", {**body, "commitment_materials": ["nope"]})
    assert refused.status_code == 422


def test_unknown_keys_are_a_422_not_silently_dropped(world: World) -> None:
    before = Case.objects.count()
    body = {"item": "SC-FOOD-001", "division": "330100", "answers": ANSWERED, "comitment": []}
    response = post(world.applicant, "/api/v1/cases", body)
    assert response.status_code == 422
    assert Case.objects.count() == before
    action = post(world.window, f"/api/v1/cases/{world.number}/accept", {"tolerate": ["x"]})
    assert action.status_code == 422
    assert Case.objects.get(pk=world.case.pk).state == "submitted"


def test_a_reveal_purpose_too_long_to_log_whole_is_refused(world: World) -> None:
    url = f"/workbench/cases/{world.number}/reveal/"
    response = as_user(world.window).post(url, {"purpose": "核验" * 40})
    assert response.status_code == 422
    assert not PersonalDataAccess.objects.exists()
    assert as_user(world.window).post(url, {"purpose": "联系申请人"}).status_code == 200
    assert PersonalDataAccess.objects.get().purpose.endswith("申请人信息、申请表单")


def test_opening_a_file_with_a_long_name_logs_the_material_whole(world: World) -> None:
    name = "非常长的文件名" * 30 + ".pdf"
    stored = CaseMaterial.objects.create(
        case=world.case,
        material_key="application",
        material_name="食品经营许可申请书",
        original_name=name[:255],
        detected_format="pdf",
        size=1,
        sha256="0" * 64,
        uploaded_by=world.applicant,
    )
    stored.file.save("long.pdf", case_actions_pdf(), save=True)
    world.in_review()
    response = as_user(world.reviewer).get(
        f"/workbench/cases/{world.number}/materials/{stored.pk}/"
    )
    assert response.status_code == 200
    purpose = PersonalDataAccess.objects.get().purpose
    assert purpose.startswith("查看申请材料：食品经营许可申请书（非常长的文件名")
    assert purpose.endswith("…）")
    assert len(purpose) <= 128


def case_actions_pdf() -> Any:
    from django.core.files.base import ContentFile

    return ContentFile(case_actions.PDF)


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("refuse", {"reason": "x" * (MAX_TEXT + 1), "legal_basis": "《行政许可法》第三十二条"}),
        ("request_correction", {"items": [{"material": "application", "problem": "x" * 2001}]}),
    ],
)
def test_what_staff_write_has_a_limit(world: World, name: str, body: dict[str, Any]) -> None:
    response = post(world.window, f"/api/v1/cases/{world.number}/{name}", body)
    assert response.status_code == 422
    assert "2000" in response.json()["errors"][0]["message"]
    assert Case.objects.get(pk=world.case.pk).state == "submitted"


ODD_NUMBERS = [
    pytest.param(value, id=name)
    for name, value in [
        ("superscript", "²"),
        ("arabic-indic", "٣"),
        ("5000-digits", "9" * 5000),
        ("negative", "-1"),
        ("decimal", "1.5"),
    ]
]


@pytest.mark.parametrize("sequence", ODD_NUMBERS)
def test_a_notice_key_with_an_odd_event_number_is_a_404(world: World, sequence: str) -> None:
    world.in_review()
    for user, url in (
        (world.applicant, f"/api/v1/cases/{world.number}/notices/acceptance-{sequence}.pdf"),
        (world.applicant, f"/my/cases/{world.number}/notices/acceptance-{sequence}.pdf"),
        (world.window, f"/workbench/cases/{world.number}/notices/acceptance-{sequence}.pdf"),
    ):
        assert as_user(user).get(url).status_code == 404, url


@pytest.mark.parametrize("value", ODD_NUMBERS)
def test_odd_department_and_division_filters_are_ignored_on_the_pages(
    world: World, value: str
) -> None:
    world.in_review()
    client = as_user(world.head)
    response = client.get("/workbench/queues/risk_cases/", {"department": value})
    assert response.status_code == 200
    for name in ("division", "department"):
        assert client.get("/workbench/supervision/", {name: value}).status_code == 200


def test_the_applicant_does_not_see_the_steps_of_a_countersign_task(world: World) -> None:
    """会签 is staff business: neither its request nor the countersigning department's review
    (nor its department) reaches the applicant's timeline, page or messages."""
    world.in_review()
    body = {"task": world.task("3301-GA"), "department": "330106-SCJG", "reason": "请协助核查"}
    assert post(world.ga, f"/api/v1/cases/{world.number}/countersign", body).status_code == 200
    co = world.case.tasks.get(countersign_for__isnull=False)
    body = {"task": co.pk, "opinion": "同意"}
    approved = post(world.other_staff, f"/api/v1/cases/{world.number}/approve_task", body)
    assert approved.status_code == 200
    staff = as_user(world.ga).get(f"/api/v1/cases/{world.number}/events").json()
    assert [e["action"] for e in staff][-2:] == ["countersign", "approve_task"]
    mine = as_user(world.applicant).get(f"/api/v1/cases/{world.number}/events").json()
    assert [e["action"] for e in mine] == ["create_draft", "submit", "accept"]
    page = as_user(world.applicant).get(f"/my/cases/{world.number}/").content.decode()
    assert co.department.name not in page
