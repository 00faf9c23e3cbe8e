"""The applicant's path in a real browser: say it in everyday words, find the item, answer the
情形 questions (follow-ups appear as you answer), and get a personal list of materials.

Screenshots for review are written to ``test-artifacts/screenshots/``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class Scenario:
    query: str
    item_name: str
    answers: tuple[tuple[str, str, str], ...]  # (question, "choice" | "number", option/value)
    query_string: dict[str, str]  # the same answers as the guide's query parameters
    included: tuple[str, ...]
    excluded: tuple[str, ...]


SCENARIOS = {
    # The sample catalog (tongban.demo): a small restaurant run by an individual business.
    "sample": Scenario(
        query="开饭店",
        item_name="食品经营许可（新办）",
        answers=(
            ("申请主体是哪一类？", "choice", "个体工商户"),
            ("主要经营什么？", "choice", "餐饮服务（饭店、小吃店、奶茶店等）"),
            ("经营场所使用面积是多少平方米？", "number", "120"),
            ("是否制售冷食类或生食类食品（如凉菜、刺身、裱花蛋糕）？", "choice", "是"),
            ("是否通过网络平台（外卖）销售？", "choice", "否"),
            ("是否委托他人代为办理？", "choice", "否"),
        ),
        query_string={
            "a_subject_type": "individual",
            "a_business_form": "restaurant",
            "a_area": "120",
            "a_cold_raw": "yes",
            "a_online_sales": "no",
            "a_by_agent": "no",
        },
        included=("食品经营许可申请书", "专间（专区）设置及操作流程说明", "营业执照"),
        excluded=(
            "经营场所功能分区平面图",
            "食品安全管理人员任命文件",
            "授权委托书及代理人居民身份证",
            "配送运输工具及保温、冷藏设施说明",
            "网络经营店铺信息",
        ),
    ),
    # The small test catalog (tests/catalog_fixtures.py), used when the sample cannot load.
    "fixture": Scenario(
        query="开饭店",
        item_name="食品经营许可（餐饮服务）",
        answers=(
            ("申请主体类型", "choice", "个体工商户"),
            ("经营场所面积（平方米）", "number", "120"),
            ("是否制售冷食类食品", "choice", "是"),
            ("是否设有专间", "choice", "否"),
        ),
        query_string={
            "a_entity": "individual",
            "a_area": "120",
            "a_cold": "yes",
            "a_cold_room": "no",
        },
        included=("食品经营许可申请书", "经营者身份证明", "冷食类食品加工制作流程"),
        excluded=("营业执照", "经营场所平面布局图", "专间设置说明"),
    ),
}


def settle(page: Any) -> None:
    """Wait until htmx has no request, swap or settle in progress."""
    page.wait_for_function(
        "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"
    )


def answer(page: Any, question: str, kind: str, value: str, *, live: bool = True) -> None:
    """Answer one question; with ``live``, wait for htmx to re-render the form."""
    if kind == "number":
        field = page.get_by_label(question, exact=True)
        field.fill(value)
        action = lambda: field.press("Tab")  # noqa: E731 - change fires when leaving the field
    else:
        option = page.get_by_role("group", name=question).get_by_label(value, exact=True)
        action = option.check
    if not live:
        action()
        return
    with page.expect_response(lambda r: "/guide/" in r.url and r.request.method == "POST"):
        action()
    settle(page)


def material_list(page: Any) -> str:
    return str(page.locator("#my-materials").inner_text())


def test_colloquial_search_to_personal_material_list(
    new_page: Any, sample_catalog: str, screenshots: Path
) -> None:
    scenario = SCENARIOS[sample_catalog]
    page = new_page()
    page.goto("/")
    assert page.evaluate("typeof htmx") == "object"

    # Live results appear under the search box as the applicant types.
    page.get_by_label("搜索办事事项").fill(scenario.query)
    result = page.locator("#search-results .result", has_text=scenario.item_name)
    result.first.wait_for()
    assert result.first.locator("mark").count() + page.locator(".result mark").count() > 0
    result.first.get_by_role("link", name=scenario.item_name).click()
    page.wait_for_url("**/items/**/")
    assert page.get_by_role("heading", level=1).inner_text().startswith(scenario.item_name)
    assert page.get_by_text("设定依据").first.is_visible()

    page.get_by_role("link", name="开始情形引导，生成我的材料清单").click()
    page.wait_for_url("**/guide/**")

    follow_up = scenario.answers[3][0] if sample_catalog == "sample" else scenario.answers[2][0]
    assert page.get_by_role("group", name=follow_up).count() == 0  # not asked yet
    for question, kind, value in scenario.answers:
        answer(page, question, kind, value)

    with page.expect_navigation():
        page.get_by_role("button", name="生成材料清单").click()
    page.locator("#my-materials").wait_for()
    materials = material_list(page)
    for name in scenario.included:
        assert name in materials, name
    for name in scenario.excluded:
        assert name not in materials, name
    assert page.locator("#depends-materials").count() == 0  # every question answered
    page.screenshot(path=str(screenshots / "guide-flow.png"), full_page=True)

    # The printable version carries the answers.
    page.get_by_role("link", name="打印版材料清单").click()
    page.wait_for_url("**print=1**")
    answers_text = page.locator(".answers").inner_text()
    assert scenario.answers[0][2] in answers_text
    page.screenshot(path=str(screenshots / "guide-print.png"), full_page=True)


def test_guide_works_without_javascript(
    new_page: Any, sample_catalog: str, live_server: Any
) -> None:
    scenario = SCENARIOS[sample_catalog]
    page = new_page(java_script_enabled=False)
    page.goto("/search?" + urlencode({"q": scenario.query}))
    page.locator(".result", has_text=scenario.item_name).first.get_by_role(
        "link", name="情形引导"
    ).click()
    page.wait_for_url("**/guide/**")
    # Answer what is asked, submit, and repeat: follow-ups appear after each submit.
    for _ in range(len(scenario.answers)):
        asked = [a for a in scenario.answers if _is_asked(page, a[0])]
        pending = [a for a in asked if not _is_answered(page, a)]
        if not pending:
            break
        for question, kind, value in pending:
            answer(page, question, kind, value, live=False)
        with page.expect_navigation():
            page.get_by_role("button", name="生成材料清单").click()
    materials = material_list(page)
    for name in scenario.included:
        assert name in materials, name
    for name in scenario.excluded:
        assert name not in materials, name


def _is_asked(page: Any, question: str) -> bool:
    return bool(
        page.get_by_role("group", name=question).count()
        or page.get_by_label(question, exact=True).count()
    )


def _is_answered(page: Any, item: tuple[str, str, str]) -> bool:
    question, kind, value = item
    if kind == "number":
        return bool(page.get_by_label(question, exact=True).input_value() == value)
    return bool(
        page.get_by_role("group", name=question).get_by_label(value, exact=True).is_checked()
    )


def test_guide_on_a_phone_and_in_elder_mode(
    new_page: Any, sample_catalog: str, screenshots: Path
) -> None:
    scenario = SCENARIOS[sample_catalog]
    phone = new_page(viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    phone.goto("/")
    phone.screenshot(path=str(screenshots / "home-mobile.png"), full_page=True)
    code = _item_code(phone, scenario)
    guide = f"/items/{code}/guide/?" + urlencode(scenario.query_string)
    phone.goto(guide)
    assert scenario.included[-1] in material_list(phone)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"page is {width}px wide on a 375px screen"
    phone.screenshot(path=str(screenshots / "guide-flow-mobile.png"), full_page=True)

    elder = new_page()
    elder.goto("/")
    base_size = elder.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    with elder.expect_navigation():
        elder.get_by_role("button", name="长辈模式").click()
    assert elder.locator("html.elder").count() == 1
    size = elder.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 20 > base_size
    elder.screenshot(path=str(screenshots / "home-elder.png"), full_page=True)
    elder.goto(guide)
    assert elder.locator("html.elder").count() == 1  # remembered for the session
    button = elder.get_by_role("button", name="生成材料清单").bounding_box()
    assert button["height"] >= 48
    elder.screenshot(path=str(screenshots / "guide-flow-elder.png"), full_page=True)


def _item_code(page: Any, scenario: Scenario) -> str:
    page.goto("/search?" + urlencode({"q": scenario.query}))
    href = (
        page.locator(".result", has_text=scenario.item_name)
        .first.get_by_role("link", name="办事指南")
        .get_attribute("href")
    )
    return str(href).strip("/").split("/")[1]


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('input, select, textarea, button')]
  .filter(el => el.type !== 'hidden' && el.offsetParent !== null)
  .filter(el => {
    if (el.tagName === 'BUTTON') return !el.textContent.trim() && !el.getAttribute('aria-label');
    if (el.getAttribute('aria-label') || el.closest('label')) return false;
    return !(el.id && document.querySelector(`label[for="${el.id}"]`));
  })
  .map(el => el.outerHTML.slice(0, 120))"""


def test_pages_work_by_keyboard_and_label_every_control(new_page: Any, sample_catalog: str) -> None:
    scenario = SCENARIOS[sample_catalog]
    page = new_page()
    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.inner_text() == "跳到主要内容"
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    code = _item_code(page, scenario)
    for url in ("/", f"/search?q={scenario.query}", f"/items/{code}/", f"/items/{code}/guide/"):
        page.goto(url)
        assert page.evaluate(UNLABELLED_CONTROLS) == [], url
        assert page.locator("h1").count() == 1, url
        assert page.evaluate("document.documentElement.lang") == "zh-Hans"
        for landmark in ("banner", "main", "contentinfo"):
            assert page.get_by_role(landmark).count() == 1, (url, landmark)
