"""Sealing a licence's content: the canonical CBOR of a version, its SM3 digest, and the
COSE_Sign1 content seal the issuing department's key makes over it.

Tampering with any field of a licence row (holder, data, dates, type, number, version) changes
the digest, which then matches neither the seal in the row nor the digest carried by the QR
codes made from it; forging a new seal needs the department's private key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import cbor2

from tongban.licences import cose, seals
from tongban.licences.crypto import algorithms
from tongban.licences.models import Licence, SealKey


def canonical_content(licence: Licence) -> bytes:
    """Deterministic CBOR (RFC 8949 §4.2 core deterministic encoding) of what the seal covers."""
    content: dict[str, Any] = {
        "no": licence.number,
        "v": licence.version,
        "t": licence.licence_type.code,
        "dep": licence.department.code,
        "hk": "enterprise" if licence.holder_enterprise_id else "person",
        "hi": licence.holder_identifier,
        "hn": licence.holder_name,
        "data": licence.data,
        "vf": licence.valid_from.isoformat(),
        "vu": licence.valid_until.isoformat() if licence.valid_until else None,
    }
    return cbor2.dumps(content, canonical=True)


def content_digest(licence: Licence) -> bytes:
    return hashlib.new("sm3", canonical_content(licence)).digest()


def seal_content(licence: Licence, key: SealKey, issued_at: int) -> bytes:
    """COSE_Sign1 over ``{"no", "v", "dg", "iat"}`` signed with ``key``."""
    payload = cbor2.dumps(
        {
            "no": licence.number,
            "v": licence.version,
            "dg": content_digest(licence),
            "iat": issued_at,
        }
    )
    protected = cose.protected_header(
        algorithms.COSE_ALGORITHMS[key.algorithm], bytes.fromhex(key.kid)
    )
    signature = seals.private_key(key).sign(cose.sig_structure(protected, payload))
    return cose.encode(protected, payload, signature)


@dataclass(frozen=True)
class SealCheck:
    intact: bool
    reason: str = ""


def check_seal(licence: Licence) -> SealCheck:
    """Whether the row still matches its content seal (and the seal's signature holds)."""
    try:
        message = cose.decode(bytes(licence.seal))
        claims = cose.decode_claims(message.payload)
    except cose.CoseFormatError:
        return SealCheck(False, "证照库中的签章数据已损坏")
    kid = message.kid.hex()
    key = (
        licence.seal_key if licence.seal_key.kid == kid else SealKey.objects.filter(kid=kid).first()
    )
    if key is None or algorithms.COSE_ALGORITHMS.get(key.algorithm) != message.algorithm:
        return SealCheck(False, "证照库中的签章不是由登记的电子印章密钥生成")
    public = seals.public_key(key.algorithm, bytes(key.public_key))
    if not public.verify(message.sig_structure(), message.signature):
        return SealCheck(False, "证照库中的签章验证失败，数据可能被改动")
    if claims.get("no") != licence.number or claims.get("v") != licence.version:
        return SealCheck(False, "证照库中的编号或版本与签章不一致")
    if claims.get("dg") != content_digest(licence):
        return SealCheck(False, "证照库中的内容与签发时不一致，数据可能被改动")
    return SealCheck(True)
