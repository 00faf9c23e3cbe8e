"""``tongban catalog validate|import|export|schema``: catalog-as-code from the command line.

Problems are printed one per line as ``file:line: path: message`` and the command exits with
status 1, so it can guard a pull request that edits the catalog.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.catalog.document import json_schema
from tongban.catalog.services import (
    CatalogInvalid,
    export_catalog,
    import_catalog,
    validate_catalog,
)


class Command(BaseCommand):
    help = "Validate, import or export the catalog (事项目录) as YAML files."
    requires_system_checks: list[str] = []  # usable while a deployment is half configured

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        validate = sub.add_parser("validate", help="check files without changing anything")
        validate.add_argument("paths", nargs="+", type=Path)
        load = sub.add_parser("import", help="validate and import atomically")
        load.add_argument("paths", nargs="+", type=Path)
        dump = sub.add_parser("export", help="write the catalog to a folder")
        dump.add_argument("target", type=Path)
        schema = sub.add_parser("schema", help="print or write the JSON Schema of a catalog file")
        schema.add_argument("--output", type=Path)

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "validate":
                catalog = validate_catalog(options["paths"])
                for warning in catalog.warnings:
                    self.stderr.write(str(warning))
                self.stdout.write(f"OK: {len(catalog.files)} file(s) valid")
            elif action == "import":
                report = import_catalog(options["paths"])
                for warning in report.warnings:
                    self.stderr.write(str(warning))
                self.stdout.write(f"imported: {report.summary()}")
            elif action == "export":
                written = export_catalog(options["target"])
                self.stdout.write(f"exported {len(written)} file(s) to {options['target']}")
            else:
                text = json.dumps(json_schema(), ensure_ascii=False, indent=2) + "\n"
                if options["output"]:
                    options["output"].write_text(text, encoding="utf-8")
                else:
                    self.stdout.write(text)
        except CatalogInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            errors = sum(1 for p in exc.problems if p.severity == "error")
            raise CommandError(
                f"catalog invalid: {errors} problem(s); nothing was imported"
            ) from exc
