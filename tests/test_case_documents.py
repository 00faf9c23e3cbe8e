"""办件文书: the notices and decisions a case's events issue, read back from the PDFs (item, dates,
listed materials, reasons, legal basis, remedies), their numbers, downloads from the API, the
applicant space and the workbench with the permission matrix, and who sees the applicant in full.

Page 1 of each kind is rendered to ``test-artifacts/notices/*.png`` when ``pdftoppm`` (Debian
poppler-utils) is installed, for people to look at.
"""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time
from pypdf import PdfReader

from tests.catalog_fixtures import BODIES, sample, write_catalog
from tests.factories import (
    ApplicantFactory,
    EnterpriseAgentFactory,
    StaffUserFactory,
    answer_correction,
)
from tongban.cases import documents
from tongban.cases.models import Case, CaseTask, TaskState
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import NotFound
from tongban.core.masking import mask_id_number
from tongban.identity.models import Department, PersonalDataAccess

pytestmark = pytest.mark.django_db

ANSWERS = {"entity": "individual", "area": 120, "cold": False}
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "notices"
REFUSAL_BASIS = "《中华人民共和国行政许可法》第三十二条第一款第（二）项"
DENIAL_BASIS = "《中华人民共和国食品安全法》第三十五条"


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        self.applicant = ApplicantFactory()
        self.stranger = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.scjg = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga = StaffUserFactory(department=ga, roles=["reviewer"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.supervisor = StaffUserFactory(department=ga, roles=["supervisor"])
        self.outsider = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["reviewer", "window", "department_head", "supervisor"],
        )


@pytest.fixture
def people(tmp_path: Path) -> People:
    import_catalog(sample(tmp_path))
    return People()


def new_case(people: People) -> Case:
    draft = check_create_draft(
        people.applicant, item_code="SC-FOOD-001", division_code="330100", answers=ANSWERS
    )
    return submit_draft(people.applicant, draft.pk)


def open_task(case: Case, department: str) -> CaseTask:
    return case.tasks.get(department__code=department, state=TaskState.OPEN)


def review(people: People, case: Case) -> None:
    """Stage 1 (SCJG and GA in parallel), then stage 2 (SCJG): the case awaits a decision."""
    steps = [(people.ga, "3301-GA"), (people.scjg, "3301-SCJG"), (people.scjg, "3301-SCJG")]
    for user, department in steps:
        perform(user, case.number, "approve_task", {"task": open_task(case, department).pk})


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages).replace("\n", "")


def pdf_of(case: Case, key: str, actor: Any, *, progress_url: str = "") -> bytes:
    number = case.number or ""
    return documents.check_download_notice(actor, number, key, progress_url=progress_url).content


def keep_artifact(name: str, data: bytes) -> None:
    """Page 1 as PNG for people to look at (needs pdftoppm; not an assertion)."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    source = ARTIFACTS / f"{name}.pdf"
    source.write_bytes(data)
    subprocess.run(
        [pdftoppm, "-png", "-r", "80", "-singlefile", source, source.with_suffix("")],
        check=False,
        timeout=60,
    )


# --- the documents ------------------------------------------------------------------------------


@freeze_time("2025-01-24 10:00:00+08:00")
def test_correction_acceptance_and_approval_notices_say_what_happened(people: People) -> None:
    case = new_case(people)
    assert documents.notices_of(case) == []
    perform(
        people.window,
        case.number,
        "request_correction",
        {
            "items": [
                {"material": "application", "problem": "申请书缺少经营者签字"},
                {"material": "id_card", "problem": "身份证复印件模糊，无法辨认"},
            ]
        },
    )
    answer_correction(people.applicant, case.number, "application", "id_card")
    perform(people.window, case.number, "accept")
    review(people, case)
    perform(people.head, case.number, "decide", {"outcome": "approved"})

    notices = documents.notices_of(case)
    assert [(n.kind.slug, n.number) for n in notices] == [
        ("correction", "〔2025〕补字第 330100-20250124-00001 号"),
        ("acceptance", "〔2025〕受字第 330100-20250124-00001 号"),
        ("approval", "〔2025〕准许字第 330100-20250124-00001 号"),
    ]
    person = people.applicant.person

    correction = pdf_of(case, "correction", people.applicant)
    keep_artifact("correction", correction)
    text = text_of(correction)
    for expected in (
        "补正告知书",
        "〔2025〕补字第 330100-20250124-00001 号",
        f"{person.name}：",
        "食品经营许可（餐饮服务）",
        "2025年1月24日",
        "一次性告知",
        "共2项",
        "食品经营许可申请书",
        "申请书缺少经营者签字",
        "经营者身份证明",
        "身份证复印件模糊，无法辨认",
        "我的办件",
        "杭州市市场监督管理局受理窗口",
        person.id_number,
        "杭州市市场监督管理局",
        "二〇二五年一月二十四日",
    ):
        assert expected in text, expected

    progress = f"http://testserver/my/cases/{case.number}/"
    acceptance = pdf_of(case, "acceptance", people.applicant, progress_url=progress)
    keep_artifact("acceptance", acceptance)
    text = text_of(acceptance)
    # Friday 24 Jan 2025 + 10 working days from the next day, across the Spring Festival
    for expected in (
        "受理通知书",
        "决定予以受理",
        "第三十二条第一款第（五）项",
        "自受理之日起10个工作日内（2025年2月13日前）",
        "扫码查看办理进度",
        "受理日期",
        "2025年1月24日",
        "2025年2月13日",
    ):
        assert expected in text, expected

    approval = pdf_of(case, "approval", people.applicant)
    keep_artifact("approval", approval)
    text = text_of(approval)
    for expected in (
        "准予行政许可决定书",
        "决定准予行政许可",
        "第三十八条第一款",
        "《中华人民共和国食品安全法》第三十五条",  # the item's legal basis
        "食品经营许可证",
    ):
        assert expected in text, expected
    for data in (correction, acceptance, approval):
        assert 1 <= len(PdfReader(io.BytesIO(data)).pages) <= 3


@freeze_time("2025-01-24 10:00:00+08:00")
def test_refusal_gives_reasons_basis_and_the_statutory_remedy_periods(people: People) -> None:
    case = new_case(people)
    perform(
        people.window,
        case.number,
        "refuse",
        {"reason": "申请事项依法不需要取得行政许可", "legal_basis": REFUSAL_BASIS},
    )
    data = pdf_of(case, "refusal", people.applicant)
    keep_artifact("refusal", data)
    text = text_of(data)
    for expected in (
        "不予受理决定书",
        "〔2025〕不受字第 330100-20250124-00001 号",
        "决定不予受理",
        "申请事项依法不需要取得行政许可",
        REFUSAL_BASIS,
        "六十日内依法申请行政复议",
        "六个月内依法向人民法院提起行政诉讼",
    ):
        assert expected in text, expected
    with pytest.raises(NotFound, match="受理通知书"):
        pdf_of(case, "acceptance", people.applicant)


@freeze_time("2025-01-24 10:00:00+08:00")
def test_denial_gives_reasons_basis_and_remedies(people: People) -> None:
    case = new_case(people)
    perform(people.window, case.number, "accept")
    review(people, case)
    perform(
        people.head,
        case.number,
        "decide",
        {
            "outcome": "denied",
            "reason": "经营场所与食品经营品种不相适应",
            "legal_basis": DENIAL_BASIS,
        },
    )
    data = pdf_of(case, "denial", people.applicant)
    keep_artifact("denial", data)
    text = text_of(data)
    for expected in (
        "不予行政许可决定书",
        "〔2025〕不许字第 330100-20250124-00001 号",
        "决定不予行政许可",
        "第三十八条第二款",
        "经营场所与食品经营品种不相适应",
        DENIAL_BASIS,
        "六十日内",
        "六个月内",
    ):
        assert expected in text, expected
    assert [n.kind.slug for n in documents.notices_of(case)] == ["acceptance", "denial"]
    with pytest.raises(NotFound):
        pdf_of(case, "approval", people.applicant)


@freeze_time("2025-01-24 10:00:00+08:00")
def test_second_correction_gets_its_own_number_and_address(people: People) -> None:
    case = new_case(people)
    items = [{"material": "application", "problem": "缺少签字"}]
    perform(people.window, case.number, "request_correction", {"items": items})
    answer_correction(people.applicant, case.number, "application")
    perform(people.window, case.number, "request_correction", {"items": items})
    first, second = documents.notices_of(case)
    assert first.number == "〔2025〕补字第 330100-20250124-00001 号"
    assert second.number == "〔2025〕补字第 330100-20250124-00001-2 号"
    assert second.filename(case) == "补正告知书-330100-20250124-00001-2.pdf"
    latest = documents.check_download_notice(people.applicant, case.number, "correction")
    by_event = documents.check_download_notice(people.applicant, case.number, second.key)
    assert latest.content == by_event.content
    assert second.number in text_of(latest.content)
    assert first.number in text_of(pdf_of(case, first.key, people.applicant))
    for bad in ("correction-999", "correction-x", "nonsense", "acceptance"):
        with pytest.raises(NotFound):
            pdf_of(case, bad, people.applicant)


def test_the_same_event_renders_to_the_same_bytes(people: People) -> None:
    case = new_case(people)
    perform(people.window, case.number, "accept")
    assert pdf_of(case, "acceptance", people.applicant) == pdf_of(
        case, "acceptance", people.applicant
    )


# --- downloads and who may see what ---------------------------------------------------------------


def client_for(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def accepted(people: People) -> Case:
    case = new_case(people)
    return perform(people.window, case.number, "accept")


def test_api_lists_and_downloads_for_who_may_see_the_case(people: People, accepted: Case) -> None:
    number = accepted.number
    listing = f"/api/v1/cases/{number}/notices"
    pdf_url = f"/api/v1/cases/{number}/notices/acceptance.pdf"
    assert client_for(None).get(listing).status_code == 401
    assert client_for(None).get(pdf_url).status_code == 401
    for stranger in (people.stranger, people.outsider):
        assert client_for(stranger).get(listing).status_code == 404
        assert client_for(stranger).get(pdf_url).status_code == 404
    for allowed in (people.applicant, people.window, people.ga, people.supervisor):
        response = client_for(allowed).get(listing)
        assert response.status_code == 200
        [row] = response.json()
        assert row["kind"] == "acceptance"
        assert row["title"] == "受理通知书"
        assert row["document_number"] == f"〔{accepted.accepted_at.year}〕受字第 {number} 号"
        assert row["url"] == f"/api/v1/cases/{number}/notices/{row['key']}.pdf"
        response = client_for(allowed).get(row["url"])
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response["Cache-Control"] == "private, no-store"
        assert response["Content-Disposition"] == (
            f'attachment; filename="acceptance-{number}.pdf"; '
            f"filename*=UTF-8''{quote(f'受理通知书-{number}.pdf')}"
        )
        assert response.content.startswith(b"%PDF-")
    missing = client_for(people.applicant).get(f"/api/v1/cases/{number}/notices/approval.pdf")
    assert missing.status_code == 404
    assert missing.json()["code"] == "notice_not_found"


def test_applicant_and_handling_staff_get_the_full_document_supervisors_a_masked_copy(
    people: People, accepted: Case
) -> None:
    person = people.applicant.person
    assert not PersonalDataAccess.objects.exists()
    own = text_of(pdf_of(accepted, "acceptance", people.applicant))
    assert person.name in own
    assert person.id_number in own
    assert not PersonalDataAccess.objects.exists()  # the applicant's own data

    staff = text_of(pdf_of(accepted, "acceptance", people.window))
    assert person.id_number in staff
    access = PersonalDataAccess.objects.get()
    assert (access.actor, access.person) == (people.window, person)
    assert access.purpose.startswith("下载办件文书：受理通知书 〔")

    masked_file = documents.check_download_notice(people.supervisor, accepted.number, "acceptance")
    assert masked_file.masked
    masked = text_of(masked_file.content)
    assert person.id_number not in masked
    assert mask_id_number(person.id_number) in masked
    assert PersonalDataAccess.objects.count() == 1  # nothing unmasked, nothing logged


def test_applicant_space_lists_and_serves_only_the_applicants_own_notices(
    people: People, accepted: Case
) -> None:
    number = accepted.number
    page_url = reverse("portal:my_case", args=[number])
    pdf_url = reverse("portal:my_notice", args=[number, "acceptance"])
    page = client_for(people.applicant).get(page_url)
    assert page.status_code == 200
    key = documents.notices_of(accepted)[0].key
    assert reverse("portal:my_notice", args=[number, key]) in page.content.decode()
    assert "受理通知书" in page.content.decode()
    response = client_for(people.applicant).get(pdf_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "受理通知书" in text_of(response.content)
    anonymous = client_for(None).get(pdf_url)
    assert anonymous.status_code == 302
    assert reverse("portal:login") in anonymous["Location"]
    assert client_for(people.stranger).get(pdf_url).status_code == 404
    assert client_for(people.window).get(pdf_url).status_code == 403  # staff use the workbench
    assert client_for(people.outsider).get(pdf_url).status_code == 403
    no_such = reverse("portal:my_notice", args=[number, "refusal"])
    assert client_for(people.applicant).get(no_such).status_code == 404


def test_workbench_case_page_lists_notices_and_serves_them_to_staff_who_may_see_the_case(
    people: People, accepted: Case
) -> None:
    number = accepted.number
    key = documents.notices_of(accepted)[0].key
    page_url = reverse("workbench:case", args=[number])
    pdf_url = reverse("workbench:notice", args=[number, key])
    page = client_for(people.window).get(page_url)
    assert page.status_code == 200
    assert pdf_url in page.content.decode()
    assert "记入个人信息访问记录" in page.content.decode()
    supervisor_page = client_for(people.supervisor).get(page_url)
    assert "脱敏副本" in supervisor_page.content.decode()

    for allowed in (people.window, people.scjg, people.ga, people.head, people.supervisor):
        response = client_for(allowed).get(pdf_url)
        assert response.status_code == 200, allowed
        assert response["Content-Type"] == "application/pdf"
    assert PersonalDataAccess.objects.filter(person=people.applicant.person).count() == 4
    anonymous = client_for(None).get(pdf_url)
    assert anonymous.status_code == 302
    assert client_for(people.applicant).get(pdf_url).status_code == 403
    assert client_for(people.outsider).get(pdf_url).status_code == 404
    no_such = reverse("workbench:notice", args=[number, "approval"])
    assert client_for(people.window).get(no_such).status_code == 404


def test_a_case_without_acceptance_has_no_acceptance_notice(people: People) -> None:
    case = new_case(people)
    assert client_for(people.applicant).get(f"/api/v1/cases/{case.number}/notices").json() == []
    response = client_for(people.applicant).get(
        f"/api/v1/cases/{case.number}/notices/acceptance.pdf"
    )
    assert response.status_code == 404
    assert response.json()["message"] == "该办件没有受理通知书"
    page = client_for(people.applicant).get(reverse("portal:my_case", args=[case.number]))
    assert "办件文书" not in page.content.decode()


# --- the other routes to a decision ------------------------------------------------------------


@pytest.fixture
def drainage(tmp_path: Path, settings: Any) -> People:
    from tests.test_case_routes import DRAINAGE

    settings.MEDIA_ROOT = tmp_path / "media"
    import_catalog(write_catalog(tmp_path / "catalog", bodies=BODIES, drainage=DRAINAGE))
    return People()


def drainage_case(people: People, **options: Any) -> Case:
    draft = check_create_draft(
        people.applicant, item_code="SW-DRAIN-001", division_code="330100", **options
    )
    return submit_draft(people.applicant, draft.pk)


@freeze_time("2025-03-03 10:00:00+08:00")
def test_acceptance_with_tolerated_materials_names_them_and_their_due_date(
    drainage: People,
) -> None:
    case = drainage_case(drainage)
    perform(
        drainage.window,
        case.number,
        "accept",
        {"tolerated": ["water_report"], "tolerance_days": 3},
    )
    text = text_of(pdf_of(case, "acceptance", drainage.applicant))
    for expected in ("容缺受理", "2025年3月6日前补交", "排水水质检测报告", "5个工作日"):
        assert expected in text, expected


@freeze_time("2025-03-03 10:00:00+08:00")
def test_approval_on_commitment_states_the_verification_due_date(drainage: People) -> None:
    case = drainage_case(drainage, commitment_materials=["drainage_plan"])
    perform(drainage.window, case.number, "approve_on_commitment", {"verify_within_days": 20})
    assert [n.kind.slug for n in documents.notices_of(case)] == ["approval"]
    text = text_of(pdf_of(case, "approval", drainage.applicant))
    for expected in (
        "准予行政许可决定书",
        "告知承诺制",
        "2025年3月31日前备齐所承诺的材料",
        "依法撤销本决定",
        "《城镇排水与污水处理条例》第二十一条",
    ):
        assert expected in text, expected


def test_instant_decisions_issue_approval_or_denial_at_once(tmp_path: Path) -> None:
    from tests.test_instant_decision import NIGHT_WORK

    import_catalog(write_catalog(tmp_path, bodies=BODIES, night=NIGHT_WORK))
    applicant = ApplicantFactory()

    def apply(**form: Any) -> Case:
        draft = check_create_draft(
            applicant, item_code="CG-NIGHT-001", division_code="330100", form_data=form
        )
        return submit_draft(applicant, draft.pk)

    approved = apply(consecutive_days="2", monthly_days=5)
    assert [n.kind.slug for n in documents.notices_of(approved)] == ["approval"]
    text = text_of(pdf_of(approved, "approval", applicant))
    assert "智能秒办" in text
    assert "符合条件且无违诺记录" in text
    denied = apply(consecutive_days=4, monthly_days=5)
    assert [n.kind.slug for n in documents.notices_of(denied)] == ["denial"]
    text = text_of(pdf_of(denied, "denial", applicant))
    assert "连续夜间施工不得超过3天" in text
    assert "示例：《武汉市夜间施工管理规定》" in text
    assert "六十日内" in text


def test_an_enterprise_notice_names_the_enterprise_and_logs_no_personal_data(
    people: People,
) -> None:
    agency = EnterpriseAgentFactory(person=people.applicant.person)
    draft = check_create_draft(
        people.applicant,
        item_code="SC-FOOD-001",
        division_code="330100",
        answers={"entity": "company", "area": 120, "cold": False},
        enterprise_uscc=agency.enterprise.uscc,
    )
    case = submit_draft(people.applicant, draft.pk)
    perform(people.window, case.number, "accept")
    for reader in (people.applicant, people.window, people.supervisor):
        text = text_of(pdf_of(case, "acceptance", reader))
        assert f"{agency.enterprise.name}：" in text
        assert agency.enterprise.uscc in text
        assert people.applicant.person.id_number not in text
    assert not PersonalDataAccess.objects.exists()
