"""Licence pages: the public scan page, the holder space (list, detail with QR, history,
grants and access log), 亮证 and the PDF — with anonymous, other holder, staff and holder."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.licence_fixtures import LicenceWorld, world  # noqa: F401
from tongban.licences import qr, services, tokens
from tongban.licences.models import Grant

pytestmark = pytest.mark.django_db


def _client(user: object = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_scan_page_checks_text_and_images(world: LicenceWorld) -> None:  # noqa: F811
    page = _client().get("/licences/verify/")
    assert page.status_code == 200
    text = tokens.make_token(world.licence)
    answer = _client().post("/licences/verify/", {"code": text})
    assert 'data-verdict="valid"' in answer.content.decode()
    from django.core.files.uploadedfile import SimpleUploadedFile

    image = SimpleUploadedFile("code.png", qr.png(text), content_type="image/png")
    answer = _client().post("/licences/verify/", {"code": "", "image": image})
    assert 'data-verdict="valid"' in answer.content.decode()
    junk = SimpleUploadedFile("x.png", b"junk", content_type="image/png")
    assert "无法读取该图片" in _client().post("/licences/verify/", {"image": junk}).content.decode()
    services.check_revoke(world.head, world.licence.number, "吊销许可")
    answer = _client().post("/licences/verify/", {"code": text}).content.decode()
    assert 'data-verdict="revoked"' in answer
    assert "吊销许可" in answer


@pytest.mark.parametrize("suffix", ["", "show/", "pdf/"])
def test_holder_pages_matrix(world: LicenceWorld, suffix: str) -> None:  # noqa: F811
    url = f"/my/licences/{world.licence.number}/{suffix}"
    assert _client().get(url).status_code == 302  # to the login page
    assert _client(world.other_holder).get(url).status_code == 404
    assert _client(world.clerk).get(url).status_code == 403
    assert _client(world.outsider).get(url).status_code == 403
    response = _client(world.holder).get(url)
    assert response.status_code == 200


def test_holder_space_shows_licence_qr_history_and_log(world: LicenceWorld) -> None:  # noqa: F811
    listing = _client(world.holder).get("/my/licences/").content.decode()
    assert world.licence.number in listing
    assert world.enterprise_licence.number not in listing
    assert (
        world.enterprise_licence.number
        in _client(world.agent).get("/my/licences/").content.decode()
    )
    page = _client(world.holder).get(f"/my/licences/{world.licence.number}/").content.decode()
    assert "data:image/svg+xml" in page
    assert "预包装食品销售" in page
    assert "/items/SC-FOOD-001/guide/" in page  # renewal shortcut


def test_the_licence_page_lists_the_materials_it_replaces(
    world: LicenceWorld,  # noqa: F811
    tmp_path: object,
) -> None:
    from pathlib import Path

    from tests.catalog_fixtures import sample
    from tongban.catalog.services import import_catalog

    import_catalog(sample(Path(str(tmp_path))))
    licence_type = world.licence_type
    licence_type.code = "LT-BUSINESS-LICENCE"
    licence_type.save()
    page = _client(world.holder).get(f"/my/licences/{world.licence.number}/").content.decode()
    assert "可免提交的申请材料" in page
    assert "营业执照" in page
    assert "/items/SC-FOOD-001/" in page
    shown = _client(world.holder).get(f"/my/licences/{world.licence.number}/show/")
    assert shown["Cache-Control"] == "no-store"
    assert 'http-equiv="refresh"' in shown.content.decode()


def test_pdf_has_the_licence_and_its_qr(world: LicenceWorld) -> None:  # noqa: F811
    response = _client(world.holder).get(f"/my/licences/{world.licence.number}/pdf/")
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert len(response.content) > 2000


def test_grant_and_withdraw_from_the_holder_space(world: LicenceWorld) -> None:  # noqa: F811
    url = f"/my/licences/{world.licence.number}/grants/"
    body = {
        "kind": "department",
        "grantee": world.other_department.code,
        "purpose": "贷款审核",
        "valid_until": "2099-01-01",
    }
    assert _client(world.other_holder).post(url, body).status_code == 404
    assert _client(world.holder).post(url, {**body, "valid_until": "2099-01-01"}).status_code == 302
    assert not Grant.objects.exists()  # beyond the longest grant period
    from django.utils import timezone

    body["valid_until"] = (
        timezone.localdate() + __import__("datetime").timedelta(days=10)
    ).isoformat()
    assert _client(world.holder).post(url, body).status_code == 302
    grant = Grant.objects.get()
    withdraw = f"/my/licences/{world.licence.number}/grants/{grant.pk}/withdraw/"
    assert _client(world.other_holder).post(withdraw).status_code == 404
    assert _client(world.holder).post(withdraw).status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None
