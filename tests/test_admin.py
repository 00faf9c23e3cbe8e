"""The Django admin: who may open which page, masking of personal data with its access log,
read-only published item versions, editable 实施清单 and the "导入事项目录" page."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.catalog_fixtures import BODIES, FOOD, sample, write_catalog
from tests.factories import (
    PASSWORD,
    ApplicantFactory,
    DepartmentFactory,
    DivisionFactory,
    EnterpriseAgentFactory,
    PersonFactory,
    StaffUserFactory,
    UserFactory,
)
from tongban.catalog.models import Implementation, Item, ItemVersion
from tongban.catalog.services import import_catalog
from tongban.core.masking import mask_id_number
from tongban.identity.models import (
    AccountKind,
    Division,
    Person,
    PersonalDataAccess,
    Role,
    StaffRole,
    User,
)

pytestmark = pytest.mark.django_db

CATALOG_PAGES = [
    "/admin/catalog/dataelement/",
    "/admin/catalog/item/",
    "/admin/catalog/itemversion/",
    "/admin/catalog/implementation/",
    "/admin/catalog/item/import/",
    # Government bodies: catalog administrators look them up.
    "/admin/identity/division/",
    "/admin/identity/department/",
    "/admin/identity/servicecentre/",
]
STAFF_PAGES = [
    "/admin/identity/user/",
    "/admin/identity/user/add/",
    "/admin/identity/person/",
    "/admin/identity/enterprise/",
    "/admin/identity/enterpriseagent/",
    "/admin/identity/personaldataaccess/",
    "/admin/identity/division/add/",
    "/admin/axes/accessattempt/",
]


def client_for(user: User | None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@pytest.fixture
def catalog(tmp_path: Path) -> Item:
    import_catalog(sample(tmp_path))
    return Item.objects.get(code="SC-FOOD-001")


@pytest.fixture
def catalog_admin() -> User:
    return StaffUserFactory(roles=[Role.CATALOG_ADMIN])


@pytest.fixture
def system_admin() -> User:
    return StaffUserFactory(roles=[Role.SYSTEM_ADMIN])


# --- who may open what --------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/admin/", *CATALOG_PAGES, *STAFF_PAGES])
def test_anonymous_is_sent_to_login(url: str) -> None:
    response = client_for(None).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/?next=")


@pytest.mark.parametrize("url", ["/admin/", *CATALOG_PAGES, *STAFF_PAGES])
def test_applicant_and_reviewer_are_refused(url: str) -> None:
    for user in (ApplicantFactory(), StaffUserFactory(roles=[Role.REVIEWER])):
        response = client_for(user).get(url)
        assert response.status_code == 302, user
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("url", [*CATALOG_PAGES, *STAFF_PAGES])
def test_is_staff_without_an_admin_role_opens_nothing(url: str) -> None:
    for user in (
        StaffUserFactory(roles=[Role.REVIEWER, Role.DEPARTMENT_HEAD], is_staff=True),
        ApplicantFactory(is_staff=True),
    ):
        assert client_for(user).get(url).status_code == 403, user


def test_is_staff_without_an_admin_role_sees_an_empty_index() -> None:
    reviewer = StaffUserFactory(roles=[Role.REVIEWER], is_staff=True)
    response = client_for(reviewer).get("/admin/")
    assert response.status_code == 200
    assert response.context["app_list"] == []


@pytest.mark.parametrize("url", CATALOG_PAGES)
def test_catalog_admin_opens_catalog_pages(url: str, catalog_admin: User) -> None:
    assert client_for(catalog_admin).get(url).status_code == 200


@pytest.mark.parametrize("url", STAFF_PAGES)
def test_catalog_admin_is_refused_staff_pages(url: str, catalog_admin: User) -> None:
    assert client_for(catalog_admin).get(url).status_code == 403


def test_catalog_admin_index_lists_only_catalog_and_bodies(catalog_admin: User) -> None:
    response = client_for(catalog_admin).get("/admin/")
    models = {
        (app["app_label"], m["object_name"])
        for app in response.context["app_list"]
        for m in app["models"]
    }
    assert models == {
        ("bundles", "Bundle"),
        ("catalog", "DataElement"),
        ("catalog", "Item"),
        ("catalog", "ItemVersion"),
        ("catalog", "Implementation"),
        ("identity", "Division"),
        ("identity", "Department"),
        ("identity", "ServiceCentre"),
    }


def test_catalog_admin_may_not_change_government_bodies(catalog_admin: User) -> None:
    division = DivisionFactory()
    client = client_for(catalog_admin)
    url = f"/admin/identity/division/{division.pk}/change/"
    assert client.get(url).status_code == 200  # view only
    response = client.post(url, {"code": division.code, "name": "改名", "level": "city"})
    assert response.status_code == 403
    division.refresh_from_db()
    assert division.name != "改名"


@pytest.mark.parametrize("url", ["/admin/", *CATALOG_PAGES, *STAFF_PAGES])
def test_system_admin_opens_everything(url: str, system_admin: User) -> None:
    assert client_for(system_admin).get(url).status_code == 200


def test_superuser_opens_everything() -> None:
    root = UserFactory(is_staff=True, is_superuser=True, kind=AccountKind.STAFF)
    client = client_for(root)
    for url in ["/admin/", *CATALOG_PAGES, *STAFF_PAGES]:
        assert client.get(url).status_code == 200, url


def test_autocomplete_of_bodies_works_for_catalog_admin(catalog: Item, catalog_admin: User) -> None:
    response = client_for(catalog_admin).get(
        "/admin/autocomplete/",
        {
            "app_label": "catalog",
            "model_name": "implementation",
            "field_name": "division",
            "term": "西湖",
        },
    )
    assert response.status_code == 200
    assert [r["text"] for r in response.json()["results"]] == ["西湖区（330106）"]


# --- lists: search and filters ------------------------------------------------------------------


def test_division_list_is_a_tree_with_search_and_level_filter(
    catalog: Item, system_admin: User
) -> None:
    client = client_for(system_admin)
    response = client.get("/admin/identity/division/", {"q": "330"})
    names = [row.tree_name(d) for row, d in _rows(response)]
    assert names == ["浙江省", "\u3000杭州市", "\u3000\u3000西湖区", "\u3000\u3000\u3000北山街道"]
    response = client.get("/admin/identity/division/", {"level__exact": "district"})
    assert [d.code for d in response.context["cl"].result_list] == ["330106"]
    response = client.get("/admin/identity/division/", {"q": "330106001"})
    assert [d.name for d in response.context["cl"].result_list] == ["北山街道"]


def _rows(response: Any) -> list[tuple[Any, Any]]:
    changelist = response.context["cl"]
    return [(changelist.model_admin, obj) for obj in changelist.result_list]


@pytest.mark.parametrize(
    ("url", "query", "expected"),
    [
        ("/admin/identity/department/", {"q": "市场监督"}, 2),
        ("/admin/identity/department/", {"division__level__exact": "district"}, 1),
        ("/admin/catalog/item/", {"q": "食品经营"}, 1),
        ("/admin/catalog/item/", {"current_version__item_type__exact": "licensing"}, 1),
        ("/admin/catalog/item/", {"current_version__item_type__exact": "filing"}, 0),
        ("/admin/catalog/itemversion/", {"q": "SC-FOOD"}, 1),
        ("/admin/catalog/implementation/", {"q": "SC-FOOD-001"}, 1),
        ("/admin/catalog/dataelement/", {"validator__exact": "id_number"}, 1),
        ("/admin/catalog/dataelement/", {"q": "面积"}, 1),
    ],
)
def test_catalog_search_and_filters(
    catalog: Item, catalog_admin: User, url: str, query: dict[str, str], expected: int
) -> None:
    response = client_for(catalog_admin).get(url, query)
    assert response.status_code == 200
    assert response.context["cl"].result_count == expected


def test_versions_filter_by_division(catalog: Item, catalog_admin: User, tmp_path: Path) -> None:
    district_item = (
        FOOD.split("implementations:")[0]
        .replace("SC-FOOD-001", "SC-FOOD-002")
        .replace("department: 3301-SCJG", "department: 330106-SCJG")
    )
    import_catalog(write_catalog(tmp_path / "more", district=district_item), root=tmp_path)
    city = Division.objects.get(code="330100")
    district = Division.objects.get(code="330106")
    client = client_for(catalog_admin)
    url = "/admin/catalog/itemversion/"
    by_city = client.get(url, {"department__division__id__exact": city.pk}).context["cl"]
    assert [v.item.code for v in by_city.result_list] == ["SC-FOOD-001"]
    by_district = client.get(url, {"department__division__id__exact": district.pk})
    assert [v.item.code for v in by_district.context["cl"].result_list] == ["SC-FOOD-002"]
    items = client.get(
        "/admin/catalog/item/", {"current_version__department__division__id__exact": district.pk}
    )
    assert [i.code for i in items.context["cl"].result_list] == ["SC-FOOD-002"]


def test_applicant_accounts_have_no_role_inline(system_admin: User) -> None:
    applicant = ApplicantFactory()
    page = client_for(system_admin).get(f"/admin/identity/user/{applicant.pk}/change/")
    assert page.status_code == 200
    assert page.context["inline_admin_formsets"] == []


def test_account_filters(system_admin: User) -> None:
    ApplicantFactory.create_batch(2)
    StaffUserFactory(roles=[Role.REVIEWER])
    client = client_for(system_admin)
    staff = client.get("/admin/identity/user/", {"kind__exact": "staff"}).context["cl"]
    assert staff.result_count == 2
    applicants = client.get("/admin/identity/user/", {"kind__exact": "applicant"}).context["cl"]
    assert applicants.result_count == 2
    reviewers = client.get("/admin/identity/user/", {"staff_roles__role": "reviewer"})
    assert reviewers.context["cl"].result_count == 1
    basic = client.get("/admin/identity/user/", {"real_name_level__exact": "1"}).context["cl"]
    assert basic.result_count == 2


# --- lists cost a fixed number of queries -------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "make"),
    [
        ("/admin/identity/user/", lambda n: StaffUserFactory.create_batch(n, roles=["reviewer"])),
        ("/admin/identity/person/", PersonFactory.create_batch),
        ("/admin/identity/enterpriseagent/", EnterpriseAgentFactory.create_batch),
        ("/admin/identity/department/", DepartmentFactory.create_batch),
    ],
    ids=["users", "persons", "agents", "departments"],
)
def test_list_queries_do_not_grow_with_rows(system_admin: User, url: str, make: Any) -> None:
    client = client_for(system_admin)
    make(2)
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    make(8)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


# --- persons: masking and the access log --------------------------------------------------------


def test_system_admin_sees_full_id_numbers_and_each_showing_is_logged(system_admin: User) -> None:
    people = PersonFactory.create_batch(3)
    response = client_for(system_admin).get("/admin/identity/person/")
    page = response.content.decode()
    assert all(p.id_number in page for p in people)
    logged = PersonalDataAccess.objects.filter(actor=system_admin)
    assert sorted(logged.values_list("person_id", flat=True)) == sorted(p.pk for p in people)


def test_system_admin_detail_is_unmasked_and_logged(system_admin: User) -> None:
    person = PersonFactory()
    response = client_for(system_admin).get(f"/admin/identity/person/{person.pk}/change/")
    assert response.status_code == 200
    assert person.id_number in response.content.decode()
    row = PersonalDataAccess.objects.get(actor=system_admin, person=person)
    assert row.purpose.endswith("（未脱敏）")


def test_without_system_admin_role_id_numbers_are_masked() -> None:
    root = UserFactory(is_staff=True, is_superuser=True, kind=AccountKind.STAFF)
    person = PersonFactory(mobile="13812345678")
    client = client_for(root)

    listing = client.get("/admin/identity/person/").content.decode()
    assert person.id_number not in listing
    assert mask_id_number(person.id_number) in listing
    assert not PersonalDataAccess.objects.filter(purpose__contains="列表").exists()

    detail = client.get(f"/admin/identity/person/{person.pk}/change/").content.decode()
    assert person.id_number not in detail
    assert "13812345678" not in detail
    assert mask_id_number(person.id_number) in detail
    assert "138****5678" in detail
    row = PersonalDataAccess.objects.get(actor=root, person=person)
    assert row.purpose.endswith("（已脱敏）")


def test_masked_editor_cannot_change_the_id_number() -> None:
    root = UserFactory(is_staff=True, is_superuser=True, kind=AccountKind.STAFF)
    person = PersonFactory()
    original = person.id_number
    response = client_for(root).post(
        f"/admin/identity/person/{person.pk}/change/",
        {"id_number": "11010519491231002X", "name": "新名字", "address": "新地址"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.id_number == original
    assert person.name == "新名字"


def test_person_search_by_exact_id_number_only() -> None:
    root = UserFactory(is_staff=True, is_superuser=True, kind=AccountKind.STAFF)
    person, other = PersonFactory.create_batch(2)
    client = client_for(root)

    def found(term: str) -> list[int]:
        response = client.get("/admin/identity/person/", {"q": term})
        return [p.pk for p in response.context["cl"].result_list]

    assert found(person.id_number) == [person.pk]
    assert found(person.id_number.lower()) == [person.pk]
    assert found(person.id_number[:10]) == []
    assert found(person.id_number[-4:]) == []
    assert other.name != person.name
    assert found(person.name) == [person.pk]


def test_person_added_in_admin_takes_birth_date_and_gender_from_the_id_number(
    system_admin: User,
) -> None:
    response = client_for(system_admin).post(
        "/admin/identity/person/add/",
        {"id_number": "11010519491231002x", "name": "张三", "mobile": "", "address": ""},
    )
    assert response.status_code == 302, _errors(response)
    person = Person.objects.get(id_number="11010519491231002X")
    assert person.birth_date.isoformat() == "1949-12-31"
    assert person.gender == "female"


def test_person_with_a_bad_check_digit_is_refused(system_admin: User) -> None:
    response = client_for(system_admin).post(
        "/admin/identity/person/add/",
        {"id_number": "110105194912310021", "name": "张三", "mobile": "", "address": ""},
    )
    assert response.status_code == 200
    assert "校验位" in response.content.decode()


def test_access_log_is_read_only(system_admin: User) -> None:
    person = PersonFactory()
    client = client_for(system_admin)
    client.get(f"/admin/identity/person/{person.pk}/change/")
    row = PersonalDataAccess.objects.get()
    assert client.get("/admin/identity/personaldataaccess/add/").status_code == 403
    url = f"/admin/identity/personaldataaccess/{row.pk}/"
    assert client.get(url + "change/").status_code == 200  # view only
    assert client.post(url + "change/", {"purpose": "改写"}).status_code == 403
    assert client.post(url + "delete/", {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.purpose != "改写"


# --- accounts and roles -------------------------------------------------------------------------


def test_staff_roles_are_granted_in_the_account_page(system_admin: User) -> None:
    department = DepartmentFactory()
    staff = StaffUserFactory(department=department)
    client = client_for(system_admin)
    url = f"/admin/identity/user/{staff.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    data = {
        "username": staff.username,
        "kind": "staff",
        "display_name": staff.display_name,
        "department": department.pk,
        "real_name_level": 3,
        "oidc_subject": "gov-123",
        "is_active": "on",
        "is_staff": "on",
        "date_joined_0": "2026-01-05",
        "date_joined_1": "09:00:00",
        "staff_roles-TOTAL_FORMS": "1",
        "staff_roles-INITIAL_FORMS": "0",
        "staff_roles-MIN_NUM_FORMS": "0",
        "staff_roles-MAX_NUM_FORMS": "1000",
        "staff_roles-0-role": "catalog_admin",
        "staff_roles-0-department": department.pk,
    }
    response = client.post(url, data)
    assert response.status_code == 302, _errors(response)
    staff.refresh_from_db()
    assert staff.oidc_subject == "gov-123"
    assert StaffRole.objects.filter(user=staff, role="catalog_admin").exists()
    assert client_for(staff).get("/admin/catalog/item/").status_code == 200


def test_add_account(system_admin: User) -> None:
    response = client_for(system_admin).post(
        "/admin/identity/user/add/",
        {
            "username": "newclerk",
            "kind": "staff",
            "display_name": "新同事",
            "password1": "a-long-enough-passphrase",
            "password2": "a-long-enough-passphrase",
        },
    )
    assert response.status_code == 302, _errors(response)
    assert User.objects.get(username="newclerk").kind == AccountKind.STAFF


def test_enterprise_pages(system_admin: User) -> None:
    agency = EnterpriseAgentFactory()
    client = client_for(system_admin)
    enterprise_url = f"/admin/identity/enterprise/{agency.enterprise.pk}/change/"
    assert client.get(enterprise_url).status_code == 200
    response = client.get("/admin/identity/enterprise/", {"q": agency.enterprise.uscc})
    assert response.context["cl"].result_count == 1
    response = client.get("/admin/identity/enterpriseagent/", {"q": agency.person.id_number})
    assert response.context["cl"].result_count == 1


def _errors(response: Any) -> str:
    if response.context is None:
        return response.content.decode()[:500]
    errors = []
    for key in ("adminform", "inline_admin_formsets"):
        value = response.context.get(key)
        if key == "adminform" and value is not None:
            errors.append(str(value.form.errors))
        elif value:
            errors.extend(str(f.formset.errors) for f in value)
    return " ".join(errors)


# --- items: published versions are immutable ----------------------------------------------------


def test_item_pages_show_versions_read_only(catalog: Item, catalog_admin: User) -> None:
    client = client_for(catalog_admin)
    version = catalog.current_version
    assert version is not None

    item_page = client.get(f"/admin/catalog/item/{catalog.pk}/change/")
    assert item_page.status_code == 200
    assert version.name in item_page.content.decode()
    assert client.get("/admin/catalog/item/add/").status_code == 403

    version_url = f"/admin/catalog/itemversion/{version.pk}/change/"
    page = client.get(version_url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "申请主体类型" in html  # a 情形 question
    assert "食品经营许可申请书" in html  # a material
    assert "经营者身份证号" in html  # a field
    assert 'name="name"' not in html  # no editable inputs
    assert not page.context["has_change_permission"]


@pytest.mark.parametrize(
    "who", [Role.CATALOG_ADMIN, Role.SYSTEM_ADMIN, "superuser"], ids=lambda r: str(r)
)
def test_published_versions_cannot_be_changed_or_deleted(catalog: Item, who: str) -> None:
    if who == "superuser":
        user = UserFactory(is_staff=True, is_superuser=True, kind=AccountKind.STAFF)
    else:
        user = StaffUserFactory(roles=[who])
    client = client_for(user)
    version = catalog.current_version
    assert version is not None
    base = f"/admin/catalog/itemversion/{version.pk}/"
    response = client.post(base + "change/", {"name": "被篡改的名称"})
    assert response.status_code == 403
    assert client.get(base + "delete/").status_code == 403
    assert client.post(base + "delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/catalog/itemversion/add/").status_code == 403
    assert (
        client.post(f"/admin/catalog/item/{catalog.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    version.refresh_from_db()
    assert version.name == "食品经营许可（餐饮服务）"
    assert ItemVersion.objects.count() == 1


def test_no_bulk_delete_action_on_versions(catalog: Item, catalog_admin: User) -> None:
    response = client_for(catalog_admin).get("/admin/catalog/itemversion/")
    assert response.context["action_form"] is None or "delete_selected" not in str(
        response.context["action_form"]
    )


# --- 实施清单 are editable --------------------------------------------------------------------------


def _implementation_data(impl: Implementation, **changes: Any) -> dict[str, Any]:
    data = {
        "item": impl.item_id,
        "division": impl.division_id,
        "handling_department": impl.handling_department_id or "",
        "promised_limit_days": impl.promised_limit_days or "",
        "fee": impl.fee,
        "service_centre": impl.service_centre_id or "",
        "windows": impl.windows,
        "online_depth": impl.online_depth or "",
        "required_trips": impl.required_trips if impl.required_trips is not None else "",
    }
    data.update(changes)
    return data


def test_implementation_is_editable(catalog: Item, catalog_admin: User) -> None:
    impl = Implementation.objects.get(item=catalog)
    url = f"/admin/catalog/implementation/{impl.pk}/change/"
    response = client_for(catalog_admin).post(
        url, _implementation_data(impl, promised_limit_days=2, windows="3号窗口")
    )
    assert response.status_code == 302, _errors(response)
    impl.refresh_from_db()
    assert impl.promised_limit_days == 2
    assert impl.windows == "3号窗口"


def test_implementation_promise_cannot_exceed_the_statutory_limit(
    catalog: Item, catalog_admin: User
) -> None:
    impl = Implementation.objects.get(item=catalog)
    url = f"/admin/catalog/implementation/{impl.pk}/change/"
    response = client_for(catalog_admin).post(
        url, _implementation_data(impl, promised_limit_days=21)
    )
    assert response.status_code == 200
    assert "法定办结时限（20 个工作日）" in response.content.decode()


def test_implementation_for_another_division(catalog: Item, catalog_admin: User) -> None:
    city = Division.objects.get(code="330100")
    response = client_for(catalog_admin).post(
        "/admin/catalog/implementation/add/",
        {
            "item": catalog.pk,
            "division": city.pk,
            "promised_limit_days": 5,
            "fee": "不收费",
            "windows": "",
        },
    )
    assert response.status_code == 302, _errors(response)
    assert Implementation.objects.filter(item=catalog, division=city).exists()


# --- 导入事项目录 ---------------------------------------------------------------------------------

IMPORT = "/admin/catalog/item/import/"


def _zip(files: dict[str, str]) -> io.BytesIO:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    buffer.seek(0)
    buffer.name = "catalog.zip"
    return buffer


def _yaml(name: str, text: str) -> io.BytesIO:
    buffer = io.BytesIO(text.encode("utf-8"))
    buffer.name = name
    return buffer


def test_import_link_on_the_item_list(catalog_admin: User) -> None:
    response = client_for(catalog_admin).get("/admin/catalog/item/")
    assert reverse("admin:catalog_item_import") == IMPORT
    assert f'href="{IMPORT}"' in response.content.decode()
    assert "导入事项目录" in response.content.decode()


def test_import_a_zip_of_yaml_files(catalog_admin: User) -> None:
    response = client_for(catalog_admin).post(
        IMPORT, {"file": _zip({"bodies.yaml": BODIES, "items/food.yaml": FOOD})}
    )
    assert response.status_code == 200
    report = response.context["report"]
    assert report.files == 2
    assert report.counts["items_created"] == 1
    assert 'id="import-report"' in response.content.decode()
    assert Item.objects.filter(code="SC-FOOD-001").exists()


def test_import_one_yaml_file(catalog_admin: User) -> None:
    response = client_for(catalog_admin).post(IMPORT, {"file": _yaml("bodies.yaml", BODIES)})
    assert response.status_code == 200
    assert response.context["report"].counts["divisions"] == 4
    assert Division.objects.filter(code="330106").exists()


def test_import_problems_name_file_and_line(catalog_admin: User) -> None:
    broken = FOOD.replace("department: 3301-SCJG", "department: NO-SUCH-DEPT")
    response = client_for(catalog_admin).post(
        IMPORT, {"file": _zip({"bodies.yaml": BODIES, "items/food.yaml": broken})}
    )
    assert response.status_code == 422
    problems = response.context["problems"]
    assert problems
    problem = next(p for p in problems if "NO-SUCH-DEPT" in p.message or "department" in p.path)
    assert problem.file == "items/food.yaml"
    line = broken.splitlines().index("    department: NO-SUCH-DEPT") + 1
    assert problem.line == line
    html = response.content.decode()
    assert 'id="import-problems"' in html
    assert f"<td>items/food.yaml</td><td>{line}</td>" in html
    assert not Item.objects.exists()


def test_import_rejects_unsafe_archives(catalog_admin: User) -> None:
    response = client_for(catalog_admin).post(IMPORT, {"file": _zip({"../evil.yaml": BODIES})})
    assert response.status_code == 400
    assert "不安全的路径" in response.content.decode()
    assert not Division.objects.filter(code__startswith="33").exists()


def test_import_rejects_archives_without_yaml(catalog_admin: User) -> None:
    response = client_for(catalog_admin).post(IMPORT, {"file": _zip({"readme.txt": "hi"})})
    assert response.status_code == 400
    assert "YAML" in response.content.decode()


def test_import_without_a_file(catalog_admin: User) -> None:
    response = client_for(catalog_admin).post(IMPORT, {})
    assert response.status_code == 400
    assert response.context["form"].errors


def test_import_refused_to_others() -> None:
    reviewer = StaffUserFactory(roles=[Role.REVIEWER], is_staff=True)
    client = client_for(reviewer)
    assert client.get(IMPORT).status_code == 403
    response = client.post(IMPORT, {"file": _yaml("bodies.yaml", BODIES)})
    assert response.status_code == 403
    assert not Division.objects.filter(code__startswith="33").exists()
    assert client_for(None).get(IMPORT).status_code == 302


# --- login lockouts -----------------------------------------------------------------------------


def test_system_admin_lifts_a_lockout_by_deleting_the_attempt(system_admin: User) -> None:
    locked = ApplicantFactory(username="locked")
    portal = Client(REMOTE_ADDR="10.2.0.1")
    for _ in range(5):
        portal.post("/accounts/login/", {"username": "locked", "password": "wrong-password"})
    attempt = AccessAttempt.objects.get(username="locked")
    client = client_for(system_admin)
    assert client.get(f"/admin/axes/accessattempt/{attempt.pk}/change/").status_code == 200
    assert client.get("/admin/axes/accessattempt/add/").status_code == 403
    response = client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="locked").exists()
    again = Client(REMOTE_ADDR="10.2.0.1")
    response = again.post("/accounts/login/", {"username": locked.username, "password": PASSWORD})
    assert response.status_code == 302


def test_catalog_admin_cannot_lift_lockouts(catalog_admin: User) -> None:
    assert client_for(catalog_admin).get("/admin/axes/accessattempt/").status_code == 403
