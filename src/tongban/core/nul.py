"""Requests carrying a NUL character (U+0000) — in the URL, the query string, a form field or
file name, or a string or key of a JSON body — are refused before any view runs, with 400 and
the place it was found (``path``: the parameter, field or JSON path, ``url`` for the URL
itself). No text the platform keeps or looks up can hold one: PostgreSQL refuses it, so it would
otherwise end as a server error inside a lookup or a save (and SQLite would store it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string

NUL = "\x00"
MESSAGE = "请求中含有空字符（U+0000），无法处理"
FIELD_MESSAGE = "不能含有空字符（U+0000）"


def _json_paths(value: Any, path: str = "") -> Iterator[str]:
    """The paths in a parsed JSON document whose key or string holds a NUL."""
    if isinstance(value, str):
        if NUL in value:
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            inner = f"{path}.{key}" if path else str(key)
            if NUL in str(key):
                yield inner
            else:
                yield from _json_paths(item, inner)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _json_paths(item, f"{path}[{index}]")


def nul_at(request: HttpRequest) -> str | None:
    """Where the first NUL of ``request`` is, or None when it has none."""
    if NUL in request.path:
        return "url"
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in v for v in values):
            return key
    content_type = request.content_type or ""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            fields, files = request.POST, request.FILES
        except (MultiPartParserError, UnreadablePostError):
            return None  # a broken body: Django answers for it as it would without this check
        for key, values in fields.lists():
            if NUL in key or any(NUL in v for v in values):
                return key
        for key, uploads in files.lists():
            if any(NUL in (f.name or "") for f in uploads):
                return key
    elif content_type == "application/json" and b"\\u0000" in request.body:
        try:
            document = json.loads(request.body)
        except ValueError:
            return None  # not JSON: the endpoint says so
        return next(_json_paths(document), None)
    return None


class RefuseNulMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = nul_at(request)
        if where is None:
            return self.get_response(request)
        if request.path.startswith("/api/"):
            body = {
                "code": "nul_character",
                "message": MESSAGE,
                "errors": [{"path": where, "message": FIELD_MESSAGE}],
            }
            return JsonResponse(body, status=400)
        return HttpResponse(render_to_string("400.html"), status=400)
