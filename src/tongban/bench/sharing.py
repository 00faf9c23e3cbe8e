"""``tongban bench sharing``: what asking 数源 costs an application, side by side with the bare
HTTP call it wraps.

Built in the throw-away database: a catalog item with three 系统填 fields and six 免提交
materials from six data sources (all with a legal basis), one applicant, and synthetic registry
records for them. A local HTTP/JSON gateway (``http.server`` in a thread) answers lookups. Timed,
interleaved so every figure sees the same machine noise:

- ``lookup_local``: ``sharing.services.lookup`` against the local registry (query + log row);
- ``lookup_http``: the same through the ``http_json`` connector and the gateway;
- ``raw_http``: a bare ``requests.post`` to the same gateway (the peer: what the connector
  wraps); ``http_overhead_ratio`` = ``lookup_http`` p50 ÷ ``raw_http`` p50;
- ``breaker_open``: a lookup while the circuit breaker is open (answered without calling out);
- ``fill_draft``: ``check_fill_draft`` for a new draft (six sources, local registry, values and
  evidence stored in one transaction).
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import threading
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from django.test.utils import override_settings

from tongban.bench.base import Benchmark, Log, Option, Stopwatch, benchmarks, percentiles

ITEM_CODE = "BENCH-SHARING-001"
SOURCES = (
    "hukou",
    "birth_records",
    "village_certificates",
    "professional_qualification",
    "traffic_police",
    "construction_personnel",
)
CATALOG = f"""\
schema: tongban-catalog/1
divisions:
  - {{code: "330000", name: 浙江省, level: province}}
  - {{code: "330100", name: 杭州市, level: city, parent: "330000"}}
departments:
  - {{code: 3301-BENCH, name: 杭州市示例局, division: "330100"}}
data_elements:
  - {{code: household_address, name: 户籍地址, type: text, max_length: 255}}
  - {{code: gender, name: 性别, type: choice, choices: [男, 女]}}
  - {{code: birth_date, name: 出生日期, type: date}}
items:
  - code: {ITEM_CODE}
    name: 共享数据基准测试事项
    type: licensing
    department: 3301-BENCH
    legal_basis: 示例法规（基准测试）
    acceptance_conditions: 示例条件
    promised_limit_days: 5
    applicant_types: [person]
    sample_note: 基准测试用示例事项
    materials:
{chr(10).join(f"      - {{key: m{n}, name: 材料{n}, source: government, data_source: {s}}}" for n, s in enumerate(SOURCES))}
    fields:
      - {{key: household, label: 户籍地址, element: household_address, prefill: data_source, data_source: hukou}}
      - {{key: baby_gender, label: 新生儿性别, element: gender, prefill: data_source, data_source: birth_records}}
      - {{key: baby_birth, label: 出生日期, element: birth_date, prefill: data_source, data_source: birth_records}}
"""


class _Gateway(BaseHTTPRequestHandler):
    record: dict[str, Any] = {}

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        body = json.dumps({"found": True, "record": self.record}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _build(log: Log) -> Any:
    from tongban.catalog.services import import_catalog
    from tongban.identity.services import check_create_person, do_create_applicant_account
    from tongban.identity.synthetic import build_id_number
    from tongban.sharing.services import load_synthetic_records

    with tempfile.TemporaryDirectory(prefix="tongban-bench-sharing-") as folder:
        path = Path(folder) / "sharing.yaml"
        path.write_text(CATALOG, encoding="utf-8")
        import_catalog([path])
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        person = check_create_person(
            id_number=build_id_number("330106", dt.date(1994, 5, 12), 950),
            name="林示例",
            mobile="13900000009",
        )
        applicant = do_create_applicant_account(
            username="bench-sharing",
            password="bench-only-password",  # noqa: S106 - throw-away database
            person=person,
        )
    load_synthetic_records([person], ensure=SOURCES)
    log(f"item {ITEM_CODE}: 3 系统填 fields, {len(SOURCES)} 免提交 materials, 1 applicant")
    return applicant


@benchmarks.register("sharing")
class SharingBenchmark(Benchmark):
    summary = "数源 lookups (local, HTTP vs bare requests, breaker open) and a draft's fill"
    options = {
        "lookups": Option(int, 300, "timed lookups per kind"),
        "drafts": Option(int, 60, "drafts filled"),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        from tongban.cases.services import check_create_draft
        from tongban.sharing import breaker
        from tongban.sharing.services import check_fill_draft, lookup

        applicant = _build(log)
        draft = check_create_draft(applicant, item_code=ITEM_CODE, division_code="330100")
        _Gateway.record = {"household_address": "示例路1号", "summary": "示例", "reference": "X"}
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Gateway)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}/share"
        local = {"default": {"plugin": "local_registry"}}
        gateway = {
            "default": {"plugin": "local_registry"},
            "hukou": {"plugin": "http_json", "options": {"url": url, "retries": 0}},
        }
        closed_port = {
            "default": {"plugin": "local_registry"},
            "hukou": {
                "plugin": "http_json",
                "options": {
                    "url": "http://127.0.0.1:9/share",
                    "retries": 0,
                    "breaker_failures": 1,
                    "breaker_cooldown_s": 3600,
                },
            },
        }
        session_free = partial(
            requests.post,
            f"{url}/hukou",
            json={"subject_kind": "person", "subject": "x", "purpose": "p", "basis": "b"},
            timeout=3,
        )
        watches = {k: Stopwatch() for k in ("lookup_local", "lookup_http", "raw_http", "open")}
        try:
            breaker.reset_breakers()
            with override_settings(TONGBAN_SHARING_CONNECTORS=closed_port):
                lookup(applicant, draft, "hukou")  # opens the breaker
            for _ in range(20):  # warm-up
                session_free()
            for _ in range(options["lookups"]):
                with override_settings(TONGBAN_SHARING_CONNECTORS=local):
                    watches["lookup_local"].time(partial(lookup, applicant, draft, "hukou"))
                with override_settings(TONGBAN_SHARING_CONNECTORS=gateway):
                    watches["lookup_http"].time(partial(lookup, applicant, draft, "hukou"))
                watches["raw_http"].time(session_free)
                with override_settings(TONGBAN_SHARING_CONNECTORS=closed_port):
                    answer = watches["open"].time(partial(lookup, applicant, draft, "hukou"))
                    if answer.result != "circuit_open":
                        raise RuntimeError(f"breaker not open: {answer.result}")
            fill = Stopwatch()
            with override_settings(TONGBAN_SHARING_CONNECTORS=local):
                for _ in range(options["drafts"]):
                    fresh = check_create_draft(
                        applicant, item_code=ITEM_CODE, division_code="330100"
                    )
                    report = fill.time(partial(check_fill_draft, applicant, fresh.pk))
                    if len(report.obtained) != 3 + len(SOURCES):
                        raise RuntimeError(f"fill obtained {report.obtained}")
        finally:
            server.shutdown()
            server.server_close()
            breaker.reset_breakers()
        figures: dict[str, Any] = {
            "benchmark": "sharing",
            "lookups": options["lookups"],
            "drafts": options["drafts"],
            "sources_per_draft": len(SOURCES),
        }
        figures.update(percentiles(watches["lookup_local"].samples_ms, prefix="lookup_local_"))
        figures.update(percentiles(watches["lookup_http"].samples_ms, prefix="lookup_http_"))
        figures.update(percentiles(watches["raw_http"].samples_ms, prefix="raw_http_"))
        figures.update(percentiles(watches["open"].samples_ms, prefix="breaker_open_"))
        figures.update(percentiles(fill.samples_ms, prefix="fill_draft_"))
        figures["http_overhead_ratio"] = round(
            figures["lookup_http_p50_ms"] / figures["raw_http_p50_ms"], 2
        )
        return figures

    def report(self, result: dict[str, Any]) -> list[str]:
        def line(label: str, prefix: str) -> str:
            return (
                f"{label}: p50 {result[prefix + 'p50_ms']:.3f} ms  "
                f"p95 {result[prefix + 'p95_ms']:.3f} ms  p99 {result[prefix + 'p99_ms']:.3f} ms"
            )

        return [
            line("lookup, local registry", "lookup_local_"),
            line("lookup, http_json gateway", "lookup_http_"),
            line("bare requests.post (peer)", "raw_http_"),
            f"http_json ÷ bare requests (p50): {result['http_overhead_ratio']}",
            line("lookup, breaker open", "breaker_open_"),
            line(f"fill a draft ({result['sources_per_draft']} sources)", "fill_draft_"),
        ]
