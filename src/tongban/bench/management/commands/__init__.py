"""``tongban bench``."""
