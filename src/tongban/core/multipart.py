"""Multipart part headers that are not valid UTF-8 — a file name sent in GBK by an old client,
say — decoded with U+FFFD in place of the bytes that cannot be read, before Django parses the
body. Django drops such a header line whole (``parse_header_parameters(line.decode())`` fails),
so the file part would vanish without a word and the request would look as if no file had been
sent; decoded this way the file arrives with its name marked (``UNREADABLE``), and whoever takes
the file refuses the name with the input's path (``tongban.core.uploads.check_file_name``).
Only part headers are touched: the parts' content passes through byte for byte."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse

UNREADABLE = "\ufffd"  # what an undecodable byte of a part header becomes
_READ = 64 * 1024
_HEADERS_END = b"\r\n\r\n"
# past this a part's headers pass as they are: far more than Django itself reads (1 KB)
_MAX_HEADERS = 64 * 1024


class ReadablePartHeaders:
    """A request stream whose multipart part headers are valid UTF-8: each header block (from
    a delimiter — the boundary at the start of the body or after a line break — to the blank
    line after it) is decoded with ``errors="replace"`` and encoded again. A block longer than
    Django accepts passes as it is (Django refuses it)."""

    def __init__(self, stream: Any, boundary: bytes) -> None:
        self._stream = stream
        self._first = b"--" + boundary
        self._delimiter = b"\r\n--" + boundary
        self._pending = b""  # read but not yet handed on
        self._ready = bytearray()  # handed on at the next read
        self._state = "start"  # start → headers ⇄ content (→ end after the closing delimiter)
        self._eof = False

    def read(self, size: int | None = -1) -> bytes:
        want = None if size is None or size < 0 else size
        while not self._eof and (want is None or len(self._ready) < want):
            chunk = self._stream.read(_READ)
            if not chunk:
                self._eof = True
            self._pending += chunk
            self._scan()
        if want is None:
            want = len(self._ready)
        out = bytes(self._ready[:want])
        del self._ready[:want]
        return out

    def readline(self, size: int | None = -1) -> bytes:
        line = bytearray()
        while size is None or size < 0 or len(line) < size:
            byte = self.read(1)
            line += byte
            if byte in (b"", b"\n"):
                break
        return bytes(line)

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()

    def _scan(self) -> None:
        while self._pending:
            if self._state == "start":
                if len(self._pending) < len(self._first) and not self._eof:
                    return
                if self._pending.startswith(self._first):
                    self._hand_on(len(self._first))
                    self._state = "headers"
                else:
                    self._state = "content"  # a preamble before the first delimiter
            elif self._state == "headers":
                if len(self._pending) < 2 and not self._eof:
                    return
                if self._pending.startswith(b"--"):  # the closing delimiter: the epilogue
                    self._state = "end"
                    continue
                end = self._pending.find(_HEADERS_END)
                if end == -1:
                    if self._eof or len(self._pending) > _MAX_HEADERS:
                        self._hand_on(len(self._pending))
                        self._state = "content"
                    return
                block = self._pending[:end].decode("utf-8", errors="replace").encode("utf-8")
                self._ready += block
                self._pending = self._pending[end:]
                self._hand_on(len(_HEADERS_END))
                self._state = "content"
            elif self._state == "content":
                at = self._pending.find(self._delimiter)
                if at == -1:
                    # keep what could be the start of a delimiter cut off by the chunk's end
                    keep = 0 if self._eof else len(self._delimiter) - 1
                    self._hand_on(max(0, len(self._pending) - keep))
                    return
                self._hand_on(at + len(self._delimiter))
                self._state = "headers"
            else:
                self._hand_on(len(self._pending))

    def _hand_on(self, count: int) -> None:
        self._ready += self._pending[:count]
        self._pending = self._pending[count:]


def _boundary(request: HttpRequest) -> bytes | None:
    if request.content_type != "multipart/form-data":
        return None
    boundary = (request.content_params or {}).get("boundary", "")
    try:
        return boundary.encode("ascii") or None
    except UnicodeEncodeError:
        return None  # Django refuses the body itself


class ReadablePartHeadersMiddleware:
    """Installs ``ReadablePartHeaders`` on a multipart request before anything reads it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        boundary = _boundary(request)
        stream = getattr(request, "_stream", None)
        if boundary is not None and stream is not None and not hasattr(request, "_body"):
            request._stream = ReadablePartHeaders(stream, boundary)  # type: ignore[assignment]
        return self.get_response(request)
