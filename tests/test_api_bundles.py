"""一件事 API: every endpoint for anonymous, another applicant, staff of an uninvolved
department and the right staff/applicant; the application round trip."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from freezegun import freeze_time

from tests.bundle_fixtures import ANSWERS, FILES, FORM, Staff, load
from tongban.bundles import services
from tongban.bundles.models import BundleCase

pytestmark = pytest.mark.django_db
NOW = "2025-03-03 09:00:00+08:00"


def _client(user: Any | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def filed(tmp_path: Path) -> tuple[Staff, BundleCase]:
    staff = load(tmp_path)
    with freeze_time(NOW):
        bundle_case = services.check_submit_bundle(
            staff.applicant, "T-BUNDLE", answers=ANSWERS, form=FORM, files=FILES
        )
    return staff, bundle_case


def test_public_endpoints_answer_everyone(filed: tuple[Staff, BundleCase]) -> None:
    staff, _ = filed
    for user in (None, staff.stranger, staff.outsider, staff.a):
        client = _client(user)
        listing = client.get("/api/v1/bundles")
        assert listing.status_code == 200
        assert listing.json()[0]["days"] == {"before": 14, "after": 12}
        assert client.get("/api/v1/bundles/T-BUNDLE/report").status_code == 200
        merged = client.post(
            "/api/v1/bundles/T-BUNDLE/merge", {"answers": ANSWERS}, content_type="application/json"
        )
        assert merged.status_code == 200
        assert {m["key"]: m["coverage"] for m in merged.json()["materials"]}["cert"] == "produced"
    assert _client(None).get("/api/v1/bundles/NOPE/report").status_code == 404


@pytest.mark.parametrize(
    ("who", "detail", "withdraw"),
    [
        ("anonymous", 401, 401),
        ("stranger", 404, 404),
        ("outsider", 404, 404),
        ("a", 200, 403),  # staff handling one of the item cases sees it but may not withdraw
        ("applicant", 200, 200),
    ],
)
def test_bundle_case_endpoints_permission_matrix(
    filed: tuple[Staff, BundleCase], who: str, detail: int, withdraw: int
) -> None:
    staff, bundle_case = filed
    user = None if who == "anonymous" else getattr(staff, who)
    client = _client(user)
    base = f"/api/v1/bundles/cases/{bundle_case.number}"
    response = client.get(base)
    assert response.status_code == detail
    if detail == 200:
        items = [c["item"] for c in response.json()["components"]]
        if who == "a":
            assert items == ["T-CERT"]  # only the item case their department handles
        else:
            assert items == ["T-CERT", "T-REG", "T-PAY", "T-INS"]
    assert client.get(f"{base}/timeline").status_code == detail
    with freeze_time(NOW):
        response = client.post(f"{base}/withdraw", {"reason": "x"}, content_type="application/json")
    assert response.status_code == withdraw


@pytest.mark.parametrize(("who", "status"), [("anonymous", 401), ("a", 403), ("applicant", 201)])
def test_apply_permission_matrix_and_round_trip(tmp_path: Path, who: str, status: int) -> None:
    staff = load(tmp_path)
    user = None if who == "anonymous" else getattr(staff, who)
    payload = {
        "answers": ANSWERS,
        "form": FORM,
        "materials": {
            key: {"name": name, "content_base64": base64.b64encode(content).decode()}
            for key, (name, content) in FILES.items()
        },
    }
    with freeze_time(NOW):
        response = _client(user).post(
            "/api/v1/bundles/T-BUNDLE/applications", payload, content_type="application/json"
        )
    assert response.status_code == status, response.content
    if status == 201:
        body = response.json()
        assert body["status"] == "办理中"
        assert [c["state"] for c in body["components"]] == [
            "started",
            "waiting",
            "started",
            "waiting",
        ]


def test_apply_reports_missing_input_with_paths(tmp_path: Path) -> None:
    staff = load(tmp_path)
    with freeze_time(NOW):
        response = _client(staff.applicant).post(
            "/api/v1/bundles/T-BUNDLE/applications",
            {"answers": {"kind": "z"}, "form": {}},
            content_type="application/json",
        )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "answers.kind"


def test_apply_refuses_a_form_key_no_item_has_and_files_nothing(tmp_path: Path) -> None:
    staff = load(tmp_path)
    payload = {
        "answers": ANSWERS,
        "form": {**FORM, "nickname": "小宝"},
        "materials": {
            key: {"name": name, "content_base64": base64.b64encode(content).decode()}
            for key, (name, content) in FILES.items()
        },
    }
    client = _client(staff.applicant)
    url = "/api/v1/bundles/T-BUNDLE/applications"
    with freeze_time(NOW):
        response = client.post(url, payload, content_type="application/json")
        english = client.post(
            url, payload, content_type="application/json", headers={"Accept-Language": "en"}
        )
    assert response.status_code == 422, response.content
    assert response.json()["errors"] == [
        {"path": "form.nickname", "message": "未知字段：本事项的表单没有“nickname”"}
    ]
    assert english.status_code == 422, english.content
    [error] = english.json()["errors"]
    assert error["message"] == "Unknown field: this item's form has no “nickname”"
    assert not BundleCase.objects.exists()
