"""The ``/api/v1/`` NinjaAPI: routers of each app, error translation, OpenAPI 3.1 document."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import ValidationError as NinjaValidationError

from tongban.catalog.services import CatalogInvalid
from tongban.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationFailed

api = NinjaAPI(
    title="tongban API",
    version="1.0.0",
    description="通办 一网通办 platform REST API",
    urls_namespace="api",
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
