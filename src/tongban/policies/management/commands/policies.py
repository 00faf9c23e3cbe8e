"""``tongban policies import-profiles|refresh-profiles|check|simulate|run``: profiles and policies from the
command line.

``import-profiles enterprise FILE.csv|FILE.parquet`` checks the whole file and imports it in one
transaction, or prints every problem as ``file:line: column: message`` and imports nothing
(exit status 1); a progress bar goes to stderr. ``check RULE.yaml --target person`` type-checks
conditions (and an ``amount`` when the file has ``conditions`` and ``amount`` keys) exactly as
saving a draft would. ``refresh-profiles person|enterprise [--limit N]`` refreshes profiles from
the data sources as the platform (stalest first), printing each source that did not answer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from django.core.management.base import BaseCommand, CommandError, CommandParser, OutputWrapper

from tongban.policies.profiles import ProfilesInvalid, import_profiles
from tongban.policies.refresh import refresh_profiles
from tongban.policies.rules import RuleInvalid, compile_amount, compile_rule
from tongban.policies.schema import SCHEMAS, schema_for
from tongban.policies.selectors import named_lookup


class _Raw:
    """Writes to a command's stderr without the newline ``OutputWrapper`` adds (for ``\\r``)."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self.wrapper = wrapper

    def write(self, text: str) -> int:
        self.wrapper.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        self.wrapper.flush()


class Command(BaseCommand):
    help = "惠企惠民政策：导入档案、校验规则、模拟兑现"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        imp = sub.add_parser("import-profiles", help="import 一企一档/一人一档 from CSV or Parquet")
        imp.add_argument("target", choices=sorted(SCHEMAS))
        imp.add_argument("file", type=Path)
        imp.add_argument("--quiet", action="store_true", help="no progress bar")
        ref = sub.add_parser("refresh-profiles", help="refresh profiles from the data sources")
        ref.add_argument("target", choices=sorted(SCHEMAS))
        ref.add_argument(
            "--limit", type=int, default=None, help="at most N profiles (stalest first)"
        )
        chk = sub.add_parser("check", help="type-check a rule file (YAML/JSON)")
        chk.add_argument("file", type=Path)
        chk.add_argument("--target", choices=sorted(SCHEMAS), required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "import-profiles":
            self._import(options)
        elif options["action"] == "refresh-profiles":
            self._refresh(options)
        else:
            self._check(options)

    def _import(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            report = import_profiles(
                options["target"], path, progress=None if options["quiet"] else _Raw(self.stderr)
            )
        except ProfilesInvalid as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(f"{path}: {len(exc.problems)} problem(s); nothing imported") from exc
        self.stdout.write(
            f"{path}: {report.rows} rows — {report.created} created, {report.updated} updated"
        )

    def _refresh(self, options: dict[str, Any]) -> None:
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit: must be at least 1")
        report = refresh_profiles(None, options["target"], limit=limit)
        for problem in report.problems:
            self.stderr.write(problem)
        self.stdout.write(
            f"{options['target']}: {report.profiles} profiles — {report.updated} updated, "
            f"{report.lookups} lookups, {len(report.problems)} problem(s)"
        )

    def _check(self, options: dict[str, Any]) -> None:
        path: Path = options["file"]
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        schema = schema_for(options["target"])
        problems = []
        has_parts = isinstance(data, dict) and "conditions" in data
        try:
            compile_rule(data["conditions"] if has_parts else data, schema, named=named_lookup)
        except RuleInvalid as exc:
            problems.extend(exc.errors)
        if has_parts and "amount" in data:
            try:
                compile_amount(data["amount"], schema, named=named_lookup)
            except RuleInvalid as exc:
                problems.extend(exc.errors)
        for problem in problems:
            self.stderr.write(f"{path}: {problem.path}: {problem.message}")
        if problems:
            raise CommandError(f"{path}: {len(problems)} problem(s)")
        self.stdout.write(json.dumps({"file": str(path), "ok": True}, ensure_ascii=False))
