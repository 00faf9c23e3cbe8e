"""``tongban bench bundle``: merging a 20-item bundle, and submitting a 6-item bundle (the
bundle case and all its item cases in one transaction), side by side with filing the same six
items as six separate applications through the case services in the same run.

Runs on the configured database's engine (a throw-away database; ``DATABASE_URL`` selects
PostgreSQL). Targets (issue 5): merge p95 ≤ 50 ms; submit p95 ≤ 100 ms on PostgreSQL.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext, override_settings

from tongban.bench.base import Benchmark, Log, Option, benchmarks, percentiles

TARGET_MERGE_P95_MS = 50.0
TARGET_SUBMIT_P95_MS = 100.0
DIVISION = "330100"

_HEAD = """\
schema: tongban-catalog/1
divisions:
  - {code: "330000", name: 浙江省, level: province}
  - {code: "330100", name: 杭州市, level: city, parent: "330000"}
departments:
  - {code: B-D0, name: 甲局, division: "330100"}
  - {code: B-D1, name: 乙局, division: "330100"}
  - {code: B-D2, name: 丙局, division: "330100"}
data_elements:
  - {code: person_name, name: 姓名, type: text, max_length: 64}
  - {code: id_number, name: 身份证号, type: text, validator: id_number}
  - {code: address, name: 地址, type: text, max_length: 255}
  - {code: short_text, name: 说明, type: text, max_length: 500}
items:
"""


def _item(n: int) -> str:
    return f"""\
  - code: B-ITEM-{n:02d}
    name: 基准事项{n}
    type: public_service
    department: B-D{n % 3}
    legal_basis: 基准依据
    acceptance_conditions: 基准条件
    promised_limit_days: {1 + n % 7}
    result: licence
    result_licence_type: LT-B{n:02d}
    applicant_types: [person]
    questions:
      - {{key: q{n % 4}, text: 情形{n % 4}？, type: yes_no}}
    materials:
      - {{key: id_card, name: 居民身份证, source: government, data_source: hukou}}
      - {{key: photo, name: 照片}}
      - {{key: own_{n}, name: 事项{n}申请书, requirement: optional}}
      - {{key: prev, name: 前序结果, source: government, licence_type: LT-B{max(n - 1, 0):02d}}}
    fields:
      - {{key: name, label: 姓名, element: person_name, prefill: identity}}
      - {{key: id_number, label: 身份证号, element: id_number, prefill: identity}}
      - {{key: address, label: 地址, element: address}}
      - {{key: note_{n}, label: 说明{n}, element: short_text, required: false}}
"""


def _bundle(code: str, count: int, chain: int) -> str:
    lines = [
        f"  - code: {code}",
        f"    name: 基准一件事{count}",
        '    division: "330100"',
        "    applicant_types: [person]",
        "    components:",
    ]
    for n in range(count):
        lines.append(f"      - item: B-ITEM-{n:02d}")
        if 0 < n < chain:
            lines.append(f"        needs: [B-ITEM-{n - 1:02d}]")
    return "\n".join(lines) + "\n"


def catalog_text() -> str:
    text = _HEAD + "".join(_item(n) for n in range(20))
    text += "bundles:\n" + _bundle("B-20", 20, 5) + _bundle("B-6", 6, 1)
    return text


def _applicant() -> Any:
    from tongban.identity.services import check_create_person, do_create_applicant_account

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        person = check_create_person(
            id_number="11010519491231002X", name="王示例", mobile="13800000000"
        )
        return do_create_applicant_account(
            username="bench-bundle",
            password="bench-only-password",  # noqa: S106 - a throw-away database
            person=person,
        )


@benchmarks.register("bundle")
class BundleBenchmark(Benchmark):
    summary = "一件事: merge a 20-item bundle; submit a 6-item bundle vs six separate applications"
    options = {
        "repeat": Option(int, 200, "timed merges and submissions"),
        "warmup": Option(int, 10, "untimed rounds before timing"),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        from tongban.bundles import selectors, services
        from tongban.bundles.merging import merge
        from tongban.bundles.report import compute
        from tongban.cases import applications
        from tongban.cases.materials import check_attach_material
        from tongban.cases.services import check_create_draft
        from tongban.catalog.services import import_catalog

        with tempfile.TemporaryDirectory(prefix="tongban-bench-bundle-") as folder:
            path = Path(folder) / "bundle.yaml"
            path.write_text(catalog_text(), encoding="utf-8")
            import_catalog([path])
        applicant = _applicant()
        answers = {f"q{k}": True for k in range(4)}
        form = {"address": "示例路1号"}
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256
        files = {"photo": ("photo.png", png)}
        log("catalog: 20 items, bundles B-20 (5-stage chain) and B-6 (one stage)")

        def merge_once() -> None:
            spec = selectors.bundle_spec("B-20")
            compute(spec, merge(spec, answers).answers)

        def submit_once() -> None:
            services.check_submit_bundle(applicant, "B-6", answers=answers, form=form, files=files)

        def separately_once() -> None:
            from django.db import transaction

            for n in range(6):
                with transaction.atomic():
                    draft = check_create_draft(
                        applicant,
                        item_code=f"B-ITEM-{n:02d}",
                        division_code=DIVISION,
                        answers={f"q{n % 4}": True},
                        form_data={**form},
                    )
                    draft.form_data = {
                        **applications.initial_form_data(applicant, draft.item_version),
                        **form,
                    }
                    draft.save(update_fields=["form_data"])
                    check_attach_material(applicant, draft.pk, "photo", "photo.png", png)
                    applications.check_submit_application(applicant, draft.pk)

        rounds = {"merge_20": merge_once, "submit_6": submit_once, "separate_6": separately_once}
        for _ in range(options["warmup"]):
            for call in rounds.values():
                call()
        samples: dict[str, list[float]] = {name: [] for name in rounds}
        for _ in range(options["repeat"]):  # interleaved: the same machine noise for each
            for name, call in rounds.items():
                started = time.perf_counter()
                call()
                samples[name].append((time.perf_counter() - started) * 1000)
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            submit_once()
        result: dict[str, Any] = {"benchmark": "bundle", "database": connection.vendor}
        for name, values in samples.items():
            result[name] = percentiles(values)
        result["submit_6_queries"] = len(captured.captured_queries)
        result["ratio_submit_vs_separate_p50"] = round(
            result["separate_6"]["p50_ms"] / result["submit_6"]["p50_ms"], 2
        )
        result["targets"] = {
            "merge_20_p95_ms": TARGET_MERGE_P95_MS,
            "merge_20_met": result["merge_20"]["p95_ms"] <= TARGET_MERGE_P95_MS,
            "submit_6_p95_ms": TARGET_SUBMIT_P95_MS,
            "submit_6_met": result["submit_6"]["p95_ms"] <= TARGET_SUBMIT_P95_MS,
        }
        return result

    def report(self, result: dict[str, Any]) -> list[str]:
        t = result["targets"]
        return [
            f"database: {result['database']}",
            f"merge 20-item bundle (+report): p50 {result['merge_20']['p50_ms']:.2f} ms, "
            f"p95 {result['merge_20']['p95_ms']:.2f} ms (target ≤ {t['merge_20_p95_ms']:.0f}: "
            f"{'met' if t['merge_20_met'] else 'MISSED'})",
            f"submit 6-item bundle (7 cases, 1 transaction): p50 {result['submit_6']['p50_ms']:.2f}"
            f" ms, p95 {result['submit_6']['p95_ms']:.2f} ms, {result['submit_6_queries']} queries "
            f"(target ≤ {t['submit_6_p95_ms']:.0f}: {'met' if t['submit_6_met'] else 'MISSED'})",
            f"same six items filed separately: p50 {result['separate_6']['p50_ms']:.2f} ms, "
            f"p95 {result['separate_6']['p95_ms']:.2f} ms; ratio separate/bundle "
            f"{result['ratio_submit_vs_separate_p50']}×",
        ]
