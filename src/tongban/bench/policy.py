"""``tongban bench policy``: batch policy matching — N enterprises × M payable items — with tongban's
Polars evaluator, side by side in the same run with OpenFisca and a plain per-entity Python loop.

Data: a deterministic synthetic population (numpy, ``--seed``) written once to a Parquet file.
Rules: ``--items`` payable items generated from ten rule shapes of the sample policies (tags and
credit grade, headcount and growth with a capped percentage, hires in a range with a per-head
amount, company age by ``years_since``, division and industry prefix with tiers, ``any``/``not``,
elderly-care bed cases, revenue bands with ``min``, ``or`` of two thresholds, enum membership),
each with its own thresholds; every one type-checks against the enterprise schema.

Measured, each from the same Parquet file to per-item eligible counts and amount totals:

* **tongban** (``wall_s``): read the columns the rules need, evaluate every item with
  ``policies.batch`` in one lazy Polars query (common sub-expressions shared), aggregate;
* **OpenFisca** (``openfisca_wall_s``): an equivalent tax-benefit system — one entity, the same
  inputs as OpenFisca variables (enums for grades and classes, ``date`` for dates, integer division
  codes), one boolean and one amount variable per item whose formulas are the same rules compiled
  to numpy — loaded with ``set_input`` and computed with ``calculate``;
* **Python loop** (``python_loop_wall_s``): ``policies.evaluate`` per entity and item over a
  sample of ``--loop-sample`` entities, **extrapolated** linearly to N (reported as such).

The three must agree on the sample (counts and totals), or the benchmark fails. Also reported:
peak RSS of the process (``peak_rss_mb``), the single-entity explanation latency over all items
(``explain_p95_ms`` wall clock and ``explain_cpu_p95_ms`` thread CPU time, which a busy shared
machine does not inflate; ``policies.evaluate.explain`` + amounts for one profile over all items) and the ratio
``ratio_vs_openfisca`` = OpenFisca wall / tongban wall. Targets: ≥ 5× OpenFisca, ≤ 10 s at
1,000,000 × 50, explanation p95 ≤ 5 ms.
"""

from __future__ import annotations

import gc
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from tongban.bench.base import Benchmark, Log, Option, benchmarks, percentiles

TARGET_RATIO = 5.0
TARGET_WALL_S = 10.0
TARGET_EXPLAIN_P95_MS = 5.0


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


@benchmarks.register("policy")
class PolicyBenchmark(Benchmark):
    summary = (
        "policy matching: N enterprises × M payable items — Polars vs OpenFisca vs a Python loop"
    )
    options = {
        "entities": Option(int, 1_000_000, "enterprises in the population"),
        "items": Option(int, 50, "payable items evaluated side by side"),
        "loop_sample": Option(
            int, 20_000, "entities the per-entity Python loop evaluates (extrapolated)"
        ),
        "explanations": Option(int, 2_000, "single-entity explanations timed (all items each)"),
        "seed": Option(int, 2026, "random seed of the synthetic population"),
        "repeat": Option(int, 3, "timed rounds; the best round of each engine is reported"),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        from tongban.bench.policy_engines import (
            CTX,
            compile_items,
            loop_totals,
            openfisca_system,
            openfisca_totals,
            population,
            profiles,
            tongban_totals,
        )
        from tongban.policies.evaluate import amount_fen, explain

        n, m = options["entities"], options["items"]
        items = compile_items(m)
        with tempfile.TemporaryDirectory(prefix="tongban-bench-policy-") as tmp:
            path = Path(tmp) / "enterprises.parquet"
            log(f"generating {n:,} enterprises")
            frame = population(n, options["seed"])
            frame.write_parquet(path)
            sample = frame.head(min(options["loop_sample"], n))
            del frame
            gc.collect()
            log("building the OpenFisca tax-benefit system")
            system = openfisca_system(items)
            tongban_s: list[float] = []
            openfisca_s: list[float] = []
            ours = theirs = None
            for round_ in range(max(1, options["repeat"])):
                started = time.perf_counter()
                ours = tongban_totals(path, items)
                tongban_s.append(time.perf_counter() - started)
                gc.collect()
                started = time.perf_counter()
                theirs = openfisca_totals(path, items, system)
                openfisca_s.append(time.perf_counter() - started)
                gc.collect()
                log(
                    f"round {round_ + 1}: tongban {tongban_s[-1]:.2f} s, OpenFisca {openfisca_s[-1]:.2f} s"
                )
            assert ours is not None
            assert theirs is not None
            if ours != theirs:
                differing = [code for code in ours if ours[code] != theirs[code]][:5]
                raise RuntimeError(f"tongban and OpenFisca disagree on {differing}")
            log(f"per-entity Python loop over {sample.height:,} entities")
            rows = profiles(sample)
            started = time.perf_counter()
            looped = loop_totals(rows, items)
            loop_sample_s = time.perf_counter() - started
            sample_path = Path(tmp) / "sample.parquet"
            sample.write_parquet(sample_path)
            if looped != tongban_totals(sample_path, items):
                raise RuntimeError(
                    "the per-entity loop and the batch evaluator disagree on the sample"
                )
            samples_ms: list[float] = []
            cpu_ms: list[float] = []
            for profile in rows[: options["explanations"]]:
                t0, c0 = time.perf_counter_ns(), time.thread_time_ns()
                for item in items:
                    explained = explain(item.condition, profile, CTX)
                    if explained.result:
                        amount_fen(item.amount, profile, CTX)
                samples_ms.append((time.perf_counter_ns() - t0) / 1e6)
                cpu_ms.append((time.thread_time_ns() - c0) / 1e6)
        wall = min(tongban_s)
        peer = min(openfisca_s)
        loop_wall = loop_sample_s * n / max(sample.height, 1)
        eligible_pairs = sum(count for count, _ in ours.values())
        explain_figures = percentiles(samples_ms, "explain_")
        cpu_figures = percentiles(cpu_ms, "explain_cpu_")
        return {
            "entities": n,
            "payable_items": m,
            "wall_s": round(wall, 3),
            "openfisca_wall_s": round(peer, 3),
            "ratio_vs_openfisca": round(peer / wall, 2),
            "python_loop_wall_s": round(loop_wall, 1),
            "python_loop_extrapolated_from": sample.height,
            "ratio_vs_python_loop": round(loop_wall / wall, 1),
            "peak_rss_mb": peak_rss_mb(),
            "eligible_pairs": eligible_pairs,
            "total_yuan": round(sum(fen for _, fen in ours.values()) / 100, 2),
            **explain_figures,
            "explain_cpu_p50_ms": cpu_figures.get("explain_cpu_p50_ms"),
            "explain_cpu_p95_ms": cpu_figures.get("explain_cpu_p95_ms"),
            "targets": {
                "ratio_vs_openfisca": TARGET_RATIO,
                "wall_s": TARGET_WALL_S,
                "explain_p95_ms": TARGET_EXPLAIN_P95_MS,
            },
            "targets_met": {
                "ratio_vs_openfisca": peer / wall >= TARGET_RATIO,
                "wall_s": wall <= TARGET_WALL_S,
                "explain_p95_ms": explain_figures.get("explain_p95_ms", 0) <= TARGET_EXPLAIN_P95_MS,
            },
            "rounds": {
                "tongban_s": [round(s, 3) for s in tongban_s],
                "openfisca_s": [round(s, 3) for s in openfisca_s],
            },
        }

    def report(self, result: dict[str, Any]) -> list[str]:
        return [
            f"{result['entities']:,} enterprises × {result['payable_items']} payable items "
            f"({result['eligible_pairs']:,} eligible pairs, ¥{result['total_yuan']:,.2f})",
            f"tongban (Polars): {result['wall_s']} s — OpenFisca: {result['openfisca_wall_s']} s "
            f"(×{result['ratio_vs_openfisca']}) — Python loop: {result['python_loop_wall_s']} s "
            f"(extrapolated from {result['python_loop_extrapolated_from']:,} entities, ×{result['ratio_vs_python_loop']})",
            f"explanation of one entity over every item: p50 {result.get('explain_p50_ms')} ms, "
            f"p95 {result.get('explain_p95_ms')} ms (CPU time p95 {result.get('explain_cpu_p95_ms')} ms)",
            f"peak RSS: {result['peak_rss_mb']} MB; targets met: {result['targets_met']}",
        ]
