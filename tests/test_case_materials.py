"""Material uploads are judged by content, limited in size, scanned, and only by the applicant."""

from __future__ import annotations

import io
import socket
import struct
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases import materials
from tongban.cases.materials import check_attach_material, sniff_format
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tongban.core.multipart import ReadablePartHeaders
from tongban.identity.models import Department

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def zipped(*names: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "<x/>")
    return buffer.getvalue()


def test_formats_are_read_from_content() -> None:
    assert sniff_format(PNG) == "png"
    assert sniff_format(PDF) == "pdf"
    assert sniff_format(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32) == "jpg"
    assert sniff_format(zipped("word/document.xml", "[Content_Types].xml")) == "docx"
    assert sniff_format(zipped("xl/workbook.xml")) == "xlsx"
    assert sniff_format(zipped("OFD.xml", "Doc_0/Document.xml")) == "ofd"
    assert sniff_format(zipped("notes.txt")) == "zip"
    assert sniff_format(b"MZ\x90\x00 this is a windows program") is None
    assert sniff_format(b"just some text pretending to be a pdf") is None


@pytest.fixture
def case(tmp_path: Path, settings: Any) -> Any:
    settings.MEDIA_ROOT = tmp_path / "media"
    import_catalog(sample(tmp_path / "catalog"))
    applicant = ApplicantFactory()
    draft = check_create_draft(applicant, item_code="SC-FOOD-001", division_code="330100")
    return draft


def test_applicant_uploads_a_real_pdf(case: Any) -> None:
    stored = check_attach_material(case.submitted_by, case.pk, "application", "申请书.pdf", PDF)
    assert stored.detected_format == "pdf"
    assert stored.size == len(PDF)
    assert Path(stored.file.path).read_bytes() == PDF
    again = check_attach_material(case.submitted_by, case.pk, "application", "申请书2.pdf", PDF)
    stored.refresh_from_db()
    assert stored.superseded
    assert not again.superseded


def test_a_file_that_lies_about_its_type_is_refused(case: Any) -> None:
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 100
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(case.submitted_by, case.pk, "application", "申请书.pdf", exe)
    assert info.value.errors[0].path == "file"
    assert "无法识别" in info.value.errors[0].message
    docx = zipped("word/document.xml")
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(case.submitted_by, case.pk, "application", "scan.png", docx)
    assert "docx" in info.value.errors[0].message
    assert not case.materials.exists()


def test_size_limit_and_unknown_material(case: Any) -> None:
    big = PDF + b"0" * (10 * 1024 * 1024)
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", big)
    assert "10 MB" in info.value.errors[0].message
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(case.submitted_by, case.pk, "passport", "a.pdf", PDF)
    assert info.value.errors[0].path == "material"


class Streamed:
    """An upload as Django hands it over: a declared size and chunks read on demand."""

    def __init__(self, chunks: list[bytes], size: int | None) -> None:
        self._chunks = chunks
        self.size = size
        self.read_chunks = 0

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        for chunk in self._chunks:
            self.read_chunks += 1
            yield chunk


def test_an_oversized_upload_is_refused_before_it_is_read(case: Any) -> None:
    limit = 10 * 1024 * 1024  # SC-FOOD-001's application: 10 MB
    declared = Streamed([PDF], size=limit + 1)
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", declared)
    assert [(e.path, e.message) for e in info.value.errors] == [("file", "文件超过 10 MB")]
    assert declared.read_chunks == 0  # judged by its declared size alone
    # a size that lies (or is missing): reading stops at the first chunk past the limit
    chunk = b"0" * (4 * 1024 * 1024)
    lying = Streamed([PDF, chunk, chunk, chunk, chunk, chunk], size=None)
    with pytest.raises(ValidationFailed):
        check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", lying)
    assert lying.read_chunks == 4
    assert not case.materials.exists()
    fits = Streamed([PDF[:10], PDF[10:]], size=len(PDF))
    stored = check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", fits)
    assert (stored.size, Path(stored.file.path).read_bytes()) == (len(PDF), PDF)


def test_an_oversized_upload_through_the_api_is_a_422_at_file(case: Any, client: Any) -> None:
    client.force_login(case.submitted_by)
    big = SimpleUploadedFile("big.pdf", PDF + b"0" * (10 * 1024 * 1024))
    response = client.post(f"/api/v1/cases/drafts/{case.pk}/materials/application", {"file": big})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"path": "file", "message": "文件超过 10 MB"}]
    assert not case.materials.exists()


class Trickle:
    """A request stream that hands over at most ``step`` bytes a read."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data, self._step = data, step

    def read(self, size: int = -1) -> bytes:
        n = self._step if size < 0 else min(size, self._step)
        out, self._data = self._data[:n], self._data[n:]
        return out


@pytest.mark.parametrize("step", [1, 2, 5, 13, 64 * 1024])
@pytest.mark.parametrize("read_size", [-1, 1, 7, 4096])
def test_only_part_headers_are_decoded_and_content_passes_unchanged(
    step: int, read_size: int
) -> None:
    boundary = b"bNd"
    # content holding bytes that are not UTF-8, the boundary without a line break before it,
    # a line break with half a delimiter, and a blank line
    content = b"\xff\xfe--bNd\r\n\r\n\r\n--bN\x00" + PDF
    body = (
        b'--bNd\r\nContent-Disposition: form-data; name="a"\r\n\r\n\xe4\xb8\xad\xff'
        b'\r\n--bNd\r\nContent-Disposition: form-data; name="f"; filename="\xff\xfe.pdf"\r\n'
        b"Content-Type: application/pdf\r\n\r\n" + content + b"\r\n--bNd--\r\n\xff epilogue"
    )
    stream = ReadablePartHeaders(Trickle(body, step), boundary)
    read = b""
    while chunk := stream.read(read_size):
        read += chunk
    expected = body.replace(b'filename="\xff\xfe.pdf"', 'filename="\ufffd\ufffd.pdf"'.encode())
    assert read == expected  # the field's value and the file's content are as sent


def _eicar(content: bytes) -> str | None:
    return "检测到恶意代码" if b"EICAR" in content else None


def _broken(content: bytes) -> str | None:
    raise ConnectionRefusedError("scanner down")


for _name, _scanner in (("test-eicar", _eicar), ("test-broken", _broken)):
    if _name not in materials.virus_scanners:
        materials.virus_scanners.register(_name)(_scanner)


def test_virus_scan_hook(case: Any, settings: Any) -> None:
    settings.TONGBAN_VIRUS_SCANNERS = ["test-eicar"]
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(
            case.submitted_by,
            case.pk,
            "application",
            "a.pdf",
            PDF + b"EICAR-STANDARD-ANTIVIRUS-TEST-FILE",
        )
    assert info.value.code == "infected"
    check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", PDF)


def test_a_failing_scanner_refuses_the_upload(case: Any, settings: Any, tmp_path: Path) -> None:
    """Fail closed: no verdict, no upload — and nothing stored."""
    settings.TONGBAN_VIRUS_SCANNERS = ["test-eicar", "test-broken"]
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", PDF)
    assert info.value.code == "scan_unavailable"
    assert info.value.errors[0].path == "file"
    assert not case.materials.exists()
    assert not [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    settings.TONGBAN_VIRUS_SCANNERS = []
    check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", PDF)


def test_an_unknown_scanner_name_fails_the_system_check(settings: Any) -> None:
    from tongban.cases.apps import check_virus_scanners

    settings.TONGBAN_VIRUS_SCANNERS = ["clamd", "clamav-typo"]
    [error] = check_virus_scanners()
    assert error.id == "cases.E001"
    assert "'clamav-typo'" in error.msg
    assert "clamd" in error.msg  # the known ones are listed
    settings.TONGBAN_VIRUS_SCANNERS = ["clamd"]
    assert check_virus_scanners() == []


class FakeClamd:
    """A clamd speaking INSTREAM on a local port: finds EICAR, or answers ``reply``."""

    def __init__(self, reply: bytes | None = None) -> None:
        self.reply = reply
        self.received = b""
        self.server = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.server.getsockname()[1]}"
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        conn, _ = self.server.accept()
        with conn, conn.makefile("rb") as stream:
            command = stream.read(len(b"zINSTREAM\0"))
            assert command == b"zINSTREAM\0"
            while size := struct.unpack("!L", stream.read(4))[0]:
                self.received += stream.read(size)
            found = b"EICAR" in self.received
            reply = self.reply or (b"stream: Eicar-Signature FOUND" if found else b"stream: OK")
            conn.sendall(reply + b"\0")
        self.server.close()


def test_the_clamd_scanner_speaks_instream(case: Any, settings: Any) -> None:
    from tongban.cases import scanners

    settings.TONGBAN_VIRUS_SCANNERS = ["clamd"]
    settings.TONGBAN_CLAMD_TIMEOUT = 5
    big = PDF + b"0" * (200 * 1024)  # more than one chunk
    clean = FakeClamd()
    settings.TONGBAN_CLAMD_ADDRESS = clean.address
    check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", big)
    clean.thread.join(5)
    assert clean.received == big
    infected = FakeClamd()
    settings.TONGBAN_CLAMD_ADDRESS = infected.address
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(case.submitted_by, case.pk, "application", "b.pdf", PDF + b"EICAR")
    assert info.value.code == "infected"
    assert "Eicar-Signature" in info.value.errors[0].message
    failing = FakeClamd(b"INSTREAM size limit exceeded. ERROR")
    with pytest.raises(scanners.ScannerUnavailable):
        scanners.clamd_scan(PDF, failing.address, 5)
    settings.TONGBAN_CLAMD_ADDRESS = failing.address  # served once: now nobody listens
    failing.thread.join(5)
    with pytest.raises(ValidationFailed) as info:
        check_attach_material(case.submitted_by, case.pk, "application", "c.pdf", PDF)
    assert info.value.code == "scan_unavailable"
    assert case.materials.filter(superseded=False).get().original_name == "a.pdf"


def test_only_the_applicant_uploads_and_only_while_editable(case: Any) -> None:
    with pytest.raises(NotFound):
        check_attach_material(ApplicantFactory(), case.pk, "application", "a.pdf", PDF)
    window = StaffUserFactory(department=Department.objects.get(code="3301-SCJG"), roles=["window"])
    submitted = submit_draft(case.submitted_by, case.pk)
    with pytest.raises(PermissionDenied):
        check_attach_material(window, case.pk, "application", "a.pdf", PDF)
    check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", PDF)
    assert submitted.events.filter(action="attach_material").count() == 1
    perform(window, submitted.number, "accept")
    with pytest.raises(Conflict):
        check_attach_material(case.submitted_by, case.pk, "application", "a.pdf", PDF)
