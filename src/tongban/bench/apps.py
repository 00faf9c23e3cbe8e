"""App configuration for ``tongban.bench``: registers the benchmarks when Django starts."""

from importlib import import_module

from django.apps import AppConfig

BENCHMARK_MODULES = (
    "tongban.bench.search",
    "tongban.bench.guide",
    "tongban.bench.cases",
    "tongban.bench.queue",
    "tongban.bench.load",
    "tongban.bench.notices",
    "tongban.bench.supervision",
    "tongban.bench.sharing",
    "tongban.bench.bundle",
    "tongban.bench.licence",
    "tongban.bench.policy",
)


class BenchConfig(AppConfig):
    name = "tongban.bench"
    label = "bench"
    verbose_name = "性能基准"

    def ready(self) -> None:
        for module in BENCHMARK_MODULES:
            import_module(module)  # each registers itself with tongban.bench.base.benchmarks
