"""Compiled reads (``tongban.core.compiled``) give what evaluating their queryset gives, bind new
parameters at every call, refuse a lock outside a transaction, and refuse a query whose argument
does not reach the SQL unchanged; the case engine's hot reads use them. Also 收件时间
(``Case.received_at``): set on submission, moved by the answer to a 补正告知, and the order of
the window's intake queue."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from django.db import connection, transaction
from django.db.models.functions import Upper
from django.db.transaction import TransactionManagementError
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory, answer_correction
from tongban.cases import access
from tongban.cases.models import Case, CaseTask
from tongban.cases.queues import queue_page
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.compiled import CompiledRead
from tongban.core.errors import NotFound
from tongban.identity.models import Department, Division, StaffRole
from tongban.identity.selectors import (
    StaffRoleGrantsOf,
    forget_staff_roles,
    remember_staff_roles,
    staff_role_grants,
)

pytestmark = pytest.mark.django_db

ANSWERS = {"entity": "individual", "area": 120, "cold": False}

CHAIN = CompiledRead(
    lambda code: Division.objects.select_related("parent__parent").filter(code=code).order_by(),
    (str,),
    "test_division_chain",
)
ROLES = CompiledRead(
    lambda user_id, role: (
        StaffRole.objects.filter(user_id=user_id, role=role)
        .order_by("department_id")
        .values_list("department_id", flat=True)
    ),
    (int, str),
    "test_roles",
)
LOCKED = CompiledRead(
    lambda code: Division.objects.select_for_update().filter(code=code), (str,), "test_locked"
)


@pytest.fixture
def catalog(tmp_path: Path) -> None:
    import_catalog(sample(tmp_path))


def _chain(division: Division | None) -> list[tuple[int, str]]:
    out = []
    while division is not None:
        out.append((division.pk, division.name))
        division = division.parent
    return out


def test_a_compiled_read_gives_what_the_queryset_gives(catalog: None) -> None:
    for code in ("330100", "330106", "330000"):
        expected = list(Division.objects.select_related("parent__parent").filter(code=code))
        found = CHAIN(code)
        assert [_chain(d) for d in found] == [_chain(d) for d in expected]
        assert found[0].code == code
    assert CHAIN("999999") == []


def test_related_objects_come_from_the_same_statement(catalog: None) -> None:
    CHAIN("330106")  # compiled on the first call
    with CaptureQueriesContext(connection) as captured:
        district = CHAIN("330106")[0]
        assert district.parent is not None
        assert district.parent.parent is not None
        names = [district.name, district.parent.name, district.parent.parent.name]
    assert len(captured.captured_queries) == 1
    assert names[0] != names[1] != names[2]


def test_values_lists_and_integer_arguments_bind_at_every_call(catalog: None) -> None:
    scjg = Department.objects.get(code="3301-SCJG")
    ga = Department.objects.get(code="3301-GA")
    one = StaffUserFactory(department=scjg, roles=["window", "reviewer"])
    two = StaffUserFactory(department=ga, roles=["reviewer"])
    assert ROLES(one.pk, "reviewer") == [scjg.pk]
    assert ROLES(two.pk, "reviewer") == [ga.pk]
    assert ROLES(two.pk, "window") == []
    StaffRole.objects.create(user=two, department=scjg, role="window")
    assert ROLES(two.pk, "window") == [scjg.pk]  # read afresh, nothing cached but the SQL


@pytest.mark.django_db(transaction=True)
def test_a_compiled_lock_needs_a_transaction(catalog: None) -> None:
    with transaction.atomic():
        assert [d.code for d in LOCKED("330100")] == ["330100"]
    if not connection.features.has_select_for_update:  # SQLite: no row locks, as in Django
        assert [d.code for d in LOCKED("330100")] == ["330100"]
        return
    with pytest.raises(TransactionManagementError):
        LOCKED("330100")
    with pytest.raises(TransactionManagementError):  # the queryset itself says the same
        list(Division.objects.select_for_update().filter(code="330100"))


def test_a_transformed_argument_cannot_be_compiled(catalog: None) -> None:
    upper = CompiledRead(
        lambda code: Division.objects.annotate(big=Upper("code")).filter(big=code[:3]),
        (str,),
        "test_transformed",
    )
    with pytest.raises(ValueError, match="does not reach the SQL unchanged"):
        upper("330100")
    with pytest.raises(TypeError):
        CHAIN()
    with pytest.raises(TypeError):
        CHAIN(None)


def test_arguments_are_prepared_as_the_fields_would(catalog: None) -> None:
    assert [d.code for d in CHAIN(330100)] == ["330100"]  # an int for a text column
    user = StaffUserFactory(department=Department.objects.get(code="3301-SCJG"), roles=["window"])
    assert ROLES(str(user.pk), "window") == list(  # a str for an integer column
        StaffRole.objects.filter(user=user, role="window").values_list("department_id", flat=True)
    )


def test_the_engine_reads_tasks_and_roles_through_compiled_reads(catalog: None) -> None:
    applicant = ApplicantFactory()
    window = StaffUserFactory(department=Department.objects.get(code="3301-SCJG"), roles=["window"])
    draft = check_create_draft(
        applicant, item_code="SC-FOOD-001", division_code="330100", answers=ANSWERS
    )
    case = perform(window, submit_draft(applicant, draft.pk).number, "accept")
    fresh = Case.objects.get(pk=case.pk)
    tasks = access.case_tasks(fresh)
    expected = list(CaseTask.objects.filter(case=fresh).order_by("stage", "id"))
    assert [(t.pk, t.department.code, t.state) for t in tasks] == [
        (t.pk, t.department.code, t.state) for t in expected
    ]
    with CaptureQueriesContext(connection) as captured:
        assert all(t.case is fresh for t in tasks)  # no query back to the case
    assert not captured.captured_queries
    forget_staff_roles(window)
    assert staff_role_grants(window) == frozenset(
        StaffRole.objects.filter(user=window).values_list("role", "department_id")
    )


# --- 收件时间 -------------------------------------------------------------------------------------
def _people() -> dict[str, Any]:
    scjg = Department.objects.get(code="3301-SCJG")
    return {
        "applicant": ApplicantFactory(),
        "window": StaffUserFactory(department=scjg, roles=["window"]),
    }


def _submitted(applicant: Any) -> Case:
    draft = check_create_draft(
        applicant, item_code="SC-FOOD-001", division_code="330100", answers=ANSWERS
    )
    return submit_draft(applicant, draft.pk)


def test_received_at_is_the_submission_then_the_answer_to_a_correction(catalog: None) -> None:
    p = _people()
    with freeze_time("2025-03-03 09:00:00+08:00"):
        first = _submitted(p["applicant"])
        second = _submitted(p["applicant"])
    assert first.received_at == first.submitted_at
    with freeze_time("2025-03-04 09:00:00+08:00"):
        perform(
            p["window"],
            first.number,
            "request_correction",
            {"items": [{"material": "application", "problem": "缺少签字"}]},
        )
    with freeze_time("2025-03-06 15:00:00+08:00"):
        answered = answer_correction(p["applicant"], first.number, "application", note="已补签")
    assert answered.received_at == dt.datetime(2025, 3, 6, 7, 0, tzinfo=dt.UTC)
    assert answered.submitted_at == first.submitted_at  # the application date stays
    with freeze_time("2025-03-07 09:00:00+08:00"):
        page = queue_page(p["window"], "intake")
    # the supplemented case waits behind the one submitted with it and never corrected, and
    # its 预审 period runs from the answer: 5 working days after 6 March is 13 March
    assert [r.case.number for r in page.rows] == [second.number, first.number]
    assert page.rows[1].signal.due_date == dt.date(2025, 3, 13)
    assert page.rows[0].signal.due_date == dt.date(2025, 3, 10)


# --- the actor's roles, read with the locked case ------------------------------------------------
WITH_GRANTS = CompiledRead(
    lambda code, user_id: (
        Division.objects.annotate(grants=StaffRoleGrantsOf(user_id)).filter(code=code).order_by()
    ),
    (str, int),
    "test_with_grants",
)


def test_annotations_are_set_on_the_instances_as_the_queryset_sets_them(catalog: None) -> None:
    scjg = Department.objects.get(code="3301-SCJG")
    ga = Department.objects.get(code="3301-GA")
    user = StaffUserFactory(department=scjg, roles=["window", "reviewer"])
    StaffRole.objects.create(user=user, department=ga, role="reviewer")
    found = WITH_GRANTS("330100", user.pk)[0]
    expected = Division.objects.annotate(grants=StaffRoleGrantsOf(user.pk)).get(code="330100")
    assert found.grants
    assert set(found.grants.split(",")) == set(expected.grants.split(","))
    assert set(found.grants.split(",")) == {
        f"window:{scjg.pk}",
        f"reviewer:{scjg.pk}",
        f"reviewer:{ga.pk}",
    }
    assert WITH_GRANTS("330100", ApplicantFactory().pk)[0].grants is None


def test_remembered_grants_are_the_roles_and_only_for_active_staff(catalog: None) -> None:
    scjg = Department.objects.get(code="3301-SCJG")
    staff = StaffUserFactory(department=scjg, roles=["window", "reviewer"])
    expected = frozenset(StaffRole.objects.filter(user=staff).values_list("role", "department_id"))
    remember_staff_roles(staff, WITH_GRANTS("330100", staff.pk)[0].grants)
    with CaptureQueriesContext(connection) as captured:
        assert staff_role_grants(staff) == expected
    assert not captured.captured_queries
    remember_staff_roles(staff, None)  # the account holds no role any more
    assert staff_role_grants(staff) == frozenset()
    applicant = ApplicantFactory()
    remember_staff_roles(applicant, f"window:{scjg.pk}")  # never roles for an applicant
    assert staff_role_grants(applicant) == frozenset()


def test_a_step_reads_the_actors_roles_with_the_case_and_honours_a_revoked_role(
    catalog: None,
) -> None:
    scjg = Department.objects.get(code="3301-SCJG")
    applicant = ApplicantFactory()
    window = StaffUserFactory(department=scjg, roles=["window"])
    draft = check_create_draft(
        applicant, item_code="SC-FOOD-001", division_code="330100", answers=ANSWERS
    )
    number = submit_draft(applicant, draft.pk).number
    assert staff_role_grants(window) == {("window", scjg.pk)}  # cached on the object
    StaffRole.objects.filter(user=window).delete()  # revoked before the step
    with pytest.raises(NotFound):  # the step read the roles afresh, with the case
        perform(window, number, "accept")
    assert staff_role_grants(window) == frozenset()
    StaffRole.objects.create(user=window, department=scjg, role="window")
    with CaptureQueriesContext(connection) as captured:
        perform(window, number, "accept")
    statements = [q["sql"] for q in captured.captured_queries]
    assert any("identity_staffrole" in sql for sql in statements)  # inside the case's read
    assert not [sql for sql in statements if sql.startswith('SELECT "identity_staffrole"')]
