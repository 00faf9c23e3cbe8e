"""``tongban demo_accounts``: print the demo accounts table for the ``make demo`` banner.

Reads the one account list in ``tongban.demo.accounts`` — it does not touch the database, so the
banner is right even before ``demo_data`` has run — and ends with the warning that the demo
passwords are public and must never be used in production.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from tongban.demo.accounts import DEMO_WARNING, accounts_table


class Command(BaseCommand):
    help = "打印演示账户表（角色、用户名、密码、可以试试）"

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(accounts_table())
        self.stdout.write("")
        self.stdout.write(self.style.WARNING(DEMO_WARNING))
