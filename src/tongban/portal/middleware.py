"""Display preferences read once per request: 长辈模式 and the chosen division (区划).

长辈模式 comes from the session, else from the signed-in account. The division whose 实施清单
pages show comes from ``?division=`` (a shareable link), else from the session (the header
switch); ``None`` means the base catalog without local overrides.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SESSION_ELDER_MODE = "elder_mode"
SESSION_DIVISION = "division"


def division_code_of(request: HttpRequest) -> str | None:
    """The division chosen for this request (query parameter first, then the session)."""
    code = request.GET.get("division") or request.session.get(SESSION_DIVISION) or ""
    code = code.strip()
    return code if code.isdigit() and len(code) <= 12 else None


class DisplayPreferencesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        elder = request.session.get(SESSION_ELDER_MODE)
        if elder is None:
            user = getattr(request, "user", None)
            elder = bool(getattr(user, "elder_mode", False))
        request.elder_mode = bool(elder)  # type: ignore[attr-defined]
        request.division_code = division_code_of(request)  # type: ignore[attr-defined]
        return self.get_response(request)
