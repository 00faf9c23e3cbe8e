"""Portal views: thin — they read request parameters, call catalog selectors, the guide and
search, and render templates. Anything the pages decide (which materials apply, which items
match) is decided in ``tongban.catalog``.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tongban.catalog.guide import evaluate, spec_for
from tongban.catalog.search import search_items
from tongban.catalog.selectors import (
    EffectiveItem,
    departments_with_item_counts,
    effective_item,
    guide_parts,
    implementations_of,
    list_divisions,
    list_items,
    popular_items,
)
from tongban.core.errors import NotFound
from tongban.identity import oidc
from tongban.portal import forms
from tongban.portal.middleware import SESSION_DIVISION, SESSION_ELDER_MODE
from tongban.portal.presenters import guide_outcome

# Theme (主题) values as the catalog stores them, with their display names.
THEMES: tuple[tuple[str, Any], ...] = (
    ("出生", gettext_lazy("出生")),
    ("婚育", gettext_lazy("婚育")),
    ("教育", gettext_lazy("教育")),
    ("就业创业", gettext_lazy("就业创业")),
    ("开办企业", gettext_lazy("开办企业")),
    ("准营", gettext_lazy("准营")),
    ("社会保障", gettext_lazy("社会保障")),
    ("住房", gettext_lazy("住房")),
    ("残疾人", gettext_lazy("残疾人")),
    ("退休养老", gettext_lazy("退休养老")),
    ("身后事", gettext_lazy("身后事")),
    ("企业注销", gettext_lazy("企业注销")),
)
APPLICANT_FILTERS = ("person", "enterprise")
MAX_QUERY_LENGTH = 100


def _is_htmx(request: HttpRequest) -> bool:
    """An htmx request for a fragment (a history restore after a cache miss wants the page)."""
    return (
        request.headers.get("HX-Request") == "true"
        and request.headers.get("HX-History-Restore-Request") != "true"
    )


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render, marking that the answer differs for htmx (fragment) and normal requests."""
    response = render(request, template, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _division_code(request: HttpRequest) -> str | None:
    return getattr(request, "division_code", None)


def _safe_next(request: HttpRequest, fallback: str = "/") -> str:
    target = request.POST.get("next") or request.headers.get("referer") or fallback
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return fallback
    return target


def not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "portal/not_found.html", {"message": message}, status=404)


def _effective(request: HttpRequest, code: str) -> EffectiveItem:
    """The item as carried out in the chosen division; an unknown division falls back to base."""
    try:
        return effective_item(code, _division_code(request))
    except NotFound as exc:
        if exc.code != "division_not_found":
            raise
        return effective_item(code, None)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "portal/home.html",
        {
            "popular": popular_items(9),
            "departments": departments_with_item_counts(),
            "themes": THEMES,
        },
    )


@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:MAX_QUERY_LENGTH]
    applicant_type = request.GET.get("type", "")
    if applicant_type not in APPLICANT_FILTERS:
        applicant_type = ""
    hits = search_items(query, applicant_type=applicant_type or None, limit=20) if query else []
    context = {
        "query": query,
        "applicant_type": applicant_type,
        "hits": hits,
        "suggestions": _suggestions() if query and not hits else [],
        "themes": THEMES,
    }
    template = "portal/_search_results.html" if _is_htmx(request) else "portal/search.html"
    return _render(request, template, context)


def _suggestions() -> list[str]:
    """Everyday words to try when nothing matched: the keywords of the most-used items."""
    words: list[str] = []
    for version in popular_items(8):
        for keyword in version.keywords[:2]:
            if keyword not in words:
                words.append(keyword)
    return words[:10]


@require_GET
def item_list(request: HttpRequest) -> HttpResponse:
    theme = request.GET.get("theme", "")[:32]
    department = request.GET.get("department", "")[:32]
    page = list_items(
        cursor=request.GET.get("cursor") or None,
        theme=theme or None,
        department=department or None,
    )
    theme_name = dict(THEMES).get(theme, theme)
    return render(
        request,
        "portal/item_list.html",
        {"page": page, "theme": theme, "theme_name": theme_name, "department": department},
    )


@require_GET
def item_detail(request: HttpRequest, code: str) -> HttpResponse:
    try:
        effective = _effective(request, code)
    except NotFound as exc:
        return not_found(request, exc.message)
    return render(
        request,
        "portal/item_detail.html",
        {
            "effective": effective,
            "version": guide_parts(effective.version),
            "implementations": implementations_of(code),
        },
    )


@require_http_methods(["GET", "POST"])
def item_guide(request: HttpRequest, code: str) -> HttpResponse:
    try:
        effective = _effective(request, code)
    except NotFound as exc:
        return not_found(request, exc.message)
    spec = spec_for(effective.version)
    data = request.POST if request.method == "POST" else request.GET
    raw = forms.raw_answers(spec, data)
    answers, errors = forms.parse_with_errors(spec, raw)
    result = evaluate(spec, answers)
    fields = forms.question_fields(spec, result, raw, errors)
    context = {
        "effective": effective,
        "version": effective.version,
        "questions": fields,
        "errors": [f for f in fields if f.error],
        "pending": any(q.state == "pending" for q in result.questions),
        "outcome": guide_outcome(result),
        "answers_query": forms.answers_query(fields),
        "submitted": bool(raw) or request.method == "POST",
    }
    if _is_htmx(request):
        return _render(request, "portal/_guide_body.html", context)
    if request.GET.get("print"):
        return _render(request, "portal/guide_print.html", context)
    status = 422 if context["errors"] and request.method == "POST" else 200
    return _render(request, "portal/guide.html", context, status=status)


@require_POST
def set_division(request: HttpRequest) -> HttpResponse:
    """Remember the division whose 实施清单 the pages show (empty: the base catalog)."""
    code = request.POST.get("division", "").strip()
    if not code:
        request.session.pop(SESSION_DIVISION, None)
    elif any(d.code == code for d in list_divisions()):
        request.session[SESSION_DIVISION] = code
    return HttpResponseRedirect(_without_division_param(_safe_next(request)))


def _without_division_param(url: str) -> str:
    path, _sep, query = url.partition("?")
    kept = [p for p in query.split("&") if p and not p.startswith("division=")]
    return path + ("?" + "&".join(kept) if kept else "")


@require_POST
def set_elder_mode(request: HttpRequest) -> HttpResponse:
    """Switch 长辈模式 on or off for this browser, and for the account when signed in."""
    wanted = request.POST.get("elder_mode")
    current = bool(getattr(request, "elder_mode", False))
    enabled = (wanted == "on") if wanted in ("on", "off") else not current
    request.session[SESSION_ELDER_MODE] = enabled
    user = request.user
    if user.is_authenticated and getattr(user, "elder_mode", None) != enabled:
        user.elder_mode = enabled
        user.save(update_fields=["elder_mode"])
    return HttpResponseRedirect(_safe_next(request))


def login_view(request: HttpRequest) -> HttpResponseBase:
    """Local login, with the 统一身份认证 (OIDC) button when single sign-on is configured."""
    view = auth_views.LoginView.as_view(
        template_name="portal/login.html",
        redirect_authenticated_user=True,
        extra_context={
            "title": gettext_lazy("登录"),
            "oidc_enabled": oidc.enabled(),
            "oidc_failed": request.GET.get("oidc") == "failed",
        },
    )
    return view(request)


logout_view = auth_views.LogoutView.as_view()
