"""Reading an uploaded file within a size limit. The size the upload declares is checked before
a byte is read, and the bytes are counted while reading, so an oversized file is refused (422 at
the input's path) without ever being held in memory whole. A file name that arrived in another
encoding than UTF-8 (marked by ``tongban.core.multipart``) is refused the same way
(``check_file_name``): it could be neither shown nor stored as the applicant wrote it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final, Protocol

from django.utils.translation import gettext as _

from tongban.core.errors import FieldError, ValidationFailed
from tongban.core.multipart import UNREADABLE

MB: Final = 1024 * 1024


class Upload(Protocol):
    """What Django's ``UploadedFile`` offers that reading needs."""

    size: int | None

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]: ...


def too_large(max_bytes: int, path: str = "file") -> ValidationFailed:
    return ValidationFailed(
        _("上传的文件不符合要求"),
        code="file_too_large",
        errors=[FieldError(path, _("文件超过 %(mb)s MB") % {"mb": _megabytes(max_bytes)})],
    )


def file_name_problem(file_name: str, path: str = "file") -> FieldError | None:
    """What is wrong with an uploaded file's name: one holding U+FFFD stands for bytes the
    client sent that are not UTF-8 (or a name already unreadable where it was made)."""
    if UNREADABLE in file_name:
        return FieldError(path, _("文件名无法识别，请使用 UTF-8 编码的文件名后重新上传"))
    return None


def check_file_name(file_name: str, path: str = "file") -> None:
    """Refuse an unreadable file name (``file_name_problem``): 422 at ``path``."""
    problem = file_name_problem(file_name, path)
    if problem is not None:
        raise ValidationFailed(
            _("上传的文件不符合要求"), code="unreadable_file_name", errors=[problem]
        )


def _megabytes(max_bytes: int) -> str:
    return f"{max_bytes / MB:g}"


def read_within(upload: Upload, max_bytes: int, *, path: str = "file") -> bytes:
    """The upload's bytes, or ``ValidationFailed`` at ``path`` once it is larger than
    ``max_bytes`` — by its declared size, or by what arrives when that size is missing or
    wrong."""
    if upload.size is not None and upload.size > max_bytes:
        raise too_large(max_bytes, path)
    parts: list[bytes] = []
    total = 0
    for chunk in upload.chunks():
        total += len(chunk)
        if total > max_bytes:
            raise too_large(max_bytes, path)
        parts.append(chunk)
    return b"".join(parts)
