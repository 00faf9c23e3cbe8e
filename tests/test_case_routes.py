"""容缺受理 and 告知承诺: accepting with a material missing, approving on a commitment,
verification, revocation of a broken commitment and the bar that follows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.test import override_settings
from freezegun import freeze_time

from tests.catalog_fixtures import BODIES, DRAINAGE, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases.materials import check_attach_material
from tongban.cases.models import CaseState, CommitmentBar, CommitmentState, Outcome, TaskState
from tongban.cases.services import available_actions, check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.identity.models import Department

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        self.applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])


@pytest.fixture
def people(tmp_path: Path, settings: Any) -> People:
    settings.MEDIA_ROOT = tmp_path / "media"
    import_catalog(write_catalog(tmp_path / "catalog", bodies=BODIES, drainage=DRAINAGE))
    return People()


def submitted(people: People, **options: Any) -> Any:
    draft = check_create_draft(
        people.applicant, item_code="SW-DRAIN-001", division_code="330100", **options
    )
    return submit_draft(people.applicant, draft.pk)


@freeze_time("2025-03-03 10:00:00+08:00")
def test_tolerance_acceptance_holds_delivery_until_the_material_arrives(people: People) -> None:
    case = submitted(people)
    with pytest.raises(ValidationFailed) as info:
        perform(people.window, case.number, "accept", {"tolerated": ["application"]})
    assert info.value.errors[0].path == "tolerated[0]"
    assert "不是可容缺的材料" in info.value.errors[0].message
    case = perform(
        people.window, case.number, "accept", {"tolerated": ["water_report"], "tolerance_days": 3}
    )
    tolerated = case.tolerated.get()
    assert tolerated.due_date == dt.date(2025, 3, 6)
    for task in case.tasks.filter(state=TaskState.OPEN):
        perform(people.reviewer, case.number, "approve_task", {"task": task.pk})
    perform(people.head, case.number, "decide", {"outcome": "approved"})
    with pytest.raises(Conflict) as conflict:
        perform(people.window, case.number, "deliver")
    assert "排水水质检测报告" in conflict.value.message
    check_attach_material(people.applicant, case.pk, "water_report", "report.pdf", PDF)
    tolerated.refresh_from_db()
    assert tolerated.supplied_at is not None
    case = perform(people.window, case.number, "deliver")
    assert case.state == CaseState.DELIVERED


def test_tolerance_needs_an_item_that_allows_it(people: People, tmp_path: Path) -> None:
    no_tolerance = DRAINAGE.replace("allows_tolerance: true", "allows_tolerance: false")
    import_catalog(write_catalog(tmp_path / "v2", bodies=BODIES, drainage=no_tolerance))
    case = submitted(people)
    with pytest.raises(ValidationFailed) as info:
        perform(people.window, case.number, "accept", {"tolerated": ["water_report"]})
    assert info.value.code == "tolerance_not_allowed"


@freeze_time("2025-03-03 10:00:00+08:00")
def test_commitment_approves_at_once_then_verification(people: People) -> None:
    with pytest.raises(ValidationFailed) as info:
        submitted(people, commitment_materials=["application"])
    assert info.value.errors[0].path == "commitment_materials[0]"
    case = submitted(people, commitment_materials=["drainage_plan", "water_report"])
    assert "approve_on_commitment" in available_actions(people.window, case)
    case = perform(people.window, case.number, "approve_on_commitment", {"verify_within_days": 20})
    assert case.state == CaseState.DECIDED
    assert case.outcome == Outcome.APPROVED
    commitment = case.commitment
    assert commitment.state == CommitmentState.PENDING
    assert commitment.verification_due == dt.date(2025, 3, 31)
    case = perform(people.reviewer, case.number, "verify_commitment", {"finding": "现场核查属实"})
    case.commitment.refresh_from_db()
    assert case.commitment.state == CommitmentState.VERIFIED
    with pytest.raises(Conflict):
        perform(people.head, case.number, "revoke_for_broken_commitment", {"reason": "晚了"})


@freeze_time("2025-03-03 10:00:00+08:00")
def test_broken_commitment_revokes_and_bars_for_three_years(people: People) -> None:
    case = submitted(people, commitment_materials=["drainage_plan"])
    perform(people.window, case.number, "approve_on_commitment")
    perform(people.window, case.number, "deliver")
    with pytest.raises(PermissionDenied):
        perform(people.reviewer, case.number, "revoke_for_broken_commitment", {"reason": "x"})
    with pytest.raises(ValidationFailed):
        perform(people.head, case.number, "revoke_for_broken_commitment", {"reason": ""})
    case = perform(
        people.head,
        case.number,
        "revoke_for_broken_commitment",
        {"reason": "核查发现排水管网未建成"},
    )
    assert case.outcome == Outcome.REVOKED
    assert case.state == CaseState.CLOSED
    bar = CommitmentBar.objects.get()
    assert bar.until == dt.date(2028, 3, 3)
    with pytest.raises(PermissionDenied) as info:
        submitted(people, commitment_materials=["drainage_plan"])
    assert info.value.code == "commitment_barred"
    assert "2028年03月03日" in info.value.message
    assert submitted(people).state == CaseState.SUBMITTED  # the ordinary route stays open
    with freeze_time("2028-03-04 10:00:00+08:00"):
        assert submitted(people, commitment_materials=["drainage_plan"]).number


@freeze_time("2025-03-03 10:00:00+08:00")
def test_the_bar_lasts_the_configured_years(people: People) -> None:
    case = submitted(people, commitment_materials=["drainage_plan"])
    perform(people.window, case.number, "approve_on_commitment")
    with override_settings(TONGBAN_COMMITMENT_BAR_YEARS=1):
        case = perform(
            people.head, case.number, "revoke_for_broken_commitment", {"reason": "承诺不实"}
        )
    assert CommitmentBar.objects.get().until == dt.date(2026, 3, 3)
    assert case.events.get(action="revoke_for_broken_commitment").data == {
        "barred_until": "2026-03-03"
    }
    with freeze_time("2026-03-03 10:00:00+08:00"), pytest.raises(PermissionDenied):
        submitted(people, commitment_materials=["drainage_plan"])
    with freeze_time("2026-03-04 10:00:00+08:00"):
        assert submitted(people, commitment_materials=["drainage_plan"]).number


def test_commitment_route_only_where_declared(people: People) -> None:
    case = submitted(people)
    with pytest.raises(Conflict) as info:
        perform(people.window, case.number, "approve_on_commitment")
    assert info.value.code == "no_commitment"
