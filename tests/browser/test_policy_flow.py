"""政策体检 and 即申即享 one-click confirmation in a real browser, with the sample policies from the
seeds: a recent graduate (the demo citizen) signs in, finds the graduate housing subsidy waiting
for confirmation, confirms it with one click and sees the payment pending; the 政策体检 page
explains every condition of every policy; the 长辈 (80+) sees her 尊老金 explained in 长辈模式 on
a phone. Staff see the simulation with its ECharts charts.

Screenshots for review: ``test-artifacts/screenshots/policy-*.png``.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.browser.test_case_flow import PHONE, sign_in
from tests.factories import PASSWORD, ApplicantFactory, PersonFactory

pytestmark = pytest.mark.browser


def shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"policy-{name}.png"), full_page=True)


@pytest.fixture
def policy_world(sample_catalog: str) -> dict[str, Any]:
    from tongban.demo.accounts import DEMO_ACCOUNTS
    from tongban.demo.policies import load_policy_sample
    from tongban.identity.models import Division, User
    from tongban.policies import runs
    from tongban.workdays.services import do_sync_chinese_calendar

    do_sync_chinese_calendar()
    if sample_catalog != "sample":
        pytest.fail("the policy story needs the sample catalog (杭州市 departments)")
    people = {a.username: a.person for a in DEMO_ACCOUNTS if a.person is not None}
    accounts = {}
    for username in ("citizen", "elder"):
        demo = people[username]
        person = PersonFactory(
            id_number=demo.id_number,
            name=demo.name,
            household_division=Division.objects.get(code=demo.household_division),
        )
        accounts[username] = ApplicantFactory(username=username, person=person)
    load_policy_sample([], [], seed=2026, password=PASSWORD)
    today = timezone.localdate()
    rsj = User.objects.get(username="policy-rsj")
    run = runs.check_start_run(rsj, "BYS-ZF-2026", payment_date=today)
    runs.check_approve_run(rsj, run.pk, today=today)
    return accounts


def test_checkup_and_one_click_confirmation(
    new_page: Any, screenshots: Path, policy_world: dict[str, Any]
) -> None:
    page = sign_in(new_page, policy_world["citizen"], "/my/policies/")
    offer = page.locator("li.offer").filter(has_text="高校毕业生住房补贴")
    assert offer.locator(".amount").inner_text().startswith("1,500.00")
    shot(page, screenshots, "offer")
    offer.get_by_role("button", name="一键确认兑现").click()
    page.wait_for_load_state()
    assert "已确认，1,500.00 元将拨付" in page.locator(".messages").inner_text()
    assert page.locator("li.offer").count() == 0
    payment = page.locator("tr.payment-pending")
    assert "高校毕业生住房补贴" in payment.inner_text()
    assert "待发送" in payment.inner_text()
    shot(page, screenshots, "confirmed")

    page.get_by_role("link", name="政策体检：查看每项政策的判断依据").click()
    page.wait_for_url("**/my/policies/checkup/")
    housing = page.locator("article.checkup").filter(has_text="高校毕业生住房补贴")
    assert "符合条件" in housing.locator("p").first.inner_text()
    rows = housing.locator("tbody tr")
    assert rows.count() == 4
    assert "硕士" in rows.nth(0).inner_text()
    assert "满足" in rows.nth(0).inner_text()
    elder_pension = page.locator("article.checkup").filter(has_text="尊老金按月发放")
    assert "不符合条件" in elder_pension.inner_text()
    shot(page, screenshots, "checkup")

    # 申请制: the startup subsidy is applied for through its catalog item
    startup = page.locator("article.checkup").filter(has_text="高校毕业生一次性创业补贴")
    assert "符合条件" in startup.locator("p").first.inner_text()
    startup.get_by_role("link", name="在线申请").click()
    page.wait_for_url("**/items/330100-RSJ.graduate-startup-subsidy/guide/")
    assert "高校毕业生一次性创业补贴申领" in page.locator("h1").inner_text()


def test_elder_sees_her_allowance_explained_on_a_phone(
    new_page: Any, screenshots: Path, policy_world: dict[str, Any]
) -> None:
    elder = policy_world["elder"]
    elder.elder_mode = True
    elder.save(update_fields=["elder_mode"])
    page = sign_in(new_page, elder, "/my/policies/checkup/", **PHONE)
    allowance = page.locator("article.checkup").filter(has_text="尊老金按月发放")
    text = allowance.inner_text()
    assert "符合条件" in text
    assert "50.00" in text
    age = dt.date.today().year - 1940
    assert str(age - 1) in text or str(age) in text  # the age on the payment date is shown
    shot(page, screenshots, "elder-checkup-phone")


def test_staff_simulation_draws_charts(
    new_page: Any, screenshots: Path, policy_world: dict[str, Any]
) -> None:
    from tongban.identity.models import User

    page = sign_in(new_page, User.objects.get(username="policy-mzj"), "/workbench/policies/")
    page.get_by_role("link", name="尊老金（高龄津贴）免申即享").click()
    page.get_by_role("link", name="模拟测算").first.click()
    page.wait_for_selector("#chart-division svg")
    assert "测算金额（元）" in page.locator("#simulation").inner_text()
    shot(page, screenshots, "simulation")
