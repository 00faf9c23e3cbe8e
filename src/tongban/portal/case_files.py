"""Serving an uploaded case material: to someone the view has already checked may see the case.

The type sent is the one read from the content at upload (``detected_format``), never the name;
only PDF and images are shown in the browser (``preview``; images in a sandbox);
everything else is a download. Nothing is cached on the way.
"""

from __future__ import annotations

from django.http import FileResponse, Http404

from tongban.cases.models import Case, CaseMaterial

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "jpg": "image/jpeg",
    "png": "image/png",
    "ofd": "application/ofd",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "zip": "application/zip",
}
PREVIEWABLE = frozenset({"pdf", "jpg", "png"})


def material_of(case: Case, material_id: int) -> CaseMaterial:
    material = case.materials.filter(pk=material_id).first()
    if material is None:
        raise Http404("没有找到该材料文件")
    return material


def material_response(material: CaseMaterial, *, preview: bool = False) -> FileResponse:
    inline = preview and material.detected_format in PREVIEWABLE
    try:
        handle = material.file.open("rb")
    except FileNotFoundError:
        raise Http404("材料文件已不存在") from None
    response = FileResponse(
        handle,
        as_attachment=not inline,
        filename=material.original_name or material.file.name.rsplit("/", 1)[-1],
        content_type=CONTENT_TYPES.get(material.detected_format, "application/octet-stream"),
    )
    response["X-Content-Type-Options"] = "nosniff"
    if material.detected_format != "pdf":  # the browser's PDF viewer does not run sandboxed
        response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    response["Cache-Control"] = "private, no-store"
    response["X-Frame-Options"] = "SAMEORIGIN"
    return response
