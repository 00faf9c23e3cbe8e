"""App configuration for ``tongban.demo``."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "tongban.demo"
    label = "demo"
    verbose_name = "示例数据"
