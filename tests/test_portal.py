"""Portal pages: each renders with the right content, the 情形 questionnaire, preferences
(division, 长辈模式, language), the login lockout page, and the English catalog's completeness."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polib
import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation

from tests.catalog_fixtures import sample, write_catalog
from tests.factories import PASSWORD, ApplicantFactory
from tongban.catalog.services import import_catalog
from tongban.identity.models import User

pytestmark = pytest.mark.django_db

FOOD = "SC-FOOD-001"
BIRTH = "GA-BIRTH-001"

BIRTH_ITEM = """\
schema: tongban-catalog/1
items:
  - code: GA-BIRTH-001
    name: 出生登记
    type: confirmation
    department: 3301-GA
    legal_basis: 《中华人民共和国户口登记条例》第七条
    acceptance_conditions: 婴儿出生后一个月以内，由户主、亲属、抚养人或者邻居申报
    promised_limit_days: 1
    handling_mode: immediate
    online_depth: 4
    required_trips: 0
    applicant_types: [person]
    tongban_scope: province
    keywords: [生孩子, 上户口]
    themes: [出生]
    popularity: 500
    sample_note: 承诺时限为示例数据，实际以当地公布为准。
    materials:
      - {key: birth_cert, name: 出生医学证明, source: government, licence_type: LT-BIRTH, originals: 1}
"""


@pytest.fixture(autouse=True)
def catalog(tmp_path: Path) -> None:
    import_catalog([*sample(tmp_path), *write_catalog(tmp_path, birth=BIRTH_ITEM)])


@pytest.fixture(autouse=True)
def chinese() -> Iterator[None]:
    with translation.override("zh-hans"):
        yield


def html(response: object) -> str:
    return response.content.decode()  # type: ignore[attr-defined]


def guide_url(code: str = FOOD) -> str:
    return reverse("portal:item_guide", args=[code])


# --- pages render -------------------------------------------------------------------------------
def test_home_shows_search_popular_items_departments_and_themes(client: Client) -> None:
    response = client.get(reverse("portal:home"))
    assert response.status_code == 200
    page = html(response)
    assert '<html lang="zh-Hans"' in page
    assert 'role="search"' in page
    assert "出生登记" in page  # popular
    assert "杭州市公安局" in page  # department with an item count
    for theme in ("出生", "就业创业", "开办企业", "退休养老"):
        assert f"?theme={theme}" in page or theme in page
    assert 'href="#main"' in page
    assert 'id="main"' in page


def test_layout_has_landmarks_and_labelled_controls(client: Client) -> None:
    page = html(client.get(reverse("portal:home")))
    for landmark in ("<header", "<main", "<footer", "<nav"):
        assert landmark in page
    assert '<label for="division-select">' in page
    assert 'aria-pressed="false"' in page  # 长辈模式 off
    assert "htmx/htmx.min.js" in page


def test_search_finds_item_and_highlights_matched_terms(client: Client) -> None:
    response = client.get(reverse("portal:search"), {"q": "食品经营许可"})
    assert response.status_code == 200
    page = html(response)
    assert reverse("portal:item_detail", args=[FOOD]) in page
    assert "<mark>" in page
    assert "杭州市市场监督管理局" in page


def test_search_htmx_returns_only_the_results_partial(client: Client) -> None:
    response = client.get(reverse("portal:search"), {"q": "食品经营许可"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = html(response)
    assert "<html" not in page
    assert reverse("portal:item_detail", args=[FOOD]) in page


def test_search_history_restore_gets_the_whole_page(client: Client) -> None:
    response = client.get(
        reverse("portal:search"),
        {"q": "食品经营许可"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in html(response)
    assert "HX-Request" in response["Vary"]


def test_search_filters_by_applicant_type(client: Client) -> None:
    page = html(client.get(reverse("portal:search"), {"q": "出生登记", "type": "enterprise"}))
    assert reverse("portal:item_detail", args=[BIRTH]) not in page
    page = html(client.get(reverse("portal:search"), {"q": "出生登记", "type": "person"}))
    assert reverse("portal:item_detail", args=[BIRTH]) in page


def test_search_without_results_suggests_everyday_words(client: Client) -> None:
    response = client.get(reverse("portal:search"), {"q": "量子隧穿申报"})
    assert response.status_code == 200
    page = html(response)
    assert "没有找到" in page
    assert "换个说法试试" in page
    assert "?q=%E7%94%9F%E5%AD%A9%E5%AD%90" in page  # 生孩子, a keyword of a popular item


def test_search_page_without_query_renders_the_form(client: Client) -> None:
    response = client.get(reverse("portal:search"))
    assert response.status_code == 200
    assert 'name="q"' in html(response)


def test_item_list_by_theme(client: Client) -> None:
    response = client.get(reverse("portal:item_list"), {"theme": "出生"})
    assert response.status_code == 200
    page = html(response)
    assert "出生登记" in page
    assert "食品经营许可" not in page


def test_item_guide_page_shows_every_standard_element(client: Client) -> None:
    response = client.get(reverse("portal:item_detail", args=[FOOD]))
    assert response.status_code == 200
    page = html(response)
    expected = [
        "食品经营许可（餐饮服务）",
        "设定依据",
        "《中华人民共和国食品安全法》第三十五条",
        "受理条件",
        "有与经营食品品种、数量相适应的经营场所",
        "申请材料",
        "食品经营许可申请书",
        "营业执照",
        "经营者身份证明",
        "经营场所平面布局图",
        "冷食类食品加工制作流程",
        "专间设置说明",
        "法定办结时限",
        "20 个工作日",
        "承诺办结时限",
        "10 个工作日",
        "收费标准",
        "不收费",
        "办理结果",
        "食品经营许可证",
        "办件类型",
        "承诺件",
        "网办深度",
        "三级：网上受理，现场领取",
        "跑动次数",
        "服务对象",
        "法人、自然人",
        "告知承诺",
        "可以告知承诺方式办理",
        "容缺受理",
        "通办范围",
        "属地办理",
        "办理部门",
        "杭州市市场监督管理局",
        "视情形提交",
        "实施该事项的地区",
        "西湖区",
    ]
    for text in expected:
        assert text in page, text
    assert "示例数据说明" not in page


def test_sample_note_is_shown_when_present(client: Client) -> None:
    page = html(client.get(reverse("portal:item_detail", args=[BIRTH])))
    assert "示例数据说明" in page
    assert "承诺时限为示例数据" in page
    assert "免提交" in page  # the 出生医学证明 can be pulled as an e-licence


def test_division_parameter_shows_the_local_implementation(client: Client) -> None:
    page = html(client.get(reverse("portal:item_detail", args=[FOOD]), {"division": "330106"}))
    assert "在西湖区办理" in page
    assert "西湖区市场监督管理局" in page
    assert "西湖区政务服务中心" in page
    assert "1号综合受理窗口" in page
    assert '<strong class="big-number">3</strong>' in page


def test_division_switch_is_remembered_across_pages(client: Client) -> None:
    item = reverse("portal:item_detail", args=[FOOD])
    response = client.post(reverse("portal:set_division"), {"division": "330106", "next": item})
    assert response.status_code == 302
    assert response["Location"] == item
    assert client.session["division"] == "330106"
    assert "西湖区市场监督管理局" in html(client.get(item))
    guide_page = html(client.get(guide_url()))
    assert "1号综合受理窗口" in guide_page
    home = html(client.get(reverse("portal:home")))
    assert '<option value="330106" selected>' in home


def test_division_switch_shows_local_limit_in_the_guide(client: Client) -> None:
    client.post(reverse("portal:set_division"), {"division": "330106001"})  # a street below
    page = html(client.get(guide_url()))
    assert "西湖区市场监督管理局" in page
    assert "3 个工作日" in page


def test_division_switch_ignores_unknown_codes_and_clears(client: Client) -> None:
    client.post(reverse("portal:set_division"), {"division": "999999"})
    assert "division" not in client.session
    client.post(reverse("portal:set_division"), {"division": "330106"})
    client.post(reverse("portal:set_division"), {"division": ""})
    assert "division" not in client.session


def test_division_switch_rejects_external_next(client: Client) -> None:
    response = client.post(
        reverse("portal:set_division"), {"division": "330106", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def test_unknown_item_is_a_real_404_page(client: Client) -> None:
    for url in (reverse("portal:item_detail", args=["NOPE-1"]), guide_url("NOPE-1")):
        response = client.get(url)
        assert response.status_code == 404
        page = html(response)
        assert "没有找到该事项" in page
        assert "<main" in page
        assert 'role="search"' in page


def test_unknown_url_uses_the_site_404_page(client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "页面不存在" in html(response)


# --- 情形 questionnaire ------------------------------------------------------------------------
def test_guide_asks_first_questions_and_lists_depends_lines(client: Client) -> None:
    response = client.get(guide_url())
    assert response.status_code == 200
    page = html(response)
    assert "申请主体类型" in page
    assert "经营场所面积（平方米）" in page
    assert 'name="a_cold"' not in page  # a follow-up, not asked yet
    assert "取决于：是否制售冷食类食品" in page  # …but named where a material waits for it
    assert "食品经营许可申请书" in page
    assert "取决于：申请主体类型" in page
    assert "还有 2 个问题没有回答" in page
    assert "经营者身份证号" in page
    assert "自动填（身份信息）" in page


def test_guide_follow_up_appears_after_answer(client: Client) -> None:
    response = client.post(guide_url(), {"a_entity": "company", "a_area": "80"})
    page = html(response)
    assert response.status_code == 200
    assert "是否制售冷食类食品" in page
    assert 'name="a_cold"' in page


def test_guide_result_lists_only_materials_that_apply(client: Client) -> None:
    response = client.post(guide_url(), {"a_entity": "company", "a_area": "80", "a_cold": "no"})
    assert response.status_code == 200
    page = html(response)
    materials = page.split('id="my-materials"', 1)[1].split("</ol>", 1)[0]
    assert "食品经营许可申请书" in materials
    assert "营业执照" in materials
    assert "免提交：可调取电子证照（LT-BUSINESS-LICENCE）" in materials
    assert "经营者身份证明" not in page
    assert "冷食类食品加工制作流程" not in page
    assert "是否设有专间" not in page
    assert "是否需要，取决于您的回答" not in page
    assert "原件 1 份" in materials
    assert "复印件" not in materials


def test_guide_tolerable_and_data_source_hints(client: Client) -> None:
    answers = {"a_entity": "individual", "a_area": "500", "a_cold": "yes", "a_cold_room": "yes"}
    page = html(client.post(guide_url(), answers))
    materials = page.split('id="my-materials"', 1)[1].split("</ol>", 1)[0]
    assert "专间设置说明" in materials
    assert "容缺" in materials
    assert "免提交：可通过数据共享获取（hukou）" in materials
    assert "经营场所平面布局图" in materials


def test_guide_htmx_change_returns_the_form_partial(client: Client) -> None:
    response = client.post(
        guide_url(), {"a_entity": "company", "a_area": "80"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    page = html(response)
    assert "<html" not in page
    assert "是否制售冷食类食品" in page
    assert 'hx-post="' in page


def test_guide_invalid_answers_show_the_error_next_to_the_question(client: Client) -> None:
    response = client.post(guide_url(), {"a_entity": "bank", "a_area": "很大"})
    assert response.status_code == 422
    page = html(response)
    assert "有回答需要修改" in page
    assert "请填写数字" in page
    assert 'id="q-area-error"' in page
    assert re.search(r'<input id="q-area"[^>]*aria-describedby="q-area-error"', page)
    assert re.search(r'<input id="q-area"[^>]*aria-invalid="true"', page)
    assert 'id="q-entity-error"' in page
    assert 'value="很大"' in page  # the applicant's input is kept


def test_guide_printable_version_shows_answers(client: Client) -> None:
    query = {"print": "1", "a_entity": "company", "a_area": "80", "a_cold": "no"}
    response = client.get(guide_url(), query)
    assert response.status_code == 200
    page = html(response)
    assert "申请材料清单" in page
    assert "我的回答" in page
    assert "<dd>企业</dd>" in page
    assert "<dd>80</dd>" in page
    assert "<dd>否</dd>" in page
    assert "营业执照" in page
    assert "guide-form" not in page


def test_guide_result_links_to_printable_version_with_answers(client: Client) -> None:
    page = html(client.post(guide_url(), {"a_entity": "company", "a_area": "80", "a_cold": "no"}))
    assert "?print=1&amp;a_entity=company&amp;a_area=80&amp;a_cold=no" in page


# --- preferences --------------------------------------------------------------------------------
def test_elder_mode_toggle_persists_in_session(client: Client) -> None:
    response = client.post(reverse("portal:set_elder_mode"), {"elder_mode": "on", "next": "/"})
    assert response.status_code == 302
    page = html(client.get(reverse("portal:home")))
    assert '<html lang="zh-Hans" class="elder">' in page
    assert 'aria-pressed="true"' in page
    client.post(reverse("portal:set_elder_mode"), {"elder_mode": "off"})
    assert 'class="elder"' not in html(client.get(reverse("portal:home")))


def test_elder_mode_button_without_value_toggles(client: Client) -> None:
    client.post(reverse("portal:set_elder_mode"))
    assert client.session["elder_mode"] is True
    client.post(reverse("portal:set_elder_mode"))
    assert client.session["elder_mode"] is False


def test_elder_mode_is_saved_on_the_account(client: Client) -> None:
    user: User = ApplicantFactory()  # type: ignore[assignment] # factory_boy returns a User
    client.force_login(user)
    client.post(reverse("portal:set_elder_mode"), {"elder_mode": "on"})
    user.refresh_from_db()
    assert user.elder_mode is True
    other = Client()
    other.force_login(user)
    assert 'class="elder"' in html(other.get(reverse("portal:home")))


def test_language_switch_to_english(client: Client) -> None:
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    page = html(client.get(reverse("portal:home")))
    assert '<html lang="en"' in page
    assert "Popular services" in page
    assert "Elder mode" in page
    assert "Search" in page
    guide_page = html(client.get(guide_url()))
    assert "My list of materials" in guide_page


# --- login --------------------------------------------------------------------------------------
def test_login_page_renders_and_signs_in(client: Client) -> None:
    user = ApplicantFactory()
    response = client.get(reverse("portal:login"))
    assert response.status_code == 200
    assert 'autocomplete="current-password"' in html(response)
    response = client.post(
        reverse("portal:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 302
    page = html(client.get(reverse("portal:home")))
    assert "退出登录" in page
    response = client.post(reverse("portal:logout"))
    assert response.status_code == 302


def test_repeated_login_failures_show_the_lockout_page(client: Client) -> None:
    user = ApplicantFactory()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("portal:login"), {"username": user.username, "password": "wrong"})
    response = client.post(
        reverse("portal:login"), {"username": user.username, "password": PASSWORD}
    )
    assert response.status_code == 429
    page = html(response)
    assert "账户已暂时锁定" in page
    assert "Account temporarily locked" in page


# --- whole-site properties ------------------------------------------------------------------------
def test_no_page_links_outside_the_site(client: Client) -> None:
    pages = [
        reverse("portal:home"),
        reverse("portal:search") + "?q=开饭店",
        reverse("portal:search") + "?q=量子隧穿申报",
        reverse("portal:item_list"),
        reverse("portal:item_detail", args=[FOOD]) + "?division=330106",
        reverse("portal:item_detail", args=[BIRTH]),
        guide_url(),
        guide_url() + "?print=1&a_entity=company",
        reverse("portal:login"),
        "/no-such-page/",
    ]
    for url in pages:
        page = html(client.get(url))
        external = re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+", page)
        assert [u for u in external if "testserver" not in u] == [], url


def test_item_guide_page_query_count_is_bounded(
    client: Client, django_assert_max_num_queries: Any
) -> None:
    client.post(reverse("portal:set_division"), {"division": "330106"})
    client.get(reverse("portal:item_detail", args=[FOOD]))  # warm the session
    client.get(guide_url())  # compile the guide once (cached by version)
    # session, item, division, implementations, version + 3 prefetches, implementations list,
    # divisions for the header switch
    with django_assert_max_num_queries(10):
        response = client.get(reverse("portal:item_detail", args=[FOOD]))
    assert response.status_code == 200
    # an htmx re-render: session, item, division, implementations — no per-question queries
    with django_assert_max_num_queries(4):
        response = client.post(guide_url(), {"a_entity": "company"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200


def test_english_catalog_translates_every_message() -> None:
    po_path = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES" / "django.po"
    catalog = polib.pofile(str(po_path))
    missing = [
        entry.msgid
        for entry in catalog
        if not entry.obsolete
        and (
            "fuzzy" in entry.flags
            or (entry.msgid_plural and not all(entry.msgstr_plural.values()))
            or (not entry.msgid_plural and not entry.msgstr)
        )
    ]
    assert missing == []
    assert len(catalog) > 100


def test_login_page_offers_single_sign_on_only_when_configured(client: Client) -> None:
    page = html(client.get("/accounts/login/"))
    assert "/oidc/authenticate/" not in page
    with override_settings(OIDC_ENABLED=True):
        page = html(client.get("/accounts/login/?next=/items/"))
    assert "/oidc/authenticate/?next=/items/" in page
    failed = html(client.get("/accounts/login/?oidc=failed"))
    assert "统一身份认证登录未成功" in failed
