"""``tongban licence``: offline verification of a text or a QR image with saved trust and status
lists, and importing a key made by OpenSSL whose signatures then verify."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.factories import StaffUserFactory
from tests.licence_fixtures import LicenceWorld, world  # noqa: F401
from tongban.licences import qr, services, tokens
from tongban.licences.models import SealKey
from tongban.licences.online import verify_online
from tongban.licences.verification import Verdict

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("licence", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def _save(tmp_path: Path, *args: str) -> Path:
    path = tmp_path / f"{args[0]}.json"
    path.write_text(_run(*args)[1], encoding="utf-8")
    return path


def test_offline_verify_text_and_png(world: LicenceWorld, tmp_path: Path) -> None:  # noqa: F811
    trust = _save(tmp_path, "trust-list")
    status = _save(tmp_path, "status-list", str(world.licence.status_list_id))
    text = tokens.make_token(world.licence)
    code, out = _run("verify", text, "--trust-list", str(trust), "--status-list", str(status))
    assert code == 0
    assert "有效（valid）" in out
    png = tmp_path / "code.png"
    png.write_bytes(qr.png(text))
    code, out = _run("verify", str(png), "--trust-list", str(trust), "--json")
    assert code == 1
    assert json.loads(out)["verdict"] == "status_unknown"  # no status list given
    services.check_revoke(world.head, world.licence.number, "吊销")
    status = _save(tmp_path, "status-list", str(world.licence.status_list_id))
    code, out = _run("verify", str(png), "--trust-list", str(trust), "--status-list", str(status))
    assert code == 1
    assert "revoked" in out


def test_offline_verify_names_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "trust.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(CommandError, match=r"trust\.json"):
        _run("verify", "TB1:X", "--trust-list", str(bad))
    image = tmp_path / "blank.png"
    image.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    bad.write_text(json.dumps({"format": "tongban-trust-list/1", "keys": []}), encoding="utf-8")
    with pytest.raises(CommandError, match=r"blank\.png"):
        _run("verify", str(image), "--trust-list", str(bad))


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl command not installed")
def test_a_key_made_by_openssl_is_imported_and_signs(
    world: LicenceWorld,  # noqa: F811
    tmp_path: Path,
) -> None:
    pem = tmp_path / "seal.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "SM2", "-out", str(pem)], check=True)
    admin = StaffUserFactory(roles=["system_admin"])
    SealKey.objects.filter(department=world.department).update(state="withdrawn")
    code, out = _run(
        "import-key", str(pem), "--department", world.department.code, "--by", admin.username
    )
    assert code == 0
    assert "imported" in out
    key = SealKey.objects.get(department=world.department, state="active")
    public = subprocess.run(
        ["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"],
        check=True,
        capture_output=True,
    ).stdout
    assert bytes(key.public_key) == public
    licence = services.do_issue(world.licence_type, holder_person=world.holder.person, data={})
    assert verify_online(tokens.make_token(licence)).verdict == Verdict.VALID
    (tmp_path / "junk.pem").write_text("junk", encoding="utf-8")
    junk = ["import-key", str(tmp_path / "junk.pem"), "--department", world.department.code]
    with pytest.raises(CommandError, match="private_key"):
        _run(*junk, "--by", admin.username)
