"""A NUL character (U+0000) anywhere in a request — the URL, the query string, a form field, a
file name, a JSON string or key — is a 400 naming where it was, before any view runs and with
nothing written; PostgreSQL text cannot hold one, so these were server errors there."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from tests import case_actions
from tests.case_actions import PDF, World
from tongban.cases.models import Case, CaseMaterial
from tongban.cases.services import check_create_draft

world = case_actions.world
ANSWERED = {"entity": "individual", "area": 80, "cold": False}


def client_of(user: Any) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("applicant", "/api/v1/cases/%00"),
        ("applicant", "/api/v1/cases/%00/events"),
        ("applicant", "/my/cases/%00/"),
        ("window", "/workbench/cases/%00/"),
        ("window", "/workbench/?number=%00"),
        ("window", "/workbench/queues/intake/?item=a%00"),
        ("window", "/api/v1/queues/intake?item=%00"),
        ("window", "/api/v1/queues/intake?department=%00"),
    ],
)
def test_a_nul_in_the_url_or_query_is_a_400(world: World, who: str, url: str) -> None:
    response = client_of(getattr(world, who)).get(url)
    assert response.status_code == 400
    if url.startswith("/api/"):
        body = response.json()
        assert body["code"] == "nul_character"
        path = "url" if "?" not in url else url.split("?")[1].split("=")[0]
        assert [e["path"] for e in body["errors"]] == [path]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"item": "SC\x00", "division": "330100"}, "item"),
        (
            {"item": "SC-FOOD-001", "division": "330100", "enterprise_uscc": "\x00"},
            "enterprise_uscc",
        ),
        (
            {"item": "SC-FOOD-001", "division": "330100", "answers": {"entity\x00": "x"}},
            "answers.entity\x00",
        ),
        (
            {
                "item": "SC-FOOD-001",
                "division": "330100",
                "answers": ANSWERED,
                "form": {"site_area": "1\x00"},
            },
            "form.site_area",
        ),
    ],
)
def test_a_nul_in_a_json_body_is_a_400_at_its_path(world: World, body: Any, path: str) -> None:
    before = Case.objects.count()
    response = client_of(world.applicant).post(
        "/api/v1/cases", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert [e["path"] for e in response.json()["errors"]] == [path]
    assert Case.objects.count() == before


def test_a_nul_in_what_staff_write_changes_nothing(world: World) -> None:
    body = {"reason": "不属于\x00本机关", "legal_basis": "《行政许可法》第三十二条"}
    for url, post in (
        (
            f"/api/v1/cases/{world.number}/refuse",
            {"data": body, "content_type": "application/json"},
        ),
        (f"/workbench/cases/{world.number}/refuse/", {"data": body}),
    ):
        response = client_of(world.window).post(url, **post)
        assert response.status_code == 400, url
    case = Case.objects.get(pk=world.case.pk)
    assert (case.state, case.event_count) == ("submitted", world.case.event_count)


def test_a_nul_in_an_upload_s_material_key_is_a_400(world: World) -> None:
    draft = check_create_draft(
        world.applicant, item_code="SC-FOOD-001", division_code="330100", answers=ANSWERED
    )
    url = f"/api/v1/cases/drafts/{draft.pk}/materials/%00"
    response = client_of(world.applicant).post(url, {"file": SimpleUploadedFile("a.pdf", PDF)})
    assert response.status_code == 400
    assert not CaseMaterial.objects.filter(case=draft).exists()
