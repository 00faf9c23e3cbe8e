"""Catalog administration endpoints (事项管理员 only): import catalog files."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import File, Router, Schema
from ninja.files import UploadedFile
from ninja.security import django_auth

from tongban.api.catalog_schemas import ErrorOut
from tongban.catalog.services import check_import_catalog_upload

router = Router(tags=["catalog administration"], auth=django_auth)


class ImportOut(Schema):
    files: int
    counts: dict[str, int]
    warnings: list[str]
    revision: int


@router.post(
    "/catalog/import",
    response={200: ImportOut, 401: ErrorOut, 403: ErrorOut, 422: ErrorOut},
    summary="Import a catalog YAML file or a zip of YAML files (atomic)",
)
def import_catalog(request: HttpRequest, file: File[UploadedFile]) -> dict[str, Any]:
    report = check_import_catalog_upload(request.user, file.name or "", file)
    return {
        "files": report.files,
        "counts": dict(report.counts),
        "warnings": [str(w) for w in report.warnings],
        "revision": report.revision,
    }
