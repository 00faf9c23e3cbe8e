"""Sample data for ``make demo`` and the tests: a catalog from the seeds and synthetic registries."""
