"""Signed licence QR codes: CWT claims (RFC 8392) in a COSE_Sign1 (RFC 9052), as Base45 text
with the prefix ``TB1:`` — compact enough for the QR alphanumeric mode.

Claims: ``iss`` (1), ``exp`` (4), ``iat`` (6) as registered by RFC 8392, and short text claims
of tongban's own: ``no`` licence number, ``v`` version, ``lt`` licence type code, ``h`` holder
name masked, ``sl`` ``[status list id, index]``, ``dg`` the first 16 bytes of the SM3 content
digest, ``lx`` the licence's last valid day (epoch seconds at its end, absent when long-term),
``dyn`` true on a 亮证 dynamic code. The key id is in the protected header (label 4).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any, Final

import cbor2
from django.conf import settings
from django.utils import timezone

from tongban.core.masking import mask_id_number, mask_name
from tongban.licences import base45, cose, sealing, seals
from tongban.licences.crypto import algorithms
from tongban.licences.models import Licence

PREFIX: Final = "TB1:"
CLAIM_ISS: Final = 1
CLAIM_EXP: Final = 4
CLAIM_IAT: Final = 6


def end_of_day(day: dt.date) -> int:
    """Epoch seconds at the end of ``day`` in the deployment's time zone."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
    return int(end.timestamp())


def masked_holder(licence: Licence) -> str:
    if licence.holder_enterprise_id:
        return licence.holder_name  # an enterprise's name is public (企业信用信息公示)
    return mask_name(licence.holder_name)


def masked_identifier(licence: Licence) -> str:
    if licence.holder_enterprise_id:
        return licence.holder_identifier  # 统一社会信用代码 is public
    return mask_id_number(licence.holder_identifier)


def claims_for(licence: Licence, *, dynamic: bool, now: dt.datetime) -> dict[Any, Any]:
    iat = int(now.timestamp())
    claims: dict[Any, Any] = {
        CLAIM_ISS: settings.TONGBAN_LICENCE_ISSUER,
        CLAIM_IAT: iat,
        "no": licence.number,
        "v": licence.version,
        "lt": licence.licence_type.code,
        "h": masked_holder(licence),
        "sl": [licence.status_list_id, licence.status_index],
        "dg": sealing.content_digest(licence)[:16],
    }
    licence_end = end_of_day(licence.valid_until) if licence.valid_until else None
    if licence_end is not None:
        claims["lx"] = licence_end
    if dynamic:
        claims["dyn"] = True
        claims[CLAIM_EXP] = iat + settings.TONGBAN_LICENCE_DYNAMIC_QR_SECONDS
    elif licence_end is not None:
        claims[CLAIM_EXP] = licence_end
    return claims


def make_token(licence: Licence, *, dynamic: bool = False, now: dt.datetime | None = None) -> str:
    """The QR text for ``licence``, signed now by its department's current e-seal key."""
    moment = now or timezone.now()
    key = seals.signing_key(licence.department, at=moment)
    payload = cbor2.dumps(claims_for(licence, dynamic=dynamic, now=moment))
    protected = cose.protected_header(
        algorithms.COSE_ALGORITHMS[key.algorithm], bytes.fromhex(key.kid)
    )
    signature = seals.private_key(key).sign(cose.sig_structure(protected, payload))
    return PREFIX + base45.encode(cose.encode(protected, payload, signature))
