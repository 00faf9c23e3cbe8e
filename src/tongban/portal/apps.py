"""App configuration for ``tongban.portal``."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "tongban.portal"
    label = "portal"
    verbose_name = "门户"
