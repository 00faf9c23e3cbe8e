"""The catalog REST API: lists with cursors, filters, detail, guidance, errors, OpenAPI, and the
permission matrix of the import endpoint (anonymous / applicant / other staff / catalog admin)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.catalog_fixtures import BODIES, FOOD, sample
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.catalog.models import Item
from tongban.catalog.services import import_catalog

pytestmark = pytest.mark.django_db

MORE_ITEMS = "\n".join(
    f"""  - code: GA-{n:03d}
    name: 户口登记事项{n}
    type: confirmation
    department: 3301-GA
    legal_basis: 《中华人民共和国户口登记条例》
    acceptance_conditions: 本市户籍人员
    promised_limit_days: {n % 5 + 1}
    handling_mode: promised
    applicant_types: [person]
    themes: [出生]"""
    for n in range(1, 8)
)


@pytest.fixture
def catalog(tmp_path: Path) -> None:
    paths = sample(tmp_path)
    extra = tmp_path / "ga.yaml"
    extra.write_text(f"schema: tongban-catalog/1\nitems:\n{MORE_ITEMS}\n", encoding="utf-8")
    import_catalog([*paths, extra])


def get(client: Client, url: str, **params: Any) -> Any:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_items_page_by_cursor_without_gaps_or_repeats(client: Client, catalog: None) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = get(client, "/api/v1/items", **params)
        seen.extend(row["code"] for row in page["results"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(Item.objects.values_list("code", flat=True))
    assert len(seen) == 8


def test_item_filters(client: Client, catalog: None) -> None:
    by_department = get(client, "/api/v1/items", department="3301-SCJG")["results"]
    assert [r["code"] for r in by_department] == ["SC-FOOD-001"]
    enterprise = get(client, "/api/v1/items", applicant_type="enterprise")["results"]
    assert [r["code"] for r in enterprise] == ["SC-FOOD-001"]
    births = get(client, "/api/v1/items", theme="出生", limit=100)["results"]
    assert len(births) == 7
    licensing = get(client, "/api/v1/items", type="licensing")["results"]
    assert [r["code"] for r in licensing] == ["SC-FOOD-001"]
    district = get(client, "/api/v1/items", division="330106")["results"]
    assert [r["code"] for r in district] == ["SC-FOOD-001"]  # implemented there


def test_item_detail_base_and_local(client: Client, catalog: None) -> None:
    base = get(client, "/api/v1/items/SC-FOOD-001")
    assert base["statutory_limit_days"] == 20
    assert base["promised_limit_days"] == 10
    assert base["implementation"] is None
    assert base["implemented_in"] == ["330106"]
    assert [q["key"] for q in base["questions"]] == ["entity", "area", "cold", "cold_room"]
    assert base["materials"][1]["licence_type"] == "LT-BUSINESS-LICENCE"
    local = get(client, "/api/v1/items/SC-FOOD-001", division="330106001")
    assert local["implementation"]["promised_limit_days"] == 3
    assert local["implementation"]["handling_department"] == "西湖区市场监督管理局"
    version = get(client, "/api/v1/items/SC-FOOD-001/versions/1")
    assert version["version"] == 1


def test_detail_query_count_is_fixed(
    client: Client, catalog: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(12):
        client.get("/api/v1/items/SC-FOOD-001", {"division": "330106"})


def test_not_found_answers_are_specific(client: Client, catalog: None) -> None:
    response = client.get("/api/v1/items/NOPE")
    assert response.status_code == 404
    assert response.json()["code"] == "item_not_found"
    response = client.get("/api/v1/items/SC-FOOD-001", {"division": "999999"})
    assert response.status_code == 404
    assert response.json()["code"] == "division_not_found"
    assert client.get("/api/v1/items/SC-FOOD-001/versions/9").status_code == 404


def test_guide_endpoint(client: Client, catalog: None) -> None:
    response = client.post(
        "/api/v1/items/SC-FOOD-001/guide",
        {"answers": {"entity": "individual", "area": 500, "cold": "是", "cold_room": False}},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["complete"] is True
    applies = {m["key"] for m in body["materials"] if m["status"] == "applies"}
    assert applies == {"application", "id_card", "layout", "cold_process"}
    id_card = next(m for m in body["materials"] if m["key"] == "id_card")
    assert id_card["data_source"] == "hukou"
    assert {f["key"] for f in body["fields"]} == {"operator_name", "operator_id", "site_area"}


def test_guide_errors_have_field_paths(client: Client, catalog: None) -> None:
    response = client.post(
        "/api/v1/items/SC-FOOD-001/guide",
        {"answers": {"entity": "bank", "area": "很大"}},
        content_type="application/json",
    )
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert paths == {"answers.entity", "answers.area"}
    response = client.post(
        "/api/v1/items/SC-FOOD-001/guide", {"answers": "none"}, content_type="application/json"
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "answers"


def test_divisions_and_departments(client: Client, catalog: None) -> None:
    divisions = get(client, "/api/v1/divisions")
    assert [d["code"] for d in divisions] == ["330000", "330100", "330106", "330106001"]
    assert divisions[3]["parent"] == "330106"
    departments = get(client, "/api/v1/departments", division="330100")
    assert {d["code"] for d in departments} == {"3301-SCJG", "3301-GA"}


def test_openapi_document(client: Client) -> None:
    doc = get(client, "/api/v1/openapi.json")
    assert doc["openapi"].startswith("3.1")
    for path in (
        "/api/v1/items",
        "/api/v1/items/search",
        "/api/v1/items/{code}",
        "/api/v1/items/{code}/guide",
        "/api/v1/divisions",
        "/api/v1/departments",
        "/api/v1/catalog/import",
    ):
        assert path in doc["paths"], path
    schema = get(client, "/api/v1/catalog/schema.json")
    assert schema["title"] == "tongban catalog file"


# --- import: the permission matrix ------------------------------------------------------------------
def upload(client: Client, name: str, content: bytes) -> Any:
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/api/v1/catalog/import", {"file": SimpleUploadedFile(name, content)})


CATALOG_BYTES = (BODIES + FOOD.replace("schema: tongban-catalog/1\n", "")).encode()


def test_import_refused_for_anonymous(client: Client) -> None:
    assert upload(client, "c.yaml", CATALOG_BYTES).status_code == 401
    assert not Item.objects.exists()


@pytest.mark.parametrize(
    "make_user",
    [
        pytest.param(lambda: ApplicantFactory(), id="applicant"),
        pytest.param(lambda: StaffUserFactory(roles=["reviewer", "window"]), id="other-staff"),
        pytest.param(lambda: StaffUserFactory(roles=["department_head"], is_staff=True), id="head"),
    ],
)
def test_import_refused_without_the_catalog_role(client: Client, make_user: Any) -> None:
    client.force_login(make_user())
    response = upload(client, "c.yaml", CATALOG_BYTES)
    assert response.status_code == 403
    assert response.json()["code"] == "catalog_admin_required"
    assert not Item.objects.exists()


def test_catalog_admin_imports_yaml_and_zip(client: Client) -> None:
    client.force_login(StaffUserFactory(roles=["catalog_admin"]))
    response = upload(client, "c.yaml", CATALOG_BYTES)
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["items_created"] == 1
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("catalog/bodies.yaml", BODIES)
        archive.writestr(
            "catalog/items/food.yaml",
            FOOD.replace("promised_limit_days: 10", "promised_limit_days: 9"),
        )
        archive.writestr("README.txt", "ignored")
        archive.writestr("__MACOSX/catalog/._bodies.yaml", b"\x00\x05\x16\x07 resource fork")
    response = upload(client, "upload.bin", buffer.getvalue())  # judged by content, not name
    assert response.status_code == 200, response.content
    assert response.json()["counts"]["items_new_version"] == 1


def test_import_problems_come_back_with_file_and_line(client: Client) -> None:
    client.force_login(StaffUserFactory(roles=["catalog_admin"]))
    bad = CATALOG_BYTES.replace(b"department: 3301-SCJG", b"department: 3301-XXX")
    response = upload(client, "bad.yaml", bad)
    assert response.status_code == 422
    error = response.json()["errors"][0]
    assert error["file"] == "bad.yaml"
    assert error["path"] == "items[0].department"
    assert int(error["line"]) == bad.decode().splitlines().index("    department: 3301-XXX") + 1
    assert not Item.objects.exists()


def test_an_oversized_catalog_upload_is_refused_unread_and_only_for_administrators(
    client: Client,
) -> None:
    big = b"#" * (20 * 1024 * 1024 + 1)
    client.force_login(StaffUserFactory(roles=["reviewer"]))
    assert upload(client, "c.yaml", big).status_code == 403  # who asks comes first
    client.force_login(StaffUserFactory(roles=["catalog_admin"]))
    response = upload(client, "c.yaml", big)
    assert response.status_code == 422
    assert response.json()["errors"] == [{"path": "file", "message": "文件超过 20 MB"}]
    assert not Item.objects.exists()


def test_import_rejects_unsafe_and_non_catalog_uploads(client: Client) -> None:
    client.force_login(StaffUserFactory(roles=["catalog_admin"]))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("../escape.yaml", BODIES)
    response = upload(client, "x.zip", buffer.getvalue())
    assert response.status_code == 422
    assert response.json()["code"] == "unsafe_archive"
    response = upload(client, "logo.yaml", b"\x89PNG\r\n\x1a\n\x00\x00binary")
    assert response.status_code == 422
    assert response.json()["code"] == "catalog_invalid"
    assert upload(client, "empty.yaml", b"").status_code == 422
