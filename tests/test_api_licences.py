"""Licence API: public trust list, status list and verification; holders' licences and codes;
grants and the access log; issuing-department acts — with the permission matrix (anonymous,
another holder, other-department staff, the right staff or holder) for every endpoint."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.licence_fixtures import LicenceWorld, world  # noqa: F401
from tongban.licences import base45
from tongban.licences.models import Licence, LicenceAccess, LicenceState

pytestmark = pytest.mark.django_db


def _client(user: Any = None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _post(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_trust_list_is_public_and_cacheable(world: LicenceWorld) -> None:  # noqa: F811
    response = _client().get("/api/v1/licences/trust-list")
    assert response.status_code == 200
    body = response.json()
    assert body["format"] == "tongban-trust-list/1"
    assert {k["kid"] for k in body["keys"]} == {world.licence.seal_key.kid}
    assert body["keys"][0]["algorithm"] == "sm2"
    assert "max-age=" in response["Cache-Control"]
    assert response["Expires"]


def test_status_list_is_public_with_an_expiry(world: LicenceWorld) -> None:  # noqa: F811
    response = _client().get(f"/api/v1/licences/status-lists/{world.licence.status_list_id}")
    assert response.status_code == 200
    assert response.json()["valid_until"] > response.json()["issued_at"]
    assert _client().get("/api/v1/licences/status-lists/999999").status_code == 404


def test_verify_is_public_and_gives_a_verdict_for_anything(world: LicenceWorld) -> None:  # noqa: F811
    holder = _client(world.holder)
    text = holder.get(f"/api/v1/licences/{world.licence.number}/code").json()["text"]
    response = _post(_client(), "/api/v1/licences/verify", {"text": text})
    assert response.status_code == 200
    assert response.json()["verdict"] == "valid"
    for junk in ["", "hello", "TB1:%%%", "TB1:" + "0" * 3000]:
        answer = _post(_client(), "/api/v1/licences/verify", {"text": junk})
        assert answer.status_code == 200
        assert answer.json()["verdict"] == "malformed"
    assert _post(_client(), "/api/v1/licences/verify", {}).status_code == 422


def test_my_licences_and_detail_matrix(world: LicenceWorld) -> None:  # noqa: F811
    number = world.licence.number
    assert _client().get("/api/v1/licences/mine").status_code == 401
    assert [x["number"] for x in _client(world.holder).get("/api/v1/licences/mine").json()] == [
        number
    ]
    assert _client(world.other_holder).get("/api/v1/licences/mine").json() == []
    agent_view = _client(world.agent).get("/api/v1/licences/mine").json()
    assert [x["number"] for x in agent_view] == [world.enterprise_licence.number]

    url = f"/api/v1/licences/{number}"
    assert _client().get(url).status_code == 401
    assert _client(world.other_holder).get(url).status_code == 404
    assert _client(world.outsider).get(url).status_code == 404
    own = _client(world.holder).get(url).json()
    assert own["holder_identifier"] == world.holder.person.id_number
    staff = _client(world.clerk).get(url).json()
    assert "*" in staff["holder_identifier"]  # masked for staff
    # an enterprise's 统一社会信用代码 is public, even one whose first 17 characters are digits
    enterprise = world.enterprise_licence
    shown = _client(world.clerk).get(f"/api/v1/licences/{enterprise.number}").json()
    assert shown["holder_identifier"] == enterprise.holder_identifier


def test_codes_are_for_the_holder_only(world: LicenceWorld) -> None:  # noqa: F811
    url = f"/api/v1/licences/{world.licence.number}/code?dynamic=true"
    assert _client().get(url).status_code == 401
    assert _client(world.other_holder).get(url).status_code == 404
    assert _client(world.outsider).get(url).status_code == 404
    assert _client(world.clerk).get(url).status_code == 403
    body = _client(world.holder).get(url).json()
    assert body["dynamic"] is True
    assert body["expires_at"]


def test_revoke_matrix(world: LicenceWorld) -> None:  # noqa: F811
    url = f"/api/v1/licences/{world.licence.number}/revoke"
    body = {"reason": "以欺骗手段取得"}
    assert _post(_client(), url, body).status_code == 401
    assert _post(_client(world.holder), url, body).status_code == 403
    assert _post(_client(world.other_holder), url, body).status_code == 404
    assert _post(_client(world.outsider), url, body).status_code == 404
    assert _post(_client(world.clerk), url, body).status_code == 403
    assert _post(_client(world.head), url, {"reason": " "}).status_code == 422
    response = _post(_client(world.head), url, body)
    assert response.status_code == 200
    assert response.json()["state"] == LicenceState.REVOKED
    assert _post(_client(world.head), url, body).status_code == 409


def test_change_reissue_and_cancel_matrix(world: LicenceWorld) -> None:  # noqa: F811
    number = world.licence.number
    change = f"/api/v1/licences/{number}/change"
    body = {"data": {"scope": "餐饮服务"}, "reason": "变更经营范围"}
    assert _post(_client(), change, body).status_code == 401
    assert _post(_client(world.holder), change, body).status_code == 403
    assert _post(_client(world.outsider), change, body).status_code == 404
    bad = _post(_client(world.clerk), change, {"data": {"colour": "red"}, "reason": "x"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "data.colour"
    changed = _post(_client(world.clerk), change, body).json()
    assert changed["version"] == 2
    assert changed["data"]["scope"] == "餐饮服务"
    reissue = f"/api/v1/licences/{number}/reissue"
    assert _post(_client(world.other_holder), reissue, {"reason": "换发"}).status_code == 404
    assert _post(_client(world.clerk), reissue, {"reason": "换发"}).json()["version"] == 3
    cancel = f"/api/v1/licences/{number}/cancel"
    assert _post(_client(world.clerk), cancel, {"reason": "申请注销"}).status_code == 403
    assert _post(_client(world.head), cancel, {"reason": "申请注销"}).json()["state"] == "cancelled"
    licence = Licence.objects.get(number=number)
    assert list(licence.versions.values_list("action", flat=True)) == [
        "issue",
        "change",
        "reissue",
        "cancel",
    ]
    assert licence.versions.get(version=1).data["scope"] == "预包装食品销售"  # history kept


def test_grants_and_use_with_the_access_log(world: LicenceWorld) -> None:  # noqa: F811
    number = world.licence.number
    grants_url = f"/api/v1/licences/{number}/grants"
    until = (timezone.now() + dt.timedelta(days=30)).isoformat()
    body = {
        "purpose": "办理经营贷款",
        "valid_until": until,
        "department": world.other_department.code,
    }
    assert _post(_client(), grants_url, body).status_code == 401
    assert _post(_client(world.other_holder), grants_url, body).status_code == 404
    assert _post(_client(world.outsider), grants_url, body).status_code == 404
    assert _post(_client(world.clerk), grants_url, body).status_code == 403
    bad = _post(_client(world.holder), grants_url, {**body, "department": "NOPE", "purpose": ""})
    assert bad.status_code == 422
    assert {e["path"] for e in bad.json()["errors"]} == {"purpose", "department"}

    use_url = f"/api/v1/licences/{number}/use"
    # before the grant: refused and logged
    refused = _post(_client(world.outsider), use_url, {"purpose": "贷款审核"})
    assert refused.status_code == 403
    assert refused.json()["code"] == "no_grant"
    created = _post(_client(world.holder), grants_url, body)
    assert created.status_code == 201
    used = _post(_client(world.outsider), use_url, {"purpose": "贷款审核"})
    assert used.status_code == 200
    assert used.json()["data"]["scope"] == "预包装食品销售"
    assert _post(_client(world.other_holder), use_url, {"purpose": "好奇"}).status_code == 403
    assert _post(_client(), use_url, {"purpose": "x"}).status_code == 401

    log_url = f"/api/v1/licences/{number}/accesses"
    assert _client().get(log_url).status_code == 401
    assert _client(world.other_holder).get(log_url).status_code == 404
    assert _client(world.clerk).get(log_url).status_code == 403
    log = _client(world.holder).get(log_url).json()
    assert [(e["allowed"], e["purpose"]) for e in log] == [
        (False, "好奇"),
        (True, "贷款审核"),
        (False, "贷款审核"),
    ]
    assert LicenceAccess.objects.filter(allowed=False).count() == 2

    grant_id = created.json()["id"]
    withdraw = f"/api/v1/licences/grants/{grant_id}/withdraw"
    assert _post(_client(world.other_holder), withdraw, {}).status_code == 404
    assert _post(_client(world.clerk), withdraw, {}).status_code == 403
    assert _post(_client(world.holder), withdraw, {}).status_code == 200
    assert _post(_client(world.holder), withdraw, {}).status_code == 409
    assert _post(_client(world.outsider), use_url, {"purpose": "贷款审核"}).status_code == 403
    listed = _client(world.holder).get(grants_url).json()
    assert listed[0]["revoked_at"] is not None
    assert _client(world.other_holder).get(grants_url).status_code == 404


def test_a_grant_to_a_named_account(world: LicenceWorld) -> None:  # noqa: F811
    until = (timezone.now() + dt.timedelta(days=7)).isoformat()
    body = {"purpose": "开户核验", "valid_until": until, "username": world.other_holder.username}
    url = f"/api/v1/licences/{world.licence.number}/grants"
    assert _post(_client(world.holder), url, body).status_code == 201
    use = f"/api/v1/licences/{world.licence.number}/use"
    assert _post(_client(world.other_holder), use, {"purpose": "开户核验"}).status_code == 200
    past = {**body, "valid_until": (timezone.now() - dt.timedelta(days=1)).isoformat()}
    assert _post(_client(world.holder), url, past).status_code == 422


def test_key_rotation_matrix(world: LicenceWorld) -> None:  # noqa: F811
    url = "/api/v1/licences/seal-keys/rotate"
    body = {"department": world.department.code}
    assert _post(_client(), url, body).status_code == 401
    assert _post(_client(world.holder), url, body).status_code == 403
    assert _post(_client(world.outsider), url, body).status_code == 403
    assert _post(_client(world.clerk), url, body).status_code == 403
    assert _post(_client(world.head), url, {**body, "algorithm": "rsa"}).status_code == 422
    assert _post(_client(world.head), url, {"department": "NOPE"}).status_code == 404
    rotated = _post(_client(world.head), url, {**body, "algorithm": "ed25519"})
    assert rotated.status_code == 201
    assert rotated.json()["algorithm"] == "ed25519"


@settings(max_examples=30)
@example("TB1:\x00")
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: "TB1:" + base45.encode(b)))
def test_the_verify_endpoint_never_fails(text: str) -> None:
    response = _post(_client(), "/api/v1/licences/verify", {"text": text})
    if "\x00" in text:  # no text field holds a NUL: refused before any view, naming where
        assert response.status_code == 400
        assert response.json()["errors"][0]["path"] == "text"
        return
    assert response.status_code == 200
    assert response.json()["verdict"] in {"malformed", "unknown_issuer", "tampered"}
