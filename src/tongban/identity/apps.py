"""App configuration for ``tongban.identity``."""

from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "tongban.identity"
    label = "identity"
    verbose_name = "身份与机构"
