"""Management commands of the benchmark app."""
