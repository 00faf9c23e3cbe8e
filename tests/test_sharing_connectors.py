"""数源 connectors: the local registry, option schemas checked before use, and the HTTP/JSON
connector against a real local gateway — found, not found, retries with backoff, timeouts on a
slow answer, an outage, the circuit breaker opening, half-opening and closing again."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.exceptions import ImproperlyConfigured

from tests.sharing_support import Gateway, running_gateway
from tongban.sharing import breaker, connectors
from tongban.sharing.breaker import CLOSED, HALF_OPEN, OPEN, CircuitBreaker
from tongban.sharing.connectors import HttpJsonConnector, Query, build_connector, connector_for
from tongban.sharing.services import do_load_registry_records
from tongban.sharing.sources import SOURCES
from tongban.sharing.synthetic import (
    EnterpriseFacts,
    PersonFacts,
    enterprise_records,
    person_records,
)

ID = "330106199405129024"
QUERY = Query("hukou", "person", ID, "办理测试事项", "legal")


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    breaker.reset_breakers()
    yield
    breaker.reset_breakers()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with running_gateway() as running:
        yield running


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits the connector asked for (instead of sleeping)."""
    asked: list[float] = []
    monkeypatch.setattr(HttpJsonConnector, "sleep", lambda self, seconds: asked.append(seconds))
    return asked


def http(gateway: Gateway, **options: Any) -> Any:
    return build_connector(gateway.connector_entry(**options), "test")


# --- the local registry -------------------------------------------------------------------------


@pytest.mark.django_db
def test_local_registry_finds_only_what_it_holds() -> None:
    do_load_registry_records([("hukou", ID, {"household_address": "示例路1号"})])
    local = connector_for("hukou")
    assert local.key == "local_registry"
    found = local.fetch(QUERY)
    assert (found.result, found.record) == ("found", {"household_address": "示例路1号"})
    assert local.fetch(Query("marriage", "person", ID, "p", "b")).result == "not_found"
    # loading the same records again writes nothing; a changed record is replaced
    assert do_load_registry_records([("hukou", ID, {"household_address": "示例路1号"})]) == 0
    assert do_load_registry_records([("hukou", ID, {"household_address": "示例路2号"})]) == 1
    assert local.fetch(QUERY).record == {"household_address": "示例路2号"}


def test_synthetic_records_are_deterministic_and_cover_every_source() -> None:
    person = PersonFacts(ID, "林晓雨", "female", dt.date(1994, 5, 12), "示例路18号")
    first = person_records(person)
    assert first == person_records(person)
    assert first["hukou"]["household_address"] == "示例路18号"
    assert all(record["sample"] is True for record in first.values())
    everything = person_records(person, ensure=SOURCES)
    enterprise = EnterpriseFacts(
        "91330106MA2DEM01XX", "杭州示例有限公司", "示例路66号", "H6210", None, "赵立新"
    )
    everything.update(enterprise_records(enterprise, ensure=SOURCES))
    assert set(everything) == set(SOURCES)
    registry = enterprise_records(enterprise)["enterprise_registry"]
    assert (registry["enterprise_name"], registry["person_name"]) == ("杭州示例有限公司", "赵立新")
    child = PersonFacts("330106201501011234", "王小明", "male", dt.date(2015, 1, 1), "")
    assert "marriage" not in person_records(child, ensure=SOURCES)


def test_every_synthetic_subject_has_a_credit_record_and_named_ones_are_listed() -> None:
    """公共信用信息 covers every synthetic person and enterprise: on no 失信 list (a definite
    ``dishonest: false``), but for the subjects named as 失信被执行人."""
    from tongban.identity.synthetic import generate_enterprises, generate_persons

    people = generate_persons(40)
    for p in people:
        facts = PersonFacts(p.id_number, p.name, p.gender, p.birth_date, p.address)
        credit = person_records(facts)["credit"]
        assert credit["dishonest"] is False
        assert "无严重失信记录" in credit["summary"]
    for e in generate_enterprises(15, representatives=people):
        facts_e = EnterpriseFacts(e.uscc, e.name, e.address, e.industry_code, None, "")
        assert enterprise_records(facts_e)["credit"]["dishonest"] is False
    person = PersonFacts(ID, "冯振华", "male", dt.date(1982, 7, 9), "示例路77号")
    listed = person_records(person, dishonest=True)
    assert listed["credit"]["dishonest"] is True
    assert listed["credit"]["dishonest_list"] == "失信被执行人名单"
    assert "列入失信被执行人名单" in listed["credit"]["summary"]
    assert listed == person_records(person, dishonest=True)  # deterministic too
    assert {k: v for k, v in listed.items() if k != "credit"} == {
        k: v for k, v in person_records(person).items() if k != "credit"
    }  # only the credit record differs


def test_every_sample_catalog_source_is_known() -> None:
    import re

    from tongban.demo.sample import catalog_paths

    used = set()
    for path in catalog_paths():
        used |= set(re.findall(r"data_source: *([a-z_]+)", path.read_text(encoding="utf-8")))
    assert used, "the sample catalog names data sources"
    assert used <= set(SOURCES), used - set(SOURCES)


# --- options are validated before use ------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"plugin": "carrier_pigeon"}, "unknown data source connector plugin 'carrier_pigeon'"),
        ({"plugin": "http_json", "options": {}}, "options.url: Field required"),
        ({"plugin": "http_json", "options": {"url": "ftp://x"}}, "options.url"),
        (
            {"plugin": "http_json", "options": {"url": "http://x", "timeout_ms": 5}},
            "options.timeout_ms",
        ),
        ({"plugin": "local_registry", "options": {"colour": "red"}}, "options.colour"),
        ({"plugin": "local_registry", "extra": 1}, "unknown keys extra"),
    ],
)
def test_bad_connector_options_are_refused_with_their_path(
    entry: dict[str, Any], message: str
) -> None:
    with pytest.raises(ImproperlyConfigured) as caught:
        build_connector(entry, "hukou")
    assert "TONGBAN_SHARING_CONNECTORS['hukou']" in str(caught.value)
    assert message in str(caught.value)


def test_system_check_reports_a_bad_connector(settings: Any) -> None:
    settings.TONGBAN_SHARING_CONNECTORS = {"tax": {"plugin": "http_json", "options": {"url": 3}}}
    problems = [m for m in run_checks() if m.id == "sharing.E002"]
    assert len(problems) == 1
    assert "['tax'].options.url" in problems[0].msg
    settings.TONGBAN_SHARING_CONNECTORS = {"hukuo": {"plugin": "local_registry"}}
    assert [m.id for m in run_checks() if m.id and m.id.startswith("sharing.")] == ["sharing.E003"]
    settings.TONGBAN_SHARING_CONNECTORS = {"default": {"plugin": "local_registry"}}
    assert not [m for m in run_checks() if m.id and m.id.startswith("sharing.")]


def test_connector_for_follows_the_settings(settings: Any, gateway: Gateway) -> None:
    settings.TONGBAN_SHARING_CONNECTORS = {
        "default": {"plugin": "local_registry"},
        "tax": gateway.connector_entry(),
    }
    assert connector_for("tax").key == "http_json"
    assert connector_for("hukou").key == "local_registry"
    assert connector_for("tax") is connector_for("tax")  # built once per configuration
    assert sorted(connectors.connectors) == ["http_json", "local_registry"]


# --- the HTTP/JSON connector against a real gateway ----------------------------------------------


def test_http_found_and_not_found(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    gateway.script.records[("hukou", ID)] = {"household_address": "示例路9号"}
    monkeypatch.setenv("SHARING_TEST_TOKEN", "s3cret")
    connector = http(gateway, token_env="SHARING_TEST_TOKEN")
    answer = connector.fetch(QUERY)
    assert (answer.result, answer.record, answer.attempts) == (
        "found",
        {"household_address": "示例路9号"},
        1,
    )
    sent = gateway.script.requests[0]
    assert sent == {
        "source": "hukou",
        "subject_kind": "person",
        "subject": ID,
        "purpose": "办理测试事项",
        "basis": "legal",
        "authorization": "Bearer s3cret",
    }
    assert connector.fetch(Query("marriage", "person", ID, "p", "b")).result == "not_found"
    assert connector.breaker.state == CLOSED


def test_http_found_false_is_not_found_and_bad_bodies_are_errors(gateway: Gateway) -> None:
    connector = http(gateway)
    gateway.script.raw = b'{"found": false}'
    assert connector.fetch(QUERY).result == "not_found"
    for body in (b"<html>oops</html>", b"[]", b'{"found": true}', b'{"found": "yes"}'):
        gateway.script.raw = body
        answer = connector.fetch(QUERY)
        assert answer.result == "error", body


def test_http_retries_with_backoff_then_succeeds(gateway: Gateway, waits: list[float]) -> None:
    gateway.script.records[("hukou", ID)] = {"x": 1}
    gateway.script.fail_first = 2
    connector = http(gateway, retries=3, backoff_ms=100)
    answer = connector.fetch(QUERY)
    assert (answer.result, answer.attempts) == ("found", 3)
    assert waits == [0.1, 0.2]  # doubles each time
    assert len(gateway.script.requests) == 3


def test_http_gives_up_after_its_retries(gateway: Gateway, waits: list[float]) -> None:
    gateway.script.status = 500
    answer = http(gateway, retries=2, backoff_ms=50).fetch(QUERY)
    assert (answer.result, answer.attempts, answer.detail) == ("error", 3, "HTTP 500")
    assert waits == [0.05, 0.1]


def test_http_client_errors_are_not_retried_and_do_not_trip_the_breaker(
    gateway: Gateway, waits: list[float]
) -> None:
    gateway.script.status = 403
    connector = http(gateway, retries=3, breaker_failures=1)
    answer = connector.fetch(QUERY)
    assert (answer.result, answer.attempts, answer.detail) == ("error", 1, "HTTP 403")
    assert waits == []
    assert connector.breaker.state == CLOSED


def test_http_slow_answer_times_out(gateway: Gateway, waits: list[float]) -> None:
    gateway.script.records[("hukou", ID)] = {"x": 1}
    gateway.script.delay = 1.0
    answer = http(gateway, timeout_ms=100, retries=1).fetch(QUERY)
    assert answer.result == "error"
    assert answer.detail == "超时（100 毫秒）"
    assert answer.attempts == 2


def test_http_outage_then_recovery(gateway: Gateway) -> None:
    gateway.script.records[("hukou", ID)] = {"x": 1}
    connector = http(gateway, breaker_failures=5)
    gateway.stop()
    down = connector.fetch(QUERY)
    assert down.result == "error"
    assert down.detail.startswith("无法连接")
    gateway.start()
    assert connector.fetch(QUERY).result == "found"


def test_circuit_breaker_opens_half_opens_and_closes(gateway: Gateway) -> None:
    gateway.script.records[("hukou", ID)] = {"x": 1}
    connector = http(gateway, breaker_failures=3, breaker_cooldown_s=30)
    now = [1000.0]
    connector.breaker.clock = lambda: now[0]
    gateway.script.status = 502
    for _ in range(3):
        assert connector.fetch(QUERY).result == "error"
    assert connector.breaker.state == OPEN
    asked = len(gateway.script.requests)
    # while open: answered at once, the gateway is not called
    refused = connector.fetch(QUERY)
    assert refused.result == "circuit_open"
    assert len(gateway.script.requests) == asked
    # after the cool-down one trial goes through; it fails → open again for a new cool-down
    now[0] += 30
    assert connector.breaker.state == HALF_OPEN
    assert connector.fetch(QUERY).result == "error"
    assert len(gateway.script.requests) == asked + 1
    assert connector.breaker.state == OPEN
    now[0] += 29
    assert connector.fetch(QUERY).result == "circuit_open"
    # the source recovers; the next trial closes the breaker
    gateway.script.status = None
    now[0] += 1
    assert connector.fetch(QUERY).result == "found"
    assert connector.breaker.state == CLOSED
    assert connector.fetch(QUERY).result == "found"


def test_breaker_state_is_shared_by_connectors_of_one_endpoint(gateway: Gateway) -> None:
    gateway.stop()
    first = http(gateway, breaker_failures=2)
    second = http(gateway, breaker_failures=2)
    assert first.breaker is second.breaker
    first.fetch(QUERY)
    second.fetch(QUERY)
    assert first.fetch(QUERY).result == "circuit_open"


def test_half_open_lets_one_trial_through() -> None:
    now = [0.0]
    guard = CircuitBreaker(failures=1, cooldown=10, clock=lambda: now[0])
    assert guard.allow()
    guard.record_failure()
    assert not guard.allow()
    now[0] = 10
    assert guard.allow()  # the trial
    assert not guard.allow()  # everyone else waits for its verdict
    guard.release_trial()
    assert guard.allow()
    guard.record_success()
    assert guard.state == CLOSED
    with pytest.raises(ValueError, match="failures"):
        CircuitBreaker(failures=0, cooldown=1)
