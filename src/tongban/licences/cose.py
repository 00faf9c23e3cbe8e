"""COSE_Sign1 (RFC 9052 §4.2) with CBOR (``cbor2``): build the Sig_structure, encode a signed
message and decode one strictly.

Only what tongban's licence QR codes need: one signer, protected header with ``alg`` (1) and
``kid`` (4), an attached payload, no external AAD. Decoding never trusts its input: anything
that is not exactly a COSE_Sign1 of the expected shape raises :class:`CoseFormatError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import cbor2

COSE_SIGN1_TAG: Final = 18
HEADER_ALG: Final = 1
HEADER_KID: Final = 4


class CoseFormatError(ValueError):
    """Bytes that are not a well-formed COSE_Sign1 message."""


@dataclass(frozen=True)
class Sign1:
    protected: bytes  # the serialised protected header, exactly as signed
    algorithm: int
    kid: bytes
    payload: bytes
    signature: bytes

    def sig_structure(self) -> bytes:
        return sig_structure(self.protected, self.payload)


def protected_header(algorithm: int, kid: bytes) -> bytes:
    return cbor2.dumps({HEADER_ALG: algorithm, HEADER_KID: kid})


def sig_structure(protected: bytes, payload: bytes, external_aad: bytes = b"") -> bytes:
    """``["Signature1", body_protected, external_aad, payload]`` — the bytes that are signed."""
    return cbor2.dumps(["Signature1", protected, external_aad, payload])


def encode(protected: bytes, payload: bytes, signature: bytes) -> bytes:
    return cbor2.dumps(cbor2.CBORTag(COSE_SIGN1_TAG, [protected, {}, payload, signature]))


def _loads(data: bytes, what: str) -> Any:
    try:
        return cbor2.loads(data)
    except (cbor2.CBORDecodeError, ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise CoseFormatError(f"{what} is not valid CBOR") from exc


def decode(data: bytes) -> Sign1:
    """Parse a (tagged or untagged) COSE_Sign1 message."""
    message = _loads(data, "the signed message")
    if isinstance(message, cbor2.CBORTag):
        if message.tag != COSE_SIGN1_TAG:
            raise CoseFormatError(f"CBOR tag {message.tag} is not COSE_Sign1 (18)")
        message = message.value
    if not isinstance(message, list | tuple) or len(message) != 4:
        raise CoseFormatError("COSE_Sign1 must be an array of four elements")
    protected, unprotected, payload, signature = message
    if not isinstance(protected, bytes) or not isinstance(payload, bytes):
        raise CoseFormatError("COSE_Sign1 protected header and payload must be byte strings")
    if not isinstance(signature, bytes) or not isinstance(unprotected, Mapping):
        raise CoseFormatError("COSE_Sign1 signature must be a byte string")
    header = _loads(protected, "the protected header") if protected else {}
    if not isinstance(header, Mapping):
        raise CoseFormatError("the protected header must be a map")
    algorithm = header.get(HEADER_ALG)
    kid = header.get(HEADER_KID, unprotected.get(HEADER_KID))
    if not isinstance(algorithm, int) or isinstance(algorithm, bool):
        raise CoseFormatError("the protected header names no algorithm")
    if not isinstance(kid, bytes) or not kid:
        raise CoseFormatError("the message names no key id (kid)")
    return Sign1(protected, algorithm, kid, payload, signature)


def decode_claims(payload: bytes) -> dict[Any, Any]:
    claims = _loads(payload, "the payload")
    if not isinstance(claims, Mapping):
        raise CoseFormatError("the payload must be a CBOR map of claims")
    return dict(claims)
