"""Where the sample catalog lives: the catalog-as-code YAML files loaded by ``make demo``.

The files under ``catalog/`` (divisions, departments, service centres, the data-element
dictionary, items grouped by department and the 实施清单) are plain ``tongban-catalog/1``
documents; ``catalog_paths`` lists them in the stable order the importer reads them.
"""

from __future__ import annotations

from pathlib import Path

CATALOG_DIR = Path(__file__).resolve().parent / "catalog"


def catalog_paths() -> list[Path]:
    """Every YAML file of the sample catalog, sorted by path."""
    return sorted(
        p for p in CATALOG_DIR.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
    )
