"""``tongban bench search``: catalog search latency on a 10,000-item catalog.

The sample catalog (``tongban/demo/catalog``) is imported when it is valid, then synthetic items
(``catalog_data``) fill the catalog up to ``--items``. The index build is timed on its own; then,
after a warm-up pass, a mixed query set — exact names, name fragments, colloquial phrases,
pinyin initials and full pinyin, a pinyin typo, a quarter with a division filter, and misses —
is timed through the REST API (``GET /api/v1/items/search`` with Django's test client, so URL
routing, middleware, validation, the revision check and JSON rendering are all included) and
directly through ``search_items``. Target: API p95 ≤ 10 ms.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.conf import settings
from django.test import Client
from django.test.utils import override_settings
from django.urls import Resolver404, resolve

from tongban.bench.base import (
    Benchmark,
    Log,
    Option,
    Stopwatch,
    benchmarks,
    percentiles,
    seeded_random,
)
from tongban.bench.catalog_data import generate_catalog
from tongban.catalog import search

SEARCH_URL = "/api/v1/items/search"

COLLOQUIAL = (
    "开饭店",
    "我想开饭店怎么办",
    "生孩子",
    "生娃了上户口",
    "开公司",
    "办执照",
    "买房过户",
    "退休",
    "结婚",
    "残疾补贴",
    "身份证丢了",
    "异地看病",
    "提公积金",
    "电动车上牌",
    "开药店",
    "失业了",
)
MISSES = ("量子纠缠申报", "火星移民登记", "xqzvw", "独角兽饲养许可", "qqqq", "时间旅行备案")
DIVISIONS = ("330106", "330110", "330102")


def import_sample_catalog(log: Log) -> int:
    """Import the demo sample catalog if it is present and valid; return its item count."""
    try:
        from tongban.catalog.services import import_catalog
        from tongban.demo.sample import catalog_paths

        paths = catalog_paths()
        if not paths:
            return 0
        report = import_catalog(paths)
    except Exception as exc:
        log(f"sample catalog not imported ({type(exc).__name__}: {exc})")
        return 0
    created = sum(v for k, v in report.counts.items() if k.startswith("items_"))
    log(f"imported the sample catalog: {created} items")
    return int(created)


def api_available() -> bool:
    try:
        resolve(SEARCH_URL)
    except Resolver404:
        return False
    return True


def query_set(names: list[str], seed: int) -> list[tuple[str, str, str | None]]:
    """(category, query, division) triples: deterministic and mixed like real traffic."""
    rng = seeded_random(seed)
    picks = rng.sample(names, k=min(len(names), 40))
    out: list[tuple[str, str, str | None]] = []
    for name in picks[:12]:
        out.append(("exact", name, None))
    for name in picks[12:20]:
        start = rng.randint(0, max(0, len(name) - 4))
        out.append(("fragment", name[start : start + rng.randint(2, 4)], None))
    for phrase in COLLOQUIAL:
        out.append(("colloquial", phrase, None))
    for name in picks[20:28]:
        initials = search.pinyin_initials(name)
        out.append(("initials", initials[: rng.randint(3, max(3, min(len(initials), 6)))], None))
    for name in picks[28:32]:
        full = search.name_pinyin(search.normalise(name)).full
        out.append(("full_pinyin", full[: rng.randint(6, 12)], None))
    for name in picks[32:35]:
        initials = search.pinyin_initials(name)[:5]
        if len(initials) >= 4:
            typo = initials[:2] + initials[2] + initials[2:]  # one letter doubled
            out.append(("typo", typo, None))
    out.extend(("miss", miss, None) for miss in MISSES)
    # a quarter of the traffic comes from a district page (division filter)
    filtered = rng.sample(out, k=len(out) // 4)
    out.extend((category, q, rng.choice(DIVISIONS)) for category, q, _ in filtered)
    return out


@benchmarks.register("search")
class SearchBenchmark(Benchmark):
    summary = "catalog search p50/p95/p99 through GET /api/v1/items/search (target p95 ≤ 10 ms)"
    options = {
        "items": Option(int, 10_000, "catalog size (sample items + generated)"),
        "queries": Option(int, 2_000, "timed requests per path"),
        "seed": Option(int, 20261123, "random seed for catalog and queries"),
        "limit": Option(int, 20, "results per query"),
        "refresh_ms": Option(
            int, 0, "revision check interval during the run (0 = check on every search)"
        ),
    }

    def run(self, options: dict[str, Any], log: Log) -> dict[str, Any]:
        count = options["items"]
        sample = import_sample_catalog(log)
        generated = generate_catalog(max(0, count - sample), seed=options["seed"])
        log(f"generated {generated.items} items")
        with override_settings(TONGBAN_SEARCH_REFRESH_MS=options["refresh_ms"]):
            search.reset_index()
            stats = search.rebuild_index()
            log(f"index built in {stats.build_seconds:.2f} s ({stats.terms} terms)")
            names = list(generated.names)
            queries = query_set(names, options["seed"])
            limit = options["limit"]
            client = Client()
            through_api = api_available()
            if not through_api:
                log(f"{SEARCH_URL} is not routed; timing search_items only")

            def direct(q: str, division: str | None) -> Any:
                return search.search_items(q, division_code=division, limit=limit)

            def api(q: str, division: str | None) -> Any:
                params: dict[str, Any] = {"q": q, "limit": min(limit, 50)}
                if division:
                    params["division"] = division
                return client.get(SEARCH_URL, params)

            hits_by_category: dict[str, list[int]] = {}
            for category, q, division in queries:  # warm-up
                hits_by_category.setdefault(category, []).append(len(direct(q, division)))
                if through_api:
                    response = api(q, division)
                    if response.status_code != 200:
                        raise RuntimeError(f"{SEARCH_URL}?q={q}: HTTP {response.status_code}")
            rng = seeded_random(options["seed"] + 1)
            order = [queries[rng.randrange(len(queries))] for _ in range(options["queries"])]
            # interleaved, so both paths see the same machine noise
            direct_watch = Stopwatch()
            api_watch = Stopwatch()
            for _, q, division in order:
                direct_watch.time(partial(direct, q, division))
                if through_api:
                    api_watch.time(partial(api, q, division))
        result: dict[str, Any] = {
            "benchmark": "search",
            "items": stats.items,
            "sample_items": sample,
            "queries": len(order),
            "distinct_queries": len(queries),
            "through_api": through_api,
        }
        main = api_watch.samples_ms if through_api else direct_watch.samples_ms
        result.update(percentiles(main))
        result.update(percentiles(direct_watch.samples_ms, prefix="direct_"))
        result.update(
            {
                "index_build_s": round(stats.build_seconds, 3),
                "index_terms": stats.terms,
                "index_grams": stats.grams,
                "index_pinyin_keys": stats.pinyin_keys,
                "refresh_ms": options["refresh_ms"],
                "debug": bool(settings.DEBUG),
                "found_share": {
                    category: round(sum(1 for n in counts if n) / len(counts), 3)
                    for category, counts in sorted(hits_by_category.items())
                },
            }
        )
        return result

    def report(self, result: dict[str, Any]) -> list[str]:
        path = "API" if result["through_api"] else "search_items"
        return [
            f"catalog: {result['items']} items ({result['sample_items']} from the sample catalog)",
            f"index build: {result['index_build_s']:.2f} s, {result['index_terms']} terms, "
            f"{result['index_grams']} bigrams, {result['index_pinyin_keys']} pinyin keys",
            f"{path} ({result['queries']} queries, {result['distinct_queries']} distinct): "
            f"p50 {result['p50_ms']:.2f} ms  p95 {result['p95_ms']:.2f} ms  "
            f"p99 {result['p99_ms']:.2f} ms  max {result['max_ms']:.2f} ms",
            f"search_items: p50 {result['direct_p50_ms']:.2f} ms  "
            f"p95 {result['direct_p95_ms']:.2f} ms  p99 {result['direct_p99_ms']:.2f} ms",
            "queries finding something: "
            + ", ".join(f"{k} {v:.0%}" for k, v in result["found_share"].items()),
        ]
