"""免提交 by e-licence: the licences app's resolver in the sharing registry answers for the
applicant's own valid licence (or their enterprise's), and for nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.licence_fixtures import LicenceWorld, world  # noqa: F401
from tongban.licences import services
from tongban.sharing import exemptions


@dataclass
class Case:
    applicant_person_id: int | None
    applicant_enterprise_id: int | None = None


@dataclass
class Context:
    case: Case
    actor: Any = None

    def lookup(self, code: str) -> Any:  # the licence resolver never asks a data source
        raise AssertionError(f"unexpected lookup in {code}")


NEED = exemptions.MaterialNeed("permit", "测试许可证", "LT-TEST-PERMIT", "")


def test_the_holders_valid_licence_satisfies_the_material(world: LicenceWorld) -> None:  # noqa: F811
    answer = exemptions.resolve(Context(Case(world.holder.person_id)), NEED)
    assert answer.satisfied
    assert answer.reference == world.licence.number
    assert world.licence.number in answer.summary


def test_an_enterprise_application_uses_the_enterprises_licence(world: LicenceWorld) -> None:  # noqa: F811
    enterprise_id = world.enterprise_licence.holder_enterprise_id
    answer = exemptions.resolve(Context(Case(world.agent.person_id, enterprise_id)), NEED)
    assert answer.satisfied
    assert answer.reference == world.enterprise_licence.number


def test_no_licence_no_exemption(world: LicenceWorld) -> None:  # noqa: F811
    answer = exemptions.resolve(Context(Case(world.other_holder.person_id)), NEED)
    assert not answer.satisfied
    other_type = exemptions.MaterialNeed("x", "别的证", "LT-NOT-HELD", "")
    assert not exemptions.resolve(Context(Case(world.holder.person_id)), other_type).satisfied


def test_a_revoked_licence_no_longer_stands_in(world: LicenceWorld) -> None:  # noqa: F811
    services.check_revoke(world.head, world.licence.number, "违反告知承诺")
    answer = exemptions.resolve(Context(Case(world.holder.person_id)), NEED)
    assert not answer.satisfied
