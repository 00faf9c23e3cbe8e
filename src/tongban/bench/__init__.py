"""Benchmarks: ``tongban bench NAME [--json]`` runs one and reports how fast something is.

Each benchmark is a plugin in ``tongban.bench.base.benchmarks`` (the project's one registry
pattern); it builds its own data in a throw-away database (a temporary SQLite file, or a
``tongban_bench_<pid>`` PostgreSQL database next to the configured one) and never touches the
real database. Benchmarks report speed with the machine they ran on; tests assert behaviour,
never timings. Results are recorded in ``docs/benchmarks.md``.
"""
