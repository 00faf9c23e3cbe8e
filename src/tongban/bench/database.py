"""A throw-away database for one benchmark run, created and dropped like Django's test runner.

SQLite gets a fresh file in a temporary directory (a file, not ``:memory:``, so the figures
include real I/O); PostgreSQL (``DATABASE_URL``) gets ``tongban_bench_<pid>`` created on the same
server through ``connection.creation.create_test_db`` and dropped afterwards. All migrations are
applied. The configured database is never written: the connection is pointed back at it when
the block ends, even on error.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connections

from tongban.bench.base import Log


class UnsafeDatabase(RuntimeError):
    """The throw-away database would be the configured one."""


@contextmanager
def throwaway_database(log: Log, alias: str = "default") -> Iterator[str]:
    """Create, migrate, yield the name of, and finally drop a database for benchmarking."""
    connection = connections[alias]
    real_name = str(connection.settings_dict.get("NAME") or "")
    temp_dir: str | None = None
    if connection.vendor == "sqlite":
        temp_dir = tempfile.mkdtemp(prefix="tongban-bench-")
        name = os.path.join(temp_dir, "bench.sqlite3")
    else:
        name = f"tongban_bench_{os.getpid()}"
    if name == real_name:
        raise UnsafeDatabase(f"the benchmark database {name!r} is the configured database")
    test_settings = connection.settings_dict.setdefault("TEST", {})
    saved_test_name = test_settings.get("NAME")
    test_settings["NAME"] = name
    log(f"creating throw-away {connection.vendor} database {name} …")
    try:
        old_name = connection.creation.create_test_db(
            verbosity=0, autoclobber=True, serialize=False, keepdb=False
        )
    except BaseException:
        test_settings["NAME"] = saved_test_name
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    try:
        yield name
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0, keepdb=False)
        test_settings["NAME"] = saved_test_name
        if temp_dir:
            shutil.rmtree(temp_dir, ignore_errors=True)
        log(f"dropped {name}")
