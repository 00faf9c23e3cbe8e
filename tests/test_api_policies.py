"""``/api/v1/policies``: every endpoint for anonymous callers, another applicant / entity,
staff of another department and the right staff; the flow over HTTP (draft → reviews → run →
approval → confirmation → reconciliation) with 422 paths for bad rules."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests.factories import ApplicantFactory
from tests.policy_fixtures import PAY_DAY, applicant_for, draft, elder_profile, make_world, publish
from tongban.policies import runs
from tongban.policies.models import Candidate, PaymentInstruction

pytestmark = pytest.mark.django_db
API = "/api/v1/policies"


def call(user: Any, method: str, url: str, body: Any = None) -> Any:
    client = Client()
    if user is not None:
        client.force_login(user)
    kwargs: dict[str, Any] = {}
    if body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(url, **kwargs)


@pytest.fixture
def world() -> Any:
    w = make_world()
    w.confirm_policy = publish(
        w,
        code="C-POLICY",
        budget="100000",
        items=[{"code": "C-ITEM", "name": "一键确认补贴", "mode": "confirm",
                "conditions": {"attr": "alive", "op": "==", "value": True}, "amount": 500}],
    )  # fmt: skip
    w.profile = elder_profile(1)
    w.owner = applicant_for(w.profile)
    w.other_applicant = applicant_for(elder_profile(2))
    w.run = runs.check_start_run(w.author, "C-POLICY", period="2026-11", payment_date=PAY_DAY)
    return w


def test_public_listing_and_detail(world: Any) -> None:
    for user in (None, world.owner, world.outsider):
        listed = call(user, "get", API)
        assert listed.status_code == 200
        assert [p["code"] for p in listed.json()] == ["C-POLICY"]
        detail = call(user, "get", f"{API}/C-POLICY")
        assert detail.status_code == 200
        assert detail.json()["items"][0]["code"] == "C-ITEM"
    assert call(None, "get", f"{API}/NOPE").status_code == 404


STAFF_CASES = [
    # (method, url, body, right staff attribute, success status)
    ("post", API, {"code": "NEW", "title": "新政策", "target": "person", "department": "T-MZJ"}, "author", 201),
    ("put", f"{API}/C-POLICY/draft", draft(items=[{**draft()["items"][0], "code": "C-ITEM"}]), "author", 200),
    ("get", f"{API}/C-POLICY/versions/1/simulation", None, "author", 200),
    ("post", f"{API}/C-POLICY/runs", {"period": "2026-12", "payment_date": "2026-12-03"}, "author", 201),
    ("post", f"{API}/C-POLICY/payments/sent", {"period": "2026-11"}, "head", 200),
    ("post", f"{API}/C-POLICY/reconciliation", {"csv": "item_code,entity_key,period,status\n"}, "head", 200),
]  # fmt: skip


@pytest.mark.parametrize(("method", "url", "body", "right", "success"), STAFF_CASES)
def test_staff_endpoints_permission_matrix(
    world: Any, method: str, url: str, body: Any, right: str, success: int
) -> None:
    assert call(None, method, url, body).status_code == 401
    assert call(world.owner, method, url, body).status_code == 403  # an applicant
    assert call(world.outsider, method, url, body).status_code in (403, 404)  # another department
    assert call(world.outsider_head, method, url, body).status_code in (403, 404)
    response = call(getattr(world, right), method, url, body)
    assert response.status_code == success, response.content


def test_rule_tools_are_for_policy_staff_of_any_department(world: Any) -> None:
    """Checking a rule and defining a shared named condition: any policy author; a condition a
    published version uses can no longer change."""
    check = (
        f"{API}/rules/check",
        {"target": "person", "conditions": {"attr": "alive", "op": "known"}},
    )
    named = (
        f"{API}/named-conditions/在世",
        {"target": "person", "rule": {"attr": "alive", "op": "==", "value": True}},
    )
    for (url, body), method in ((check, "post"), (named, "put")):
        assert call(None, method, url, body).status_code == 401
        assert call(world.owner, method, url, body).status_code == 403
        assert call(world.outsider, method, url, body).status_code == 200
        assert call(world.author, method, url, body).status_code == 200
    item = {**draft()["items"][0], "code": "REF-ITEM", "conditions": {"ref": "在世"}}
    publish(world, code="REF-POLICY", items=[item])
    changed = {"target": "person", "rule": {"attr": "alive", "op": "!=", "value": False}}
    response = call(world.author, "put", named[0], changed)
    assert response.status_code == 409
    assert "REF-POLICY v1" in response.json()["message"]


RUN_CASES = [
    ("get", "/runs/{run}", "author", 200),
    ("get", "/runs/{run}/candidates", "author", 200),
    ("post", "/runs/{run}/cancel", "author", 200),
    ("post", "/runs/{run}/approve", "head", 200),
    ("get", "/C-POLICY/payments", "head", 200),
]


@pytest.mark.parametrize(("method", "path", "right", "success"), RUN_CASES)
def test_run_endpoints_hide_runs_from_everyone_else(
    world: Any, method: str, path: str, right: str, success: int
) -> None:
    url = API + path.format(run=world.run.pk)
    assert call(None, method, url).status_code == 401
    assert call(world.owner, method, url).status_code == 404
    assert call(world.outsider, method, url).status_code == 404
    assert call(world.outsider_head, method, url).status_code == 404
    assert call(getattr(world, right), method, url).status_code == success


def test_reviews_need_the_reviewing_department(world: Any) -> None:
    call(
        world.author,
        "put",
        f"{API}/C-POLICY/draft",
        draft(items=[{**draft()["items"][0], "code": "C-ITEM"}]),
    )
    call(world.author, "post", f"{API}/C-POLICY/versions/2/submit")
    url = f"{API}/C-POLICY/versions/2/review"
    body = {"step": "legality", "approved": True}
    assert call(None, "post", url, body).status_code == 401
    assert call(world.owner, "post", url, body).status_code == 403
    assert call(world.finance, "post", url, body).status_code == 403  # wrong step's department
    assert call(world.outsider, "post", url, body).status_code == 403
    assert call(world.legal, "post", url, body).json()["status"] == "finance_review"
    assert call(world.legal, "post", url, body).status_code == 409


def test_a_bad_draft_answers_422_with_paths(world: Any) -> None:
    bad = draft(budget=0, items=[{**draft()["items"][0], "code": "C-ITEM", "amount": {"divide": [1, {"attr": "disability_grade"}]},
                                  "conditions": {"attr": "alive", "op": ">", "value": True}}])  # fmt: skip
    response = call(world.author, "put", f"{API}/C-POLICY/draft", bad)
    assert response.status_code == 422
    paths = {e["path"] for e in response.json()["errors"]}
    assert {"budget", "items[0].conditions.op"} <= paths
    check = call(
        world.author,
        "post",
        f"{API}/rules/check",
        {"target": "enterprise", "amount": {"percent_of": "revenue_growth", "percent": 3}},
    )
    assert check.status_code == 422
    assert check.json()["errors"][0]["path"] == "amount"


def test_applicant_endpoints_and_one_click_confirmation(world: Any) -> None:
    runs.check_approve_run(world.head, world.run.pk)  # offers open from today
    offer = Candidate.objects.get(run=world.run, entity_key=world.profile.id_number)
    checkup = f"{API}/me/checkup?entity={world.profile.id_number}"
    assert call(None, "get", checkup).status_code == 401
    assert call(world.other_applicant, "get", checkup).status_code == 404
    assert call(world.author, "get", checkup).status_code == 404
    mine = call(world.owner, "get", checkup)
    assert mine.status_code == 200
    assert mine.json()[0]["verdict"] == "eligible"
    assert mine.json()[0]["explanation"]["result"] == "pass"

    assert call(None, "get", f"{API}/me/offers").status_code == 401
    assert (
        call(world.other_applicant, "get", f"{API}/me/offers").json() != []
    )  # their own offer only
    assert all(
        o["entity_key"] != world.profile.id_number
        for o in call(world.other_applicant, "get", f"{API}/me/offers").json()
    )
    assert [o["id"] for o in call(world.owner, "get", f"{API}/me/offers").json()] == [offer.pk]

    confirm = f"{API}/offers/{offer.pk}/confirm"
    assert call(None, "post", confirm).status_code == 401
    assert call(world.other_applicant, "post", confirm).status_code == 404
    assert call(world.head, "post", confirm).status_code == 404
    done = call(world.owner, "post", confirm)
    assert done.status_code == 200
    assert done.json()["status"] == "pending"
    assert call(world.owner, "post", confirm).status_code == 409
    payments = call(world.owner, "get", f"{API}/me/payments").json()
    assert [(p["item"], p["amount_fen"]) for p in payments] == [("C-ITEM", 50000)]
    assert call(world.other_applicant, "get", f"{API}/me/payments").json() == []
    assert PaymentInstruction.objects.count() == 1


def test_staff_listings_mask_person_identifiers(world: Any) -> None:
    rows = call(world.author, "get", f"{API}/runs/{world.run.pk}/candidates").json()
    assert rows
    assert all("*" in r["entity_key"] for r in rows)
    stranger = ApplicantFactory()
    assert call(stranger, "get", f"{API}/me/offers").json() == []
