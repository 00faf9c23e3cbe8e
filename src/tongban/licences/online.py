"""Online verification: the verifier core with keys and revocation status read from the
database, plus the check that the licence row still matches its seal and the QR's digest."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone
from django.utils.translation import gettext as _

from tongban.licences import sealing, seals, statuslist
from tongban.licences.crypto import algorithms
from tongban.licences.models import Licence, LicenceState, SealKey, SealKeyState
from tongban.licences.verification import (
    Claims,
    Result,
    TrustedKey,
    Verdict,
    verify_token,
)


class DatabaseTrust:
    def key(self, kid: str) -> TrustedKey | None:
        rows = list(SealKey.objects.select_related("department").filter(kid=kid).order_by()[:1])
        if not rows:
            return None
        row = rows[0]
        return TrustedKey(
            kid=row.kid,
            algorithm=row.algorithm,
            public_key=bytes(row.public_key),
            department_code=row.department.code,
            department_name=row.department.name,
            not_before=row.not_before,
            signs_until=row.signs_until,
            withdrawn=row.state == SealKeyState.WITHDRAWN,
        )

    def public(self, key: TrustedKey) -> algorithms.PublicKey:
        return seals.public_key(key.algorithm, key.public_key)


class DatabaseStatus:
    def revoked(self, list_id: int, index: int, now: dt.datetime) -> bool | None:
        return statuslist.is_revoked(list_id, index)


class RegisterCheck:
    """The online extra check; remembers the licence row it read, so the revocation status of
    that same row (set in the same transaction as its status-list bit) costs no second query."""

    def __init__(self) -> None:
        self.valid_entry: tuple[int, int] | None = None

    def __call__(self, claims: Claims) -> Result | None:
        result = check_against_register(claims)
        if result is None:
            self.valid_entry = (claims.status_list, claims.status_index)
        return result

    def revoked(self, list_id: int, index: int, now: dt.datetime) -> bool | None:
        if self.valid_entry == (list_id, index):
            return False  # the row was read just now in state "valid"
        return statuslist.is_revoked(list_id, index)


def check_against_register(claims: Claims) -> Result | None:
    """Compare a correctly signed QR with the licence register (证照库)."""
    rows = list(
        Licence.objects.select_related("licence_type", "department", "seal_key")
        .filter(number=claims.number)
        .order_by()[:1]
    )
    licence = rows[0] if rows else None
    if licence is None:
        return Result(Verdict.TAMPERED, _("证照库中没有这个编号的证照"))
    details = {
        "licence_type_name": licence.licence_type.name,
        "valid_from": licence.valid_from.isoformat(),
        "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
        "current_version": licence.version,
    }
    if (licence.status_list_id, licence.status_index) != (claims.status_list, claims.status_index):
        return Result(Verdict.TAMPERED, _("二维码与证照库中的记录不一致"), details)
    if licence.state != LicenceState.VALID:
        reason = licence.revocation_reason or licence.get_state_display()
        return Result(
            Verdict.REVOKED,
            _("该证照已%(state)s：%(reason)s")
            % {"state": licence.get_state_display(), "reason": reason},
            details,
        )
    if claims.version < licence.version:
        return Result(
            Verdict.SUPERSEDED,
            _("该二维码对应第 %(old)s 版，证照已变更为第 %(new)s 版，请持证人出示最新证照")
            % {"old": claims.version, "new": licence.version},
            details,
        )
    check = sealing.check_seal(licence)
    if not check.intact:
        return Result(Verdict.TAMPERED, check.reason, details)
    if claims.version != licence.version or sealing.content_digest(licence)[:16] != claims.digest:
        return Result(Verdict.TAMPERED, _("二维码记载的内容与证照库中的证照不一致"), details)
    return None


def verify_online(text: str, *, now: dt.datetime | None = None) -> Result:
    moment = now or timezone.now()
    register = RegisterCheck()
    return verify_token(text, DatabaseTrust(), register, now=moment, extra_check=register)
