"""Revocation status lists: a bitstring per list in the spirit of the W3C Bitstring Status List
(bit ``i`` set = the licence at index ``i`` is revoked or cancelled), index allocation for new
licences, and the published document with an expiry.

A verifier holding a copy past ``valid_until`` must answer "status unknown" rather than
"valid"; :func:`parse_document` and :class:`PublishedStatus` implement that rule for the
offline verifier. Indexes are given out sequentially under a row lock; a list that is full is
followed by a new one.
"""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from tongban.licences.models import StatusList

DEFAULT_SIZE = 131072  # bits: 16 KiB, a few hundred bytes compressed while mostly zeros
MAX_DOCUMENT_BITS = 8 * 1024 * 1024


def allocate() -> tuple[StatusList, int]:
    """A fresh (list, index) for a new licence; call inside the issuing transaction."""
    status = StatusList.objects.select_for_update().filter(next_index__lt=DEFAULT_SIZE).first()
    if status is None:
        status = StatusList.objects.create(size=DEFAULT_SIZE, bits=bytes(DEFAULT_SIZE // 8))
        status = StatusList.objects.select_for_update().get(pk=status.pk)
    index = status.next_index
    status.next_index = index + 1
    status.save(update_fields=["next_index", "updated_at"])
    return status, index


def _get_bit(bits: bytes, index: int) -> bool:
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


def set_revoked(status_list_id: int, index: int) -> None:
    """Set the licence's bit; call inside the revoking transaction."""
    status = StatusList.objects.select_for_update().get(pk=status_list_id)
    bits = bytearray(bytes(status.bits))
    bits[index // 8] |= 0x80 >> (index % 8)
    status.bits = bytes(bits)
    status.save(update_fields=["bits", "updated_at"])


def is_revoked(status_list_id: int, index: int) -> bool | None:
    """Current status from the database (None when the list does not exist)."""
    bits = StatusList.objects.filter(pk=status_list_id).values_list("bits", flat=True).first()
    if bits is None or index >= len(bytes(bits)) * 8:
        return None
    return _get_bit(bytes(bits), index)


def document(status_list_id: int, *, now: dt.datetime | None = None) -> dict[str, Any] | None:
    """The published form: compressed bits (Base64url of zlib), issue time and expiry."""
    status = StatusList.objects.filter(pk=status_list_id).first()
    if status is None:
        return None
    issued = now or timezone.now()
    minutes = settings.TONGBAN_LICENCE_STATUS_LIST_MINUTES
    return {
        "format": "tongban-status-list/1",
        "id": status.pk,
        "purpose": "revocation",
        "size": status.size,
        "issued_at": issued.isoformat(timespec="seconds"),
        "valid_until": (issued + dt.timedelta(minutes=minutes)).isoformat(timespec="seconds"),
        "encoded_list": base64.urlsafe_b64encode(zlib.compress(bytes(status.bits), 9)).decode(),
    }


class StatusDocumentError(ValueError):
    """A status list file that cannot be read."""


@dataclass(frozen=True)
class PublishedStatus:
    """A status list as a verifier holds it: bits and the time until which they may be used."""

    list_id: int
    bits: bytes
    valid_until: dt.datetime

    def revoked(self, index: int, now: dt.datetime) -> bool | None:
        """True/False, or None when this copy is stale or does not cover ``index``."""
        if now > self.valid_until or index >= len(self.bits) * 8:
            return None
        return _get_bit(self.bits, index)


def parse_document(data: dict[str, Any]) -> PublishedStatus:
    try:
        list_id = int(data["id"])
        valid_until = dt.datetime.fromisoformat(str(data["valid_until"]))
        compressed = base64.urlsafe_b64decode(str(data["encoded_list"]))
        inflater = zlib.decompressobj()
        bits = inflater.decompress(compressed, MAX_DOCUMENT_BITS // 8)
    except (KeyError, ValueError, TypeError, zlib.error) as exc:
        raise StatusDocumentError(f"状态列表文件无法读取：{exc}") from exc
    if valid_until.tzinfo is None:
        raise StatusDocumentError("状态列表的 valid_until 缺少时区")
    return PublishedStatus(list_id, bits, valid_until)
