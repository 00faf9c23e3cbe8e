"""Who may do what (``identity.permissions``), the reads behind it (``identity.selectors``) and
the identity services added for them: personal-data access logging and provider sign-in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils import timezone

from tests.factories import (
    ApplicantFactory,
    DepartmentFactory,
    EnterpriseAgentFactory,
    EnterpriseFactory,
    PersonFactory,
    StaffRoleFactory,
    StaffUserFactory,
    UserFactory,
    make_id_number,
)
from tongban.core.errors import Conflict, PermissionDenied, ValidationFailed
from tongban.core.identifiers import is_valid_id_number, is_valid_uscc
from tongban.identity import permissions, selectors, services
from tongban.identity.models import (
    AccountKind,
    PersonalDataAccess,
    RealNameLevel,
    Role,
    User,
)

pytestmark = pytest.mark.django_db


# --- factories make valid records ---------------------------------------------------------------


def test_factories_make_valid_identifiers() -> None:
    people = PersonFactory.create_batch(5)
    assert all(is_valid_id_number(p.id_number) for p in people)
    assert len({p.id_number for p in people}) == 5
    for p in people:
        assert p.birth_date.strftime("%Y%m%d") == p.id_number[6:14]
        assert (p.gender == "male") == (int(p.id_number[16]) % 2 == 1)
        p.full_clean()
    enterprises = EnterpriseFactory.create_batch(3)
    assert all(is_valid_uscc(e.uscc) for e in enterprises)
    for e in enterprises:
        e.full_clean()


def test_staff_factory_roles_and_admin_flag() -> None:
    reviewer = StaffUserFactory(roles=[Role.REVIEWER])
    admin = StaffUserFactory(roles=[Role.CATALOG_ADMIN])
    assert not reviewer.is_staff
    assert admin.is_staff
    assert reviewer.staff_roles.get().department == reviewer.department


# --- roles --------------------------------------------------------------------------------------


def test_has_role_in_any_or_a_given_department() -> None:
    reviewer = StaffUserFactory(roles=[Role.REVIEWER])
    other = DepartmentFactory()
    assert permissions.has_role(reviewer, Role.REVIEWER)
    assert permissions.has_role(reviewer, Role.REVIEWER, reviewer.department)
    assert permissions.has_role(reviewer, Role.REVIEWER, reviewer.department_id)
    assert not permissions.has_role(reviewer, Role.REVIEWER, other)
    assert not permissions.has_role(reviewer, Role.DEPARTMENT_HEAD)


def test_roles_in_several_departments() -> None:
    user = StaffUserFactory(roles=[Role.WINDOW])
    second = StaffRoleFactory(user=user, role=Role.WINDOW, department=DepartmentFactory())
    StaffRoleFactory(user=user, role=Role.SUPERVISOR, department=second.department)
    user = User.objects.get(pk=user.pk)
    window_departments = selectors.staff_departments(user, Role.WINDOW)
    assert set(window_departments) == {user.department, second.department}
    assert list(selectors.staff_departments(user, Role.SUPERVISOR)) == [second.department]
    assert not selectors.staff_departments(user, Role.REVIEWER).exists()


def test_roles_need_an_active_staff_account() -> None:
    reviewer = StaffUserFactory(roles=[Role.REVIEWER], is_active=False)
    assert not permissions.has_role(reviewer, Role.REVIEWER)
    assert not selectors.staff_departments(reviewer, Role.REVIEWER).exists()
    assert not permissions.has_role(AnonymousUser(), Role.REVIEWER)
    # A role row on an applicant account (a data error) grants nothing.
    applicant = ApplicantFactory()
    StaffRoleFactory(user=applicant, department=DepartmentFactory())
    assert not permissions.has_role(applicant, Role.REVIEWER)


def test_roles_are_loaded_once_per_user_object(django_assert_num_queries: Any) -> None:
    user = StaffUserFactory(roles=[Role.REVIEWER, Role.CATALOG_ADMIN])
    user = User.objects.get(pk=user.pk)
    with django_assert_num_queries(1):
        for _ in range(10):
            permissions.has_role(user, Role.REVIEWER)
            permissions.can_manage_catalog(user)
            permissions.can_administer_system(user)
    StaffRoleFactory(user=user, role=Role.SYSTEM_ADMIN)
    assert not permissions.has_role(user, Role.SYSTEM_ADMIN)  # cached
    selectors.forget_staff_roles(user)
    assert permissions.has_role(user, Role.SYSTEM_ADMIN)


# --- admin access -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "is_staff", "catalog", "system", "unmasked"),
    [
        ([Role.CATALOG_ADMIN], True, True, False, False),
        ([Role.SYSTEM_ADMIN], True, True, True, True),
        ([Role.REVIEWER], False, False, False, False),
        ([Role.REVIEWER], True, False, False, False),  # is_staff alone opens nothing
        ([Role.CATALOG_ADMIN], False, False, False, False),  # the role alone neither
        ([Role.SYSTEM_ADMIN], False, False, False, True),  # but it may see personal data
    ],
)
def test_admin_capabilities(
    roles: list[str], is_staff: bool, catalog: bool, system: bool, unmasked: bool
) -> None:
    user = StaffUserFactory(roles=roles)
    user.is_staff = is_staff
    assert permissions.can_manage_catalog(user) is catalog
    assert permissions.can_administer_system(user) is system
    assert permissions.can_use_admin(user) is (catalog or system)
    assert permissions.can_view_unmasked_personal_data(user) is unmasked


def test_superuser_may_administer_but_sees_masked_data() -> None:
    root = UserFactory(is_staff=True, is_superuser=True, kind=AccountKind.STAFF)
    assert permissions.can_administer_system(root)
    assert permissions.can_manage_catalog(root)
    assert not permissions.can_view_unmasked_personal_data(root)


def test_applicants_never_administer() -> None:
    applicant = ApplicantFactory(is_staff=True)
    assert permissions.is_applicant(applicant)
    assert not permissions.is_staff_member(applicant)
    assert not permissions.can_use_admin(applicant)


def test_account_kinds() -> None:
    assert permissions.is_staff_member(StaffUserFactory())
    assert not permissions.is_applicant(StaffUserFactory())
    assert not permissions.is_applicant(ApplicantFactory(is_active=False))
    assert not permissions.is_applicant(AnonymousUser())


# --- acting for an enterprise (经办人) ------------------------------------------------------------


def test_acts_for_enterprise_with_a_valid_agency() -> None:
    applicant = ApplicantFactory()
    agency = EnterpriseAgentFactory(person=applicant.person)
    assert permissions.acts_for_enterprise(applicant, agency.enterprise)
    assert not permissions.acts_for_enterprise(applicant, EnterpriseFactory())
    assert list(selectors.enterprises_represented(applicant.person)) == [agency.enterprise]


def test_agency_window_and_revocation() -> None:
    applicant = ApplicantFactory()
    today = timezone.localdate()
    agency = EnterpriseAgentFactory(
        person=applicant.person, valid_from=today, valid_until=today + dt.timedelta(days=30)
    )
    enterprise = agency.enterprise
    assert permissions.acts_for_enterprise(applicant, enterprise)
    assert permissions.acts_for_enterprise(applicant, enterprise, on=today + dt.timedelta(days=30))
    assert not permissions.acts_for_enterprise(applicant, enterprise, on=today - dt.timedelta(1))
    assert not permissions.acts_for_enterprise(applicant, enterprise, on=today + dt.timedelta(31))

    agency.revoked_at = timezone.now()
    agency.save(update_fields=["revoked_at"])
    assert not permissions.acts_for_enterprise(applicant, enterprise)


def test_staff_and_unlinked_accounts_do_not_act_for_enterprises() -> None:
    agency = EnterpriseAgentFactory()
    staff = StaffUserFactory(person=agency.person)
    assert not permissions.acts_for_enterprise(staff, agency.enterprise)
    unlinked = ApplicantFactory(person=None)
    assert not permissions.acts_for_enterprise(unlinked, agency.enterprise)


# --- personal-data access log -------------------------------------------------------------------


def test_record_personal_data_access() -> None:
    actor = StaffUserFactory(roles=[Role.SYSTEM_ADMIN])
    person = PersonFactory()
    row = services.record_personal_data_access(actor, person, "  核对申请人身份  ")
    assert row.actor == actor
    assert row.person == person
    assert row.purpose == "核对申请人身份"
    assert row.at is not None
    assert list(selectors.personal_data_accesses(person)) == [row]


def test_record_personal_data_access_needs_a_purpose() -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.record_personal_data_access(StaffUserFactory(), PersonFactory(), " ")
    assert caught.value.errors[0].path == "purpose"
    assert not PersonalDataAccess.objects.exists()


def test_record_many_accesses_at_once() -> None:
    actor = StaffUserFactory()
    people = PersonFactory.create_batch(3)
    assert services.record_personal_data_accesses(actor, people, "列表查看") == 3
    assert PersonalDataAccess.objects.filter(actor=actor).count() == 3
    assert services.record_personal_data_accesses(actor, [], "列表查看") == 0


# --- sign-in from the identity provider (service level) -----------------------------------------

ID_NUMBER = make_id_number("330106", dt.date(1990, 1, 1), 123)


def test_sign_in_creates_person_and_account() -> None:
    user = services.check_sign_in_from_identity_provider(
        subject="s-1", id_number=ID_NUMBER.lower(), name="赵六", real_name_level=2
    )
    assert user.kind == AccountKind.APPLICANT
    assert user.person is not None
    assert user.person.id_number == ID_NUMBER
    assert user.person.gender == "male"
    assert user.real_name_level == RealNameLevel.VERIFIED
    assert user.username.startswith("uia-")
    again = services.check_sign_in_from_identity_provider(
        subject="s-1", id_number=ID_NUMBER, name="赵六", real_name_level=3
    )
    assert again == user
    again.refresh_from_db()
    assert again.real_name_level == RealNameLevel.IN_PERSON


def test_sign_in_refuses_an_invalid_id_number() -> None:
    with pytest.raises(ValidationFailed) as caught:
        services.check_sign_in_from_identity_provider(
            subject="s-1", id_number=ID_NUMBER[:-1] + "0", name="赵六", real_name_level=2
        )
    assert caught.value.code == "invalid_id_number"
    assert not User.objects.filter(oidc_subject="s-1").exists()


def test_sign_in_refuses_a_changed_id_number_for_a_known_subject() -> None:
    services.check_sign_in_from_identity_provider(
        subject="s-1", id_number=ID_NUMBER, name="赵六", real_name_level=2
    )
    other = make_id_number("330106", dt.date(1991, 2, 3), 124)
    with pytest.raises(Conflict):
        services.check_sign_in_from_identity_provider(
            subject="s-1", id_number=other, name="赵六", real_name_level=2
        )


def test_sign_in_never_touches_staff_accounts() -> None:
    StaffUserFactory(oidc_subject="staff-1")
    with pytest.raises(PermissionDenied):
        services.check_sign_in_from_identity_provider(
            subject="staff-1", id_number=ID_NUMBER, name="赵六", real_name_level=2
        )


# --- lockout parameters -------------------------------------------------------------------------


def test_login_lockout_parameters() -> None:
    request = RequestFactory().post("/accounts/login/", {"username": "alice"})
    assert permissions.login_lockout_parameters(request, {"username": "alice"}) == [
        "username",
        "ip_address",
    ]
    assert permissions.login_lockout_parameters(request, {"nonce": "n"}) == ["ip_address"]
    attempt = AccessAttempt(username=None, ip_address="10.0.0.1")
    assert permissions.login_lockout_parameters(attempt) == ["ip_address"]
    attempt.username = "alice"
    assert permissions.login_lockout_parameters(attempt) == ["username", "ip_address"]


def test_sign_in_links_a_person_to_a_subject_account_without_one() -> None:
    account = ApplicantFactory(person=None, oidc_subject="s-2")
    user = services.check_sign_in_from_identity_provider(
        subject="s-2", id_number=ID_NUMBER, name="赵六", real_name_level=1
    )
    assert user == account
    assert user.person is not None
    assert user.person.id_number == ID_NUMBER


def test_sign_in_refuses_a_person_held_by_another_account() -> None:
    ApplicantFactory(person=None, oidc_subject="s-2")
    ApplicantFactory(person=PersonFactory(id_number=ID_NUMBER))
    with pytest.raises(Conflict):
        services.check_sign_in_from_identity_provider(
            subject="s-2", id_number=ID_NUMBER, name="赵六", real_name_level=1
        )
