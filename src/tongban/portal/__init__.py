"""Portal: the citizen- and enterprise-facing pages (home, search, item guides, 情形 guidance)."""
