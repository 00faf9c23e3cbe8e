"""App configuration for ``tongban.bench``."""

from django.apps import AppConfig


class BenchConfig(AppConfig):
    name = "tongban.bench"
    label = "bench"
    verbose_name = "性能基准"
