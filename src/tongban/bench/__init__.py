"""Benchmarks: ``tongban bench NAME [--json]``. Benchmarks report speed; tests assert behaviour."""
