"""The dedicated policy roles: ``policy_admin`` authors in its department (and may refresh
profiles), ``legality_reviewer`` / ``finance_reviewer`` review only their own step."""

from __future__ import annotations

import pytest

from tests.factories import StaffUserFactory
from tests.policy_fixtures import draft, make_world
from tongban.core.errors import PermissionDenied
from tongban.identity.models import Role
from tongban.policies import access, services
from tongban.policies.models import Policy, ReviewStep

pytestmark = pytest.mark.django_db


def test_dedicated_policy_roles() -> None:
    world = make_world()
    deps = world.departments
    admin = StaffUserFactory(department=deps["T-MZJ"], roles=[Role.POLICY_ADMIN])
    legal = StaffUserFactory(department=deps["T-SFJ"], roles=[Role.LEGALITY_REVIEWER])
    finance = StaffUserFactory(department=deps["T-CZJ"], roles=[Role.FINANCE_REVIEWER])
    services.check_create_policy(
        admin, code="T-ROLES", title="测试政策", target="person", department="T-MZJ"
    )
    version = services.check_save_draft(admin, "T-ROLES", draft())
    services.check_submit(admin, "T-ROLES", version.number)
    assert access.can_review(legal, version, ReviewStep.LEGALITY)
    assert not access.can_review(legal, version, ReviewStep.FINANCE)
    assert access.can_review(finance, version, ReviewStep.FINANCE)
    assert not access.can_review(finance, version, ReviewStep.LEGALITY)
    with pytest.raises(PermissionDenied):
        services.check_review(finance, "T-ROLES", version.number, step="legality", approved=True)
    services.check_review(legal, "T-ROLES", version.number, step="legality", approved=True)
    services.check_review(finance, "T-ROLES", version.number, step="finance", approved=True)
    assert Policy.objects.get(code="T-ROLES").published_version_id == version.pk
    assert access.can_refresh_profiles(admin)
    assert not access.can_refresh_profiles(legal)
    assert not access.can_author(legal, Policy.objects.get(code="T-ROLES"))
