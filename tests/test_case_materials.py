"""Material uploads are judged by content, limited in size, scanned, and only by the applicant."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases import materials
from tongban.cases.materials import check_attach_material, sniff_format
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
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


def test_virus_scan_hook(case: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    def eicar(content: bytes) -> str | None:
        return "检测到恶意代码" if b"EICAR" in content else None

    if "test-eicar" not in materials.virus_scanners:
        materials.virus_scanners.register("test-eicar")(eicar)
    monkeypatch.setattr(materials, "ACTIVE_SCANNERS", ["test-eicar"])
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
