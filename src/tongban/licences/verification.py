"""Verifying a licence QR code: one verdict with a reason a clerk understands, never an
exception, whatever the input.

The core (:func:`verify_token`) is pure: it takes a trust store (keys by id) and a status
source, so the same rules serve the public scan page and API (keys and status from the
database, plus the check that the licence row still matches its seal) and the offline command
(trust list and status list from files). Order of judgement: unreadable → unknown or withdrawn
issuer → bad signature (tampered) → revoked → superseded → expired → status unknown → valid.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from django.utils.translation import gettext as _

from tongban.licences import base45, cose
from tongban.licences.crypto import algorithms
from tongban.licences.tokens import CLAIM_EXP, CLAIM_IAT, CLAIM_ISS, PREFIX

MAX_TOKEN_CHARS: Final = 2048


class Verdict(enum.StrEnum):
    VALID = "valid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"
    TAMPERED = "tampered"
    UNKNOWN_ISSUER = "unknown_issuer"
    STATUS_UNKNOWN = "status_unknown"
    MALFORMED = "malformed"


VERDICT_LABELS: Final = {
    Verdict.VALID: "有效",
    Verdict.EXPIRED: "已过期",
    Verdict.REVOKED: "已撤销或注销",
    Verdict.SUPERSEDED: "已有新版本",
    Verdict.TAMPERED: "签章不符（可能被篡改）",
    Verdict.UNKNOWN_ISSUER: "发证机关不可信",
    Verdict.STATUS_UNKNOWN: "状态未知",
    Verdict.MALFORMED: "无法识别",
}


@dataclass
class Result:
    verdict: Verdict
    reason: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return _(VERDICT_LABELS[self.verdict])

    @property
    def ok(self) -> bool:
        return self.verdict == Verdict.VALID


@dataclass(frozen=True)
class TrustedKey:
    kid: str
    algorithm: str
    public_key: bytes  # SubjectPublicKeyInfo DER
    department_code: str
    department_name: str
    not_before: dt.datetime
    signs_until: dt.datetime | None
    withdrawn: bool


class TrustStore(Protocol):
    def key(self, kid: str) -> TrustedKey | None: ...

    def public(self, key: TrustedKey) -> algorithms.PublicKey: ...


class StatusSource(Protocol):
    def revoked(self, list_id: int, index: int, now: dt.datetime) -> bool | None: ...


@dataclass(frozen=True)
class Claims:
    issuer: str
    issued_at: int
    expires_at: int | None
    number: str
    version: int
    licence_type: str
    holder: str
    status_list: int
    status_index: int
    digest: bytes
    licence_end: int | None
    dynamic: bool


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_claims(raw: dict[Any, Any]) -> Claims:
    """Typed claims; raises :class:`cose.CoseFormatError` for a missing or mistyped one."""
    status = raw.get("sl")
    checks = {
        "iss": isinstance(raw.get(CLAIM_ISS), str),
        "iat": _int(raw.get(CLAIM_IAT)) is not None,
        "no": isinstance(raw.get("no"), str) and 0 < len(raw["no"]) <= 64,
        "v": _int(raw.get("v")) is not None,
        "lt": isinstance(raw.get("lt"), str),
        "h": isinstance(raw.get("h"), str),
        "sl": isinstance(status, list | tuple)
        and len(status) == 2
        and all(_int(x) is not None and x >= 0 for x in status),
        "dg": isinstance(raw.get("dg"), bytes) and len(raw["dg"]) == 16,
        "exp": CLAIM_EXP not in raw or _int(raw.get(CLAIM_EXP)) is not None,
        "lx": "lx" not in raw or _int(raw.get("lx")) is not None,
    }
    missing = [name for name, ok in checks.items() if not ok]
    if missing:
        raise cose.CoseFormatError(f"claims missing or malformed: {', '.join(missing)}")
    assert isinstance(status, list | tuple)
    return Claims(
        issuer=raw[CLAIM_ISS],
        issued_at=raw[CLAIM_IAT],
        expires_at=raw.get(CLAIM_EXP),
        number=raw["no"],
        version=raw["v"],
        licence_type=raw["lt"],
        holder=raw["h"],
        status_list=status[0],
        status_index=status[1],
        digest=raw["dg"],
        licence_end=raw.get("lx"),
        dynamic=raw.get("dyn") is True,
    )


def _when(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    try:
        return dt.datetime.fromtimestamp(epoch, tz=dt.UTC).isoformat(timespec="seconds")
    except (OverflowError, OSError, ValueError):
        return None


def decode_text(text: str) -> cose.Sign1:
    """The COSE message inside QR text; raises ``ValueError`` subclasses when it is not one."""
    stripped = text.strip()
    if len(stripped) > MAX_TOKEN_CHARS:
        raise cose.CoseFormatError("二维码内容超长")
    if not stripped.startswith(PREFIX):
        raise cose.CoseFormatError("not a tongban licence code (prefix TB1: missing)")
    return cose.decode(base45.decode(stripped[len(PREFIX) :]))


def verify_token(
    text: str,
    trust: TrustStore,
    status: StatusSource,
    *,
    now: dt.datetime,
    extra_check: Any = None,
) -> Result:
    """Judge QR text. ``extra_check(claims) -> Result | None`` adds the online database check."""
    try:
        return _verify(text, trust, status, now=now, extra_check=extra_check)
    except Exception as exc:  # a verifier answers with a verdict, never a 500
        return Result(
            Verdict.MALFORMED, _("无法识别该二维码：%(error)s") % {"error": type(exc).__name__}
        )


def _verify(
    text: str, trust: TrustStore, status: StatusSource, *, now: dt.datetime, extra_check: Any
) -> Result:
    if not isinstance(text, str) or not text.strip():
        return Result(Verdict.MALFORMED, _("没有读到二维码内容"))
    try:
        message = decode_text(text)
        claims = parse_claims(cose.decode_claims(message.payload))
    except (ValueError, cose.CoseFormatError):
        return Result(
            Verdict.MALFORMED,
            _("这不是本平台签发的电子证照二维码，或二维码内容不完整（请重新扫描）"),
        )
    details: dict[str, Any] = {
        "number": claims.number,
        "version": claims.version,
        "licence_type": claims.licence_type,
        "holder": claims.holder,
        "issuer": claims.issuer,
        "kid": message.kid.hex(),
        "issued_at": _when(claims.issued_at),
        "expires_at": _when(claims.expires_at),
        "licence_valid_until": _when(claims.licence_end),
        "dynamic": claims.dynamic,
    }
    key = trust.key(message.kid.hex())
    if key is None:
        return Result(
            Verdict.UNKNOWN_ISSUER,
            _("签发该二维码的电子印章不在可信列表中，不能确认是哪个机关签发的"),
            details,
        )
    details["department"] = key.department_name
    if key.withdrawn:
        return Result(
            Verdict.UNKNOWN_ISSUER,
            _("签发该二维码的电子印章密钥已被撤销，不再可信，请持证人重新获取"),
            details,
        )
    if algorithms.COSE_ALGORITHMS.get(key.algorithm) != message.algorithm:
        return Result(Verdict.TAMPERED, _("二维码声明的签名算法与发证机关的密钥不符"), details)
    public = trust.public(key)
    if not public.verify(message.sig_structure(), message.signature):
        return Result(
            Verdict.TAMPERED,
            _("二维码的电子签章验证不通过，内容可能被改动或伪造"),
            details,
        )
    signed_at = dt.datetime.fromtimestamp(claims.issued_at, tz=dt.UTC)
    if signed_at < key.not_before.replace(microsecond=0) or (
        key.signs_until is not None and signed_at > key.signs_until
    ):
        return Result(
            Verdict.TAMPERED,
            _("二维码的签发时间不在该电子印章的有效期内"),
            details,
        )
    if extra_check is not None:
        found = extra_check(claims)
        if found is not None:
            found.details = {**details, **found.details}
            return found
    revoked = status.revoked(claims.status_list, claims.status_index, now)
    if revoked:
        return Result(Verdict.REVOKED, _("该证照已被撤销或注销，不能再作为有效证照使用"), details)
    stamp = now.timestamp()
    if claims.dynamic and claims.expires_at is not None and stamp > claims.expires_at:
        return Result(
            Verdict.EXPIRED,
            _("亮证二维码已超过有效时间（可能是截图），请持证人当场刷新后再扫"),
            details,
        )
    if claims.licence_end is not None and stamp > claims.licence_end:
        return Result(Verdict.EXPIRED, _("该证照已超过有效期"), details)
    if claims.expires_at is not None and stamp > claims.expires_at:
        return Result(Verdict.EXPIRED, _("该二维码已过期"), details)
    if revoked is None:
        return Result(
            Verdict.STATUS_UNKNOWN,
            _("签章有效，但无法取得最新的撤销状态（状态列表已过期或缺失），不能确认证照仍然有效"),
            details,
        )
    return Result(Verdict.VALID, _("签章有效，证照在有效期内且未被撤销"), details)
