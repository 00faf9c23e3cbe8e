"""Refreshing 一人一档/一企一档 from the data sources: attributes filled from the local registry,
an outage leaving the profile as it was (and reported), every lookup logged with the refresh's
purpose and legal basis, the command, and who may refresh."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.management import call_command

from tests.factories import ApplicantFactory, StaffUserFactory, make_uscc
from tests.policy_fixtures import World, elder_profile, make_world, publish
from tests.sharing_support import running_gateway
from tongban.core.errors import PermissionDenied, ValidationFailed
from tongban.policies import services
from tongban.policies.models import EnterpriseProfile, PersonProfile
from tongban.policies.refresh import LEGAL_BASIS, PURPOSE
from tongban.sharing import breaker
from tongban.sharing.models import DataLookup, LookupBasis, LookupResult
from tongban.sharing.services import do_load_registry_records, lookup_subject

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _local(settings: Any) -> Iterator[None]:
    settings.TONGBAN_SHARING_CONNECTORS = {"default": {"plugin": "local_registry"}}
    breaker.reset_breakers()
    yield
    breaker.reset_breakers()


@pytest.fixture
def world() -> World:
    w = make_world()
    publish(w)
    return w


def _person(n: int = 1, *, alive: bool | None = True, **extra: Any) -> PersonProfile:
    profile = elder_profile(n, **extra)
    PersonProfile.objects.filter(pk=profile.pk).update(alive=alive)
    profile.refresh_from_db()
    return profile


def test_refresh_fills_person_attributes_from_the_local_registry(world: World) -> None:
    living = _person(1, alive=None)
    dead = _person(2, alive=True, disability_grade=None)
    do_load_registry_records(
        [
            ("hukou", living.id_number, {"household_address": "示例路1号"}),
            ("disability", living.id_number, {"disability_level": "二级"}),
            ("education", living.id_number, {"school_name": "浙江示例大学"}),
            ("hukou", dead.id_number, {"household_address": "示例路2号"}),
            ("death_registry", dead.id_number, {"death_date": "2026-10-01"}),
        ]
    )
    report = services.check_refresh_profiles(world.author, "person")
    assert report.profiles == 2
    assert report.updated == 2
    assert report.problems == []
    living.refresh_from_db()
    dead.refresh_from_db()
    assert living.alive is True
    assert living.disability_grade == 2
    assert living.graduate_school == "浙江示例大学"
    assert dead.alive is False
    assert dead.disability_grade is None  # no card: left unknown, not invented
    assert set(report.changes[str(living.pk)]) == {"alive", "disability_grade", "graduate_school"}
    again = services.check_refresh_profiles(world.author, "person", [living.pk])
    assert again.profiles == 1
    assert again.updated == 0


def test_refresh_fills_enterprise_attributes(world: World) -> None:
    uscc = make_uscc("330106", 7)
    profile = EnterpriseProfile.objects.create(uscc=uscc, name="示例企业")
    do_load_registry_records(
        [("enterprise_registry", uscc, {"registered_on": "2019-03-04", "industry_code": "I6510"})]
    )
    report = services.check_refresh_profiles(world.head, "enterprise")
    assert report.updated == 1
    profile.refresh_from_db()
    assert profile.registered_on == dt.date(2019, 3, 4)
    assert profile.industry_code == "I6510"


def test_an_outage_leaves_the_profile_unchanged_and_is_reported(
    world: World, settings: Any
) -> None:
    profile = _person(1, alive=True, disability_grade=3, graduate_school="旧学校")
    with running_gateway() as gateway:
        gateway.script.status = 503
        settings.TONGBAN_SHARING_CONNECTORS = {"default": gateway.connector_entry()}
        report = services.check_refresh_profiles(world.author, "person")
    assert report.profiles == 1
    assert report.updated == 0
    assert len(report.problems) == 4
    assert all(LookupResult.ERROR in p for p in report.problems)
    profile.refresh_from_db()
    assert profile.alive is True  # never set to False by a failed lookup
    assert profile.disability_grade == 3
    assert profile.graduate_school == "旧学校"


def test_a_closed_port_is_an_outage_too(world: World, settings: Any) -> None:
    profile = _person(1, alive=None)
    with running_gateway() as gateway:
        entry = gateway.connector_entry()
    settings.TONGBAN_SHARING_CONNECTORS = {"default": entry}  # the gateway is gone
    report = services.check_refresh_profiles(world.author, "person")
    assert report.updated == 0
    assert len(report.problems) == 4
    profile.refresh_from_db()
    assert profile.alive is None


def test_the_lookup_log_has_purpose_and_legal_basis(world: World) -> None:
    profile = _person(1)
    do_load_registry_records([("hukou", profile.id_number, {"household_address": "示例路1号"})])
    services.check_refresh_profiles(world.author, "person")
    rows = list(DataLookup.objects.order_by("id"))
    assert [r.source for r in rows] == ["hukou", "death_registry", "disability", "education"]
    for row in rows:
        assert row.case is None
        assert row.requester == world.author
        assert row.purpose == PURPOSE
        assert row.legal_basis == LEGAL_BASIS
        assert row.basis == LookupBasis.LEGAL_BASIS
        assert profile.id_number not in row.subject_masked
    assert rows[0].result == LookupResult.FOUND
    assert rows[1].result == LookupResult.NOT_FOUND


def test_the_command_refreshes_as_the_platform(world: World) -> None:
    first = _person(1, alive=None)
    _person(2, alive=None)
    do_load_registry_records([("hukou", first.id_number, {"household_address": "示例路1号"})])
    out = StringIO()
    call_command("policies", "refresh-profiles", "person", "--limit", "1", stdout=out)
    assert "1 profiles — 1 updated, 4 lookups, 0 problem(s)" in out.getvalue()
    first.refresh_from_db()
    assert first.alive is True
    assert DataLookup.objects.filter(requester__isnull=True).count() == 4


def test_only_policy_staff_may_refresh(world: World) -> None:
    profile = _person(1, alive=None)
    window = StaffUserFactory(department=world.departments["T-MZJ"], roles=["window"])
    for actor in (AnonymousUser(), ApplicantFactory(), window, world.outsider):
        with pytest.raises(PermissionDenied):
            services.check_refresh_profiles(actor, "person")
    assert DataLookup.objects.count() == 0
    profile.refresh_from_db()
    assert profile.alive is None
    with pytest.raises(ValidationFailed):
        services.check_refresh_profiles(world.author, "pets")


def test_lookup_subject_needs_a_subject_a_purpose_and_a_basis(world: World) -> None:
    profile = _person(1)
    with pytest.raises(ValidationFailed) as caught:
        lookup_subject(
            world.author,
            code="hukou",
            purpose=" ",
            legal_basis="",
            subject_person=profile.id_number,
        )
    assert {e.path for e in caught.value.errors} == {"purpose", "legal_basis"}
    with pytest.raises(ValidationFailed):
        lookup_subject(world.author, code="hukou", purpose="x", legal_basis="y")
    with pytest.raises(ValidationFailed) as caught:
        lookup_subject(
            world.author,
            code="enterprise_registry",
            purpose="x",
            legal_basis="y",
            subject_person=profile.id_number,
        )
    assert [e.path for e in caught.value.errors] == ["source"]
    assert DataLookup.objects.count() == 0
