"""One case from application to 办结 in a real browser, with every party signing in through the
portal's login form: the applicant applies for a food business licence (two departments review in
parallel in stage 1, one in stage 2), uploads a PDF and submits; the window issues a 补正 naming
that material; the applicant supplements; the window accepts; the two reviewers approve at the
same time from two browsers; the stage-2 review; the department head approves; the window
delivers and closes; the applicant reads the timeline. Also on a phone in 长辈模式.

Screenshots for review: ``test-artifacts/screenshots/case-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser

ITEM = "SC-FOOD-001"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
GUIDE = f"/items/{ITEM}/guide/?a_entity=individual&a_area=120&a_cold=no"


def tiny_pdf(text: str) -> bytes:
    """A small, well-formed one-page PDF (with a correct cross-reference table)."""
    stream = f"BT /F1 18 Tf 30 100 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


class Cast:
    """The people of the story (accounts made with the factories' password)."""

    def __init__(self) -> None:
        from tests.factories import ApplicantFactory, PersonFactory, StaffUserFactory
        from tongban.identity.models import Department

        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        self.applicant = ApplicantFactory(
            username="zhang.wei", person=PersonFactory(name="张伟", mobile="13812345678")
        )
        self.window = StaffUserFactory(
            username="window", display_name="综合窗口 李敏", department=scjg, roles=["window"]
        )
        self.reviewer = StaffUserFactory(
            username="scjg", display_name="市场监管 王强", department=scjg, roles=["reviewer"]
        )
        self.police = StaffUserFactory(
            username="ga", display_name="公安消防 赵磊", department=ga, roles=["reviewer"]
        )
        self.head = StaffUserFactory(
            username="head",
            display_name="市场监管 陈局长",
            department=scjg,
            roles=["department_head"],
        )
        # the applicant is in the local 户籍 registry: the ID card is 免提交 (obtained by lookup)
        from tongban.sharing.services import load_synthetic_records

        load_synthetic_records([self.applicant.person], ensure=["hukou"])


@pytest.fixture
def cast(transactional_db: None, tmp_path: Path, settings: Any) -> Cast:
    from tests.catalog_fixtures import sample
    from tongban.catalog.services import import_catalog
    from tongban.workdays.services import do_sync_chinese_calendar

    settings.MEDIA_ROOT = tmp_path / "media"
    do_sync_chinese_calendar()  # a transactional test starts from an emptied database
    import_catalog(sample(tmp_path / "catalog"))
    return Cast()


def sign_in(new_page: Any, user: Any, next_url: str, **options: Any) -> Any:
    """A fresh browser (context) signed in through the portal's login form."""
    page = new_page(**options)
    page.goto(f"/accounts/login/?next={quote(next_url)}")
    form = page.locator("form.login-form")
    form.get_by_label("用户名").fill(user.username)
    form.get_by_label("密码").fill(PASSWORD)
    form.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(re.escape(next_url.split("?")[0])))
    return page


def shot(page: Any, folder: Path, name: str, *, full: bool = True) -> None:
    page.screenshot(path=str(folder / f"case-{name}.png"), full_page=full)


def act(page: Any, form_id: str, button: str) -> None:
    with page.expect_navigation():
        page.locator(f"#{form_id}").get_by_role("button", name=button).click()


def test_case_from_application_to_closing(
    new_page: Any, cast: Cast, screenshots: Path, live_server: Any
) -> None:
    from tongban.cases.models import Case, CaseState

    # --- the applicant applies ------------------------------------------------------------------
    applicant = sign_in(new_page, cast.applicant, GUIDE)
    box = applicant.locator("#apply-box")
    box.wait_for()
    with applicant.expect_navigation():
        box.get_by_role("button", name="在线申请").click()
    assert "/my/drafts/" in applicant.url
    form = applicant.locator("form.apply-form")
    assert "3301**********" in form.inner_text()  # the id number is masked, not typed
    assert "免提交：已从户籍信息（公安）获取" in form.inner_text()
    form.get_by_label("经营面积").fill("120")
    form.locator("#m_application").set_input_files(
        files=[
            {
                "name": "食品经营许可申请书.pdf",
                "mimeType": "application/pdf",
                "buffer": tiny_pdf("Application v1"),
            }
        ]
    )
    shot(applicant, screenshots, "01-application-form")
    with applicant.expect_navigation():
        form.get_by_role("button", name="提交申请").click()
    case = Case.objects.get()
    number = case.number
    assert number
    assert applicant.url.endswith(f"/my/cases/{number}/")
    assert "申请已提交" in applicant.locator(".messages").inner_text()
    shot(applicant, screenshots, "02-submitted")

    # --- the window asks for a correction ---------------------------------------------------------
    window = sign_in(new_page, cast.window, "/workbench/queues/intake/")
    row = window.locator("tr.wb-row", has_text=number)
    assert "齐全" in row.inner_text()
    shot(window, screenshots, "03-intake-queue")
    phone_window = sign_in(new_page, cast.window, "/workbench/queues/intake/", **PHONE)
    shot(phone_window, screenshots, "13-phone-workbench", full=False)
    with window.expect_navigation():
        row.get_by_role("link", name=number).click()
    assert "张*" in window.locator("#applicant-person").inner_text()
    correction = window.locator("#act-request_correction")
    correction.locator("summary").click()  # secondary actions start folded
    correction.get_by_role("checkbox", name="食品经营许可申请书").check()
    correction.get_by_label("“食品经营许可申请书”需要补正的问题").fill(
        "申请书第 2 页缺少经营者签字"
    )
    shot(window, screenshots, "04-window-case")
    act(window, "act-request_correction", "补正告知")
    assert "已发出补正告知" in window.locator(".messages").inner_text()

    # --- the applicant supplements --------------------------------------------------------------
    applicant.reload()
    notice = applicant.locator("#correction")
    assert "缺少经营者签字" in notice.inner_text()
    notice.locator("#m_application").set_input_files(
        files=[
            {
                "name": "食品经营许可申请书（已签字）.pdf",
                "mimeType": "application/pdf",
                "buffer": tiny_pdf("Application v2 signed"),
            }
        ]
    )
    shot(applicant, screenshots, "05-correction-notice")
    with applicant.expect_navigation():
        notice.get_by_role("button", name="提交补正").click()
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED

    # --- the window accepts ---------------------------------------------------------------------
    window.reload()
    assert (
        "食品经营许可申请书（已签字）.pdf" in window.locator("#materials-title + ol").inner_text()
    )
    act(window, "act-accept", "受理")
    case.refresh_from_db()
    assert case.state == CaseState.IN_REVIEW

    # --- two departments review at the same time --------------------------------------------------
    reviewer = sign_in(new_page, cast.reviewer, "/workbench/queues/review/")
    police = sign_in(new_page, cast.police, "/workbench/queues/review/")
    shot(police, screenshots, "06-review-queue")
    pages = []
    for page, opinion in ((reviewer, "食品安全条件符合要求"), (police, "消防安全条件符合要求")):
        with page.expect_navigation():
            page.locator("tr.wb-row", has_text=number).get_by_role("link", name=number).click()
        review_form = page.locator(
            "form.wb-action", has=page.get_by_role("button", name="审查通过")
        )
        review_form.get_by_label("审查意见").fill(opinion)
        pages.append(page)
    shot(police, screenshots, "07-review-form")
    # both forms are open before either is sent
    for page in pages:
        with page.expect_navigation():
            page.locator(
                "form.wb-action", has=page.get_by_role("button", name="审查通过")
            ).get_by_role("button", name="审查通过").click()
        assert "审查意见已提交" in page.locator(".messages").inner_text()
    case.refresh_from_db()
    assert case.current_stage == 2

    # --- stage 2 ----------------------------------------------------------------------------------
    reviewer.reload()
    stage_two = reviewer.locator(
        "form.wb-action", has=reviewer.get_by_role("button", name="审查通过")
    )
    assert "现场核查" in stage_two.inner_text()
    stage_two.get_by_label("审查意见").fill("现场核查通过")
    with reviewer.expect_navigation():
        stage_two.get_by_role("button", name="审查通过").click()
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_DECISION

    # --- the head decides -----------------------------------------------------------------------
    head = sign_in(new_page, cast.head, "/workbench/queues/decision/")
    shot(head, screenshots, "08-decision-queue")
    with head.expect_navigation():
        head.locator("tr.wb-row", has_text=number).get_by_role("link", name=number).click()
    decide = head.locator("#act-decide")
    decide.get_by_label("准予").check()
    decide.get_by_label("理由").fill("经审查，申请人符合食品经营许可条件")
    act(head, "act-decide", "作出决定")
    shot(head, screenshots, "09-decided")

    # --- delivery and 办结 -------------------------------------------------------------------------
    window.reload()
    window.locator("#act-deliver").get_by_label("送达方式").select_option("electronic")
    act(window, "act-deliver", "送达")
    act(window, "act-close", "办结")
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED
    shot(window, screenshots, "10-window-closed")

    # --- the applicant reads the timeline ---------------------------------------------------------
    applicant.reload()
    steps = applicant.locator(".progress-steps").inner_text()
    assert "办结" in steps
    timeline = applicant.locator(".timeline").inner_text()
    for label in (
        "提交申请",
        "补正告知",
        "提交补正材料",
        "受理",
        "审查通过",
        "作出决定",
        "送达",
        "办结",
    ):
        assert label in timeline, label
    assert "综合窗口 李敏" not in timeline  # staff names are not shown to the applicant
    shot(applicant, screenshots, "11-applicant-timeline")

    # --- on a phone, in 长辈模式 ------------------------------------------------------------------
    phone = sign_in(new_page, cast.applicant, f"/my/cases/{number}/", **PHONE)
    with phone.expect_navigation():
        phone.get_by_role("button", name="长辈模式").click()
    assert phone.evaluate("document.documentElement.classList.contains('elder')")
    shot(phone, screenshots, "12-phone-elder", full=False)
    phone.locator("#timeline-title").scroll_into_view_if_needed()
    shot(phone, screenshots, "14-phone-elder-timeline", full=False)
