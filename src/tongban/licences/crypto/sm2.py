"""SM2 signatures with SM3 and a distinguishing identifier (GB/T 32918.2, GB/T 35276) through
the system OpenSSL 3 libcrypto, called with ``ctypes``.

The signature covers ``SM3(Z_A ‖ M)`` where ``Z_A`` hashes the signer's ID (by default
``1234567812345678``), the curve parameters and the public key — this is what
``openssl pkeyutl -rawin -digest sm3 -pkeyopt distid:…`` checks, and what plain ECDSA on the
SM2 curve does not do. Signatures are DER ``SEQUENCE { r, s }`` as OpenSSL writes them.

Keys are held as ``EVP_PKEY`` handles (:class:`SM2Key`), freed when the Python object goes.
Every call checks OpenSSL's return code and raises :class:`SM2Error`; a verification that fails
for any reason (wrong key, bad DER, other message) returns ``False``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from typing import Any, Final

DEFAULT_USER_ID: Final = b"1234567812345678"
MAX_SIGNATURE_SIZE: Final = 80  # DER of two 256-bit integers is at most 72 bytes

_vp = ctypes.c_void_p
_lock = threading.Lock()
_lib: Any = None


class SM2Error(RuntimeError):
    """OpenSSL refused an SM2 operation (missing libcrypto 3, bad key bytes …)."""


def _load() -> Any:
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        names = ["libcrypto.so.3", ctypes.util.find_library("crypto") or "", "libcrypto.3.dylib"]
        lib = None
        for name in names:
            if not name:
                continue
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
        if lib is None or not hasattr(lib, "EVP_PKEY_CTX_new_from_name"):
            raise SM2Error("SM2 needs OpenSSL 3 (libcrypto.so.3), which was not found")
        _declare(lib)
        _lib = lib
        return lib


def _declare(lib: Any) -> None:
    size_p = ctypes.POINTER(ctypes.c_size_t)
    char_pp = ctypes.POINTER(ctypes.c_char_p)
    signatures: dict[str, tuple[Any, list[Any]]] = {
        "EVP_PKEY_CTX_new_from_name": (_vp, [_vp, ctypes.c_char_p, ctypes.c_char_p]),
        "EVP_PKEY_CTX_new_from_pkey": (_vp, [_vp, _vp, ctypes.c_char_p]),
        "EVP_PKEY_CTX_free": (None, [_vp]),
        "EVP_PKEY_keygen_init": (ctypes.c_int, [_vp]),
        "EVP_PKEY_generate": (ctypes.c_int, [_vp, ctypes.POINTER(_vp)]),
        "EVP_PKEY_free": (None, [_vp]),
        "EVP_PKEY_is_a": (ctypes.c_int, [_vp, ctypes.c_char_p]),
        "EVP_PKEY_CTX_set1_id": (ctypes.c_int, [_vp, ctypes.c_char_p, ctypes.c_int]),
        "EVP_MD_CTX_new": (_vp, []),
        "EVP_MD_CTX_free": (None, [_vp]),
        "EVP_MD_CTX_set_pkey_ctx": (None, [_vp, _vp]),
        "EVP_MD_fetch": (_vp, [_vp, ctypes.c_char_p, ctypes.c_char_p]),
        "EVP_DigestSignInit": (ctypes.c_int, [_vp, _vp, _vp, _vp, _vp]),
        "EVP_DigestSign": (
            ctypes.c_int,
            [_vp, ctypes.c_char_p, size_p, ctypes.c_char_p, ctypes.c_size_t],
        ),
        "EVP_DigestVerifyInit": (ctypes.c_int, [_vp, _vp, _vp, _vp, _vp]),
        "EVP_DigestVerify": (
            ctypes.c_int,
            [_vp, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t],
        ),
        "d2i_AutoPrivateKey": (_vp, [_vp, char_pp, ctypes.c_long]),
        "d2i_PUBKEY": (_vp, [_vp, char_pp, ctypes.c_long]),
        "i2d_PUBKEY": (ctypes.c_int, [_vp, ctypes.POINTER(_vp)]),
        "i2d_PrivateKey": (ctypes.c_int, [_vp, ctypes.POINTER(_vp)]),
        "i2d_PKCS8PrivateKey_bio": (ctypes.c_int, [_vp, _vp, _vp, _vp, ctypes.c_int, _vp, _vp]),
        "BIO_new": (_vp, [_vp]),
        "BIO_s_mem": (_vp, []),
        "BIO_ctrl": (ctypes.c_long, [_vp, ctypes.c_int, ctypes.c_long, _vp]),
        "BIO_free": (ctypes.c_int, [_vp]),
        "CRYPTO_free": (None, [_vp, ctypes.c_char_p, ctypes.c_int]),
        "ERR_clear_error": (None, []),
    }
    for name, (restype, argtypes) in signatures.items():
        function = getattr(lib, name)
        function.restype = restype
        function.argtypes = argtypes


_sm3: Any = None


def _sm3_md() -> Any:
    global _sm3
    if _sm3 is None:
        md = _load().EVP_MD_fetch(None, b"SM3", None)
        if not md:
            raise SM2Error("this OpenSSL has no SM3 digest")
        _sm3 = md
    return _sm3


class SM2Key:
    """An SM2 key (private or public only) held by OpenSSL."""

    __slots__ = ("_handle", "has_private")

    def __init__(self, handle: int, *, has_private: bool) -> None:
        self._handle: int | None = handle
        self.has_private = has_private

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle and _lib is not None:
            _lib.EVP_PKEY_free(handle)
            self._handle = None

    @property
    def handle(self) -> int:
        if self._handle is None:
            raise SM2Error("this SM2 key has been freed")
        return self._handle

    def public_der(self) -> bytes:
        """SubjectPublicKeyInfo DER (what ``openssl pkey -pubout -outform DER`` writes)."""
        return _i2d(_load().i2d_PUBKEY, self.handle)

    def private_pkcs8_der(self) -> bytes:
        """Unencrypted PKCS#8 DER of the private key (wrap it before it leaves memory)."""
        if not self.has_private:
            raise SM2Error("this SM2 key has no private part")
        lib = _load()
        bio = lib.BIO_new(lib.BIO_s_mem())
        try:
            if lib.i2d_PKCS8PrivateKey_bio(bio, self.handle, None, None, 0, None, None) != 1:
                raise SM2Error("OpenSSL could not write the SM2 private key")
            data = ctypes.c_char_p()
            length = lib.BIO_ctrl(bio, 3, 0, ctypes.byref(data))  # BIO_CTRL_INFO → mem pointer
            return ctypes.string_at(data, length)
        finally:
            lib.BIO_free(bio)


def _i2d(function: Any, handle: int) -> bytes:
    out = _vp(None)
    length = function(handle, ctypes.byref(out))
    if length <= 0 or not out.value:
        _load().ERR_clear_error()
        raise SM2Error("OpenSSL could not encode the SM2 key")
    try:
        return ctypes.string_at(out.value, length)
    finally:
        _load().CRYPTO_free(out, b"sm2.py", 0)


def _check_sm2(handle: int, *, what: str) -> None:
    lib = _load()
    if not handle:
        lib.ERR_clear_error()
        raise SM2Error(f"not a readable {what}")
    if lib.EVP_PKEY_is_a(handle, b"SM2") != 1:
        lib.EVP_PKEY_free(handle)
        raise SM2Error(f"the {what} is not an SM2 key")


def generate() -> SM2Key:
    """A new SM2 key pair from OpenSSL's random generator."""
    lib = _load()
    ctx = lib.EVP_PKEY_CTX_new_from_name(None, b"SM2", None)
    if not ctx:
        raise SM2Error("this OpenSSL cannot make SM2 keys")
    try:
        handle = _vp(None)
        if (
            lib.EVP_PKEY_keygen_init(ctx) != 1
            or lib.EVP_PKEY_generate(ctx, ctypes.byref(handle)) != 1
        ):
            raise SM2Error("OpenSSL could not generate an SM2 key")
        return SM2Key(handle.value or 0, has_private=True)
    finally:
        lib.EVP_PKEY_CTX_free(ctx)


def load_private_der(data: bytes) -> SM2Key:
    """Read a PKCS#8 (or SEC1) DER SM2 private key, as ``openssl genpkey -algorithm SM2`` makes."""
    lib = _load()
    buffer = ctypes.c_char_p(data)
    handle = lib.d2i_AutoPrivateKey(None, ctypes.byref(buffer), len(data))
    _check_sm2(handle, what="SM2 private key")
    return SM2Key(handle, has_private=True)


def load_public_der(data: bytes) -> SM2Key:
    """Read a SubjectPublicKeyInfo DER SM2 public key."""
    lib = _load()
    buffer = ctypes.c_char_p(data)
    handle = lib.d2i_PUBKEY(None, ctypes.byref(buffer), len(data))
    _check_sm2(handle, what="SM2 public key")
    return SM2Key(handle, has_private=False)


def _digest_ctx(key: SM2Key, user_id: bytes) -> tuple[Any, Any]:
    lib = _load()
    md_ctx = lib.EVP_MD_CTX_new()
    pkey_ctx = lib.EVP_PKEY_CTX_new_from_pkey(None, key.handle, None)
    if not md_ctx or not pkey_ctx:
        lib.EVP_MD_CTX_free(md_ctx)
        lib.EVP_PKEY_CTX_free(pkey_ctx)
        raise SM2Error("OpenSSL could not allocate an SM2 context")
    if lib.EVP_PKEY_CTX_set1_id(pkey_ctx, user_id, len(user_id)) != 1:
        lib.EVP_MD_CTX_free(md_ctx)
        lib.EVP_PKEY_CTX_free(pkey_ctx)
        raise SM2Error("OpenSSL refused the SM2 user ID")
    lib.EVP_MD_CTX_set_pkey_ctx(md_ctx, pkey_ctx)
    return md_ctx, pkey_ctx


def sign(key: SM2Key, message: bytes, *, user_id: bytes = DEFAULT_USER_ID) -> bytes:
    """DER signature over ``SM3(Z_A ‖ message)``."""
    if not key.has_private:
        raise SM2Error("signing needs the private key")
    lib = _load()
    md_ctx, pkey_ctx = _digest_ctx(key, user_id)
    try:
        if lib.EVP_DigestSignInit(md_ctx, None, _sm3_md(), None, key.handle) != 1:
            raise SM2Error("OpenSSL could not start an SM2 signature")
        size = ctypes.c_size_t(MAX_SIGNATURE_SIZE)
        out = ctypes.create_string_buffer(MAX_SIGNATURE_SIZE)
        if lib.EVP_DigestSign(md_ctx, out, ctypes.byref(size), message, len(message)) != 1:
            raise SM2Error("OpenSSL could not make the SM2 signature")
        return out.raw[: size.value]
    finally:
        lib.EVP_MD_CTX_free(md_ctx)
        lib.EVP_PKEY_CTX_free(pkey_ctx)


def verify(
    key: SM2Key, message: bytes, signature: bytes, *, user_id: bytes = DEFAULT_USER_ID
) -> bool:
    """Whether ``signature`` (DER) is the key's SM2 signature of ``message``."""
    if not signature or len(signature) > MAX_SIGNATURE_SIZE:
        return False
    lib = _load()
    md_ctx, pkey_ctx = _digest_ctx(key, user_id)
    try:
        if lib.EVP_DigestVerifyInit(md_ctx, None, _sm3_md(), None, key.handle) != 1:
            lib.ERR_clear_error()
            return False
        result = lib.EVP_DigestVerify(md_ctx, signature, len(signature), message, len(message))
        if result != 1:
            lib.ERR_clear_error()
        return bool(result == 1)
    finally:
        lib.EVP_MD_CTX_free(md_ctx)
        lib.EVP_PKEY_CTX_free(pkey_ctx)
