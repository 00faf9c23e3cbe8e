"""The ``/api/v1/`` NinjaAPI: routers of each app, error translation, OpenAPI 3.1 document.

Every error comes back in one shape, ``{"code", "message", "errors": [{"path", "message"}]}``:
domain errors by their class (422/404/403/409), a request that does not fit its schema 422
``invalid_request``, and a JSON body that cannot be read — not JSON, or not an object — 400
``malformed_json``. The caller is authenticated before the body is read, so an anonymous
request is 401 whatever its body holds."""

from __future__ import annotations

import json
from typing import Any, cast

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from tongban.cases.applications import MAX_INTEGER_DIGITS
from tongban.catalog.services import CatalogInvalid
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed


class MalformedJson(ValueError):
    """The request body is not a JSON object; ``message`` says what is wrong, in words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _integer(digits: str) -> int | str:
    # a number longer than int() converts stays as written, for the field's own check to refuse
    # (``数字位数过多`` for a form value): the document itself is well-formed
    return int(digits) if len(digits.lstrip("-")) <= MAX_INTEGER_DIGITS else digits


class ObjectParser(Parser):
    """JSON bodies are objects; anything else is ``MalformedJson``, which ninja hands on as the
    cause of its 400 ``HttpError`` (``malformed_json`` below)."""

    def parse_body(self, request: HttpRequest) -> dict[str, Any]:
        try:
            document = json.loads(request.body, parse_int=_integer)
        except UnicodeDecodeError:
            raise MalformedJson(_("请求体不是 UTF-8 编码的 JSON")) from None
        except ValueError as exc:
            line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
            if line and column:
                message = _("请求体不是有效的 JSON（第 %(line)d 行第 %(column)d 列）") % {
                    "line": line,
                    "column": column,
                }
            else:
                message = _("请求体不是有效的 JSON")
            raise MalformedJson(message) from None
        if not isinstance(document, dict):
            raise MalformedJson(_("请求体应为 JSON 对象（{…}）"))
        return cast(dict[str, Any], document)


api = NinjaAPI(
    title="tongban API",
    version="1.0.0",
    description="通办 一网通办 platform REST API",
    urls_namespace="api",
    parser=ObjectParser(),
)

_STATUS = {ValidationFailed: 422, NotFound: 404, PermissionDenied: 403, Conflict: 409}


@api.exception_handler(DomainError)
def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    status = next((s for cls, s in _STATUS.items() if isinstance(exc, cls)), 400)
    body = {
        "code": exc.code,
        "message": exc.message,
        "errors": [{"path": e.path, "message": e.message} for e in exc.errors],
    }
    return api.create_response(request, body, status=status)


@api.exception_handler(NinjaValidationError)
def request_invalid(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        errors.append({"path": ".".join(loc), "message": err.get("msg", "invalid")})
    body = {"code": "invalid_request", "message": "请求参数不正确", "errors": errors}
    return api.create_response(request, body, status=422)


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """A body ``ObjectParser`` could not read is 400 ``malformed_json`` at ``body``; any other
    ``HttpError`` (401 from authentication among them) keeps ninja's own answer."""
    cause = exc.__cause__
    if isinstance(cause, MalformedJson):
        body = {
            "code": "malformed_json",
            "message": _("请求体无法解析，应为 JSON 对象"),
            "errors": [{"path": "body", "message": cause.message}],
        }
        return api.create_response(request, body, status=400)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(CatalogInvalid)
def catalog_invalid(request: HttpRequest, exc: CatalogInvalid) -> HttpResponse:
    errors = [
        {"path": p.path, "file": p.file, "line": str(p.line), "message": p.message}
        for p in exc.problems
    ]
    body = {"code": "catalog_invalid", "message": "目录文件有误，未导入任何内容", "errors": errors}
    return api.create_response(request, body, status=422)


def _mount() -> None:
    # one router per API module, one line each
    from tongban.api import bundles as bundles_api
    from tongban.api import cases as cases_api
    from tongban.api import catalog as catalog_api
    from tongban.api import catalog_admin as catalog_admin_api
    from tongban.api import licences as licences_api
    from tongban.api import notices as notices_api
    from tongban.api import queues as queues_api
    from tongban.api import sharing as sharing_api
    from tongban.api import supervision as supervision_api
    from tongban.api import workdays as workdays_api

    api.add_router("/", catalog_api.router)
    api.add_router("/", catalog_admin_api.router)
    api.add_router("/", cases_api.router)
    api.add_router("/", notices_api.router)
    api.add_router("/", workdays_api.router)
    api.add_router("/", queues_api.router)
    api.add_router("/", supervision_api.router)
    api.add_router("/", sharing_api.router)
    api.add_router("/", bundles_api.router)
    api.add_router("/", licences_api.public)
    api.add_router("/", licences_api.router)

    from tongban.api import policies

    api.add_router("/", policies.router)


_mount()
