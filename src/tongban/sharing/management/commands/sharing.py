"""``tongban sharing prefill [--json]``: the prefill measurement of the loaded catalog — per item
and overall, the share of form fields filled without typing (自动填, 系统填, 选择填) and of
materials that need no upload (免提交). Read-only."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tongban.sharing.selectors import prefill_rates, prefill_summary


class Command(BaseCommand):
    help = "数据共享：prefill 统计各事项表单字段的自动填、系统填、选择填比例"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        prefill = sub.add_parser("prefill", help="表单预填率")
        prefill.add_argument("--json", action="store_true", help="以 JSON 输出")
        prefill.add_argument("--items", action="store_true", help="同时列出每个事项")

    def handle(self, *args: Any, **options: Any) -> None:
        rates = prefill_rates()
        summary = prefill_summary(rates)
        overall = {
            "items": summary.items,
            "fields": summary.fields,
            "automatic_fields": summary.automatic,
            "history_fields": summary.history,
            "automatic_share": round(summary.automatic_share, 4),
            "prefilled_share": round(summary.prefilled_share, 4),
            "items_at_80_percent": summary.items_at_80,
            "materials": summary.materials,
            "exempt_materials": summary.exempt_materials,
            "exempt_share": round(summary.exempt_share, 4),
        }
        if options["json"]:
            body: dict[str, Any] = {"overall": overall}
            if options["items"]:
                body["items"] = [
                    {
                        "item": r.code,
                        "fields": r.fields,
                        "automatic_share": round(r.automatic_share, 4),
                        "prefilled_share": round(r.prefilled_share, 4),
                    }
                    for r in rates
                ]
            self.stdout.write(json.dumps(body, ensure_ascii=False, indent=2))
            return
        self.stdout.write(
            f"事项 {summary.items} 个，字段 {summary.fields} 个："
            f"自动填＋系统填 {summary.automatic_share:.1%}，"
            f"再加选择填 {summary.prefilled_share:.1%}；"
            f"免填写比例达到八成的事项 {summary.items_at_80} 个；"
            f"可免提交材料 {summary.exempt_materials}/{summary.materials}"
            f"（{summary.exempt_share:.1%}）"
        )
        if options["items"]:
            for r in rates:
                self.stdout.write(
                    f"{r.code}\t{r.fields}\t{r.automatic_share:.0%}\t{r.prefilled_share:.0%}"
                )
