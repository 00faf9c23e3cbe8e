"""The ``tongban`` console command: Django's management commands under one name.

``tongban catalog validate DIR``, ``tongban bench search --json``, ``tongban migrate`` … are all
management commands; this wrapper only selects the settings module.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tongban.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["tongban", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
