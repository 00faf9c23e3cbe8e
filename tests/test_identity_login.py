"""Local password login and its lockout (django-axes): the portal form, the admin form and any
other caller of ``authenticate`` share one failure count per account name and per address.

Settings under test: 5 failures lock (``AXES_FAILURE_LIMIT``), by account name or by source
address, for 30 minutes (``AXES_COOLOFF_TIME``); a success resets the count.
"""

from __future__ import annotations

import datetime as dt

import pytest
from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.conf import settings
from django.contrib.auth import SESSION_KEY, authenticate
from django.test import Client, RequestFactory
from freezegun import freeze_time

from tests.factories import PASSWORD, ApplicantFactory, StaffUserFactory
from tongban.identity.models import RealNameLevel, User

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
LIMIT = 5
WRONG = "not-the-password"


def post_login(client: Client, username: str, password: str, url: str = LOGIN, **extra: str):
    return client.post(url, {"username": username, "password": password}, **extra)


def logged_in(client: Client) -> bool:
    return SESSION_KEY in client.session


def fail(client: Client, username: str, times: int, url: str = LOGIN) -> list[int]:
    return [post_login(client, username, WRONG, url).status_code for _ in range(times)]


@pytest.fixture
def alice(db: None) -> User:
    return ApplicantFactory(username="alice")


def test_settings_are_what_this_module_tests() -> None:
    assert settings.AXES_FAILURE_LIMIT == LIMIT
    assert settings.AXES_LOCKOUT_PARAMETERS == (
        "tongban.identity.permissions.login_lockout_parameters"
    )
    assert settings.AXES_RESET_ON_SUCCESS is True
    assert dt.timedelta(hours=settings.AXES_COOLOFF_TIME) == dt.timedelta(minutes=30)
    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert "axes.middleware.AxesMiddleware" in settings.MIDDLEWARE


def test_correct_password_logs_in(alice: User) -> None:
    client = Client()
    response = post_login(client, "alice", PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_wrong_password_shows_the_form_again(alice: User) -> None:
    client = Client()
    response = post_login(client, "alice", WRONG)
    assert response.status_code == 200
    assert not logged_in(client)
    assert AccessAttempt.objects.get(username="alice").failures_since_start == 1


def test_five_wrong_passwords_lock_the_account(alice: User) -> None:
    client = Client()
    assert fail(client, "alice", LIMIT) == [200] * (LIMIT - 1) + [429]

    response = post_login(client, "alice", PASSWORD)
    assert response.status_code == 429
    assert "账户已暂时锁定" in response.content.decode()
    assert not logged_in(client)


def test_lock_is_by_account_name_from_any_address(alice: User) -> None:
    fail(Client(REMOTE_ADDR="10.0.0.1"), "alice", LIMIT)
    elsewhere = Client(REMOTE_ADDR="10.0.0.2")
    assert post_login(elsewhere, "alice", PASSWORD).status_code == 429
    assert not logged_in(elsewhere)


def test_lock_is_by_address_across_account_names(alice: User) -> None:
    ApplicantFactory(username="bob")
    sprayer = Client(REMOTE_ADDR="10.0.0.9")
    for name in ["u1", "u2", "u3", "u4", "u5"]:
        post_login(sprayer, name, WRONG)
    assert post_login(sprayer, "bob", PASSWORD).status_code == 429
    # Other addresses are unaffected.
    other = Client(REMOTE_ADDR="10.0.0.10")
    assert post_login(other, "bob", PASSWORD).status_code == 302


def test_success_resets_the_count(alice: User) -> None:
    client = Client()
    assert fail(client, "alice", LIMIT - 1) == [200] * (LIMIT - 1)
    assert post_login(client, "alice", PASSWORD).status_code == 302
    client.logout()

    assert not AccessAttempt.objects.filter(username="alice").exists()
    assert fail(client, "alice", LIMIT - 1) == [200] * (LIMIT - 1)
    assert post_login(client, "alice", PASSWORD).status_code == 302


def test_lockout_expires_after_the_cool_off(alice: User) -> None:
    client = Client()
    with freeze_time("2026-03-02 09:00:00") as clock:
        fail(client, "alice", LIMIT)
        clock.tick(dt.timedelta(minutes=31))
        response = post_login(client, "alice", PASSWORD)
        assert response.status_code == 302
        assert logged_in(client)  # inside the frozen clock: the session expires in two weeks


def test_trying_during_the_lockout_restarts_the_cool_off(alice: User) -> None:
    # AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT (axes' default): a persistent guesser stays
    # locked; the lockout page tells people to wait instead.
    client = Client()
    with freeze_time("2026-03-02 09:00:00") as clock:
        fail(client, "alice", LIMIT)
        clock.tick(dt.timedelta(minutes=29))
        assert post_login(client, "alice", PASSWORD).status_code == 429
        clock.tick(dt.timedelta(minutes=2))  # 31 minutes after the 5th failure
        assert post_login(client, "alice", PASSWORD).status_code == 429
        clock.tick(dt.timedelta(minutes=31))  # 31 minutes after the last try
        assert post_login(client, "alice", PASSWORD).status_code == 302


def test_administrator_can_lift_a_lockout(alice: User) -> None:
    client = Client()
    fail(client, "alice", LIMIT)
    assert axes_reset(username="alice") >= 1
    axes_reset(ip="127.0.0.1")
    assert post_login(client, "alice", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_admin_login_is_locked_too() -> None:
    StaffUserFactory(username="cat", roles=["catalog_admin"])
    client = Client()
    assert fail(client, "cat", LIMIT, ADMIN_LOGIN)[-1] == 429
    response = post_login(client, "cat", PASSWORD, ADMIN_LOGIN)
    assert response.status_code == 429
    assert not logged_in(client)


@pytest.mark.django_db
def test_lock_from_the_portal_applies_to_the_admin_and_to_any_authenticate_call() -> None:
    StaffUserFactory(username="cat", roles=["catalog_admin"])
    fail(Client(REMOTE_ADDR="10.0.0.1"), "cat", LIMIT)

    admin_client = Client(REMOTE_ADDR="10.0.0.2")
    assert post_login(admin_client, "cat", PASSWORD, ADMIN_LOGIN).status_code == 429

    # An API token endpoint or any other form calls authenticate(request, ...): refused too.
    request = RequestFactory().post("/api/v1/login", REMOTE_ADDR="10.0.0.3")
    assert authenticate(request, username="cat", password=PASSWORD) is None
    assert getattr(request, "axes_locked_out", False)


def test_xhr_login_gets_json_lockout(alice: User) -> None:
    client = Client()
    fail(client, "alice", LIMIT)
    response = post_login(client, "alice", PASSWORD, HTTP_X_REQUESTED_WITH="XMLHttpRequest")
    assert response.status_code == 429
    assert response.json()["failure_limit"] == LIMIT


def test_inactive_account_cannot_log_in(alice: User) -> None:
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    client = Client()
    assert post_login(client, "alice", PASSWORD).status_code == 200
    assert not logged_in(client)


@pytest.mark.django_db
def test_real_name_level_is_recorded_per_account() -> None:
    counter = ApplicantFactory(username="counter", real_name_level=RealNameLevel.IN_PERSON)
    online = ApplicantFactory(username="online", real_name_level=RealNameLevel.BASIC)
    for user, level in [(counter, RealNameLevel.IN_PERSON), (online, RealNameLevel.BASIC)]:
        client = Client()
        post_login(client, user.username, PASSWORD)
        session_user = User.objects.get(pk=client.session[SESSION_KEY])
        assert session_user.real_name_level == level
