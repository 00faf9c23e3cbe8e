"""Template tags and filters of the portal (highlighting, display labels)."""
