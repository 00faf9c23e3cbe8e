"""Signed QR codes and their verification: valid, expired, revoked, superseded, tampered,
unknown issuer, status unknown — online and offline — and a fuzzed verifier that always gives
a verdict."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import cbor2
import pytest
from django.utils import timezone
from freezegun import freeze_time
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.licence_fixtures import LicenceWorld, world  # noqa: F401
from tongban.licences import base45, cose, offline, qr, seals, services, statuslist, tokens
from tongban.licences.crypto import algorithms
from tongban.licences.models import Licence, SealKey
from tongban.licences.online import DatabaseStatus, DatabaseTrust, verify_online
from tongban.licences.verification import Verdict, _verify, verify_token

pytestmark = pytest.mark.django_db


def test_a_fresh_static_code_verifies_online(world: LicenceWorld) -> None:  # noqa: F811
    text = tokens.make_token(world.licence)
    assert text.startswith("TB1:")
    result = verify_online(text)
    assert result.verdict == Verdict.VALID, result.reason
    assert result.details["number"] == world.licence.number
    assert result.details["holder"] != world.licence.holder_name  # masked
    assert result.details["department"] == world.department.name


def test_ed25519_departments_verify_too(world: LicenceWorld) -> None:  # noqa: F811
    other = world.other_department
    seals.do_create_seal_key(other, algorithm="ed25519")
    licence_type = world.licence_type
    licence_type.department = other
    licence_type.save()
    licence = services.do_issue(licence_type, holder_person=world.holder.person, data={})
    assert licence.seal_key.algorithm == "ed25519"
    assert verify_online(tokens.make_token(licence)).verdict == Verdict.VALID


def test_a_rendered_png_is_read_by_an_independent_decoder_and_verifies(
    world: LicenceWorld,  # noqa: F811
) -> None:
    text = tokens.make_token(world.licence)
    image = qr.png(text)
    assert image.startswith(b"\x89PNG")
    assert qr.decode_image(image) == text
    assert verify_online(qr.decode_image(image)).verdict == Verdict.VALID
    with pytest.raises(qr.QRImageError):
        qr.decode_image(b"not an image")


def test_tampering_with_a_licence_field_in_the_database_is_detected(
    world: LicenceWorld,  # noqa: F811
) -> None:
    text = tokens.make_token(world.licence)
    Licence.objects.filter(pk=world.licence.pk).update(data={"scope": "全部商品", "address": "x"})
    result = verify_online(text)
    assert result.verdict == Verdict.TAMPERED
    assert "不一致" in result.reason
    # a code freshly made from the altered row fails against the content seal
    tampered = Licence.objects.get(pk=world.licence.pk)
    assert verify_online(tokens.make_token(tampered)).verdict == Verdict.TAMPERED
    Licence.objects.filter(pk=world.licence.pk).update(holder_name="冒名")
    assert verify_online(text).verdict == Verdict.TAMPERED


def test_revocation_is_reported_with_its_reason(world: LicenceWorld) -> None:  # noqa: F811
    text = tokens.make_token(world.licence)
    services.check_revoke(world.head, world.licence.number, "以欺骗手段取得许可")
    result = verify_online(text)
    assert result.verdict == Verdict.REVOKED
    assert "以欺骗手段取得许可" in result.reason
    assert statuslist.is_revoked(world.licence.status_list_id, world.licence.status_index)


def test_a_changed_licence_makes_old_codes_superseded(world: LicenceWorld) -> None:  # noqa: F811
    old = tokens.make_token(world.licence)
    services.check_change(world.clerk, world.licence.number, {"scope": "餐饮服务"}, "经营范围变更")
    assert verify_online(old).verdict == Verdict.SUPERSEDED
    fresh = tokens.make_token(Licence.objects.get(pk=world.licence.pk))
    assert verify_online(fresh).verdict == Verdict.VALID


def test_the_dynamic_code_expires_after_sixty_seconds(world: LicenceWorld) -> None:  # noqa: F811
    start = timezone.now()
    text = tokens.make_token(world.licence, dynamic=True, now=start)
    assert verify_online(text, now=start + dt.timedelta(seconds=59)).verdict == Verdict.VALID
    late = verify_online(text, now=start + dt.timedelta(seconds=61))
    assert late.verdict == Verdict.EXPIRED
    assert "截图" in late.reason


def test_an_expired_licence_is_expired(world: LicenceWorld) -> None:  # noqa: F811
    text = tokens.make_token(world.licence)
    after = dt.datetime.combine(
        world.licence.valid_until + dt.timedelta(days=2), dt.time(), tzinfo=dt.UTC
    )
    result = verify_online(text, now=after)
    assert result.verdict == Verdict.EXPIRED
    assert "有效期" in result.reason


def test_a_bad_signature_is_tampering(world: LicenceWorld) -> None:  # noqa: F811
    message = cose.decode(base45.decode(tokens.make_token(world.licence)[4:]))
    forged_claims = cose.decode_claims(message.payload)
    forged_claims["no"] = world.enterprise_licence.number
    forged = cose.encode(message.protected, cbor2.dumps(forged_claims), message.signature)
    result = verify_online("TB1:" + base45.encode(forged))
    assert result.verdict == Verdict.TAMPERED
    assert "签章验证不通过" in result.reason


def test_unknown_and_withdrawn_keys_are_not_trusted(world: LicenceWorld) -> None:  # noqa: F811
    stranger = algorithms.generate("sm2")
    protected = cose.protected_header(algorithms.COSE_ALG_SM2_SM3, b"\x09" * 8)
    payload = cbor2.dumps(tokens.claims_for(world.licence, dynamic=False, now=timezone.now()))
    signature = stranger.sign(cose.sig_structure(protected, payload))
    text = "TB1:" + base45.encode(cose.encode(protected, payload, signature))
    assert verify_online(text).verdict == Verdict.UNKNOWN_ISSUER

    genuine = tokens.make_token(world.licence)
    seals.check_withdraw_seal_key(world.head, world.licence.seal_key.kid, "密钥介质遗失")
    result = verify_online(genuine)
    assert result.verdict == Verdict.UNKNOWN_ISSUER
    assert "撤销" in result.reason


def test_rotation_keeps_old_codes_valid_and_signs_with_the_new_key_after_activation(
    world: LicenceWorld,  # noqa: F811
) -> None:
    old_key = world.licence.seal_key
    old_code = tokens.make_token(world.licence)
    new_key = seals.check_rotate_seal_key(world.head, world.department)
    assert new_key.not_before > timezone.now()  # published before use
    assert seals.signing_key(world.department).kid == old_key.kid
    listed = {k["kid"] for k in seals.trust_list()["keys"]}
    assert {old_key.kid, new_key.kid} <= listed
    later = new_key.not_before + dt.timedelta(minutes=1)
    with freeze_time(later):
        assert seals.signing_key(world.department).kid == new_key.kid
        assert verify_online(old_code).verdict == Verdict.VALID
        assert verify_online(tokens.make_token(world.licence)).verdict == Verdict.VALID
    with pytest.raises(Exception, match="负责人"):
        seals.check_rotate_seal_key(world.outsider, world.department)


def _files(tmp_path: Path, *, status: bool = True) -> tuple[offline.FileTrust, offline.FileStatus]:
    trust_path = tmp_path / "trust.json"
    trust_path.write_text(json.dumps(seals.trust_list()), encoding="utf-8")
    documents = []
    if status:
        documents = [
            statuslist.document(pk)
            for pk in statuslist.StatusList.objects.values_list("pk", flat=True)
        ]
    return offline.FileTrust(offline.load_json(trust_path)), offline.FileStatus(documents)  # type: ignore[arg-type]


def test_offline_verification_with_fresh_stale_and_missing_status(
    world: LicenceWorld,  # noqa: F811
    tmp_path: Path,
) -> None:
    text = tokens.make_token(world.licence)
    now = timezone.now()
    trust, status = _files(tmp_path)
    assert offline.verify_offline(text, trust, status, now=now).verdict == Verdict.VALID
    stale = offline.verify_offline(text, trust, status, now=now + dt.timedelta(hours=2))
    assert stale.verdict == Verdict.STATUS_UNKNOWN
    trust, no_status = _files(tmp_path, status=False)
    assert offline.verify_offline(text, trust, no_status, now=now).verdict == Verdict.STATUS_UNKNOWN
    services.check_revoke(world.head, world.licence.number, "违法经营")
    trust, status = _files(tmp_path)
    assert offline.verify_offline(text, trust, status, now=now).verdict == Verdict.REVOKED
    # a trust list past its cache time does not vouch for "valid"
    other = tokens.make_token(world.enterprise_licence)
    late = now + dt.timedelta(hours=25)
    fresh_status = offline.FileStatus([statuslist.document(world.licence.status_list_id, now=late)])  # type: ignore[list-item]
    assert (
        offline.verify_offline(other, trust, fresh_status, now=late).verdict
        == Verdict.STATUS_UNKNOWN
    )


# --- fuzzing: every input gets a verdict, never an exception -------------------------------------


def _inner(text: str) -> Verdict:
    # the inner function, without the catch-all, so an exception would fail the test
    return _verify(
        text, DatabaseTrust(), DatabaseStatus(), now=timezone.now(), extra_check=None
    ).verdict


@given(st.text(max_size=300))
def test_fuzz_random_text(text: str) -> None:
    assert _inner(text) in {Verdict.MALFORMED}


@given(st.binary(max_size=400))
def test_fuzz_random_bytes_behind_the_prefix(data: bytes) -> None:
    assert _inner("TB1:" + base45.encode(data)) in set(Verdict) - {Verdict.VALID}


@given(st.text(alphabet=base45.ALPHABET, max_size=300))
def test_fuzz_malformed_base45(text: str) -> None:
    assert _inner("TB1:" + text) in set(Verdict) - {Verdict.VALID}


@pytest.fixture
def genuine(world: LicenceWorld) -> bytes:  # noqa: F811
    return base45.decode(tokens.make_token(world.licence)[4:])


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # read-only fixture
@given(cut=st.integers(min_value=0, max_value=400), flip=st.integers(min_value=0, max_value=4000))
def test_fuzz_truncated_and_bit_flipped_codes(genuine: bytes, cut: int, flip: int) -> None:
    truncated = genuine[: cut % len(genuine)]
    assert _inner("TB1:" + base45.encode(truncated)) != Verdict.VALID
    mutated = bytearray(genuine)
    mutated[(flip // 8) % len(mutated)] ^= 1 << (flip % 8)
    assert _inner("TB1:" + base45.encode(bytes(mutated))) != Verdict.VALID


@given(
    kid=st.binary(min_size=1, max_size=40),
    claims=st.dictionaries(
        st.text(max_size=3),
        st.integers() | st.text(max_size=5) | st.binary(max_size=20),
        max_size=8,
    ),
)
def test_fuzz_wrong_kid_and_claims(kid: bytes, claims: dict[str, object]) -> None:
    protected = cose.protected_header(algorithms.COSE_ALG_SM2_SM3, kid)
    text = "TB1:" + base45.encode(cose.encode(protected, cbor2.dumps(claims), b"\x30" * 70))
    assert _inner(text) in {Verdict.MALFORMED, Verdict.UNKNOWN_ISSUER}


def test_oversized_input_is_refused_cleanly() -> None:
    result = verify_token(
        "TB1:" + "A" * 100_000, DatabaseTrust(), DatabaseStatus(), now=timezone.now()
    )
    assert result.verdict == Verdict.MALFORMED
    assert SealKey.objects.count() == 0


def test_private_keys_are_stored_wrapped(world: LicenceWorld) -> None:  # noqa: F811
    key = world.licence.seal_key
    private = seals.private_key(key).pkcs8_der()
    stored = bytes(key.wrapped_private_key or b"")
    assert private not in stored
    assert private[-32:] not in stored  # not even the key's last bytes
    assert key.kms == "local"
    assert seals.kid_for(bytes(key.public_key)) == key.kid
