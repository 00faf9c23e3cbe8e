"""Shared building blocks every domain app may use: identifiers, masking, errors, plugins."""
