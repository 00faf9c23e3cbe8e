"""Portal views: thin — they call catalog selectors and render templates."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/home.html", {})


login_view = auth_views.LoginView.as_view(template_name="portal/login.html")
