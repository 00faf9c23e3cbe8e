"""Management commands of the sharing app."""
