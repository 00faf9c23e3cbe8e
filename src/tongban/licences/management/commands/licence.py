"""``tongban licence verify|trust-list|status-list|import-key``: e-licence tools for the command
line.

``verify CODE --trust-list FILE [--status-list FILE …]`` checks a QR text, or a PNG/JPEG file
holding the QR, **offline**: keys come from a saved trust list (``GET
/api/v1/licences/trust-list``) and revocation from saved status lists; without a fresh status
list the answer is "status unknown", never "valid". It prints the verdict and the reason (JSON
with ``--json``) and exits 0 only for a valid licence. ``trust-list`` and ``status-list ID``
print what the API publishes; ``import-key`` stores a private key made elsewhere (OpenSSL, a
UKey export) as a department's e-seal key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from tongban.core.errors import DomainError
from tongban.identity.models import Department, User
from tongban.licences import offline, qr, seals, statuslist


def _read_code(value: str) -> str:
    path = Path(value)
    if value.startswith("TB1:") or not path.exists():
        return value
    data = path.read_bytes()
    if data[:4] == b"TB1:":
        return data.decode("ascii", errors="replace").strip()
    try:
        return qr.decode_image(data)
    except qr.QRImageError as exc:
        raise CommandError(f"{path}: {exc}") from exc


class Command(BaseCommand):
    help = "E-licence tools: offline verification, trust and status lists, key import."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        verify = sub.add_parser("verify", help="verify a QR text or image offline")
        verify.add_argument("code", help="the QR text (TB1:…) or a PNG/JPEG file with the QR")
        verify.add_argument("--trust-list", type=Path, required=True)
        verify.add_argument("--status-list", type=Path, action="append", default=[])
        verify.add_argument("--json", action="store_true")
        sub.add_parser("trust-list", help="print the trust list as published")
        status = sub.add_parser("status-list", help="print a status list as published")
        status.add_argument("list_id", type=int)
        imported = sub.add_parser("import-key", help="import a PKCS#8 private key (PEM or DER)")
        imported.add_argument("file", type=Path)
        imported.add_argument("--department", required=True, help="department code")
        imported.add_argument("--algorithm", default="sm2", choices=["sm2", "ed25519"])
        imported.add_argument("--by", required=True, help="account name of the administrator")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "verify":
            self._verify(options)
        elif action == "trust-list":
            self.stdout.write(json.dumps(seals.trust_list(), ensure_ascii=False, indent=2))
        elif action == "status-list":
            document = statuslist.document(options["list_id"])
            if document is None:
                raise CommandError(f"no status list {options['list_id']}")
            self.stdout.write(json.dumps(document, indent=2))
        else:
            self._import(options)

    def _verify(self, options: dict[str, Any]) -> None:
        try:
            trust = offline.FileTrust(offline.load_json(options["trust_list"]))
        except offline.TrustListError as exc:
            raise CommandError(f"{options['trust_list']}: {exc}") from exc
        documents = []
        for path in options["status_list"]:
            try:
                documents.append(offline.load_json(path))
                status = offline.FileStatus(documents)
            except (offline.TrustListError, statuslist.StatusDocumentError) as exc:
                raise CommandError(f"{path}: {exc}") from exc
        status = offline.FileStatus(documents)
        result = offline.verify_offline(
            _read_code(options["code"]), trust, status, now=timezone.now()
        )
        if options["json"]:
            body = {
                "verdict": str(result.verdict),
                "label": result.label,
                "reason": result.reason,
                "details": result.details,
            }
            self.stdout.write(json.dumps(body, ensure_ascii=False, indent=2))
        else:
            self.stdout.write(f"{result.label}（{result.verdict}）：{result.reason}")
            for key, value in result.details.items():
                self.stdout.write(f"  {key}: {value}")
        if not result.ok:
            sys.exit(1)

    def _import(self, options: dict[str, Any]) -> None:
        department = Department.objects.filter(code=options["department"]).first()
        if department is None:
            raise CommandError(f"no department {options['department']}")
        actor = User.objects.filter(username=options["by"]).first()
        if actor is None:
            raise CommandError(f"no account {options['by']}")
        try:
            key = seals.check_import_seal_key(
                actor, department, options["algorithm"], options["file"].read_bytes()
            )
        except OSError as exc:
            raise CommandError(f"{options['file']}: {exc}") from exc
        except DomainError as exc:
            detail = "; ".join(f"{e.path}: {e.message}" for e in exc.errors) or exc.message
            raise CommandError(f"{options['file']}: {detail}") from exc
        self.stdout.write(f"imported {key.kid} ({key.algorithm}) for {department.name}")
