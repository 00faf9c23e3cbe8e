"""Private keys at rest: every e-seal private key is stored wrapped (encrypted) by a key
management backend chosen by ``TONGBAN_LICENCE_KMS``.

Backends are plugins in :data:`kms_backends` (the project's one registry pattern). The built-in
``local`` backend wraps with AES-256-GCM under a key-encryption key (KEK) from
``TONGBAN_LICENCE_KEK`` (32 bytes, Base64); the key id is bound as associated data, so a wrapped
key copied onto another key row does not unwrap. Without a configured KEK, a demo or test
installation (``TONGBAN_DEBUG`` / ``TONGBAN_TESTING``) generates one into ``var/licence-kek``
(mode 0600); production refuses to start signing without one. A KMS or HSM integration
registers another backend with the same two methods.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path
from typing import ClassVar, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings

from tongban.core.plugins import Registry

WRAP_VERSION = b"\x01"


class KeyWrapError(RuntimeError):
    """A key could not be wrapped or unwrapped (no KEK, wrong KEK, damaged data)."""


class KeyWrapper(Protocol):
    name: ClassVar[str]

    def wrap(self, private_der: bytes, key_id: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, key_id: str) -> bytes: ...


kms_backends: Registry[type[KeyWrapper]] = Registry("licence key management")


def _kek_file() -> Path:
    return Path(settings.VAR_DIR) / "licence-kek"


def key_encryption_key() -> bytes:
    """The configured KEK, or (demo and tests only) one kept in the var directory."""
    configured = getattr(settings, "TONGBAN_LICENCE_KEK", "")
    if configured:
        try:
            kek = base64.b64decode(configured, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise KeyWrapError("TONGBAN_LICENCE_KEK is not valid Base64") from exc
        if len(kek) != 32:
            raise KeyWrapError("TONGBAN_LICENCE_KEK must be 32 bytes (Base64 of 32 random bytes)")
        return kek
    if not (settings.DEBUG or getattr(settings, "TESTING", False)):
        raise KeyWrapError(
            "TONGBAN_LICENCE_KEK is not set: e-seal private keys cannot be used without a "
            'key-encryption key (generate one with: python -c "import os,base64;'
            'print(base64.b64encode(os.urandom(32)).decode())")'
        )
    path = _kek_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # write a complete file under another name, then link it into place: a process that
        # loses the race reads the winner's key, never a half-written one
        temporary = path.with_name(f".licence-kek.{os.getpid()}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(base64.b64encode(os.urandom(32)))
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink(missing_ok=True)
    kek = base64.b64decode(path.read_bytes().strip())
    if len(kek) != 32:
        raise KeyWrapError(f"{path} does not hold a 32-byte key-encryption key")
    return kek


@kms_backends.register("local")
class LocalKeyWrapper:
    """AES-256-GCM under the KEK; output is ``version ‖ nonce ‖ ciphertext+tag``."""

    name: ClassVar[str] = "local"

    def wrap(self, private_der: bytes, key_id: str) -> bytes:
        nonce = os.urandom(12)
        sealed = AESGCM(key_encryption_key()).encrypt(nonce, private_der, key_id.encode())
        return WRAP_VERSION + nonce + sealed

    def unwrap(self, wrapped: bytes, key_id: str) -> bytes:
        if len(wrapped) < 1 + 12 + 16 or wrapped[:1] != WRAP_VERSION:
            raise KeyWrapError(f"wrapped key {key_id} is damaged")
        try:
            return AESGCM(key_encryption_key()).decrypt(
                wrapped[1:13], wrapped[13:], key_id.encode()
            )
        except InvalidTag as exc:
            raise KeyWrapError(
                f"key {key_id} does not unwrap: wrong TONGBAN_LICENCE_KEK or damaged key"
            ) from exc


def backend(name: str | None = None) -> KeyWrapper:
    """The wrapper for ``name`` (default: ``TONGBAN_LICENCE_KMS``)."""
    chosen = str(name or getattr(settings, "TONGBAN_LICENCE_KMS", "local"))
    return kms_backends.get(chosen)()
