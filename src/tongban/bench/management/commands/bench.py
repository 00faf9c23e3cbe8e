"""``tongban bench NAME [--json] [options]``: run one benchmark in a throw-away database.

Without ``--json`` the figures are printed for people; with ``--json`` stdout carries exactly
one JSON object (the figures plus ``machine``) and progress goes to stderr — also when the
benchmark fails: then the object holds the figures measured before the failure (those of a
``BenchmarkFailed``) and ``error``, and the command exits non-zero. A benchmark whose run only
starts worker processes (``uses_database`` false) gets no throw-away database of its own. ``--list`` names the
registered benchmarks and their options. Every benchmark option is accepted by the command;
each benchmark uses its own and ignores the rest.
"""

from __future__ import annotations

import json
import time
from contextlib import nullcontext
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
            described = f"{option.help} ({', '.join(users)}; default {option.default})"
            flag = f"--{key.replace('_', '-')}"
            if option.type is bool:  # a switch: present or not
                parser.add_argument(
                    flag, dest=key, action="store_true", default=None, help=described
                )
            else:
                parser.add_argument(flag, dest=key, type=option.type, default=None, help=described)

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
        uses_database = benchmark.uses_database(chosen)
        result: dict[str, Any] = {}
        try:
            with throwaway_database(log) if uses_database else nullcontext(""):
                result = benchmark.run(chosen, log)
                result["machine"] = machine_info(with_database=uses_database)
        except Exception as exc:
            if not as_json:
                raise
            self._print_failure(name, chosen, started, exc, uses_database)
            message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CommandError(f"benchmark {name} failed: {message}") from None
        result["options"] = chosen
        # a benchmark may report its own measured ``wall_s`` (``policy`` does); else the command's
        result.setdefault("wall_s", round(time.perf_counter() - started, 2))
        if as_json:
            self.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=False))
            return
        for line in benchmark.report(result):
            self.stdout.write(line)
        machine = result["machine"]
        database = (
            f", {machine['db_vendor']} {machine['db_version']}" if machine["db_vendor"] else ""
        )
        self.stdout.write(
            f"machine: {machine['cores']} cores ({machine['cpu']}, load {machine['load_avg_1m']}), "
            f"Python {machine['python']}, "
            f"Django {machine['django']}{database}, "
            f"{machine['date']}; wall time {result['wall_s']} s"
        )

    def _print_failure(
        self,
        name: str,
        chosen: dict[str, Any],
        started: float,
        exc: Exception,
        uses_database: bool,
    ) -> None:
        """``--json`` after a failure: still exactly one JSON object on stdout — the figures
        measured before it (``BenchmarkFailed.result``) and ``error`` saying what went wrong."""
        partial = getattr(exc, "result", None)
        result: dict[str, Any] = dict(partial) if isinstance(partial, dict) else {}
        result.setdefault("benchmark", name)
        result["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        result["error_type"] = type(exc).__name__
        if "machine" not in result:
            # the throw-away database is gone by now: do not ask the configured one
            result["machine"] = machine_info(with_database=False)
        result["options"] = chosen
        result["wall_s"] = round(time.perf_counter() - started, 2)
        self.stdout.write(json.dumps(result, ensure_ascii=False, sort_keys=False, default=str))
