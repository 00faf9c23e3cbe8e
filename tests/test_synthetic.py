"""Synthetic registries and the demo loader: deterministic, valid, distinct, idempotent.

The generators must give the same records for the same seed, only valid 身份证号 and
统一社会信用代码 (GB 11643 / GB 32100 check characters), no duplicates, and never an identifier
from the range reserved for the hand-written demo persons. ``demo_data`` must load everything
through the identity services and leave the database unchanged when run a second time.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from tongban.core.identifiers import (
    birth_date_from_id_number,
    is_valid_id_number,
    is_valid_uscc,
    org_code_check_char,
)
from tongban.demo.accounts import (
    DEMO_ACCOUNTS,
    DEMO_ENTERPRISES,
    DEMO_PASSWORD,
    DEMO_WARNING,
    accounts_table,
)
from tongban.identity.models import Enterprise, EnterpriseAgent, Person, StaffRole, User
from tongban.identity.synthetic import (
    AREAS_BY_CODE,
    INDUSTRIES_BY_CODE,
    RESERVED_SEQUENCE_START,
    build_id_number,
    build_uscc,
    generate_enterprises,
    generate_persons,
)


def test_same_seed_gives_the_same_records() -> None:
    assert generate_persons(50, seed=7) == generate_persons(50, seed=7)
    people = generate_persons(50, seed=7)
    assert generate_enterprises(20, seed=7, representatives=people) == generate_enterprises(
        20, seed=7, representatives=people
    )
    assert generate_persons(50, seed=7) != generate_persons(50, seed=8)


def test_a_longer_run_extends_a_shorter_one() -> None:
    assert generate_persons(30, seed=3)[:10] == generate_persons(10, seed=3)


def test_persons_are_valid_and_distinct() -> None:
    people = generate_persons(1000)
    assert len({p.id_number for p in people}) == len(people)
    assert len({p.mobile for p in people}) == len(people)
    for p in people:
        assert is_valid_id_number(p.id_number), p
        assert birth_date_from_id_number(p.id_number) == p.birth_date
        assert p.gender == ("male" if int(p.id_number[16]) % 2 else "female")
        assert int(p.id_number[14:17]) < RESERVED_SEQUENCE_START
        assert len(p.mobile) == 11
        assert p.mobile.startswith("1")
        assert p.household_division in AREAS_BY_CODE
        assert "示例路" in p.address
        assert 2 <= len(p.name) <= 3
    assert {p.gender for p in people} == {"male", "female"}


def test_enterprises_are_valid_and_distinct() -> None:
    people = generate_persons(300)
    by_id = {p.id_number: p for p in people}
    enterprises = generate_enterprises(300, representatives=people)
    assert len({e.uscc for e in enterprises}) == len(enterprises)
    assert len({e.name for e in enterprises}) == len(enterprises)
    assert {e.kind for e in enterprises} == {"company", "individual_business"}
    for e in enterprises:
        assert is_valid_uscc(e.uscc), e
        assert e.uscc[:2] == ("92" if e.kind == "individual_business" else "91")
        assert e.uscc[2:8] == e.division
        assert org_code_check_char(e.uscc[8:16]) == e.uscc[16]
        assert e.industry_code in INDUSTRIES_BY_CODE
        assert e.legal_representative in by_id
        representative = by_id[e.legal_representative]
        assert representative.birth_date.year + 18 <= e.registered_on.year


def test_enterprises_without_candidates_have_no_representative() -> None:
    assert all(e.legal_representative is None for e in generate_enterprises(5))


def test_identifier_builders() -> None:
    assert build_id_number("110101", dt.date(1990, 3, 7), 1)[:17] == "11010119900307001"
    assert is_valid_id_number(build_id_number("330106", dt.date(1990, 3, 7), 999))
    with pytest.raises(ValueError, match="sequence"):
        build_id_number("330106", dt.date(1990, 3, 7), 1000)
    uscc = build_uscc("330106", "MA2DEM01")
    assert is_valid_uscc(uscc)
    assert uscc.startswith("91330106MA2DEM01")
    with pytest.raises(ValueError, match="alphabet"):
        build_uscc("330106", "MA2DEMO1")  # the letter O is not used in USCCs


def test_demo_accounts_are_consistent() -> None:
    usernames = [a.username for a in DEMO_ACCOUNTS]
    assert len(set(usernames)) == len(usernames)
    people = [a.person for a in DEMO_ACCOUNTS if a.person is not None]
    assert len({p.id_number for p in people}) == len(people)
    synthetic = {p.id_number for p in generate_persons(2000)}
    for person in people:
        assert is_valid_id_number(person.id_number)
        assert int(person.id_number[14:17]) >= RESERVED_SEQUENCE_START
        assert person.id_number not in synthetic
    roles = {r for a in DEMO_ACCOUNTS for r in a.roles}
    assert {"window", "reviewer", "department_head", "supervisor", "catalog_admin"} <= roles
    reviewer_departments = {a.department for a in DEMO_ACCOUNTS if "reviewer" in a.roles}
    assert len(reviewer_departments) >= 2
    assert any(a.superuser for a in DEMO_ACCOUNTS)
    for enterprise in DEMO_ENTERPRISES:
        assert is_valid_uscc(enterprise.uscc)
        assert {enterprise.legal_representative, *enterprise.agents} <= set(usernames)
    table = accounts_table()
    assert all(u in table for u in usernames)
    assert DEMO_PASSWORD in table


@pytest.mark.django_db
def test_demo_data_loads_everything_once() -> None:
    out = io.StringIO()
    call_command("demo_data", "--persons", "20", "--enterprises", "8", "--no-table", stdout=out)
    assert DEMO_WARNING in out.getvalue()
    counts = (
        Person.objects.count(),
        Enterprise.objects.count(),
        User.objects.count(),
        StaffRole.objects.count(),
        EnterpriseAgent.objects.count(),
    )
    applicants = sum(1 for a in DEMO_ACCOUNTS if a.person is not None)
    from tongban.demo.policies import POLICY_STAFF  # the policy officers the sample policies need

    policy_roles = sum(len(roles) for *_, roles in POLICY_STAFF)
    assert counts == (
        20 + applicants,
        8 + len(DEMO_ENTERPRISES),
        len(DEMO_ACCOUNTS) + len(POLICY_STAFF),
        sum(len(a.roles) for a in DEMO_ACCOUNTS) + policy_roles,
        sum(1 + len(e.agents) for e in DEMO_ENTERPRISES),  # 法定代表人 and 经办人
    )

    call_command("demo_data", "--persons", "20", "--enterprises", "8", "--no-table", stdout=out)
    assert (
        Person.objects.count(),
        Enterprise.objects.count(),
        User.objects.count(),
        StaffRole.objects.count(),
        EnterpriseAgent.objects.count(),
    ) == counts

    elder = User.objects.get(username="elder")
    assert elder.elder_mode
    assert elder.check_password(DEMO_PASSWORD)
    admin = User.objects.get(username="admin")
    assert admin.is_superuser
    assert admin.is_staff
    assert User.objects.get(username="catalog-admin").is_staff
    assert not User.objects.get(username="window").is_staff
    agent = EnterpriseAgent.objects.select_related("person", "enterprise").get(role="agent")
    assert agent.person.account.username == "agent"
    assert agent.enterprise.legal_representative == Person.objects.get(account__username="owner")


def test_demo_accounts_command_prints_the_table() -> None:
    out = io.StringIO()
    call_command("demo_accounts", stdout=out)
    text = out.getvalue()
    assert "citizen" in text
    assert DEMO_PASSWORD in text
    assert DEMO_WARNING in text
