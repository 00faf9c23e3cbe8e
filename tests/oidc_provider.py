"""A real, minimal OpenID Connect provider for tests, served from a thread on 127.0.0.1.

It stands in for a province's 统一身份认证 platform: the authorisation endpoint approves the
configured user at once and redirects back with a single-use code; the token endpoint checks the
client, the redirect URI and (when used) the PKCE verifier, and issues an RS256-signed ID token;
userinfo answers for the access token; JWKS publishes the public key. Signing uses
``cryptography`` directly, so the relying party's JWT library is tested, not trusted.

Knobs for refusal tests: ``id_token_overrides``/``userinfo_overrides`` replace claims (a wrong
nonce, issuer, audience, expiry or subject), ``signing_key`` signs with a key the JWKS does not
publish, and ``deny`` makes the authorisation endpoint answer ``access_denied``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def _provider_key() -> rsa.RSAPrivateKey:
    """One signing key per test process (generating RSA keys is slow)."""
    return new_rsa_key()


def sign_rs256(claims: dict[str, Any], key: rsa.RSAPrivateKey, kid: str) -> str:
    """A compact JWS (RFC 7515) with RS256 (RSASSA-PKCS1-v1_5 with SHA-256)."""
    header = {"alg": "RS256", "typ": "JWT", "kid": kid}
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":"), ensure_ascii=False).encode())
    )
    signature = key.sign(signing_input.encode("ascii"), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def public_jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": b64url(_int_bytes(numbers.n)),
        "e": b64url(_int_bytes(numbers.e)),
    }


@dataclass
class Grant:
    """An issued authorisation code and what it was issued for."""

    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    claims: dict[str, Any]


@dataclass
class FakeOpenIDProvider:
    """Configure ``user`` (the claims of whoever "logs in"), then start it."""

    client_id: str = "tongban-portal"
    client_secret: str = "s3cret-for-tests-only"
    redirect_uris: tuple[str, ...] = ("http://testserver/oidc/callback/",)
    user: dict[str, Any] = field(default_factory=dict)
    id_token_claims: tuple[str, ...] = ("acr", "real_name_level", "user_type")
    id_token_overrides: dict[str, Any] = field(default_factory=dict)
    userinfo_overrides: dict[str, Any] = field(default_factory=dict)
    deny: bool = False
    id_token_lifetime: int = 300
    kid: str = "tongban-test-key-1"

    def __post_init__(self) -> None:
        self.key = _provider_key()
        self.signing_key: rsa.RSAPrivateKey | None = None  # None: sign with ``key``
        self.codes: dict[str, Grant] = {}
        self.access_tokens: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- addresses ------------------------------------------------------------------------------

    @property
    def issuer(self) -> str:
        assert self._server is not None, "provider not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def authorization_endpoint(self) -> str:
        return self.issuer + "/authorize"

    @property
    def token_endpoint(self) -> str:
        return self.issuer + "/token"

    @property
    def userinfo_endpoint(self) -> str:
        return self.issuer + "/userinfo"

    @property
    def jwks_endpoint(self) -> str:
        return self.issuer + "/jwks"

    def django_settings(self) -> dict[str, Any]:
        """The ``OIDC_*`` settings a relying party needs to talk to this provider."""
        return {
            "OIDC_ENABLED": True,
            "OIDC_RP_CLIENT_ID": self.client_id,
            "OIDC_RP_CLIENT_SECRET": self.client_secret,
            "OIDC_RP_SIGN_ALGO": "RS256",
            "OIDC_OP_ISSUER": self.issuer,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": self.authorization_endpoint,
            "OIDC_OP_TOKEN_ENDPOINT": self.token_endpoint,
            "OIDC_OP_USER_ENDPOINT": self.userinfo_endpoint,
            "OIDC_OP_JWKS_ENDPOINT": self.jwks_endpoint,
            "OIDC_TIMEOUT": 5,
        }

    # --- lifecycle ------------------------------------------------------------------------------

    def start(self) -> FakeOpenIDProvider:
        provider = self

        class Handler(_Handler):
            pass

        Handler.provider = provider
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-oidc-provider",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    # --- protocol -------------------------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        redirect_uri = query.get("redirect_uri", "")
        if query.get("client_id") != self.client_id or redirect_uri not in self.redirect_uris:
            return 400, {}, b"unknown client or redirect_uri"
        state = query.get("state", "")
        if self.deny:
            params = {"error": "access_denied", "state": state}
            return 302, {"Location": redirect_uri + "?" + urlencode(params)}, b""
        if query.get("response_type") != "code" or "openid" not in query.get("scope", "").split():
            params = {"error": "invalid_request", "state": state}
            return 302, {"Location": redirect_uri + "?" + urlencode(params)}, b""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self.codes[code] = Grant(
                client_id=self.client_id,
                redirect_uri=redirect_uri,
                nonce=query.get("nonce"),
                code_challenge=query.get("code_challenge"),
                code_challenge_method=query.get("code_challenge_method"),
                claims=dict(self.user),
            )
        location = redirect_uri + "?" + urlencode({"code": code, "state": state})
        return 302, {"Location": location}, b""

    def token(
        self, form: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, str], bytes]:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if authorization and authorization.startswith("Basic "):
            decoded = base64.b64decode(authorization[6:]).decode()
            client_id, _, client_secret = decoded.partition(":")
        if client_id != self.client_id or client_secret != self.client_secret:
            return _json(401, {"error": "invalid_client"})
        if form.get("grant_type") != "authorization_code":
            return _json(400, {"error": "unsupported_grant_type"})
        with self._lock:
            grant = self.codes.pop(form.get("code", ""), None)  # single use
        if grant is None or grant.redirect_uri != form.get("redirect_uri"):
            return _json(400, {"error": "invalid_grant"})
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier", "")
            computed = (
                b64url(hashlib.sha256(verifier.encode()).digest())
                if grant.code_challenge_method == "S256"
                else verifier
            )
            if computed != grant.code_challenge:
                return _json(400, {"error": "invalid_grant", "error_description": "PKCE"})
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": grant.claims["sub"],
            "aud": self.client_id,
            "iat": now,
            "auth_time": now,
            "exp": now + self.id_token_lifetime,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        claims.update({k: grant.claims[k] for k in self.id_token_claims if k in grant.claims})
        claims.update(self.id_token_overrides)
        access_token = secrets.token_urlsafe(24)
        with self._lock:
            self.access_tokens[access_token] = {**grant.claims, **self.userinfo_overrides}
        id_token = sign_rs256(claims, self.signing_key or self.key, self.kid)
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }
        return _json(200, body)

    def userinfo(self, authorization: str | None) -> tuple[int, dict[str, str], bytes]:
        token = (authorization or "").removeprefix("Bearer ").strip()
        with self._lock:
            claims = self.access_tokens.get(token)
        if claims is None:
            return _json(401, {"error": "invalid_token"})
        return _json(200, claims)

    def jwks(self) -> tuple[int, dict[str, str], bytes]:
        return _json(200, {"keys": [public_jwk(self.key, self.kid)]})

    def discovery(self) -> tuple[int, dict[str, str], bytes]:
        return _json(
            200,
            {
                "issuer": self.issuer,
                "authorization_endpoint": self.authorization_endpoint,
                "token_endpoint": self.token_endpoint,
                "userinfo_endpoint": self.userinfo_endpoint,
                "jwks_uri": self.jwks_endpoint,
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256", "plain"],
            },
        )


def _json(status: int, body: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": "application/json", "Cache-Control": "no-store"}
    return status, headers, json.dumps(body, ensure_ascii=False).encode("utf-8")


class _Handler(BaseHTTPRequestHandler):
    provider: FakeOpenIDProvider

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, answer: tuple[int, dict[str, str], bytes]) -> None:
        status, headers, body = answer
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        self.provider.requests.append(f"GET {url.path}")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/authorize":
            self._send(self.provider.authorize(query))
        elif url.path == "/userinfo":
            self._send(self.provider.userinfo(self.headers.get("Authorization")))
        elif url.path == "/jwks":
            self._send(self.provider.jwks())
        elif url.path == "/.well-known/openid-configuration":
            self._send(self.provider.discovery())
        else:
            self._send((404, {}, b"not found"))

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        self.provider.requests.append(f"POST {url.path}")
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        if url.path == "/token":
            self._send(self.provider.token(form, self.headers.get("Authorization")))
        else:
            self._send((404, {}, b"not found"))


@contextmanager
def running_provider(**options: Any) -> Iterator[FakeOpenIDProvider]:
    provider = FakeOpenIDProvider(**options).start()
    try:
        yield provider
    finally:
        provider.stop()
