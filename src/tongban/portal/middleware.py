"""Display preferences (长辈模式) read once per request from the session or account."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

SESSION_ELDER_MODE = "elder_mode"


class DisplayPreferencesMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        elder = request.session.get(SESSION_ELDER_MODE)
        if elder is None:
            user = getattr(request, "user", None)
            elder = bool(getattr(user, "elder_mode", False))
        request.elder_mode = bool(elder)  # type: ignore[attr-defined]
        return self.get_response(request)
