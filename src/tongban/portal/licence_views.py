"""Licence pages: the public scan page (paste the code or upload a photo of it) and the holder
space — 我的证照, one licence with its QR code, history, grants and access log, 亮证 with a
dynamic code that expires in 60 seconds, and the PDF.

Thin: reads through ``tongban.licences`` selectors, writes through its services. Anonymous
visitors to the holder space are sent to the login page, staff get 403, another holder's
licence is 404.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.core.errors import DomainError, NotFound
from tongban.licences import access, documents, qr, selectors, services, tokens
from tongban.licences.models import Licence
from tongban.licences.online import verify_online
from tongban.portal.applicant_views import applicant_only
from tongban.portal.views import not_found


@require_http_methods(["GET", "POST"])
def verify_page(request: HttpRequest) -> HttpResponse:
    """亮证核验: anyone may check a code; the answer names the verdict and why."""
    result = None
    error = ""
    text = request.GET.get("code", "") if request.method == "GET" else ""
    if request.method == "POST":
        text = request.POST.get("code", "")
        upload = request.FILES.get("image")
        if upload is not None:
            try:
                text = qr.decode_image(upload.read(qr.MAX_IMAGE_BYTES + 1))
            except qr.QRImageError as exc:
                error = str(exc)
    if text and not error:
        result = verify_online(text)
    return render(
        request,
        "portal/licences/verify.html",
        {"result": result, "error": error, "code": text[:4096]},
    )


def _own(request: HttpRequest, number: str) -> Licence:
    licence = services.get_visible(request.user, number)
    if not access.is_holder(request.user, licence):
        raise NotFound(_("没有找到该证照"))
    return licence


@require_GET
@applicant_only
def my_licences(request: HttpRequest) -> HttpResponse:
    licences = list(selectors.my_licences(request.user)[:100])
    return render(request, "portal/licences/my_licences.html", {"licences": licences})


@require_GET
@applicant_only
def my_licence(request: HttpRequest, number: str) -> HttpResponseBase:
    try:
        licence = _own(request, number)
    except NotFound as exc:
        return not_found(request, exc.message)
    text = tokens.make_token(licence)
    context: dict[str, Any] = {
        "licence": licence,
        "info": selectors.licence_dict(request.user, licence),
        "qr": qr.svg_data_uri(text, scale=4),
        "code": text,
        "versions": selectors.versions(licence),
        "grants": [selectors.grant_dict(g) for g in selectors.grants(licence)],
        "accesses": [selectors.access_dict(a) for a in selectors.accesses(licence)[:50]],
        "satisfies": selectors.materials_satisfied(licence.licence_type.code),
        "default_until": (timezone.localdate() + dt.timedelta(days=30)).isoformat(),
    }
    return render(request, "portal/licences/my_licence.html", context)


@require_GET
@applicant_only
def show(request: HttpRequest, number: str) -> HttpResponseBase:
    """亮证: a dynamic code, re-signed on every load, valid for 60 seconds."""
    try:
        licence = _own(request, number)
    except NotFound as exc:
        return not_found(request, exc.message)
    if licence.state != "valid":
        messages.warning(request, _("该证照已失效，不能亮证。"))
        return HttpResponseRedirect(reverse("portal:my_licence", args=[number]))
    now = timezone.now()
    text = tokens.make_token(licence, dynamic=True, now=now)
    seconds = settings.TONGBAN_LICENCE_DYNAMIC_QR_SECONDS
    context = {
        "licence": licence,
        "qr": qr.svg_data_uri(text, scale=5),
        "code": text,
        "seconds": seconds,
        "refresh": max(5, seconds - 10),
        "expires_at": now + dt.timedelta(seconds=seconds),
    }
    response = render(request, "portal/licences/show.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@applicant_only
def licence_pdf(request: HttpRequest, number: str) -> HttpResponseBase:
    try:
        licence = _own(request, number)
    except NotFound as exc:
        return not_found(request, exc.message)
    response = HttpResponse(documents.licence_pdf(licence), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="licence-{licence.number}.pdf"'
    return response


@require_POST
@applicant_only
def grant(request: HttpRequest, number: str) -> HttpResponseBase:
    target = reverse("portal:my_licence", args=[number])
    try:
        day = dt.date.fromisoformat(request.POST.get("valid_until", ""))
        until = timezone.make_aware(dt.datetime.combine(day, dt.time(23, 59, 59)))
    except ValueError:
        messages.error(request, _("请填写授权截止日期"))
        return HttpResponseRedirect(target)
    grantee = request.POST.get("grantee", "").strip()
    kind = request.POST.get("kind", "department")
    try:
        services.check_grant(
            request.user,
            number,
            purpose=request.POST.get("purpose", ""),
            valid_until=until,
            department_code=grantee if kind == "department" else "",
            username=grantee if kind == "account" else "",
        )
    except NotFound as exc:
        return not_found(request, exc.message)
    except DomainError as exc:
        details = "；".join(e.message for e in exc.errors)
        messages.error(request, f"{exc.message}：{details}" if details else exc.message)
        return HttpResponseRedirect(target)
    messages.success(request, _("已授权"))
    return HttpResponseRedirect(target)


@require_POST
@applicant_only
def withdraw_grant(request: HttpRequest, number: str, grant_id: int) -> HttpResponseBase:
    try:
        services.check_withdraw_grant(request.user, grant_id)
    except NotFound as exc:
        return not_found(request, exc.message)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已撤回授权"))
    return HttpResponseRedirect(reverse("portal:my_licence", args=[number]))
