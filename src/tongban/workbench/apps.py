"""App configuration for ``tongban.workbench``."""

from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    name = "tongban.workbench"
    label = "workbench"
    verbose_name = "工作台"
