"""数源 connectors as plugins: how a lookup reaches a data source.

A connector class registers under a key in ``connectors`` (``tongban.core.plugins.Registry``)
and declares a typed ``Options`` schema (pydantic); ``connector_for(source)`` reads the
deployment's ``TONGBAN_SHARING_CONNECTORS`` entry for the source (or ``default``), validates its
options *before* the connector is built — a bad entry is an ``ImproperlyConfigured`` naming the
setting path, also reported by ``manage.py check`` — and returns the connector.

Two connectors ship: ``local_registry`` answers from ``RegistryRecord`` rows (the synthetic
registry of the demo and the tests); ``http_json`` asks a data-exchange gateway over HTTP/JSON
with a timeout, retries with exponential backoff on timeouts, connection errors and 5xx answers,
and a circuit breaker (``tongban.sharing.breaker``). A connector never raises: every outcome —
found, not found, error, circuit open — comes back as an ``Answer``.

Gateway contract (``http_json``): ``POST {url}/{source}`` with JSON ``{"subject_kind",
"subject", "purpose", "basis"}``; ``200 {"found": true, "record": {...}}`` when the source holds
a record, ``404`` or ``200 {"found": false}`` when it does not.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from pydantic import BaseModel, ConfigDict, Field, HttpUrl
from pydantic import ValidationError as OptionsInvalid

from tongban.core.plugins import Registry
from tongban.sharing.breaker import CircuitBreaker, breaker_for
from tongban.sharing.models import LookupResult, RegistryRecord


@dataclass(frozen=True)
class Query:
    source: str
    subject_kind: str  # "person" | "enterprise"
    subject: str  # 身份证号 or 统一社会信用代码
    purpose: str
    basis: str  # the legal basis, or the consent reference


@dataclass(frozen=True)
class Answer:
    result: str  # a LookupResult value
    record: dict[str, Any] | None = None
    detail: str = ""
    attempts: int = 0


class NoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Connector(Protocol):
    key: ClassVar[str]
    Options: ClassVar[type[BaseModel]]

    def fetch(self, query: Query) -> Answer: ...


ConnectorClass = Callable[[Any], Connector]
connectors: Registry[Any] = Registry("data source connector")


@connectors.register("local_registry")
class LocalRegistryConnector:
    """The local registry: records kept in the database (synthetic in the demo and the tests)."""

    key: ClassVar[str] = "local_registry"
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, options: BaseModel) -> None:
        self.options = options

    def fetch(self, query: Query) -> Answer:
        record = (
            RegistryRecord.objects.filter(source=query.source, subject=query.subject)
            .values_list("data", flat=True)
            .first()
        )
        if record is None:
            return Answer(LookupResult.NOT_FOUND, attempts=1)
        return Answer(LookupResult.FOUND, record=dict(record), attempts=1)


class HttpJsonOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: HttpUrl = Field(description="gateway base URL; the source code is appended")
    timeout_ms: int = Field(3000, ge=50, le=60_000, description="per attempt")
    retries: int = Field(2, ge=0, le=5, description="further attempts after a failed one")
    backoff_ms: int = Field(200, ge=0, le=10_000, description="first wait; doubles each retry")
    breaker_failures: int = Field(5, ge=1, le=1000, description="failed lookups that open it")
    breaker_cooldown_s: float = Field(60, ge=0, le=3600, description="open for this long")
    token_env: str = Field("", description="environment variable holding a bearer token")


@connectors.register("http_json")
class HttpJsonConnector:
    """A data-exchange gateway over HTTP/JSON, with timeouts, retries and a circuit breaker."""

    key: ClassVar[str] = "http_json"
    Options: ClassVar[type[BaseModel]] = HttpJsonOptions

    def __init__(self, options: HttpJsonOptions) -> None:
        self.options = options
        self.base = str(options.url).rstrip("/")

    def sleep(self, seconds: float) -> None:
        """The wait between attempts (backoff)."""
        time.sleep(seconds)

    @property
    def breaker(self) -> CircuitBreaker:
        """This endpoint's breaker in this process (looked up each time, so a reset counts)."""
        return breaker_for(
            self.base, self.options.breaker_failures, self.options.breaker_cooldown_s
        )

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        token = os.environ.get(self.options.token_env, "") if self.options.token_env else ""
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def fetch(self, query: Query) -> Answer:
        if not self.breaker.allow():
            return Answer(LookupResult.CIRCUIT_OPEN, detail="数源连续故障，暂停调用中")
        body = {
            "subject_kind": query.subject_kind,
            "subject": query.subject,
            "purpose": query.purpose,
            "basis": query.basis,
        }
        failure = ""
        attempts = 0
        for attempt in range(self.options.retries + 1):
            if attempt:
                self.sleep(self.options.backoff_ms / 1000 * 2 ** (attempt - 1))
            attempts += 1
            try:
                response = requests.post(
                    f"{self.base}/{query.source}",
                    json=body,
                    headers=self._headers(),
                    timeout=self.options.timeout_ms / 1000,
                )
            except requests.Timeout:
                failure = f"超时（{self.options.timeout_ms} 毫秒）"
                continue
            except requests.RequestException as exc:
                failure = f"无法连接：{type(exc).__name__}"
                continue
            answer = self._read(response, attempts)
            if answer is not None:
                return answer
            failure = f"HTTP {response.status_code}"
        self.breaker.record_failure()
        return Answer(LookupResult.ERROR, detail=failure, attempts=attempts)

    def _read(self, response: requests.Response, attempts: int) -> Answer | None:
        """The answer to a response, or ``None`` when it is worth another attempt (5xx)."""
        status = response.status_code
        if status >= 500:
            return None
        if status == 404:
            self.breaker.record_success()
            return Answer(LookupResult.NOT_FOUND, attempts=attempts)
        if status != 200:
            self.breaker.release_trial()  # our request was refused: not an outage
            return Answer(LookupResult.ERROR, detail=f"HTTP {status}", attempts=attempts)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("found"), bool):
            self.breaker.record_failure()
            return Answer(LookupResult.ERROR, detail="应答格式不正确", attempts=attempts)
        self.breaker.record_success()
        record = payload.get("record")
        if not payload["found"]:
            return Answer(LookupResult.NOT_FOUND, attempts=attempts)
        if not isinstance(record, dict):
            return Answer(LookupResult.ERROR, detail="应答缺少 record", attempts=attempts)
        return Answer(LookupResult.FOUND, record=record, attempts=attempts)


# --- configuration ------------------------------------------------------------------------------


@dataclass
class _Cache:
    built: dict[str, tuple[str, Any]] = field(default_factory=dict)


_cache = _Cache()


def _entry(source: str) -> tuple[str, dict[str, Any]]:
    configured: dict[str, Any] = getattr(settings, "TONGBAN_SHARING_CONNECTORS", {}) or {}
    name = source if source in configured else "default"
    entry = configured.get(name) or {"plugin": "local_registry", "options": {}}
    return name, entry


def build_connector(entry: dict[str, Any], where: str) -> Any:
    """A connector from a configuration entry, its options validated first."""
    setting = f"TONGBAN_SHARING_CONNECTORS[{where!r}]"
    if not isinstance(entry, dict):
        raise ImproperlyConfigured(f"{setting}: expected a mapping with plugin and options")
    unknown = sorted(set(entry) - {"plugin", "options"})
    if unknown:
        raise ImproperlyConfigured(f"{setting}: unknown keys {', '.join(unknown)}")
    try:
        plugin = connectors.get(str(entry.get("plugin", "")))
    except KeyError as exc:
        raise ImproperlyConfigured(f"{setting}.plugin: {exc.args[0]}") from None
    try:
        options = plugin.Options.model_validate(entry.get("options") or {})
    except OptionsInvalid as exc:
        problems = "; ".join(
            f"{setting}.options.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in exc.errors()
        )
        raise ImproperlyConfigured(problems) from None
    return plugin(options)


def connector_for(source: str) -> Any:
    """The connector the deployment configured for ``source`` (built once per configuration)."""
    name, entry = _entry(source)
    fingerprint = json.dumps(entry, sort_keys=True, default=str)
    cached = _cache.built.get(name)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    connector = build_connector(entry, name)
    _cache.built[name] = (fingerprint, connector)
    return connector
