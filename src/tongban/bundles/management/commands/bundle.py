"""``tongban bundle report CODE|--all [--json]``: the reform report of one or every bundle,
computed from the configuration (published figures from the seeds shown beside it)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.bundles import report, selectors
from tongban.bundles.spec import BundleSpecInvalid
from tongban.core.errors import NotFound


class Command(BaseCommand):
    help = "一件事: print the reform report (before → after) of a bundle."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        rep = sub.add_parser("report", help="before → after figures computed from configuration")
        rep.add_argument("code", nargs="?")
        rep.add_argument("--all", action="store_true", help="every bundle, as a list")
        rep.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"] == bool(options["code"]):
            raise CommandError("give a bundle code or --all")
        try:
            bundles = (
                selectors.list_bundles()
                if options["all"]
                else [selectors.get_bundle(options["code"])]
            )
            reports = [report.compute(selectors.spec_of(b)) for b in bundles]
        except NotFound as exc:
            raise CommandError(exc.message) from exc
        except BundleSpecInvalid as exc:
            raise CommandError(f"一件事定义与当前事项目录不一致：{exc}") from exc
        if options["json"]:
            data: Any = [r.as_dict() for r in reports]
            if not options["all"]:
                data = data[0]
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2))
            return
        for r in reports:
            self.stdout.write(f"{r.code} {r.name}（{r.items} 项事项，{r.stages} 个阶段）")
            published = r.published or {}
            for measure in report.MEASURES:
                figure = r.figures[measure]
                line = f"  {report.LABELS[measure]}: {figure.before} → {figure.after}"
                if measure in published:
                    p = published[measure]
                    line += f"（公布：{p['before']:g} → {p['after']:g}）"
                self.stdout.write(line)
            if published:
                self.stdout.write(f"  公布数据来源：{published['source']}")
