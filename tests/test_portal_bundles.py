"""一件事 pages: guide with the report chart data, the one merged form, my bundle case."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from freezegun import freeze_time

from tests.bundle_fixtures import FORM, PNG, load
from tongban.bundles.models import BundleCase

pytestmark = pytest.mark.django_db
NOW = "2025-03-03 09:00:00+08:00"
PHOTO_LIMIT_MB = 10  # the catalog's default size limit of a material


def test_guide_shows_merged_lists_and_report(tmp_path: Path) -> None:
    load(tmp_path)
    response = Client().get("/bundles/T-BUNDLE/", {"q_kind": "a"})
    assert response.status_code == 200
    text = response.content.decode()
    assert 'id="bundle-report-data"' in text
    assert "echarts.min.js" in text
    assert "免提交：由前一阶段办理结果自动提供" in text
    assert Client().get("/bundles/").status_code == 200
    partial = Client().get("/bundles/T-BUNDLE/", {"q_kind": "b"}, headers={"HX-Request": "true"})
    assert "补充说明" in partial.content.decode()
    assert "<html" not in partial.content.decode()


def test_apply_once_then_follow_the_bundle_case(tmp_path: Path) -> None:
    staff = load(tmp_path)
    client = Client()
    assert client.get("/bundles/T-BUNDLE/apply/", {"q_kind": "a"}).status_code == 302
    client.force_login(staff.applicant)
    form = client.get("/bundles/T-BUNDLE/apply/", {"q_kind": "a"})
    assert form.status_code == 200
    assert form.content.decode().count("data-bundle-upload") == 3  # 照片, 登记表, 银行卡 (optional)
    data = {"q_kind": "a", **{f"f_{k}": v for k, v in FORM.items()}}
    with freeze_time(NOW):
        missing = client.post("/bundles/T-BUNDLE/apply/", data)
        assert missing.status_code == 422
        data["m_photo"] = SimpleUploadedFile("p.png", PNG)
        data["m_form_sheet"] = SimpleUploadedFile("s.png", PNG)
        done = client.post("/bundles/T-BUNDLE/apply/", data)
    bundle_case = BundleCase.objects.get()
    assert done.status_code == 302
    assert done["Location"] == f"/my/bundles/{bundle_case.number}/"
    page = client.get(done["Location"])
    assert page.status_code == 200
    assert "出具证明" in page.content.decode()
    assert client.get("/my/bundles/").status_code == 200
    other = Client()
    other.force_login(staff.stranger)
    assert other.get(done["Location"]).status_code == 404
    staff_client = Client()
    staff_client.force_login(staff.a)
    assert staff_client.get("/bundles/T-BUNDLE/apply/", {"q_kind": "a"}).status_code == 403
    with freeze_time(NOW):
        assert (
            client.post(f"/my/bundles/{bundle_case.number}/withdraw/", {"reason": "x"}).status_code
            == 302
        )
    bundle_case.refresh_from_db()
    assert bundle_case.state == "withdrawn"


def test_the_form_posts_only_the_bundles_own_fields(tmp_path: Path) -> None:
    """Every input of the merged form is a key of the bundle's form, so the page never sends
    one the service refuses as unknown; a stray parameter is not passed on and the
    application is filed."""
    import re

    from tongban.bundles import selectors
    from tongban.bundles.merging import form_keys, merge

    staff = load(tmp_path)
    client = Client()
    client.force_login(staff.applicant)
    page = client.get("/bundles/T-BUNDLE/apply/", {"q_kind": "a"}).content.decode()
    names = set(re.findall(r'name="f_([^"]+)"', page))
    assert names == {"baby_name", "address", "bank"}  # the typed ones; 自动填 are read-only
    assert names <= form_keys(merge(selectors.bundle_spec("T-BUNDLE"), {"kind": "a"}))
    data: dict[str, object] = {"q_kind": "a", **{f"f_{k}": v for k, v in FORM.items()}}
    data["f_nickname"] = "小宝"
    data["m_photo"] = SimpleUploadedFile("p.png", PNG)
    data["m_form_sheet"] = SimpleUploadedFile("s.png", PNG)
    with freeze_time(NOW):
        done = client.post("/bundles/T-BUNDLE/apply/", data)
    assert done.status_code == 302
    assert "nickname" not in BundleCase.objects.get().form_data


def test_an_oversized_upload_is_named_and_nothing_is_filed(tmp_path: Path) -> None:
    staff = load(tmp_path)
    client = Client()
    client.force_login(staff.applicant)
    data = {"q_kind": "a", **{f"f_{k}": v for k, v in FORM.items()}}
    data["m_photo"] = SimpleUploadedFile("p.png", PNG + b"\0" * (PHOTO_LIMIT_MB * 1024 * 1024))
    data["m_form_sheet"] = SimpleUploadedFile("s.png", PNG)
    with freeze_time(NOW):
        response = client.post("/bundles/T-BUNDLE/apply/", data)
    assert response.status_code == 422
    assert f"文件超过 {PHOTO_LIMIT_MB} MB" in response.content.decode()
    assert not BundleCase.objects.exists()


def test_composer_previews_live_and_saves_with_the_import_checks(tmp_path: Path) -> None:
    import yaml

    from tongban.bundles.models import Bundle

    staff = load(tmp_path)
    client = Client()
    client.force_login(staff.admin)
    bundle = Bundle.objects.get(code="T-BUNDLE")
    source = yaml.safe_dump(bundle.definition, allow_unicode=True)
    url = f"/admin/bundles/bundle/{bundle.pk}/change/"
    assert client.get(url).status_code == 200
    preview = client.post(url + "preview/", {"source": source})
    assert preview.status_code == 200
    assert "produced" in preview.content.decode()
    broken = source.replace("T-PAY", "T-NOPE")
    assert (
        "事项目录中没有事项 T-NOPE"
        in client.post(url + "preview/", {"source": broken}).content.decode()
    )
    renamed = source.replace("测试一件事", "测试一件事（改）")
    client.post(url, {"source": renamed})
    bundle.refresh_from_db()
    assert bundle.name == "测试一件事（改）"
    outsider = Client()
    outsider.force_login(staff.outsider)
    assert outsider.post(url + "preview/", {"source": source}).status_code in (302, 403)
