"""电子印章 keys: creation, import, rotation with overlapping validity, withdrawal, choosing the
key that signs now, and the published trust list.

Private keys leave this module only as signatures: they are unwrapped by the KMS backend when
needed and kept in process memory by key id. Public keys are parsed once per process.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from tongban.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.identity.models import Department, Role
from tongban.identity.permissions import can_administer_system, has_role
from tongban.licences import events
from tongban.licences.crypto import algorithms, keywrap
from tongban.licences.models import SealKey, SealKeyState

_private_cache: dict[str, algorithms.PrivateKey] = {}
_public_cache: dict[tuple[str, bytes], algorithms.PublicKey] = {}


def kid_for(public_der: bytes) -> str:
    """Key id: the first 8 bytes of SM3(SubjectPublicKeyInfo), in hex (16 characters)."""
    return hashlib.new("sm3", public_der).hexdigest()[:16]


def can_manage_keys(actor: Any, department: Department) -> bool:
    return can_administer_system(actor) or has_role(actor, Role.DEPARTMENT_HEAD, department.pk)


def _store(
    department: Department,
    private: algorithms.PrivateKey,
    *,
    not_before: dt.datetime,
    actor: Any,
    action: str,
) -> SealKey:
    public_der = private.public_der()
    kid = kid_for(public_der)
    if SealKey.objects.filter(kid=kid).exists():
        raise Conflict(f"密钥 {kid} 已经存在", code="seal_key_exists")
    wrapper = keywrap.backend()
    key = SealKey.objects.create(
        kid=kid,
        department=department,
        algorithm=private.algorithm,
        public_key=public_der,
        wrapped_private_key=wrapper.wrap(private.pkcs8_der(), kid),
        kms=wrapper.name,
        not_before=not_before,
    )
    events.record(
        action,
        actor,
        seal_key=key,
        data={"kid": kid, "algorithm": key.algorithm, "department": department.code},
    )
    return key


def do_create_seal_key(
    department: Department,
    *,
    algorithm: str | None = None,
    not_before: dt.datetime | None = None,
    actor: Any = None,
) -> SealKey:
    """Generate a key for ``department`` (trusted callers: demo data, first issuance)."""
    chosen = algorithm or settings.TONGBAN_LICENCE_ALGORITHM
    private = algorithms.generate(chosen)
    with transaction.atomic():
        return _store(
            department,
            private,
            not_before=not_before or timezone.now(),
            actor=actor,
            action="seal_key_created",
        )


def check_import_seal_key(
    actor: Any, department: Department, algorithm: str, private_key: bytes
) -> SealKey:
    """Import a private key made elsewhere (PEM or DER PKCS#8), e.g. by OpenSSL or a UKey."""
    if not can_manage_keys(actor, department):
        raise PermissionDenied("只有系统管理员或本部门负责人可以管理电子印章密钥")
    try:
        algorithms.check_algorithm(algorithm)
        private = algorithms.load_private(algorithm, algorithms.pem_to_der(private_key))
    except algorithms.KeyFormatError as exc:
        raise ValidationFailed(
            "无法读取私钥", code="bad_key", errors=[FieldError("private_key", str(exc))]
        ) from exc
    with transaction.atomic():
        return _store(
            department, private, not_before=timezone.now(), actor=actor, action="seal_key_imported"
        )


def check_rotate_seal_key(
    actor: Any,
    department: Department,
    *,
    algorithm: str | None = None,
    activate_at: dt.datetime | None = None,
) -> SealKey:
    """A new key that starts signing at ``activate_at`` (default: after one trust-list cache
    period, so verifiers have it first); the current keys sign until then and stay trusted."""
    if not can_manage_keys(actor, department):
        raise PermissionDenied("只有系统管理员或本部门负责人可以管理电子印章密钥")
    now = timezone.now()
    start = activate_at or now + dt.timedelta(hours=settings.TONGBAN_LICENCE_TRUST_LIST_HOURS)
    if start < now:
        raise ValidationFailed(
            "启用时间不能早于现在", errors=[FieldError("activate_at", "启用时间不能早于现在")]
        )
    try:
        private = algorithms.generate(algorithm or settings.TONGBAN_LICENCE_ALGORITHM)
    except algorithms.KeyFormatError as exc:
        raise ValidationFailed(
            "不支持的算法", code="bad_algorithm", errors=[FieldError("algorithm", str(exc))]
        ) from exc
    with transaction.atomic():
        current = list(
            SealKey.objects.select_for_update()
            .filter(department=department, state=SealKeyState.ACTIVE)
            .exclude(signs_until__lte=start)
        )
        for key in current:
            key.signs_until = start
            key.save(update_fields=["signs_until"])
        return _store(department, private, not_before=start, actor=actor, action="seal_key_rotated")


def check_withdraw_seal_key(actor: Any, kid: str, reason: str) -> SealKey:
    """Withdraw trust in a key (compromise): its signatures no longer verify."""
    try:
        key = SealKey.objects.select_related("department").get(kid=kid)
    except SealKey.DoesNotExist:
        raise NotFound(f"没有密钥 {kid}", code="seal_key_not_found") from None
    if not can_manage_keys(actor, key.department):
        raise PermissionDenied("只有系统管理员或本部门负责人可以管理电子印章密钥")
    if not reason.strip():
        raise ValidationFailed("请说明撤销原因", errors=[FieldError("reason", "必填")])
    with transaction.atomic():
        key = SealKey.objects.select_for_update().get(pk=key.pk)
        if key.state == SealKeyState.WITHDRAWN:
            raise Conflict("该密钥已撤销", code="seal_key_withdrawn")
        key.state = SealKeyState.WITHDRAWN
        key.withdrawn_at = timezone.now()
        key.withdrawal_reason = reason.strip()
        key.save(update_fields=["state", "withdrawn_at", "withdrawal_reason"])
        events.record("seal_key_withdrawn", actor, seal_key=key, reason=reason.strip())
        _private_cache.pop(key.kid, None)
    return key


def signing_key(department: Department, *, at: dt.datetime | None = None) -> SealKey:
    """The key that signs for ``department`` now: the newest trusted key already in force and
    not past its signing period; one is created when the department has none yet."""
    now = at or timezone.now()
    candidates = SealKey.objects.filter(
        department=department, state=SealKeyState.ACTIVE, not_before__lte=now
    ).order_by("-not_before", "-id")
    for key in candidates:
        if key.signs_until is None or key.signs_until > now:
            return key
    if SealKey.objects.filter(department=department, state=SealKeyState.ACTIVE).exists():
        raise Conflict(f"{department.name}当前没有可用的电子印章密钥", code="no_seal_key")
    return do_create_seal_key(department, not_before=now)


def private_key(key: SealKey) -> algorithms.PrivateKey:
    cached = _private_cache.get(key.kid)
    if cached is None:
        der = keywrap.backend(key.kms).unwrap(bytes(key.wrapped_private_key or b""), key.kid)
        cached = algorithms.load_private(key.algorithm, der)
        _private_cache[key.kid] = cached
    return cached


def public_key(algorithm: str, der: bytes) -> algorithms.PublicKey:
    cache_key = (algorithm, der)
    cached = _public_cache.get(cache_key)
    if cached is None:
        cached = algorithms.load_public(algorithm, der)
        if len(_public_cache) > 4096:
            _public_cache.clear()
        _public_cache[cache_key] = cached
    return cached


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def trust_list(*, now: dt.datetime | None = None) -> dict[str, Any]:
    """The published list of e-seal keys verifiers may trust, with how long it may be cached.
    Withdrawn keys are listed as such, so a verifier can say why a seal is no longer trusted."""
    issued = now or timezone.now()
    keys = SealKey.objects.select_related("department").order_by("department__code", "not_before")
    return {
        "format": "tongban-trust-list/1",
        "issuer": settings.TONGBAN_LICENCE_ISSUER,
        "issued_at": _iso(issued),
        "expires_at": _iso(issued + dt.timedelta(hours=settings.TONGBAN_LICENCE_TRUST_LIST_HOURS)),
        "keys": [
            {
                "kid": key.kid,
                "algorithm": key.algorithm,
                "cose_alg": algorithms.COSE_ALGORITHMS[key.algorithm],
                "department_code": key.department.code,
                "department_name": key.department.name,
                "public_key": base64.b64encode(bytes(key.public_key)).decode(),
                "not_before": _iso(key.not_before),
                "signs_until": _iso(key.signs_until),
                "state": key.state,
            }
            for key in keys
        ],
    }
