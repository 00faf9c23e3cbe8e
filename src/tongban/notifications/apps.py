"""App configuration for ``tongban.notifications``."""

from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "tongban.notifications"
    label = "notifications"
    verbose_name = "消息通知"
