"""The 督办总览 in a real browser: a supervisor signs in, the ECharts bar chart is drawn from the
app's own copy of ECharts (no CDN), the table and lists show the overdue and at-risk work, and a
drill-down link opens the case page. Also on a phone.

Screenshots for review: ``test-artifacts/screenshots/supervision-*.png``.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.browser


def sign_in(new_page: Any, user: Any, next_url: str, **options: Any) -> Any:
    page = new_page(**options)
    page.goto(f"/accounts/login/?next={quote(next_url)}")
    form = page.locator("form.login-form")
    form.get_by_label("用户名").fill(user.username)
    form.get_by_label("密码").fill(PASSWORD)
    form.get_by_role("button", name="登录").click()
    page.wait_for_url(re.compile(re.escape(next_url)))
    return page


def test_the_supervisor_overview_draws_the_chart_and_links_to_cases(
    new_page: Any, transactional_db: None, tmp_path: Path, screenshots: Path
) -> None:
    from tests.catalog_fixtures import sample
    from tests.factories import ApplicantFactory, StaffUserFactory
    from tongban.cases.models import Case, CaseTask, TaskState
    from tongban.cases.services import check_create_draft, perform, submit_draft
    from tongban.catalog.services import import_catalog
    from tongban.identity.models import Department
    from tongban.workdays.services import do_sync_chinese_calendar

    do_sync_chinese_calendar()
    import_catalog(sample(tmp_path))
    scjg = Department.objects.get(code="3301-SCJG")
    ga = Department.objects.get(code="3301-GA")
    applicant = ApplicantFactory()
    window = StaffUserFactory(department=scjg, roles=["window"])
    supervisor = StaffUserFactory(
        username="dubanyuan", display_name="督办 孙丽", department=ga, roles=["supervisor"]
    )
    today = dt.date.today()
    numbers = []
    for n, division in enumerate(["330100", "330100", "330106", "330100"]):
        draft = check_create_draft(
            applicant, item_code="SC-FOOD-001", division_code=division, answers={}
        )
        case = perform(window, submit_draft(applicant, draft.pk).number or "", "accept")
        numbers.append(case.number)
        if n == 0:  # overdue case
            Case.objects.filter(pk=case.pk).update(due_date=today - dt.timedelta(days=3))
        if n in (1, 2):  # an overdue review task
            CaseTask.objects.filter(case=case, department=ga, state=TaskState.OPEN).update(
                due_date=today - dt.timedelta(days=1)
            )

    page = sign_in(new_page, supervisor, "/workbench/supervision/")
    page.wait_for_selector("#supervision-chart[data-ready='true'] svg")
    assert page.locator("h1").first.inner_text().startswith("督办总览")
    assert page.locator(".sv-table tbody tr").count() == 3
    assert page.locator("#supervision-chart svg rect, #supervision-chart svg path").count() > 0
    page.screenshot(path=str(screenshots / "supervision-overview.png"), full_page=True)
    page.locator(f"a.wb-case-link:text('{numbers[0]}')").first.click()
    page.wait_for_url(re.compile(re.escape(f"/workbench/cases/{numbers[0]}/")))
    assert numbers[0] in page.content()

    phone = sign_in(
        new_page,
        supervisor,
        "/workbench/supervision/",
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
    )
    phone.wait_for_selector("#supervision-chart[data-ready='true'] svg")
    phone.screenshot(path=str(screenshots / "supervision-phone.png"), full_page=True)
