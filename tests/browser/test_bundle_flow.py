"""新生儿出生一件事 end to end in a real browser: the applicant signs in, answers the merged
questionnaire (each shared question once), applies once with one form and one upload per
merged material, and follows the bundle case; the window and 卫健 staff decide the 出生医学证明
and the next stage (出生登记) starts by itself. The test counts the fields the applicant actually
typed and the files uploaded (printed, and compared with the seeds in the report).

Screenshots: ``test-artifacts/screenshots/bundle-*.png``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_case_flow import sign_in, tiny_pdf
from tests.factories import ApplicantFactory

pytestmark = pytest.mark.browser

BUNDLE = "YJS.newborn"
ANSWERS = {
    "parents_info": "both",
    "mother_mainland": "yes",
    "parents_married": "yes",
    "born_in_province": "yes",
    "follow": "father",
    "newborn": "yes",
    "local_hukou": "yes",
    "apply_type": "first",
    "guardian": "yes",
}
TYPED = {
    "baby_name": "王小宝",
    "father_name": "王大明",
    "father_id_number": "11010519491231002X",
    "ethnicity": "汉族",
    "relationship": "父母",
    "address": "杭州市西湖区示例路1号",
    "bank_account": "6222020200112233445",
}


def _answer(page: Any) -> None:
    """Answer what is shown; follow-up questions appear after updating the lists."""
    for _round in range(4):
        for key, value in ANSWERS.items():
            box = page.locator(f"input[name='q_{key}'][value='{value}']")
            if box.count() and box.first.is_visible() and not box.first.is_checked():
                box.first.check()
        page.get_by_role("button", name="更新清单").click()
        page.wait_for_load_state("networkidle")
        if page.get_by_role("button", name="一次申请").count():
            return
    raise AssertionError("the questionnaire never became complete")


def _value_for(page: Any, key: str) -> str:
    if key in TYPED:
        return TYPED[key]
    label = page.locator(f"label[for='f_{key}']").inner_text()
    if "日期" in label:
        return "2025-03-01"
    if "性别" in label:
        return "男"
    if "编号" in label:
        return "A123456789"
    if "关系" in label:
        return "父母"
    if "手机" in label or "电话" in label:
        return "13800000000"
    if "账号" in label:
        return "6222020200112233445"
    if "身份证" in label:
        return "11010519491231002X"
    return "示例"


def test_an_applicant_completes_the_newborn_bundle(
    new_page: Any, sample_catalog: str, screenshots: Path
) -> None:
    from tongban.bundles.models import BundleCase
    from tongban.identity.models import Department

    if sample_catalog != "sample":
        pytest.fail("the sample catalog (with the sample bundles) did not import")
    applicant = ApplicantFactory()
    page = sign_in(new_page, applicant, f"/bundles/{BUNDLE}/")
    assert page.locator("[data-report-chart] svg").count() == 1  # ECharts drew the report
    page.screenshot(path=str(screenshots / "bundle-guide.png"), full_page=True)
    _answer(page)
    asked = page.locator("fieldset.question legend").all_inner_texts()
    assert len(asked) == len(set(asked))  # every question once
    page.get_by_role("button", name="一次申请").click()
    page.wait_for_url(re.compile(r"/bundles/YJS\.newborn/apply/"))

    typed = 0
    for field in page.locator("input[data-bundle-field]").all():
        if field.input_value():
            continue  # 自动填 / 选择填 already there
        key = (field.get_attribute("id") or "")[2:]
        field.fill(_value_for(page, key))
        typed += 1
    uploads = 0
    for upload in page.locator("input[data-bundle-upload]").all():
        label = page.locator(f"label[for='{upload.get_attribute('id')}']").inner_text()
        if "*" in label:
            upload.set_input_files(
                files=[
                    {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": tiny_pdf("scan")}
                ]
            )
            uploads += 1
    page.screenshot(path=str(screenshots / "bundle-form.png"), full_page=True)
    page.get_by_role("button", name="提交一件事申请").click()
    page.wait_for_url(re.compile(r"/my/bundles/YJS-"))
    page.screenshot(path=str(screenshots / "bundle-submitted.png"), full_page=True)
    print(f"\n新生儿出生一件事: fields typed {typed}, files uploaded {uploads}")

    bundle_case = BundleCase.objects.get(submitted_by=applicant)
    started = {
        c.item_code: c.case
        for c in bundle_case.components.select_related("case")
        if c.case is not None
    }
    assert set(started) == {
        "330106-WJJ.birth-medical-certificate",
        "330106-WJJ.vaccination-certificate",
    }
    assert uploads == 0  # every material is shared data, an e-licence or produced in the bundle
    # typed = the report's "after" (fields not prefilled) + the 系统填 fields, which the form
    # offers for typing until the sharing layer fills them
    from tongban.bundles import report, selectors
    from tongban.bundles.merging import merge

    spec = selectors.bundle_spec(BUNDLE)
    figures = report.compute(spec).figures["fields"]
    merged = merge(spec, spec.report_answers)
    shared = sum(1 for f in merged.fields if f.prefill == "data_source" and f.status == "applies")
    print(
        f"fields: before {figures.before}, after {figures.after} (report); typed {typed} = "
        f"{figures.after} to fill + {shared} 系统填 not yet shared"
    )
    assert typed <= figures.after + shared

    # 卫健 decides the 出生医学证明: the 出生登记 is filed by itself
    from tests.bundle_fixtures import decide
    from tests.factories import StaffUserFactory

    wjj = Department.objects.get(code="330106-WJJ")
    window = StaffUserFactory(department=wjj, roles=["window"])
    head = StaffUserFactory(department=wjj, roles=["reviewer", "department_head"])

    class _Staff:
        pass

    staff = _Staff()
    staff.window = window  # type: ignore[attr-defined]
    decide(staff, started["330106-WJJ.birth-medical-certificate"], head)  # type: ignore[arg-type]
    page.reload()
    assert page.get_by_text("330106-GAFJ").count() or page.get_by_text("出生登记").count()
    registration = bundle_case.components.get(item_code="330106-GAFJ.birth-registration")
    assert registration.case is not None
    page.screenshot(path=str(screenshots / "bundle-next-stage.png"), full_page=True)
