"""``tongban compile_catalogs``: compile the translation catalogs (.po → .mo) with polib.

Django's own ``compilemessages`` needs GNU gettext installed on the machine; polib is a pinned
Python dependency, so a fresh machine needs nothing extra.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polib
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Compile every .po file under LOCALE_PATHS into its .mo file."

    def handle(self, *args: Any, **options: Any) -> None:
        count = 0
        for root in settings.LOCALE_PATHS:
            for po_path in sorted(Path(root).rglob("*.po")):
                try:
                    catalog = polib.pofile(str(po_path))
                except OSError as exc:
                    raise CommandError(f"{po_path}: cannot read ({exc})") from exc
                except ValueError as exc:
                    raise CommandError(f"{po_path}: {exc}") from exc
                catalog.save_as_mofile(str(po_path.with_suffix(".mo")))
                count += 1
        if options["verbosity"]:
            self.stdout.write(f"compiled {count} translation catalog(s)")
