"""Test support for the sharing app: a real local HTTP/JSON data-exchange gateway (threading
``http.server``) whose answers each test scripts — records, 404s, 5xx, malformed bodies, slow
answers — and which can be stopped and restarted on the same port to stage an outage."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """What the gateway answers. ``records[(source, subject)]`` is found; ``status`` overrides
    (e.g. 500); ``fail_first`` answers 503 to that many requests first; ``delay`` seconds of
    silence before answering; ``raw`` is sent as the body instead of JSON."""

    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    status: int | None = None
    fail_first: int = 0
    delay: float = 0.0
    raw: bytes | None = None
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    script: Script

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        script = self.script
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        source = self.path.rstrip("/").rsplit("/", 1)[-1]
        with script.lock:
            script.requests.append(
                {"source": source, **body, "authorization": self.headers.get("Authorization")}
            )
            failing = script.fail_first > 0
            if failing:
                script.fail_first -= 1
        if script.delay:
            time.sleep(script.delay)
        if failing:
            return self._send(503, {"error": "unavailable"})
        if script.status is not None:
            return self._send(script.status, {"error": "scripted"})
        if script.raw is not None:
            return self._send(200, None, raw=script.raw)
        record = script.records.get((source, body.get("subject", "")))
        if record is None:
            return self._send(404, {"found": False})
        return self._send(200, {"found": True, "record": record})

    def _send(self, status: int, payload: Any, raw: bytes | None = None) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the client gave up (timeout)


class Gateway:
    """A running gateway on 127.0.0.1; ``stop()`` makes the port refuse connections,
    ``start()`` brings it back on the same port."""

    def __init__(self) -> None:
        self.script = Script()
        self.port = 0
        self._server: ThreadingHTTPServer | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/share"

    def start(self) -> None:
        handler = type("Handler", (_Handler,), {"script": self.script})
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def connector_entry(self, **options: Any) -> dict[str, Any]:
        return {
            "plugin": "http_json",
            "options": {"url": self.url, "timeout_ms": 2000, "retries": 0, **options},
        }


@contextmanager
def running_gateway() -> Iterator[Gateway]:
    gateway = Gateway()
    try:
        yield gateway
    finally:
        gateway.stop()
