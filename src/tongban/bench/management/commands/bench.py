"""``tongban bench NAME [--json] [options]``: run one benchmark in a throw-away database.

Without ``--json`` the figures are printed for people; with ``--json`` stdout carries exactly
one JSON object (the figures plus ``machine``) and progress goes to stderr. ``--list`` names the
registered benchmarks and their options. Every benchmark option is accepted by the command;
each benchmark uses its own and ignores the rest.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tongban.bench.base import Option, benchmarks, machine_info
from tongban.bench.database import throwaway_database


def _all_options() -> dict[str, Option]:
    merged: dict[str, Option] = {}
    for name, cls in benchmarks.items():
        for key, option in cls.options.items():
            known = merged.get(key)
            if known is not None and known.type is not option.type:
                raise CommandError(f"benchmark {name}: option --{key} clashes with another type")
            merged.setdefault(key, option)
    return merged


class Command(BaseCommand):
    help = "Run a benchmark (tongban bench --list shows them) and print its figures."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", nargs="?", help="benchmark to run")
        parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
        parser.add_argument(
            "--json", action="store_true", help="print exactly one JSON object on stdout"
        )
        for key, option in _all_options().items():
            users = [n for n, cls in benchmarks.items() if key in cls.options]
            parser.add_argument(
                f"--{key.replace('_', '-')}",
                dest=key,
                type=option.type,
                default=None,
                help=f"{option.help} ({', '.join(users)}; default {option.default})",
            )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["list"]:
            for name, cls in benchmarks.items():
                self.stdout.write(f"{name}: {cls.summary}")
                for key, option in cls.options.items():
                    self.stdout.write(
                        f"    --{key.replace('_', '-')} ({option.default}): {option.help}"
                    )
            return
        name = options["name"]
        if not name:
            raise CommandError("name a benchmark (tongban bench --list shows them)")
        try:
            cls = benchmarks.get(name)
        except KeyError as exc:
            raise CommandError(str(exc.args[0])) from None
        benchmark = cls()
        chosen = {
            key: options[key] if options.get(key) is not None else option.default
            for key, option in cls.options.items()
        }
        as_json = options["json"]

        def log(message: str) -> None:
            self.stderr.write(f"[bench {name}] {message}")

        started = time.perf_counter()
        with throwaway_database(log):
            result = benchmark.run(chosen, log)
            result["machine"] = machine_info()
        result["options"] = chosen
        # a benchmark may report its own measured ``wall_s`` (``policy`` does); else the command's
        result.setdefault("wall_s", round(time.perf_counter() - started, 2))
        if as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=False))
            return
        for line in benchmark.report(result):
            self.stdout.write(line)
        machine = result["machine"]
        self.stdout.write(
            f"machine: {machine['cores']} cores ({machine['cpu']}, load {machine['load_avg_1m']}), "
            f"Python {machine['python']}, "
            f"Django {machine['django']}, {machine['db_vendor']} {machine['db_version']}, "
            f"{machine['date']}; wall time {result['wall_s']} s"
        )
