"""Catalog sections owned by other apps (一件事 bundles): how they join validation, the one
import transaction and export.

The file format lists every section (``tongban.catalog.document``), but a section's meaning may
belong to an app that depends on the catalog — the ``bundles`` app owns bundle definitions. Such
an app registers a ``SectionHandler`` here (in its ``AppConfig.ready``); ``validate_catalog``
asks it for problems after the catalog's own checks, ``import_catalog`` lets it apply its part
inside the same transaction, after items, and ``export_documents`` adds the files it writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from tongban.core.plugins import Registry

if TYPE_CHECKING:
    from tongban.catalog.document import CatalogDocument
    from tongban.core.sourcefiles import Problem


class SectionHandler(Protocol):
    section: str

    def check(self, catalog: Any) -> list[Problem]:
        """Problems of this section, given the whole parsed catalog (``ValidCatalog``)."""
        ...

    def apply(self, catalog: Any, counts: Any) -> None:
        """Store this section; runs inside the import transaction."""
        ...

    def export(self) -> dict[str, CatalogDocument]:
        """Files (relative name → document) describing what is stored."""
        ...


section_handlers: Registry[SectionHandler] = Registry("catalog section")
