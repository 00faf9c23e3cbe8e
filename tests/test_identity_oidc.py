"""统一身份认证 login over OpenID Connect, end to end against a real (local) provider.

``tests.oidc_provider`` serves the provider from a thread; the Django test client plays the
browser for our side and ``requests`` plays it at the provider, so every hop — the authorisation
redirect, the code exchange, JWKS, the signed ID token and userinfo — is real HTTP. This module is
also the URLconf of these tests: it mounts ``mozilla_django_oidc.urls`` under ``/oidc/``, as
``tongban.urls`` does when ``TONGBAN_OIDC_ENABLED`` is set, in front of the site's own URLs.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY, authenticate
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.test import Client, override_settings
from django.urls import include, path

from tests.factories import ApplicantFactory, PersonFactory, StaffUserFactory
from tests.oidc_provider import FakeOpenIDProvider, new_rsa_key
from tongban.identity.models import AccountKind, Person, RealNameLevel, User
from tongban.identity.oidc import UnifiedIdentityBackend, identity_providers, provider_backend_path


def _password_login(request: HttpRequest) -> HttpResponse:
    """What any password form does: ``authenticate`` with the request and the credentials."""
    user = authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    return HttpResponse("ok" if user else "refused", status=200 if user else 401)


urlpatterns = [
    path("oidc/", include("mozilla_django_oidc.urls")),
    path("password-login/", _password_login),
    path("", include("tongban.urls")),
]

BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "tongban.identity.oidc.UnifiedIdentityBackend",
]
ID_NUMBER = "11010519491231002X"


@pytest.fixture
def provider() -> Iterator[FakeOpenIDProvider]:
    op = FakeOpenIDProvider(
        user={
            "sub": "uia-0001",
            "name": "张三",
            "id_number": ID_NUMBER,
            "acr": "2",
            "user_type": "person",
        }
    ).start()
    try:
        with override_settings(
            ROOT_URLCONF=__name__,
            AUTHENTICATION_BACKENDS=BACKENDS,
            LOGIN_REDIRECT_URL="/welcome/",
            LOGIN_REDIRECT_URL_FAILURE="/accounts/login/?oidc=failed",
            **op.django_settings(),
        ):
            yield op
    finally:
        op.stop()


def log_in(client: Client, provider: FakeOpenIDProvider, **query: str) -> Any:
    """Drive the browser through the code flow; return our callback's response."""
    start = client.get("/oidc/authenticate/", query)
    assert start.status_code == 302
    assert start["Location"].startswith(provider.authorization_endpoint + "?")
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == "http://testserver/oidc/callback/"
    return client.get(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})


def logged_in_user(client: Client) -> User | None:
    user_id = client.session.get(SESSION_KEY)
    return User.objects.get(pk=user_id) if user_id else None


def assert_refused(response: Any, client: Client) -> None:
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?oidc=failed"
    assert logged_in_user(client) is None


# --- the happy path -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_first_login_creates_applicant_account_and_person(provider: FakeOpenIDProvider) -> None:
    client = Client()
    response = log_in(client, provider)

    assert response.status_code == 302
    assert response["Location"] == "/welcome/"
    user = logged_in_user(client)
    assert user is not None
    assert user.oidc_subject == "uia-0001"
    assert user.kind == AccountKind.APPLICANT
    assert user.real_name_level == RealNameLevel.VERIFIED
    assert not user.has_usable_password()
    assert user.person is not None
    assert user.person.id_number == ID_NUMBER
    assert user.person.name == "张三"
    assert user.person.birth_date.isoformat() == "1949-12-31"
    assert user.display_name == "张三"
    # Every hop went over HTTP to the provider.
    assert provider.requests == ["GET /authorize", "POST /token", "GET /jwks", "GET /userinfo"]
    assert provider.codes == {}  # the code was used up


@pytest.mark.django_db
def test_second_login_reuses_account_and_never_lowers_level(provider: FakeOpenIDProvider) -> None:
    first = Client()
    log_in(first, provider)
    provider.user = {**provider.user, "acr": "1"}
    second = Client()
    log_in(second, provider)

    assert User.objects.filter(oidc_subject="uia-0001").count() == 1
    assert Person.objects.filter(id_number=ID_NUMBER).count() == 1
    user = logged_in_user(second)
    assert user is not None
    assert user.real_name_level == RealNameLevel.VERIFIED


@pytest.mark.django_db
def test_real_name_level_claim_takes_precedence_over_acr(provider: FakeOpenIDProvider) -> None:
    provider.user = {**provider.user, "real_name_level": 3, "acr": "1"}
    client = Client()
    log_in(client, provider)
    user = logged_in_user(client)
    assert user is not None
    assert user.real_name_level == RealNameLevel.IN_PERSON


@pytest.mark.django_db
def test_acr_mapping_from_settings(provider: FakeOpenIDProvider) -> None:
    provider.user = {**provider.user, "acr": "urn:gov:loa:face"}
    client = Client()
    with override_settings(OIDC_ACR_REAL_NAME_LEVELS={"urn:gov:loa:face": 2}):
        log_in(client, provider)
    user = logged_in_user(client)
    assert user is not None
    assert user.real_name_level == RealNameLevel.VERIFIED


@pytest.mark.django_db
def test_existing_counter_account_is_linked_by_id_number(provider: FakeOpenIDProvider) -> None:
    person = PersonFactory(id_number=ID_NUMBER, name="张三")
    counter_account = ApplicantFactory(person=person, real_name_level=RealNameLevel.IN_PERSON)
    client = Client()
    log_in(client, provider)

    user = logged_in_user(client)
    assert user == counter_account
    assert user is not None
    assert user.oidc_subject == "uia-0001"
    assert user.real_name_level == RealNameLevel.IN_PERSON  # not lowered to 2


@pytest.mark.django_db
def test_linked_staff_account_logs_in_without_changes(provider: FakeOpenIDProvider) -> None:
    staff = StaffUserFactory(roles=["reviewer"], oidc_subject="gov-staff-7")
    provider.user = {"sub": "gov-staff-7", "name": "李四", "user_type": "staff", "acr": "3"}
    client = Client()
    log_in(client, provider)

    user = logged_in_user(client)
    assert user == staff
    assert user is not None
    assert user.kind == AccountKind.STAFF
    assert user.person is None


@pytest.mark.django_db
def test_pkce_round_trip(provider: FakeOpenIDProvider) -> None:
    client = Client()
    with override_settings(OIDC_USE_PKCE=True):
        response = log_in(client, provider)
    assert response["Location"] == "/welcome/"
    assert logged_in_user(client) is not None


@pytest.mark.django_db
def test_next_url_is_kept(provider: FakeOpenIDProvider) -> None:
    client = Client()
    response = log_in(client, provider, next="/items/abc/")
    assert response["Location"] == "/items/abc/"


# --- refusals -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_token_signed_with_unknown_key_is_refused(provider: FakeOpenIDProvider) -> None:
    provider.signing_key = new_rsa_key()  # same kid, key not in the JWKS
    client = Client()
    assert_refused(log_in(client, provider), client)
    assert not User.objects.filter(oidc_subject="uia-0001").exists()


@pytest.mark.django_db
def test_wrong_nonce_is_refused(provider: FakeOpenIDProvider) -> None:
    provider.id_token_overrides = {"nonce": "replayed-from-elsewhere"}
    client = Client()
    assert_refused(log_in(client, provider), client)


@pytest.mark.parametrize(
    "overrides",
    [
        {"iss": "http://127.0.0.1:1/someone-else"},
        {"aud": "another-client"},
        {"aud": ["tongban-portal", "another-client"]},  # several audiences and no azp
        {"exp": int(time.time()) - 60},
    ],
    ids=["issuer", "audience", "no-azp", "expired"],
)
@pytest.mark.django_db
def test_id_token_claims_are_checked(
    provider: FakeOpenIDProvider, overrides: dict[str, Any]
) -> None:
    provider.id_token_overrides = overrides
    client = Client()
    assert_refused(log_in(client, provider), client)


@pytest.mark.django_db
def test_userinfo_for_another_subject_is_refused(provider: FakeOpenIDProvider) -> None:
    provider.userinfo_overrides = {"sub": "uia-9999"}
    client = Client()
    assert_refused(log_in(client, provider), client)


@pytest.mark.parametrize(
    "id_number",
    ["110105194912310021", "11010519491331002X", "not-a-number", ""],
    ids=["check-digit", "date", "garbage", "missing"],
)
@pytest.mark.django_db
def test_invalid_id_number_is_refused(provider: FakeOpenIDProvider, id_number: str) -> None:
    provider.user = {**provider.user, "id_number": id_number}
    client = Client()
    assert_refused(log_in(client, provider), client)
    assert not User.objects.filter(oidc_subject="uia-0001").exists()
    assert not Person.objects.exists()


@pytest.mark.django_db
def test_unknown_staff_subject_is_refused_and_nothing_created(
    provider: FakeOpenIDProvider,
) -> None:
    StaffUserFactory(roles=["reviewer"], oidc_subject="gov-staff-7")
    provider.user = {"sub": "gov-staff-8", "name": "王五", "user_type": "staff", "acr": "3"}
    client = Client()
    assert_refused(log_in(client, provider), client)
    assert not User.objects.filter(oidc_subject="gov-staff-8").exists()


@pytest.mark.django_db
def test_staff_person_is_not_taken_over_by_id_number(provider: FakeOpenIDProvider) -> None:
    person = PersonFactory(id_number=ID_NUMBER)
    StaffUserFactory(person=person)
    client = Client()
    assert_refused(log_in(client, provider), client)


@pytest.mark.django_db
def test_person_already_bound_to_another_subject_is_refused(
    provider: FakeOpenIDProvider,
) -> None:
    person = PersonFactory(id_number=ID_NUMBER)
    ApplicantFactory(person=person, oidc_subject="uia-0002")
    client = Client()
    assert_refused(log_in(client, provider), client)


@pytest.mark.django_db
def test_unverified_identity_is_refused(provider: FakeOpenIDProvider) -> None:
    provider.user = {**provider.user, "acr": "0"}
    client = Client()
    assert_refused(log_in(client, provider), client)


@pytest.mark.django_db
def test_inactive_account_is_refused(provider: FakeOpenIDProvider) -> None:
    ApplicantFactory(
        person=PersonFactory(id_number=ID_NUMBER), oidc_subject="uia-0001", is_active=False
    )
    client = Client()
    assert_refused(log_in(client, provider), client)


@pytest.mark.django_db
def test_provider_denial_is_a_failed_login(provider: FakeOpenIDProvider) -> None:
    provider.deny = True
    client = Client()
    assert_refused(log_in(client, provider), client)


@pytest.mark.django_db
def test_replayed_code_is_refused(provider: FakeOpenIDProvider) -> None:
    client = Client()
    start = client.get("/oidc/authenticate/")
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    assert client.get(back.path, query)["Location"] == "/welcome/"
    client.logout()
    # The same code and state a second time: the state is gone from the session.
    again = client.get(back.path, query)
    assert again.status_code in {302, 400}
    assert logged_in_user(client) is None


@pytest.mark.django_db
def test_provider_unreachable_is_a_failed_login(provider: FakeOpenIDProvider) -> None:
    client = Client()
    start = client.get("/oidc/authenticate/")
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    back = urlsplit(at_provider.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(back.query).items()}
    with override_settings(OIDC_OP_TOKEN_ENDPOINT="http://127.0.0.1:9/token"):
        assert_refused(client.get(back.path, query), client)


@pytest.mark.django_db
def test_password_login_never_reaches_the_provider(provider: FakeOpenIDProvider) -> None:
    ApplicantFactory(username="alice")
    client = Client()
    response = client.post(
        "/password-login/?code=stolen&state=x",
        {"username": "alice", "password": "wrong-password"},
    )
    assert response.status_code == 401
    assert provider.requests == []


# --- the registry -------------------------------------------------------------------------------


def test_backend_is_registered_as_identity_provider() -> None:
    assert "unified" in identity_providers
    assert identity_providers.get("unified") is UnifiedIdentityBackend
    assert provider_backend_path("unified") == "tongban.identity.oidc.UnifiedIdentityBackend"
    with pytest.raises(KeyError, match="identity provider"):
        identity_providers.get("nope")


@pytest.mark.django_db
def test_refused_logins_count_towards_the_address_lockout(provider: FakeOpenIDProvider) -> None:
    provider.userinfo_overrides = {"sub": "uia-9999"}
    client = Client(REMOTE_ADDR="10.1.1.1")
    for _ in range(5):
        log_in(client, provider)
    provider.userinfo_overrides = {}
    response = log_in(client, provider)
    assert response.status_code == 429
    assert logged_in_user(client) is None
    # Another address is not affected.
    other = Client(REMOTE_ADDR="10.1.1.2")
    assert log_in(other, provider)["Location"] == "/welcome/"


def test_backend_needs_the_issuer() -> None:
    with (
        override_settings(OIDC_OP_ISSUER="", OIDC_OP_JWKS_ENDPOINT="http://127.0.0.1:9/jwks"),
        pytest.raises(ImproperlyConfigured, match="TONGBAN_OIDC_ISSUER"),
    ):
        UnifiedIdentityBackend()


def test_enabling_oidc_without_its_settings_fails_at_start_up() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TONGBAN_OIDC_")}
    env.update(TONGBAN_TESTING="1", TONGBAN_OIDC_ENABLED="1", TONGBAN_OIDC_CLIENT_ID="portal")
    result = subprocess.run(
        [sys.executable, "-c", "import tongban.settings"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "ConfigError" in result.stderr
    assert "TONGBAN_OIDC_ISSUER" in result.stderr
    assert "TONGBAN_OIDC_CLIENT_ID" not in result.stderr.splitlines()[-1]
