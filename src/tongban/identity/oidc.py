"""Login through a province's unified identity platform (统一身份认证) with OpenID Connect.

``UnifiedIdentityBackend`` plugs into mozilla-django-oidc's authorisation-code flow and adds
what a government deployment needs on top of the signature and nonce checks the library does:
issuer, audience and expiry of the ID token, a userinfo ``sub`` that must match the token's,
and the mapping of the provider's claims onto our accounts — ``sub`` → ``User.oidc_subject``,
the 身份证号 claim → the ``Person`` (checked by its GB 11643 check digit, created when new),
``real_name_level``/``acr`` → the account's 实名等级. Applicant accounts are created on first
login; staff accounts never are: an administrator links an existing staff account to its
subject, and an unknown staff subject is refused. Every refusal is logged and ends the flow as a
failed login, never as a server error. Providers whose claims differ register a subclass in
``identity_providers`` and point ``AUTHENTICATION_BACKENDS`` at it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
import requests
import structlog
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousOperation
from django.db import IntegrityError
from django.http import HttpRequest
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from tongban.core.errors import DomainError
from tongban.core.plugins import Registry
from tongban.identity import services
from tongban.identity.models import AccountKind, RealNameLevel, User

log = structlog.get_logger(__name__)

identity_providers: Registry[type[UnifiedIdentityBackend]] = Registry("identity provider")
"""Authentication backends for OpenID providers, by key; ``provider_backend_path`` gives the
dotted path to put in ``AUTHENTICATION_BACKENDS``."""


def provider_backend_path(key: str) -> str:
    backend = identity_providers.get(key)
    return f"{backend.__module__}.{backend.__qualname__}"


@dataclass(frozen=True)
class ProviderIdentity:
    """What one login tells us about the person, in our own terms."""

    subject: str
    name: str
    id_number: str
    real_name_level: RealNameLevel
    claims_staff: bool


_LEVEL_NAMES = {
    "none": RealNameLevel.NONE,
    "basic": RealNameLevel.BASIC,
    "verified": RealNameLevel.VERIFIED,
    "in_person": RealNameLevel.IN_PERSON,
}


class IdentityRefused(Exception):
    """The provider's answer is authentic but cannot be let in (logged, login fails)."""


@identity_providers.register("unified")
class UnifiedIdentityBackend(OIDCAuthenticationBackend):
    """统一身份认证 over OpenID Connect (authorisation code flow, RS256 ID tokens)."""

    #: Claim carrying the 公民身份号码.
    id_number_claim = "id_number"
    #: Claim with the 实名等级 as a number 0–3 (or a level name); falls back to ``acr``.
    real_name_level_claim = "real_name_level"
    #: ``acr`` values this provider uses, mapped to our levels (numbers and level names are
    #: understood without an entry; ``settings.OIDC_ACR_REAL_NAME_LEVELS`` adds more).
    acr_levels: Mapping[str, RealNameLevel] = {}
    #: Claim saying what kind of account logged in, and the values meaning 工作人员.
    account_type_claim = "user_type"
    staff_account_types = frozenset({"staff", "government", "gov_staff"})
    #: Applicants below this level cannot log in (an unverified 身份证号 proves nothing).
    minimum_real_name_level = RealNameLevel.BASIC

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.get_settings("OIDC_OP_ISSUER", ""):
            raise ImproperlyConfigured(
                "OIDC login needs the provider's issuer (TONGBAN_OIDC_ISSUER) to check ID tokens"
            )

    # --- the flow -------------------------------------------------------------------------------

    def authenticate(self, request: HttpRequest | None, **kwargs: Any) -> User | None:
        """Finish the code flow started by ``/oidc/authenticate/``; ``None`` means refused.

        Only the OIDC callback (which passes ``nonce``) is handled here: a password login never
        reaches the provider, even if its URL happens to carry ``code`` and ``state``."""
        if request is None or "nonce" not in kwargs or "password" in kwargs:
            return None
        try:
            user: User | None = super().authenticate(request, **kwargs)
        except (SuspiciousOperation, jwt.PyJWTError) as exc:
            # The library turns only a malformed token into SuspiciousOperation; an expired
            # or not-yet-valid one raises PyJWT's own errors, which would otherwise be a 500.
            log.warning("oidc.login_refused", reason=str(exc))
            return None
        except requests.RequestException as exc:
            log.warning("oidc.provider_error", error=str(exc))
            return None
        return user

    def verify_token(self, token: str, **kwargs: Any) -> dict[str, Any]:
        payload: dict[str, Any] = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token (a signed userinfo answer passes no nonce)
            self.check_id_token_claims(payload)
        return payload

    def check_id_token_claims(self, payload: Mapping[str, Any]) -> None:
        """OIDC Core 3.1.3.7: issuer, audience, authorised party and expiry."""
        if payload.get("iss") != self.get_settings("OIDC_OP_ISSUER"):
            raise SuspiciousOperation("ID token issuer does not match OIDC_OP_ISSUER")
        audience = payload.get("aud")
        audiences = [audience] if isinstance(audience, str) else list(audience or [])
        if self.OIDC_RP_CLIENT_ID not in audiences:
            raise SuspiciousOperation("ID token is not addressed to this client")
        if len(audiences) > 1 and payload.get("azp") != self.OIDC_RP_CLIENT_ID:
            raise SuspiciousOperation("ID token authorised party is not this client")
        expires = payload.get("exp")
        if not isinstance(expires, int | float) or expires < time.time():
            raise SuspiciousOperation("ID token has no expiry or has expired")
        if not payload.get("sub"):
            raise SuspiciousOperation("ID token has no subject")

    def verify_claims(self, claims: Mapping[str, Any]) -> bool:
        return bool(claims.get("sub"))

    def get_or_create_user(
        self, access_token: str, id_token: str, payload: Mapping[str, Any]
    ) -> User | None:
        userinfo = self.get_userinfo(access_token, id_token, payload)
        if userinfo.get("sub") != payload.get("sub"):
            raise SuspiciousOperation("userinfo subject differs from the ID token subject")
        claims = {**payload, **userinfo}
        try:
            return self.account_for(self.identity_from_claims(claims))
        except IdentityRefused as exc:
            log.warning("oidc.login_refused", subject=claims.get("sub"), reason=str(exc))
        except DomainError as exc:
            log.warning(
                "oidc.login_refused", subject=claims.get("sub"), reason=exc.message, code=exc.code
            )
        return None

    # --- claims → our terms ---------------------------------------------------------------------

    def identity_from_claims(self, claims: Mapping[str, Any]) -> ProviderIdentity:
        account_type = str(claims.get(self.account_type_claim) or "").strip().lower()
        return ProviderIdentity(
            subject=str(claims["sub"]),
            name=str(claims.get("name") or "").strip(),
            id_number=str(claims.get(self.id_number_claim) or "").strip(),
            real_name_level=self.real_name_level_from_claims(claims),
            claims_staff=account_type in self.staff_account_types,
        )

    def real_name_level_from_claims(self, claims: Mapping[str, Any]) -> RealNameLevel:
        for value in (claims.get(self.real_name_level_claim), claims.get("acr")):
            level = self._level(value)
            if level is not None:
                return level
        return RealNameLevel.NONE

    def _level(self, value: Any) -> RealNameLevel | None:
        if value is None or isinstance(value, bool):
            return None
        text = str(value).strip()
        extra: Mapping[str, int] = self.get_settings("OIDC_ACR_REAL_NAME_LEVELS", {})
        if text in extra:
            return RealNameLevel(extra[text])
        if text in self.acr_levels:
            return self.acr_levels[text]
        if text.lower() in _LEVEL_NAMES:
            return _LEVEL_NAMES[text.lower()]
        if text.isdecimal() and int(text) in RealNameLevel.values:
            return RealNameLevel(int(text))
        return None

    # --- our accounts ---------------------------------------------------------------------------

    def account_for(self, identity: ProviderIdentity) -> User:
        """The account to log in, creating an applicant account if needed; raises
        ``IdentityRefused`` or a ``DomainError`` when the login must not proceed."""
        linked = self.UserModel.objects.filter(oidc_subject=identity.subject).first()
        if linked is not None and linked.kind == AccountKind.STAFF:
            if not linked.is_active:
                raise IdentityRefused("staff account is inactive")
            return linked
        if identity.claims_staff:
            raise IdentityRefused(
                "staff subject is not linked to a local staff account (an administrator "
                "must set 统一身份认证标识 on the account)"
                if linked is None
                else "provider says staff but the subject belongs to an applicant account"
            )
        if not identity.id_number:
            raise IdentityRefused(f"no {self.id_number_claim!r} claim")
        if identity.real_name_level < self.minimum_real_name_level:
            raise IdentityRefused(f"real-name level {identity.real_name_level} is too low")
        try:
            user = self._sign_in(identity)
        except IntegrityError:
            # The same person's first login finished in another request meanwhile (two
            # tabs); the second attempt finds the account that one created.
            user = self._sign_in(identity)
        if not user.is_active:
            raise IdentityRefused("account is inactive")
        log.info("oidc.login", user_id=user.pk, real_name_level=user.real_name_level)
        return user

    def _sign_in(self, identity: ProviderIdentity) -> User:
        return services.check_sign_in_from_identity_provider(
            subject=identity.subject,
            id_number=identity.id_number,
            name=identity.name,
            real_name_level=identity.real_name_level,
        )


def enabled() -> bool:
    """Whether OIDC login is switched on (``TONGBAN_OIDC_ENABLED``)."""
    return bool(getattr(settings, "OIDC_ENABLED", False))
