"""Portal (我的政策, 政策体检, one-click confirmation) and workbench policy pages: who may open
what, and that the actions reach the services."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.policy_fixtures import PAY_DAY, applicant_for, draft, elder_profile, make_world, publish
from tongban.policies import runs
from tongban.policies.models import (
    Candidate,
    CandidateStatus,
    PaymentInstruction,
    Run,
    VersionStatus,
)

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def world() -> Any:
    w = make_world()
    items = [
        {
            "code": "OFFER",
            "name": "住房补贴",
            "mode": "confirm",
            "conditions": {"attr": "bank_account_on_file", "op": "==", "value": True},
            "amount": 800,
        }
    ]
    w.policy = publish(w, budget="100000", items=items)
    w.mine = elder_profile(1)
    w.unknown = elder_profile(2, bank=None)
    w.owner = applicant_for(w.mine)
    w.other = applicant_for(w.unknown)
    run = runs.check_start_run(w.author, w.policy.code, period="2026-11", payment_date=PAY_DAY)
    runs.check_approve_run(w.head, run.pk)
    w.offer = Candidate.objects.get(entity_key=w.mine.id_number, status=CandidateStatus.OFFERED)
    return w


def test_my_policies_and_checkup_for_the_applicant_only(world: Any) -> None:
    for url in ("/my/policies/", "/my/policies/checkup/"):
        assert client_for(None).get(url).status_code == 302  # to the login page
        assert client_for(world.author).get(url).status_code == 403
    page = client_for(world.owner).get("/my/policies/").content.decode()
    assert "住房补贴" in page
    assert "一键确认兑现" in page
    assert "800.00" in page
    other = client_for(world.other).get("/my/policies/").content.decode()
    assert "一键确认兑现" not in other
    assert "待核实" in other
    assert "已登记银行账户" in other
    checkup = client_for(world.other).get("/my/policies/checkup/").content.decode()
    assert "（无数据）" in checkup
    assert "待核实" in checkup
    assert (
        client_for(world.other)
        .get(f"/my/policies/checkup/?entity={world.mine.id_number}")
        .status_code
        == 404
    )


def test_one_click_confirmation(world: Any) -> None:
    url = f"/my/policies/offers/{world.offer.pk}/confirm/"
    assert client_for(None).post(url).status_code == 302
    assert client_for(world.author).post(url).status_code == 403
    assert client_for(world.other).post(url).status_code == 404
    assert not PaymentInstruction.objects.exists()
    response = client_for(world.owner).post(url, follow=True)
    assert "已确认，800.00 元将拨付" in response.content.decode()
    assert PaymentInstruction.objects.get().entity_key == world.mine.id_number
    again = client_for(world.owner).post(url, follow=True).content.decode()
    assert "无需再确认" in again
    assert PaymentInstruction.objects.count() == 1


def test_workbench_policy_pages_permissions(world: Any) -> None:
    detail = f"/workbench/policies/{world.policy.code}/"
    assert client_for(None).get("/workbench/policies/").status_code == 302
    assert client_for(world.owner).get("/workbench/policies/").status_code == 403
    assert (
        world.policy.title
        not in client_for(world.outsider).get("/workbench/policies/").content.decode()
    )
    assert client_for(world.outsider).get(detail).status_code == 404
    for user in (world.author, world.head, world.legal, world.finance):
        assert client_for(user).get(detail).status_code == 200
    simulated = client_for(world.author).get(detail + "?simulate=1").content.decode()
    assert 'id="policy-charts"' in simulated
    assert "echarts.min.js" in simulated


def test_workbench_actions_go_through_the_services(world: Any) -> None:
    base = f"/workbench/policies/{world.policy.code}/"
    from tongban.policies import services

    services.check_save_draft(
        world.author,
        world.policy.code,
        draft(budget="5000", items=[{**draft()["items"][0], "code": "OFFER"}]),
    )
    assert client_for(world.outsider).post(base + "submit/", {"version": 2}).status_code == 404
    client_for(world.author).post(base + "submit/", {"version": 2})
    assert world.policy.versions.get(number=2).status == VersionStatus.LEGALITY_REVIEW
    refused = client_for(world.finance).post(
        base + "review/", {"version": 2, "step": "legality", "decision": "approve"}, follow=True
    )
    assert "您不是该审核环节的审核部门工作人员" in refused.content.decode()
    client_for(world.legal).post(
        base + "review/", {"version": 2, "step": "legality", "decision": "approve"}
    )
    client_for(world.finance).post(
        base + "review/", {"version": 2, "step": "finance", "decision": "approve"}
    )
    assert world.policy.versions.get(number=2).status == VersionStatus.PUBLISHED
    client_for(world.author).post(
        base + "start_run/", {"period": "2026-12", "payment_date": "2026-12-02"}
    )
    run = Run.objects.get(period="2026-12")
    denied = client_for(world.author).post(base + "approve_run/", {"run": run.pk}, follow=True)
    assert "负责人" in denied.content.decode()
    client_for(world.head).post(base + "approve_run/", {"run": run.pk})
    assert Run.objects.get(pk=run.pk).status == "approved"


def test_the_payment_date_offered_is_todays_local_date(world: Any) -> None:
    """At 01:30 in Beijing on 16 November it is still the 15th in UTC: the 发放日 the run form
    offers is the platform's local day, not the server clock's."""
    from freezegun import freeze_time

    detail = f"/workbench/policies/{world.policy.code}/"
    with freeze_time("2026-11-15 17:30:00+00:00"):
        page = client_for(world.author).get(detail).content.decode()
    assert 'name="payment_date" value="2026-11-16"' in page
