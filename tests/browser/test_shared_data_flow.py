"""Shared data in a real browser: the 户籍 gateway is down when the applicant opens the form, so
the form says what could not be fetched and lets them type it; the gateway comes back and
"重新获取共享数据" fills the address from it (read-only, with its source) and exempts the ID card;
the applicant consents to the 婚姻 lookup and the 结婚证 is exempted too; they submit with only
the uploads nobody could provide; the window sees what stood in for each material and the lookup
log. Screenshots: ``test-artifacts/screenshots/case-sharing-*.png``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_case_flow import shot, sign_in, tiny_pdf
from tests.sharing_support import Gateway, running_gateway
from tests.test_sharing_applications import ITEM, SHARED_ITEM

pytestmark = pytest.mark.browser


class Cast:
    def __init__(self) -> None:
        from tests.factories import ApplicantFactory, PersonFactory, StaffUserFactory
        from tongban.identity.models import Department
        from tongban.sharing.services import load_synthetic_records

        self.applicant = ApplicantFactory(
            username="lin.xiaoyu", person=PersonFactory(name="林晓雨", mobile="13900000001")
        )
        self.window = StaffUserFactory(
            username="window",
            display_name="综合窗口 周敏",
            department=Department.objects.get(code="3301-SCJG"),
            roles=["window"],
        )
        load_synthetic_records([self.applicant.person], ensure=["hukou", "marriage"])


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    from tongban.sharing import breaker

    breaker.reset_breakers()
    with running_gateway() as running:
        yield running
    breaker.reset_breakers()


@pytest.fixture
def cast(transactional_db: None, tmp_path: Path, settings: Any, gateway: Gateway) -> Cast:
    from tests.catalog_fixtures import sample, write_catalog
    from tongban.catalog.services import import_catalog
    from tongban.workdays.services import do_sync_chinese_calendar

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TONGBAN_SHARING_CONNECTORS = {
        "default": {"plugin": "local_registry"},
        "hukou": gateway.connector_entry(),
    }
    do_sync_chinese_calendar()
    import_catalog(
        [*sample(tmp_path / "catalog"), *write_catalog(tmp_path / "catalog", shared=SHARED_ITEM)]
    )
    return Cast()


def pdf(name: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "application/pdf", "buffer": tiny_pdf(name)}


def test_outage_refetch_consent_and_submit(
    new_page: Any, cast: Cast, gateway: Gateway, screenshots: Path
) -> None:
    from tongban.cases.models import Case
    from tongban.sharing.models import DataLookup

    gateway.stop()
    applicant = sign_in(new_page, cast.applicant, f"/items/{ITEM}/guide/")
    with applicant.expect_navigation():
        applicant.locator("#apply-box").get_by_role("button", name="在线申请").click()
    assert "/my/drafts/" in applicant.url
    shared = applicant.locator("#shared-data")
    assert "部分数据暂时无法从共享数源获取" in shared.inner_text()
    household = applicant.locator("#field-household")
    assert "户籍信息（公安）暂时无法访问" in household.inner_text()
    applicant.get_by_label("户籍地址").fill("手工填写的地址")
    shot(applicant, screenshots, "sharing-01-outage")
    with applicant.expect_navigation():
        applicant.get_by_role("button", name="保存，稍后再填").click()

    # the gateway is back
    person = cast.applicant.person
    gateway.script.records[("hukou", person.id_number)] = {
        "household_address": "浙江省杭州市西湖区示例路18号",
        "summary": "常住人口登记信息（户籍、居民身份证）",
        "reference": "HJ-GW-0001",
    }
    gateway.start()
    with applicant.expect_navigation():
        applicant.get_by_role("button", name="重新获取共享数据").click()
    household = applicant.locator("#field-household")
    assert "浙江省杭州市西湖区示例路18号" in household.inner_text()
    assert "系统填：来自户籍信息（公安）" in household.inner_text()
    assert applicant.locator("#f_household").count() == 0
    assert "免提交：已从户籍信息（公安）获取" in applicant.locator("#file-id_card").inner_text()
    shot(applicant, screenshots, "sharing-02-refetched")

    with applicant.expect_navigation():
        applicant.get_by_role("button", name="授权查询婚姻登记信息（民政）").click()
    assert "已记录您对" in applicant.locator(".messages").inner_text()
    assert "免提交" in applicant.locator("#file-marriage_cert").inner_text()
    form = applicant.locator("form.apply-form")
    form.locator("#m_plan").set_input_files(files=[pdf("plan.pdf")])
    form.locator("#m_permit").set_input_files(files=[pdf("permit.pdf")])
    shot(applicant, screenshots, "sharing-03-consented")
    with applicant.expect_navigation():
        form.get_by_role("button", name="提交申请").click()
    case = Case.objects.get()
    assert case.number
    assert applicant.url.endswith(f"/my/cases/{case.number}/")

    window = sign_in(new_page, cast.window, f"/workbench/cases/{case.number}/")
    materials = window.locator("#materials-title + ol").inner_text()
    assert "从户籍信息（公安）获取" in materials
    assert "HJ-GW-0001" in materials
    with window.expect_navigation():
        window.get_by_role("link", name="数据共享查询记录").click()
    log = window.locator("main").inner_text()
    assert "申请人授权" in log
    assert person.id_number not in log
    assert DataLookup.objects.filter(case=case, source="hukou", result="error").exists()
    assert DataLookup.objects.filter(case=case, source="hukou", result="found").exists()
    shot(window, screenshots, "sharing-04-lookups")
