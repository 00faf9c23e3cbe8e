"""Applicants hear about their case through the outbox, in the same transaction as the change."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory, answer_correction
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import ValidationFailed
from tongban.identity.models import Department
from tongban.notifications.models import Notification

pytestmark = pytest.mark.django_db


def test_accept_and_correction_notify_the_applicant_once(tmp_path: Path) -> None:
    import_catalog(sample(tmp_path))
    applicant = ApplicantFactory()
    window = StaffUserFactory(department=Department.objects.get(code="3301-SCJG"), roles=["window"])
    case = submit_draft(
        applicant, check_create_draft(applicant, item_code="SC-FOOD-001", division_code="330100").pk
    )
    assert not Notification.objects.exists()  # submitting is the applicant's own act
    with pytest.raises(ValidationFailed):  # a refused change writes no message either
        perform(window, case.number, "request_correction", {"items": []})
    assert not Notification.objects.exists()
    perform(
        window,
        case.number,
        "request_correction",
        {"items": [{"material": "application", "problem": "缺少签字"}]},
    )
    answer_correction(applicant, case.number, "application")
    perform(window, case.number, "accept")
    rows = Notification.objects.filter(recipient=applicant).order_by("id")
    assert {r.template for r in rows} == {"case.request_correction", "case.accept"}
    assert {r.channel for r in rows} == {"in_app", "sms"}
    in_app = rows.get(template="case.request_correction", channel="in_app")
    assert "食品经营许可申请书（缺少签字）" in in_app.body
    accepted = rows.get(template="case.accept", channel="in_app")
    assert case.number in accepted.body
    assert len({r.dedupe_key for r in rows}) == rows.count()
