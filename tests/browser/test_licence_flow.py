"""An e-licence in a real browser: a food business licence is issued when the department head
approves the case; the holder signs in, opens 我的证照, sees the licence with its QR code and
shows the 亮证 dynamic code; an inspector with no account photographs the screen's QR code and
checks it on the public scan page, which says it is valid; after revocation the same page says
revoked, with the reason.

Screenshots for review: ``test-artifacts/screenshots/licence-*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_case_flow import sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def issued(transactional_db: None, tmp_path: Path, settings: Any) -> Any:
    from tests.catalog_fixtures import sample
    from tests.licence_fixtures import make_type
    from tests.test_cases import People, approve, new_case
    from tongban.cases.services import perform
    from tongban.catalog.services import import_catalog
    from tongban.identity.models import Department
    from tongban.licences.models import Licence
    from tongban.workdays.services import do_sync_chinese_calendar

    settings.MEDIA_ROOT = tmp_path / "media"
    do_sync_chinese_calendar()
    import_catalog(sample(tmp_path / "catalog"))
    make_type(
        Department.objects.get(code="3301-SCJG"),
        code="LT-FOOD-BUSINESS",
        name="食品经营许可证",
        number_prefix="JY",
        fields=[
            {"key": "operator", "label": "经营者", "source": "applicant.name"},
            {"key": "item", "label": "许可事项", "source": "case.item_name"},
        ],
    )
    people = People()
    case = new_case(people)
    case = perform(people.window, case.number, "accept")
    case = approve(case, people.ga, "3301-GA")
    case = approve(case, people.scjg, "3301-SCJG")
    case = approve(case, people.scjg, "3301-SCJG")
    perform(people.head, case.number, "decide", {"outcome": "approved"})
    return people, Licence.objects.get(case_number=case.number)


def test_issue_show_and_verify_a_licence(
    new_page: Any, issued: Any, screenshots: Path, live_server: Any
) -> None:
    people, licence = issued
    holder = sign_in(new_page, people.applicant, "/my/licences/")
    holder.get_by_role("link", name="食品经营许可证").click()
    holder.wait_for_url(f"**/my/licences/{licence.number}/")
    assert holder.get_by_role("img", name="证照二维码").is_visible()
    holder.screenshot(path=str(screenshots / "licence-01-holder-space.png"), full_page=True)

    holder.get_by_role("link", name="亮证").click()
    holder.wait_for_url("**/show/")
    qr_image = holder.locator("#dynamic-qr")
    holder.screenshot(path=str(screenshots / "licence-02-show.png"), full_page=True)
    photo = screenshots / "licence-qr-photo.png"
    qr_image.screenshot(path=str(photo))  # what a phone camera would see on the screen

    inspector = new_page()
    inspector.goto("/licences/verify/")
    inspector.locator("#image").set_input_files(str(photo))
    inspector.get_by_role("button", name="核验").click()
    verdict = inspector.locator("[data-verdict]")
    assert verdict.get_attribute("data-verdict") == "valid"
    assert "签章有效" in verdict.inner_text()
    inspector.screenshot(path=str(screenshots / "licence-03-verified.png"), full_page=True)

    from tongban.licences.services import check_revoke

    check_revoke(people.head, licence.number, "现场检查发现不符合许可条件")
    inspector.goto("/licences/verify/")
    inspector.locator("#image").set_input_files(str(photo))
    inspector.get_by_role("button", name="核验").click()
    assert inspector.locator("[data-verdict]").get_attribute("data-verdict") == "revoked"
    assert "现场检查发现不符合许可条件" in inspector.locator("[data-verdict]").inner_text()
    inspector.screenshot(path=str(screenshots / "licence-04-revoked.png"), full_page=True)
