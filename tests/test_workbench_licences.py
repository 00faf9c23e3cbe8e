"""Workbench e-licence pages: the issuing department's register (scoping, search, filters,
keyset pages), one licence with its history, and 变更/补发/注销/撤销 through the page forms —
for anonymous visitors, applicants, other departments' staff and the right staff."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tests.factories import StaffRoleFactory, StaffUserFactory
from tests.licence_fixtures import LicenceWorld, make_type, world  # noqa: F401
from tongban.core.masking import mask_id_number
from tongban.licences import services
from tongban.licences.models import Licence, LicenceAccess, LicenceState, VersionAction
from tongban.workbench import licence_views

pytestmark = pytest.mark.django_db

LIST = "/workbench/licences/"


def _client(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _detail(licence: Licence) -> str:
    return f"/workbench/licences/{licence.number}/"


def _numbers(response: Any) -> list[str]:
    return [row.licence.number for row in response.context["page"].rows]


# --- who may open the pages -----------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, "detail"])
def test_anonymous_is_sent_to_login(world: LicenceWorld, url: str) -> None:  # noqa: F811
    target = _detail(world.licence) if url == "detail" else url
    response = _client().get(target)
    assert response.status_code == 302
    assert "/login" in response["Location"]


@pytest.mark.parametrize("url", [LIST, "detail"])
def test_applicants_and_holders_get_403(world: LicenceWorld, url: str) -> None:  # noqa: F811
    target = _detail(world.licence) if url == "detail" else url
    assert _client(world.holder).get(target).status_code == 403
    assert _client(world.other_holder).get(target).status_code == 403


def test_staff_without_an_issuing_role_get_403_and_no_link(world: LicenceWorld) -> None:  # noqa: F811
    supervisor = StaffUserFactory(department=world.department, roles=["supervisor"])
    response = _client(supervisor).get(LIST)
    assert response.status_code == 403
    assert "发证部门的岗位角色" in response.content.decode()
    home = _client(supervisor).get("/workbench/")
    assert home.status_code == 200
    assert 'href="/workbench/licences/"' not in home.content.decode()


def test_navigation_links_the_register_for_issuing_staff(world: LicenceWorld) -> None:  # noqa: F811
    home = _client(world.clerk).get("/workbench/")
    assert 'href="/workbench/licences/"' in home.content.decode()


def test_the_register_lists_only_the_users_departments(world: LicenceWorld) -> None:  # noqa: F811
    foreign_type = make_type(world.other_department, code="LT-OTHER", number_prefix="OT")
    foreign = services.do_issue(foreign_type, holder_person=world.other_holder.person)

    mine = _client(world.clerk).get(LIST)
    assert mine.status_code == 200
    assert _numbers(mine) == [world.enterprise_licence.number, world.licence.number]

    theirs = _client(world.outsider).get(LIST)
    assert theirs.status_code == 200
    assert _numbers(theirs) == [foreign.number]
    assert world.licence.number not in theirs.content.decode()


def test_a_licence_of_another_department_is_404(world: LicenceWorld) -> None:  # noqa: F811
    response = _client(world.outsider).get(_detail(world.licence))
    assert response.status_code == 404
    assert _client(world.clerk).get("/workbench/licences/NO-SUCH-NUMBER/").status_code == 404
    refused = _client(world.outsider).post(
        f"{_detail(world.licence)}revoke/", {"reason": "试图撤销"}
    )
    assert refused.status_code == 404
    world.licence.refresh_from_db()
    assert world.licence.state == LicenceState.VALID


# --- search, filters and pages --------------------------------------------------------------------


def test_search_by_number_or_holder_name(world: LicenceWorld) -> None:  # noqa: F811
    client = _client(world.clerk)
    by_number = client.get(LIST, {"q": world.licence.number[-6:]})
    assert world.licence.number in _numbers(by_number)
    assert _numbers(client.get(LIST, {"q": world.licence.number})) == [world.licence.number]
    by_name = client.get(LIST, {"q": world.enterprise_licence.holder_name})
    assert _numbers(by_name) == [world.enterprise_licence.number]
    nothing = client.get(LIST, {"q": "没有这个人"})
    assert _numbers(nothing) == []
    assert "没有符合条件的证照" in nothing.content.decode()


def test_filter_by_status_and_type(world: LicenceWorld) -> None:  # noqa: F811
    other_type = make_type(world.department, code="LT-TEST-TWO", number_prefix="CT")
    expired = services.do_issue(
        other_type,
        holder_person=world.other_holder.person,
        valid_from=dt.date.today() - dt.timedelta(days=365 * 6),
    )
    services.check_revoke(world.head, world.licence.number, "依法撤销")
    client = _client(world.clerk)

    assert _numbers(client.get(LIST, {"status": "revoked"})) == [world.licence.number]
    assert _numbers(client.get(LIST, {"status": "expired"})) == [expired.number]
    assert _numbers(client.get(LIST, {"status": "valid"})) == [world.enterprise_licence.number]
    assert _numbers(client.get(LIST, {"status": "cancelled"})) == []
    assert _numbers(client.get(LIST, {"type": "LT-TEST-TWO"})) == [expired.number]
    both = client.get(LIST, {"type": "LT-TEST-PERMIT", "status": "valid"})
    assert _numbers(both) == [world.enterprise_licence.number]
    # an unknown status or a type of another department is ignored, not an error
    assert len(_numbers(client.get(LIST, {"status": "bogus", "type": "LT-OTHER"}))) == 3
    assert "已过期" in client.get(LIST, {"status": "expired"}).content.decode()


def test_keyset_pages_follow_the_cursor(
    world: LicenceWorld,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(licence_views, "PAGE_SIZE", 2)
    extra = [
        services.do_issue(world.licence_type, holder_person=world.other_holder.person)
        for _ in range(3)
    ]
    newest_first = [
        lic.number for lic in reversed([world.licence, world.enterprise_licence, *extra])
    ]
    client = _client(world.clerk)
    first = client.get(LIST)
    assert _numbers(first) == newest_first[:2]
    assert "下一页" in first.content.decode()
    cursor = first.context["page"].next_cursor
    assert cursor == Licence.objects.get(number=newest_first[1]).pk

    second = client.get(LIST, {"cursor": cursor})
    assert _numbers(second) == newest_first[2:4]
    third = client.get(LIST, {"cursor": second.context["page"].next_cursor})
    assert _numbers(third) == newest_first[4:]
    assert third.context["page"].next_cursor is None
    assert "下一页" not in third.content.decode()
    assert "回到第一页" in third.content.decode()
    for odd in ("²", "9" * 5000):  # digits int() refuses: the first page, not a server error
        assert _numbers(client.get(LIST, {"cursor": odd})) == newest_first[:2], odd

    # the cursor keeps the filters
    filtered = client.get(LIST, {"q": world.other_holder.person.name})
    assert "q=" in filtered.context["next_url"]
    assert client.get(LIST, {"cursor": "abc"}).status_code == 200


def test_the_register_costs_the_same_queries_for_more_licences(
    world: LicenceWorld,  # noqa: F811
    django_assert_max_num_queries: Any,
) -> None:
    client = _client(world.clerk)
    client.get(LIST)
    with django_assert_max_num_queries(8) as few:  # session, user, roles, calendar, types, page
        client.get(LIST)
    for _ in range(4):
        services.do_issue(world.licence_type, holder_person=world.other_holder.person)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(LIST)


# --- masking --------------------------------------------------------------------------------------


def test_holder_identifiers_are_masked_in_the_register_and_on_the_page(
    world: LicenceWorld,  # noqa: F811
) -> None:
    full = world.holder.person.id_number
    name = world.holder.person.name
    for user in (world.clerk, world.head):
        for url in (LIST, _detail(world.licence)):
            page = _client(user).get(url).content.decode()
            assert full not in page
            assert mask_id_number(full) in page
            assert name not in page
    # an enterprise's 统一社会信用代码 and name are public
    page = _client(world.clerk).get(_detail(world.enterprise_licence)).content.decode()
    assert world.enterprise_licence.holder_identifier in page
    assert world.enterprise_licence.holder_name in page


def test_personal_data_in_the_licence_content_is_masked_and_not_editable(
    world: LicenceWorld,  # noqa: F811
) -> None:
    person = world.holder.person
    licence_type = make_type(
        world.department,
        code="LT-PERSONAL",
        number_prefix="PS",
        fields=[
            {"key": "holder", "label": "持证人姓名", "source": "applicant.name"},
            {"key": "identifier", "label": "身份证号码", "source": "applicant.identifier"},
            {"key": "scope", "label": "许可范围", "source": "form.scope"},
        ],
    )
    licence = services.do_issue(
        licence_type,
        holder_person=person,
        data={"holder": person.name, "identifier": person.id_number, "scope": "零售"},
    )
    response = _client(world.head).get(_detail(licence))
    page = response.content.decode()
    assert person.id_number not in page
    assert person.name not in page
    assert mask_id_number(person.id_number) in page
    change = next(f for f in response.context["forms"] if f.action == "change")
    assert [i.name for i in change.inputs] == ["data_scope", "reason"]
    # a 422 page re-shows the form without the personal fields either
    refused = _client(world.head).post(f"{_detail(licence)}change/", {"data_scope": "零售"})
    assert refused.status_code == 422
    assert person.id_number not in refused.content.decode()


def test_a_refused_action_page_keeps_the_holder_masked(world: LicenceWorld) -> None:  # noqa: F811
    response = _client(world.clerk).post(f"{_detail(world.licence)}cancel/", {"reason": "注销"})
    assert response.status_code == 403
    assert world.holder.person.id_number not in response.content.decode()


# --- the detail page ------------------------------------------------------------------------------


def test_detail_shows_history_grants_access_log_and_status_index(world: LicenceWorld) -> None:  # noqa: F811
    Licence.objects.filter(pk=world.licence.pk).update(case_number="TB-CASE-0001")
    grant = services.check_grant(
        world.holder,
        world.licence.number,
        purpose="办理贷款",
        valid_until=timezone.now() + dt.timedelta(days=10),
        department_code=world.other_department.code,
    )
    services.check_reissue(world.clerk, world.licence.number, "证照污损")
    LicenceAccess.objects.create(
        licence=world.licence,
        grant=grant,
        actor=world.outsider,
        actor_label="示例公安局 王某",
        purpose="核查经营资格",
        allowed=True,
    )
    response = _client(world.clerk).get(_detail(world.licence))
    assert response.status_code == 200
    page = response.content.decode()
    assert world.licence_type.name in page
    assert 'href="/workbench/cases/TB-CASE-0001/"' in page
    assert "证照污损" in page  # the version history with the reason
    assert [v.action for v in response.context["versions"]] == [
        VersionAction.ISSUE,
        VersionAction.REISSUE,
    ]
    assert "办理贷款" in page
    assert world.other_department.name in page
    assert "核查经营资格" in page
    assert "示例公安局 王某" in page
    assert f"第 {world.licence.status_index} 位" in page
    assert "许可范围" in page
    assert "预包装食品销售" in page


def test_forms_offered_follow_the_role(world: LicenceWorld) -> None:  # noqa: F811
    def offered(user: Any) -> list[str]:
        response = _client(user).get(_detail(world.licence))
        return [form.action for form in response.context["forms"]]

    assert offered(world.clerk) == ["change", "reissue"]
    assert offered(world.head) == ["change", "reissue", "cancel", "revoke"]
    services.check_cancel(world.head, world.licence.number, "持证人申请注销")
    assert offered(world.head) == []
    assert "证照已失效" in _client(world.head).get(_detail(world.licence)).content.decode()


# --- acts through the page ------------------------------------------------------------------------


def test_reissue_through_the_page(world: LicenceWorld) -> None:  # noqa: F811
    client = _client(world.clerk)
    response = client.post(f"{_detail(world.licence)}reissue/", {"reason": "证照遗失补发"})
    assert response.status_code == 302
    assert response["Location"] == _detail(world.licence)
    world.licence.refresh_from_db()
    assert world.licence.version == 2
    assert world.licence.versions.last().reason == "证照遗失补发"  # type: ignore[union-attr]
    follow = client.get(response["Location"])
    assert "证照已重新签发" in follow.content.decode()


def test_change_through_the_page(world: LicenceWorld) -> None:  # noqa: F811
    client = _client(world.clerk)
    url = f"{_detail(world.licence)}change/"
    response = client.post(
        url,
        {
            "data_scope": "预包装食品销售、散装食品销售",
            "data_address": "示例路1号",
            "reason": "扩大范围",
        },
    )
    assert response.status_code == 302
    world.licence.refresh_from_db()
    assert world.licence.data["scope"] == "预包装食品销售、散装食品销售"
    assert world.licence.version == 2
    unchanged = client.post(
        url,
        {
            "data_scope": world.licence.data["scope"],
            "data_address": "示例路1号",
            "reason": "没有改动",
        },
    )
    assert unchanged.status_code == 422
    assert "没有要变更的内容" in unchanged.content.decode()


def test_cancel_and_revoke_through_the_page(world: LicenceWorld) -> None:  # noqa: F811
    client = _client(world.head)
    cancelled = client.post(f"{_detail(world.licence)}cancel/", {"reason": "持证人申请注销"})
    assert cancelled.status_code == 302
    world.licence.refresh_from_db()
    assert world.licence.state == LicenceState.CANCELLED
    assert "证照已注销" in client.get(cancelled["Location"]).content.decode()

    revoked = client.post(
        f"{_detail(world.enterprise_licence)}revoke/", {"reason": "以欺骗手段取得许可"}
    )
    assert revoked.status_code == 302
    world.enterprise_licence.refresh_from_db()
    assert world.enterprise_licence.state == LicenceState.REVOKED
    assert world.enterprise_licence.revocation_reason == "以欺骗手段取得许可"


@pytest.mark.parametrize("action", ["reissue", "cancel", "revoke"])
def test_a_missing_reason_is_422_next_to_the_input(world: LicenceWorld, action: str) -> None:  # noqa: F811
    response = _client(world.head).post(f"{_detail(world.licence)}{action}/", {"reason": "  "})
    assert response.status_code == 422
    form = next(f for f in response.context["forms"] if f.action == action)
    reason = next(i for i in form.inputs if i.name == "reason")
    assert reason.error == "必填"
    page = response.content.decode()
    assert f'id="act-{action}-reason-error"' in page
    assert "请填写理由" in page
    world.licence.refresh_from_db()
    assert world.licence.version == 1
    assert world.licence.state == LicenceState.VALID


@pytest.mark.parametrize("action", ["cancel", "revoke"])
def test_the_wrong_role_gets_a_403_banner(world: LicenceWorld, action: str) -> None:  # noqa: F811
    response = _client(world.clerk).post(f"{_detail(world.licence)}{action}/", {"reason": "理由"})
    assert response.status_code == 403
    assert response.context["banner"]
    assert "wb-banner" in response.content.decode()
    world.licence.refresh_from_db()
    assert world.licence.state == LicenceState.VALID


def test_a_window_clerk_of_the_department_may_reissue_but_not_revoke(world: LicenceWorld) -> None:  # noqa: F811
    window = StaffUserFactory(department=world.department, roles=["window"])
    client = _client(window)
    assert client.post(f"{_detail(world.licence)}revoke/", {"reason": "x"}).status_code == 403
    assert client.post(f"{_detail(world.licence)}reissue/", {"reason": "x"}).status_code == 302


@pytest.mark.parametrize("action", ["reissue", "cancel", "revoke"])
def test_acting_on_a_revoked_licence_is_a_409_banner(world: LicenceWorld, action: str) -> None:  # noqa: F811
    services.check_revoke(world.head, world.licence.number, "依法撤销")
    response = _client(world.head).post(f"{_detail(world.licence)}{action}/", {"reason": "再办"})
    assert response.status_code == 409
    assert "已撤销" in response.context["banner"]
    world.licence.refresh_from_db()
    assert world.licence.state == LicenceState.REVOKED
    assert world.licence.versions.count() == 2  # issued, revoked — nothing more


def test_unknown_action_and_get_on_an_action(world: LicenceWorld) -> None:  # noqa: F811
    client = _client(world.head)
    assert client.post(f"{_detail(world.licence)}destroy/", {"reason": "x"}).status_code == 404
    assert client.get(f"{_detail(world.licence)}revoke/").status_code == 405


def test_staff_of_two_departments_see_both_registers(world: LicenceWorld) -> None:  # noqa: F811
    foreign_type = make_type(world.other_department, code="LT-OTHER", number_prefix="OT")
    foreign = services.do_issue(foreign_type, holder_person=world.other_holder.person)
    both = StaffUserFactory(department=world.department, roles=["reviewer"])
    StaffRoleFactory(user=both, department=world.other_department, role="window")
    response = _client(both).get(LIST)
    assert _numbers(response) == [
        foreign.number,
        world.enterprise_licence.number,
        world.licence.number,
    ]
    assert {t.code for t in response.context["types"]} == {"LT-TEST-PERMIT", "LT-OTHER"}
    assert _client(both).get(_detail(foreign)).status_code == 200


def test_the_pages_speak_english(world: LicenceWorld) -> None:  # noqa: F811
    english = Client(headers={"accept-language": "en"})
    english.cookies["django_language"] = "en"
    english.force_login(world.head)
    register = english.get(LIST).content.decode()
    assert "Licence number or holder" in register
    page = english.get(_detail(world.licence)).content.decode()
    assert "Version history" in page
    assert "Revoke licence" in page
    assert f"bit {world.licence.status_index}" in page
