"""Material uploads: the file's real format is read from its content (magic numbers; the inside
of zip containers for docx/xlsx/ofd), checked against what the item's material accepts and its
size limit, passed to the virus-scan hook, stored, and recorded with its SHA-256. Staff open a
case's files through ``check_open_material``: handling staff only, each opening logged as a
personal-data access (个人信息访问记录) naming the material.

A file is stored before its row is written; an upload that fails removes its file, and several
uploads made in one transaction with ``atomic_uploads`` (a 补正 answering its notice) remove
every file they stored when that transaction rolls back, so no file outlives its row."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Final

import filetype
import structlog
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongban.cases import access, events, selectors
from tongban.cases.models import Case, CaseMaterial, CaseState
from tongban.cases.services import state_conflict
from tongban.catalog.guide import GuideMaterial, spec_for
from tongban.core.errors import (
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.core.plugins import Registry
from tongban.core.uploads import MB, Upload, check_file_name, read_within
from tongban.identity.services import PURPOSE_MAX_LENGTH, record_personal_data_access

logger = structlog.get_logger(__name__)

# A scanner gets the bytes and returns None when clean or a reason to refuse; one that raises
# refuses the upload (fail closed). ``TONGBAN_VIRUS_SCANNERS`` names those switched on
# (``tongban.cases.scanners`` has ``clamd``).
Scanner = Callable[[bytes], str | None]
virus_scanners: Registry[Scanner] = Registry("virus scanner")


def active_scanners() -> list[str]:
    """The scanners switched on (``TONGBAN_VIRUS_SCANNERS``), in order."""
    return list(getattr(settings, "TONGBAN_VIRUS_SCANNERS", []))


# files stored inside the innermost ``atomic_uploads`` block: (storage, name)
_STORED: ContextVar[list[tuple[Storage, str]] | None] = ContextVar("stored_uploads", default=None)


@contextmanager
def atomic_uploads() -> Iterator[None]:
    """One transaction for several uploads and what follows them: when it rolls back (an
    exception leaves the block), the files its uploads stored are deleted too."""
    stored: list[tuple[Storage, str]] = []
    token = _STORED.set(stored)
    try:
        with transaction.atomic():
            yield
    except BaseException:
        for storage, name in stored:
            storage.delete(name)
        raise
    finally:
        _STORED.reset(token)


EDITABLE_STATES = (CaseState.DRAFT, CaseState.CORRECTION, CaseState.SUBMITTED)
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def sniff_format(content: bytes) -> str | None:
    """The format of ``content`` as one of the catalog's names (pdf, jpg, png, ofd, docx, xlsx,
    zip, doc/xls), or None when it is none of them."""
    if content.startswith(_OLE2):
        return "ole2"  # legacy Word/Excel: the container does not say which
    if content[:4] == b"PK\x03\x04":
        try:
            names = zipfile.ZipFile(io.BytesIO(content)).namelist()
        except zipfile.BadZipFile:
            return None
        if any(n.upper() == "OFD.XML" for n in names):
            return "ofd"
        if any(n.startswith("word/") for n in names):
            return "docx"
        if any(n.startswith("xl/") for n in names):
            return "xlsx"
        return "zip"
    kind = filetype.guess(content)
    if kind is None:
        return None
    return {"pdf": "pdf", "jpg": "jpg", "png": "png"}.get(kind.extension)


def _accepts(formats: Sequence[str], detected: str) -> bool:
    if detected == "ole2":
        return bool({"doc", "xls"} & set(formats))
    return detected in formats


def _material_of(case: Case, material_key: str) -> GuideMaterial:
    material = next(
        (m for m in spec_for(case.item_version).materials if m.key == material_key), None
    )
    if material is None:
        raise ValidationFailed(
            "本事项没有这项材料",
            code="unknown_material",
            errors=[FieldError("material", f"未知的材料 {material_key!r}")],
        )
    return material


def _checked(case: Case, material_key: str, content: bytes) -> tuple[GuideMaterial, str | None]:
    """The item's material ``material_key`` and the format read from ``content``; refuses an
    unknown material, an empty or oversized file, a format the material does not accept and a
    file a virus scanner rejects."""
    material = _material_of(case, material_key)
    errors = []
    if not content:
        errors.append(FieldError("file", "文件为空"))
    elif len(content) > material.max_size_mb * 1024 * 1024:
        errors.append(FieldError("file", f"文件超过 {material.max_size_mb} MB"))
    detected = sniff_format(content) if content else None
    if content and (detected is None or not _accepts(material.formats, detected)):
        shown = {"ole2": "doc/xls"}.get(detected or "", detected or "无法识别")
        errors.append(
            FieldError(
                "file", f"文件内容是 {shown} 格式，本材料只接受 {', '.join(material.formats)}"
            )
        )
    if errors:
        raise ValidationFailed("上传的文件不符合要求", code="invalid_file", errors=errors)
    for name in active_scanners():
        try:
            verdict = virus_scanners.get(name)(content)
        except Exception as exc:
            logger.error(
                "cases.virus_scan_failed",
                scanner=name,
                material=material_key,
                error=f"{type(exc).__name__}: {exc}",
            )
            raise ValidationFailed(
                "文件暂时无法完成安全检查，未能上传，请稍后再试",
                code="scan_unavailable",
                errors=[FieldError("file", "安全检查暂时无法进行，请稍后再试")],
            ) from exc
        if verdict:
            raise ValidationFailed(
                "文件未通过安全检查", code="infected", errors=[FieldError("file", verdict)]
            )
    return material, detected


def _row(
    actor: Any,
    case: Case,
    material: GuideMaterial,
    file_name: str,
    content: bytes,
    detected: str | None,
) -> CaseMaterial:
    return CaseMaterial(
        case=case,
        material_key=material.key,
        material_name=material.name,
        original_name=file_name[:255],
        detected_format=detected or "",
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        uploaded_by=actor,
    )


def do_attach_shared(
    actor: Any, case: Case, material_key: str, file_name: str, content: bytes, stored_name: str
) -> CaseMaterial:
    """Attach a file already stored under ``stored_name`` to a draft the caller created in its
    own transaction (a 一件事 hands one upload to every item case that needs it): the content
    is checked against this item's material like any upload, but stored only once."""
    if case.state != CaseState.DRAFT or not access.is_case_applicant(actor, case):
        raise PermissionDenied("只有申请人可以为草稿上传申请材料", code="not_applicant")
    material, detected = _checked(case, material_key, content)
    stored = _row(actor, case, material, file_name, content, detected)
    stored.file.name = stored_name
    stored.save(force_insert=True)
    return stored


def _check_requested(actor: Any, case: Case, material_key: str) -> None:
    """补正: while the case awaits it, only the materials the open 补正告知 names may be
    supplemented (the notice lists everything at once); any other is a 409 naming them."""
    notice = case.corrections.filter(answered_at__isnull=True).order_by("-issued_at").first()
    if notice is None:
        return
    requested = {item["material"]: item["name"] for item in notice.items}
    if material_key in requested:
        return
    names = "、".join(f"“{name}”" for name in requested.values())
    raise state_conflict(
        actor,
        case,
        f"补正告知未要求补正该材料，补正期间只能上传告知所列的材料：{names}",
        "material_not_requested",
        [FieldError("material", f"可补正的材料：{', '.join(requested)}")],
    )


@transaction.atomic
def check_attach_material(
    actor: Any, case_id: int, material_key: str, file_name: str, content: bytes | Upload
) -> CaseMaterial:
    """The applicant adds (or replaces) the file for one material of their case. A draft is
    the applicant's own until submitted: to anyone else it is not found, as on its other
    endpoints; staff who see a submitted case are refused (403). While the case awaits 补正,
    only a material its notice names (409 ``material_not_requested`` otherwise). ``content``
    may be the upload itself: it is read only after the case and material are known, and no
    further than the material's size limit."""
    case = Case.objects.select_for_update().filter(pk=case_id).first()
    if case is None or not access.can_see_case(actor, case):
        raise NotFound("没有找到该办件", code="case_not_found")
    if case.state == CaseState.DRAFT and not access.is_case_applicant(actor, case):
        raise NotFound("没有找到该办件", code="case_not_found")
    if not access.is_case_applicant(actor, case):
        raise PermissionDenied("只有申请人可以上传申请材料", code="not_applicant")
    tolerated = (
        case.tolerated.current().filter(material_key=material_key, supplied_at__isnull=True).first()
    )
    if case.state not in EDITABLE_STATES and tolerated is None:
        raise state_conflict(
            actor, case, f"办件当前为“{case.get_state_display()}”，不能再上传材料", "locked"
        )
    if case.state == CaseState.CORRECTION:
        _check_requested(actor, case, material_key)
    check_file_name(file_name)  # not UTF-8 as sent: it could not be shown as it was named
    if not isinstance(content, bytes):
        content = read_within(content, _material_of(case, material_key).max_size_mb * MB)
    material, detected = _checked(case, material_key, content)
    case.materials.filter(material_key=material_key, superseded=False).update(superseded=True)
    stored = _row(actor, case, material, file_name, content, detected)
    extension = {"ole2": "bin", "jpg": "jpg"}.get(detected or "", detected or "bin")
    stored.file.save(f"{uuid.uuid4().hex}.{extension}", ContentFile(content), save=False)
    pending = _STORED.get()
    if pending is not None:
        pending.append((stored.file.storage, stored.file.name))
    try:
        stored.save()
        if tolerated is not None:
            tolerated.supplied_at = timezone.now()
            tolerated.save(update_fields=["supplied_at"])
        if case.number:
            events.record(
                case,
                "attach_material",
                actor,
                data={
                    "material": material_key,
                    "sha256": stored.sha256,
                    "format": stored.detected_format,
                },
            )
    except Exception:
        stored.file.delete(save=False)
        raise
    return stored


OPEN_PURPOSE: Final = "查看申请材料"  # the access log's words, stored as written


def _open_purpose(material: CaseMaterial) -> str:
    """The access log's line for opening ``material``: the material's name always whole, the
    uploaded file's name shortened to what the line has room for."""
    head = f"{OPEN_PURPOSE}：{material.material_name}"
    room = PURPOSE_MAX_LENGTH - len(head) - 2
    name = material.original_name
    if len(name) > room:
        name = name[: max(room - 1, 0)] + "…"
    return f"{head}（{name}）" if room > 1 else head[:PURPOSE_MAX_LENGTH]


def check_open_material(actor: Any, number: str, material_id: int) -> CaseMaterial:
    """File ``material_id`` of case ``number`` for a staff member to open: 404 when they may
    not see the case or it has no such file, 403 for staff who see the case but not its files
    (supervisors). The opening is logged against the applicant person, naming the material,
    before the file is served; a file that is gone logs nothing."""
    case = selectors.case_for(actor, number)
    if not access.may_open_materials(actor, case):
        raise PermissionDenied(_("您不能查看该办件的申请材料"), code="materials_not_allowed")
    material = case.materials.filter(pk=material_id).first()
    if material is None or not material.file.storage.exists(material.file.name):
        raise NotFound(_("没有找到该材料文件"), code="material_not_found")
    if case.applicant_person is not None:
        purpose = _open_purpose(material)
        with transaction.atomic():
            record_personal_data_access(actor, case.applicant_person, purpose)
    return material
