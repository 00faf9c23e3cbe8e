"""``tongban sharing``."""
