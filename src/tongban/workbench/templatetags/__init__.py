"""Template filters of the workbench (masking personal data, file sizes)."""
