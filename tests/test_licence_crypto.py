"""E-seal cryptography: SM2/SM3 with the default user ID (GB/T 32918.2, GB/T 35276) and
Ed25519, private keys wrapped at rest, COSE_Sign1 — and interop with OpenSSL both ways."""

from __future__ import annotations

import base64
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import override_settings

from tongban.licences import base45, cose
from tongban.licences.crypto import algorithms, keywrap, sm2

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl command not installed")


def _openssl(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], input=stdin, capture_output=True, check=False)


@pytest.mark.parametrize("algorithm", ["sm2", "ed25519"])
def test_sign_and_verify_round_trip(algorithm: str) -> None:
    private = algorithms.generate(algorithm)
    public = algorithms.load_public(algorithm, private.public_der())
    signature = private.sign(b"licence")
    assert public.verify(b"licence", signature)
    assert not public.verify(b"licencf", signature)
    assert not public.verify(b"licence", signature[:-1] + bytes([signature[-1] ^ 1]))
    reloaded = algorithms.load_private(algorithm, private.pkcs8_der())
    assert public.verify(b"x", reloaded.sign(b"x"))


def test_sm2_signature_depends_on_the_user_id() -> None:
    """Z_A covers the ID: a signature made with another ID does not verify (not plain ECDSA)."""
    key = sm2.generate()
    other_id = sm2.sign(key, b"message", user_id=b"ALICE123@YAHOO.COM")
    assert sm2.verify(key, b"message", other_id, user_id=b"ALICE123@YAHOO.COM")
    assert not sm2.verify(key, b"message", other_id)


def test_key_bytes_of_the_wrong_kind_are_refused() -> None:
    ed = algorithms.generate("ed25519")
    with pytest.raises(algorithms.KeyFormatError):
        algorithms.load_public("sm2", ed.public_der())
    with pytest.raises(algorithms.KeyFormatError):
        algorithms.load_private("ed25519", algorithms.generate("sm2").pkcs8_der())
    with pytest.raises(algorithms.KeyFormatError):
        algorithms.load_public("sm2", b"\x30\x03garbage")
    with pytest.raises(algorithms.KeyFormatError):
        algorithms.check_algorithm("rsa")


@needs_openssl
def test_openssl_verifies_a_tongban_cose_signature(tmp_path: Path) -> None:
    """Export Sig_structure, signature and public key; OpenSSL verifies with distid."""
    private = algorithms.generate("sm2")
    protected = cose.protected_header(algorithms.COSE_ALG_SM2_SM3, b"\x01" * 8)
    payload = b"\xa1\x62no\x66LT-001"
    to_sign = cose.sig_structure(protected, payload)
    signature = private.sign(to_sign)
    message = cose.decode(cose.encode(protected, payload, signature))
    (tmp_path / "pub.der").write_bytes(private.public_der())
    (tmp_path / "tbs").write_bytes(message.sig_structure())
    (tmp_path / "sig").write_bytes(message.signature)
    args = ["pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.der"), "-keyform"]
    args += ["DER", "-rawin", "-digest", "sm3", "-pkeyopt", "distid:1234567812345678"]
    args += ["-in", str(tmp_path / "tbs"), "-sigfile", str(tmp_path / "sig")]
    result = _openssl(*args)
    assert result.returncode == 0, result.stderr
    assert b"Verified Successfully" in result.stdout
    (tmp_path / "tbs").write_bytes(message.sig_structure() + b"!")
    assert _openssl(*args).returncode != 0


@needs_openssl
def test_a_signature_made_by_openssl_with_an_imported_key_verifies_in_tongban(
    tmp_path: Path,
) -> None:
    assert (
        _openssl("genpkey", "-algorithm", "SM2", "-out", str(tmp_path / "key.pem")).returncode == 0
    )
    pem = (tmp_path / "key.pem").read_bytes()
    imported = algorithms.load_private("sm2", algorithms.pem_to_der(pem))
    protected = cose.protected_header(algorithms.COSE_ALG_SM2_SM3, b"\x02" * 8)
    to_sign = cose.sig_structure(protected, b"\xa1\x62no\x63X-1")
    (tmp_path / "tbs").write_bytes(to_sign)
    signed = _openssl(
        "pkeyutl", "-sign", "-inkey", str(tmp_path / "key.pem"), "-rawin", "-digest", "sm3",
        "-pkeyopt", "distid:1234567812345678", "-in", str(tmp_path / "tbs"),
        "-out", str(tmp_path / "sig"),
    )  # fmt: skip
    assert signed.returncode == 0, signed.stderr
    signature = (tmp_path / "sig").read_bytes()
    public = algorithms.load_public("sm2", imported.public_der())
    assert public.verify(to_sign, signature)
    assert not public.verify(to_sign + b"x", signature)


def test_wrapped_keys_unwrap_only_with_their_key_id_and_kek() -> None:
    wrapper = keywrap.backend("local")
    secret = algorithms.generate("sm2").pkcs8_der()
    wrapped = wrapper.wrap(secret, "kid-1")
    assert secret not in wrapped
    assert wrapper.unwrap(wrapped, "kid-1") == secret
    with pytest.raises(keywrap.KeyWrapError):
        wrapper.unwrap(wrapped, "kid-2")
    other_kek = base64.b64encode(b"k" * 32).decode()
    with override_settings(TONGBAN_LICENCE_KEK=other_kek), pytest.raises(keywrap.KeyWrapError):
        wrapper.unwrap(wrapped, "kid-1")
    with override_settings(TONGBAN_LICENCE_KEK="short"), pytest.raises(keywrap.KeyWrapError):
        wrapper.wrap(secret, "kid-1")


def test_production_refuses_to_sign_without_a_kek() -> None:
    with (
        override_settings(TONGBAN_LICENCE_KEK="", DEBUG=False, TESTING=False),
        pytest.raises(keywrap.KeyWrapError, match="TONGBAN_LICENCE_KEK"),
    ):
        keywrap.key_encryption_key()


def test_base45_matches_rfc_9285_examples() -> None:
    assert base45.encode(b"AB") == "BB8"
    assert base45.encode(b"Hello!!") == "%69 VD92EX0"
    assert base45.encode(b"ietf!") == "QED8WEX0"
    assert base45.decode("QED8WEX0") == b"ietf!"
    with pytest.raises(base45.Base45Error):
        base45.decode("GGW")  # 65535 < value
    with pytest.raises(base45.Base45Error):
        base45.decode("a")


def test_demo_kek_is_generated_once_in_the_var_dir(tmp_path: Path) -> None:
    with override_settings(TONGBAN_LICENCE_KEK="", VAR_DIR=tmp_path, TESTING=True):
        first = keywrap.key_encryption_key()
        assert (tmp_path / "licence-kek").stat().st_mode & 0o777 == 0o600
        assert keywrap.key_encryption_key() == first
        assert len(first) == 32
        assert not list(tmp_path.glob(".licence-kek.*"))
