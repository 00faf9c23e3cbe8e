"""Virus scanners for material uploads (``materials.virus_scanners``), switched on by name with
``TONGBAN_VIRUS_SCANNERS``.

``clamd`` speaks ClamAV's ``INSTREAM`` protocol to a clamd daemon at ``TONGBAN_CLAMD_ADDRESS``
(``host:port`` over TCP, or the path of its Unix socket): the file goes in length-prefixed
chunks, and clamd answers ``stream: OK`` or ``stream: <signature> FOUND``. Any other answer,
or no answer within ``TONGBAN_CLAMD_TIMEOUT`` seconds, raises ``ScannerUnavailable``, which
refuses the upload (fail closed). A deployment plugs in another scanner by registering a
callable ``bytes -> str | None`` (None: clean; else the reason to refuse) under a name in
``virus_scanners`` from an app's ``ready`` and naming it in the setting.
"""

from __future__ import annotations

import socket
import struct

from django.conf import settings

from tongban.cases.materials import virus_scanners

CHUNK = 64 * 1024


class ScannerUnavailable(Exception):
    """The scanner could not give a verdict."""


def _connect(address: str, timeout: float) -> socket.socket:
    if address.startswith("/"):
        unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        unix.settimeout(timeout)
        unix.connect(address)
        return unix
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ScannerUnavailable(f"TONGBAN_CLAMD_ADDRESS={address!r}: expected host:port or /path")
    return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)


def clamd_scan(content: bytes, address: str, timeout: float) -> str | None:
    """Scan ``content`` with the clamd at ``address``: None when clean, else the signature."""
    try:
        with _connect(address, timeout) as conn:
            conn.sendall(b"zINSTREAM\0")
            for start in range(0, len(content), CHUNK):
                chunk = content[start : start + CHUNK]
                conn.sendall(struct.pack("!L", len(chunk)) + chunk)
            conn.sendall(struct.pack("!L", 0))
            reply = b""
            while not reply.endswith(b"\0"):
                data = conn.recv(4096)
                if not data:
                    break
                reply += data
    except OSError as exc:
        raise ScannerUnavailable(f"clamd at {address}: {exc}") from exc
    answer = reply.rstrip(b"\0").decode("utf-8", "replace").strip()
    verdict = answer.removeprefix("stream:").strip()
    if verdict == "OK":
        return None
    if verdict.endswith(" FOUND"):
        return f"检测到恶意代码：{verdict.removesuffix(' FOUND')}"
    raise ScannerUnavailable(f"clamd at {address} answered {answer!r}")


@virus_scanners.register("clamd")
def clamd(content: bytes) -> str | None:
    return clamd_scan(
        content, str(settings.TONGBAN_CLAMD_ADDRESS), float(settings.TONGBAN_CLAMD_TIMEOUT)
    )
