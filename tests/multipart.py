"""A multipart/form-data body written by hand, for what the test client will not send: a file
name in bytes that are not UTF-8 (an old client writing GBK, say)."""

from __future__ import annotations

BOUNDARY = "tongbanTestBoundary7MA4YWxk"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def multipart_body(
    fields: dict[str, str] | None = None, files: dict[str, tuple[bytes, bytes]] | None = None
) -> bytes:
    """``fields`` name → value; ``files`` name → (file name as raw bytes, content)."""
    parts: list[bytes] = []
    for name, value in (fields or {}).items():
        parts.append(f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'.encode())
    for name, (file_name, content) in (files or {}).items():
        head = f'Content-Disposition: form-data; name="{name}"; filename="'.encode()
        parts.append(
            head + file_name + b'"\r\nContent-Type: application/octet-stream\r\n\r\n' + content
        )
    delimiter = f"--{BOUNDARY}".encode()
    return b"".join(delimiter + b"\r\n" + part + b"\r\n" for part in parts) + delimiter + b"--\r\n"
