"""Licence admin: system administrators configure licence types and read keys and licences;
private keys and holder identifiers never appear; other staff are kept out."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import StaffUserFactory
from tests.licence_fixtures import LicenceWorld, world  # noqa: F401

pytestmark = pytest.mark.django_db


def test_admin_pages(world: LicenceWorld) -> None:  # noqa: F811
    admin = StaffUserFactory(roles=["system_admin"])
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/licences/licencetype/").status_code == 200
    key = world.licence.seal_key
    page = client.get(f"/admin/licences/sealkey/{key.pk}/change/")
    assert page.status_code == 200
    assert "wrapped_private_key" not in page.content.decode()
    detail = client.get(f"/admin/licences/licence/{world.licence.pk}/change/").content.decode()
    assert world.licence.number in detail
    assert world.licence.holder_identifier not in detail
    outsider = Client()
    outsider.force_login(world.head)
    assert outsider.get("/admin/licences/licencetype/").status_code in {302, 403}
