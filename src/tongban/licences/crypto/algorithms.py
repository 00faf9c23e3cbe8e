"""The signature algorithms an e-seal may use, by the name stored with each key, and their
COSE algorithm identifiers.

``sm2`` — SM2 with SM3 and the default user ID ``1234567812345678`` (GB/T 32918.2, GB/T 35276).
SM2 has no IANA COSE identifier, so tongban uses ``-65537``, the first value of the COSE
private-use range (RFC 9052 §16.4: values below -65536); see docs/adr/0003-licences-crypto.md.
``ed25519`` — EdDSA over Ed25519 (COSE ``-8``, RFC 9053): keys are parsed, stored and used for
signing through pyca/cryptography; signatures are verified by libsodium (PyNaCl), about 1.7× the
rate of OpenSSL's Ed25519 on the same core (docs/adr/0009-ed25519-libsodium.md).

A :class:`PublicKey` is parsed once from SubjectPublicKeyInfo DER and can be reused for many
verifications; :class:`PrivateKey` likewise for signing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final, Protocol

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from nacl.exceptions import BadSignatureError, CryptoError
from nacl.signing import VerifyKey

from tongban.licences.crypto import sm2

SM2: Final = "sm2"
ED25519: Final = "ed25519"

COSE_ALG_SM2_SM3: Final = -65537
COSE_ALG_EDDSA: Final = -8

COSE_ALGORITHMS: Final = {SM2: COSE_ALG_SM2_SM3, ED25519: COSE_ALG_EDDSA}
ALGORITHM_BY_COSE: Final = {value: name for name, value in COSE_ALGORITHMS.items()}
LABELS: Final = {SM2: "SM2/SM3", ED25519: "Ed25519"}


class KeyFormatError(ValueError):
    """Key bytes that are not a key of the named algorithm."""


class PublicKey(Protocol):
    @property
    def algorithm(self) -> str: ...

    def verify(self, message: bytes, signature: bytes) -> bool: ...

    def der(self) -> bytes: ...


class PrivateKey(Protocol):
    @property
    def algorithm(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...

    def public_der(self) -> bytes: ...

    def pkcs8_der(self) -> bytes: ...


@dataclass(frozen=True)
class SM2PublicKey:
    key: sm2.SM2Key
    algorithm: str = SM2

    def verify(self, message: bytes, signature: bytes) -> bool:
        return sm2.verify(self.key, message, signature)

    def der(self) -> bytes:
        return self.key.public_der()


@dataclass(frozen=True)
class SM2PrivateKey:
    key: sm2.SM2Key
    algorithm: str = SM2

    def sign(self, message: bytes) -> bytes:
        return sm2.sign(self.key, message)

    def public_der(self) -> bytes:
        return self.key.public_der()

    def pkcs8_der(self) -> bytes:
        return self.key.private_pkcs8_der()


@dataclass(frozen=True)
class Ed25519PublicKey:
    key: ed25519.Ed25519PublicKey
    algorithm: str = ED25519

    def verify(self, message: bytes, signature: bytes) -> bool:
        if len(signature) != 64:
            return False
        try:
            self._verifier.verify(message, signature)
        except (BadSignatureError, CryptoError):
            return False
        return True

    @cached_property
    def _verifier(self) -> VerifyKey:
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return VerifyKey(raw)

    def der(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )


@dataclass(frozen=True)
class Ed25519PrivateKey:
    key: ed25519.Ed25519PrivateKey
    algorithm: str = ED25519

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message)

    def public_der(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def pkcs8_der(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def check_algorithm(algorithm: str) -> str:
    if algorithm not in COSE_ALGORITHMS:
        raise KeyFormatError(f"unknown signature algorithm {algorithm!r} (known: sm2, ed25519)")
    return algorithm


def generate(algorithm: str) -> PrivateKey:
    check_algorithm(algorithm)
    if algorithm == SM2:
        return SM2PrivateKey(sm2.generate())
    return Ed25519PrivateKey(ed25519.Ed25519PrivateKey.generate())


def load_private(algorithm: str, der: bytes) -> PrivateKey:
    """A private key from PKCS#8 DER; raises :class:`KeyFormatError` when it is not one."""
    check_algorithm(algorithm)
    if algorithm == SM2:
        try:
            return SM2PrivateKey(sm2.load_private_der(der))
        except sm2.SM2Error as exc:
            raise KeyFormatError(str(exc)) from exc
    try:
        key = serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError("not a readable Ed25519 private key") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise KeyFormatError("the private key is not an Ed25519 key")
    return Ed25519PrivateKey(key)


def load_public(algorithm: str, der: bytes) -> PublicKey:
    """A public key from SubjectPublicKeyInfo DER; raises :class:`KeyFormatError`."""
    check_algorithm(algorithm)
    if algorithm == SM2:
        try:
            return SM2PublicKey(sm2.load_public_der(der))
        except sm2.SM2Error as exc:
            raise KeyFormatError(str(exc)) from exc
    try:
        key = serialization.load_der_public_key(der)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise KeyFormatError("not a readable Ed25519 public key") from exc
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise KeyFormatError("the public key is not an Ed25519 key")
    return Ed25519PublicKey(key)


def pem_to_der(pem: bytes) -> bytes:
    """The DER inside a PEM block (``-----BEGIN …-----``); DER input is returned unchanged."""
    import base64

    text = pem.strip()
    if not text.startswith(b"-----BEGIN"):
        return pem
    lines = [line for line in text.splitlines() if line and not line.startswith(b"-----")]
    try:
        return base64.b64decode(b"".join(lines), validate=True)
    except ValueError as exc:
        raise KeyFormatError("the PEM block is not valid Base64") from exc
