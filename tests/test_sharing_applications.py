"""Shared data in an application: 系统填 fields filled from data sources (read-only, shown with
their source), 免提交 materials satisfied by a lookup (the case records what, from where and
when, and staff see it), consent before a lookup that needs it, every lookup logged, a source
that is down (the applicant types and uploads instead, submission still works, nothing
half-written), the resolver registry for licence types — through the portal and the API — and
the permission matrix of every page and endpoint the sharing layer adds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tests.catalog_fixtures import sample, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tests.sharing_support import Gateway, running_gateway
from tongban.cases.applications import application_of
from tongban.cases.models import Case, CaseState
from tongban.cases.services import check_create_draft
from tongban.catalog.services import import_catalog
from tongban.core.masking import mask_id_number
from tongban.identity.models import Department
from tongban.sharing import breaker, exemptions, services
from tongban.sharing.models import Consent, DataLookup, RegistryRecord, SharedItem

pytestmark = pytest.mark.django_db

ITEM = "SH-TEST-001"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
SHARED_ITEM = """\
schema: tongban-catalog/1
data_elements:
  - {code: household_address, name: 户籍地址, type: text, max_length: 255}
  - {code: marital_status, name: 婚姻状况, type: text, max_length: 16}
  - {code: enterprise_name, name: 企业名称, type: text, max_length: 128}
items:
  - code: SH-TEST-001
    name: 共享数据测试事项
    type: licensing
    department: 3301-SCJG
    legal_basis: 示例法规第一条
    acceptance_conditions: 示例条件
    promised_limit_days: 5
    applicant_types: [person, enterprise]
    materials:
      - {key: id_card, name: 居民身份证, source: government, data_source: hukou}
      - {key: marriage_cert, name: 结婚证, source: government, licence_type: LT-MARRIAGE-CERT,
         data_source: marriage}
      - {key: permit, name: 卫生许可证, source: government, licence_type: LT-TEST-PERMIT}
      - {key: plan, name: 平面图, formats: [pdf]}
    fields:
      - {key: name, label: 申请人姓名, element: person_name, prefill: identity}
      - {key: household, label: 户籍地址, element: household_address, prefill: data_source,
         data_source: hukou}
      - {key: marital, label: 婚姻状况, element: marital_status, prefill: data_source,
         data_source: marriage}
      - {key: company, label: 企业名称, element: enterprise_name, prefill: data_source,
         data_source: enterprise_registry, required: false}
"""


class World:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        self.applicant = ApplicantFactory()
        self.other = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.other_staff = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["window", "reviewer", "department_head"],
        )
        services.load_synthetic_records([self.applicant.person], ensure=["hukou", "marriage"])
        self.hukou = RegistryRecord.objects.get(source="hukou", subject=self.person.id_number)
        self.marriage = RegistryRecord.objects.get(source="marriage", subject=self.person.id_number)

    @property
    def person(self) -> Any:
        return self.applicant.person

    @property
    def address(self) -> str:
        return str(self.hukou.data["household_address"])

    def apply(self, who: Any = None) -> Case:
        response = as_user(who or self.applicant).post(reverse("portal:apply", args=[ITEM]))
        assert response.status_code == 302, response.content
        return Case.objects.filter(submitted_by=who or self.applicant).latest("pk")


@pytest.fixture(autouse=True)
def _fresh_breakers() -> Iterator[None]:
    breaker.reset_breakers()
    yield
    breaker.reset_breakers()


@pytest.fixture
def world(tmp_path: Path, settings: Any) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.TONGBAN_SHARING_CONNECTORS = {"default": {"plugin": "local_registry"}}
    import_catalog(
        [*sample(tmp_path / "catalog"), *write_catalog(tmp_path / "catalog", shared=SHARED_ITEM)]
    )
    return World()


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    with running_gateway() as running:
        yield running


def as_user(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def slots(case: Case) -> tuple[dict[str, Any], dict[str, Any]]:
    application = application_of(case)
    return (
        {f.key: f for f in application.fields},
        {m.key: m for m in application.materials},
    )


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


# --- 系统填 and 免提交 through the portal ----------------------------------------------------------


def test_apply_fills_system_fields_and_exempts_materials(world: World) -> None:
    draft = world.apply()
    fields, materials = slots(draft)
    household = fields["household"]
    assert (household.value, household.locked) == (world.address, True)
    assert household.shared_from == "户籍信息（公安）"
    assert draft.form_data["household"] == world.address  # on the form itself
    id_card = materials["id_card"]
    assert id_card.exempt
    assert not id_card.needs_upload
    assert id_card.evidence is not None
    assert id_card.evidence.source == "户籍信息（公安）"
    assert id_card.evidence.reference == world.hukou.data["reference"]
    # marriage needs consent: refused, so the 结婚证 must be uploaded for now
    assert not materials["marriage_cert"].exempt
    assert materials["marriage_cert"].needs_consent == "marriage"
    assert fields["marital"].needs_consent == "marriage"
    # an enterprise source cannot be asked for a person applicant: typed instead
    assert "只登记法人的信息" in fields["company"].shared_note
    assert not fields["company"].locked

    page = html(as_user(world.applicant).get(reverse("portal:draft", args=[draft.pk])))
    assert world.address in page
    assert "系统填：来自户籍信息（公安）" in page
    assert "免提交：已从户籍信息（公安）获取" in page
    assert world.hukou.data["reference"] in page
    assert 'name="f_household"' not in page  # read-only
    assert "授权查询婚姻登记信息（民政）" in page
    assert 'name="f_marital"' in page  # typed unless the applicant consents


def test_every_lookup_is_logged(world: World) -> None:
    draft = world.apply()
    rows = {row.source: row for row in DataLookup.objects.filter(case=draft)}
    assert set(rows) == {"hukou", "marriage"}  # each source once; none for enterprise_registry
    hukou = rows["hukou"]
    assert hukou.requester == world.applicant
    assert hukou.subject_kind == "person"
    assert hukou.subject_masked == mask_id_number(world.person.id_number)
    assert world.person.id_number not in hukou.subject_masked
    assert (hukou.basis, hukou.result, hukou.connector) == (
        "legal_basis",
        "found",
        "local_registry",
    )
    assert "个人信息保护法" in hukou.legal_basis
    assert "共享数据测试事项" in hukou.purpose
    assert hukou.at is not None
    marriage = rows["marriage"]
    assert (marriage.basis, marriage.result, marriage.connector) == ("none", "refused", "")
    assert marriage.consent is None
    # the log is append-only
    with pytest.raises(RuntimeError):
        hukou.save()
    with pytest.raises(RuntimeError):
        hukou.delete()


def test_system_fields_cannot_be_typed_over(world: World) -> None:
    draft = world.apply()
    response = as_user(world.applicant).post(
        reverse("portal:draft", args=[draft.pk]),
        {"f_household": "伪造地址1号", "f_marital": "未婚", "intent": "save"},
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.form_data["household"] == world.address
    assert draft.form_data["marital"] == "未婚"  # not fetched: typed by the applicant


def test_consent_then_lookup(world: World) -> None:
    draft = world.apply()
    client = as_user(world.applicant)
    response = client.post(
        reverse("portal:shared_data_consent", args=[draft.pk]), {"source": "marriage"}
    )
    assert response.status_code == 302
    consent = Consent.objects.get(case=draft)
    assert (consent.source, consent.given_by, consent.withdrawn_at) == (
        "marriage",
        world.applicant,
        None,
    )
    assert "共享数据测试事项" in consent.purpose
    assert consent.given_at is not None
    fields, materials = slots(draft)
    assert materials["marriage_cert"].exempt
    assert materials["marriage_cert"].evidence.source == "婚姻登记信息（民政）"
    assert fields["marital"].value == "已婚"
    assert fields["marital"].locked
    found = DataLookup.objects.filter(case=draft, source="marriage").order_by("id").last()
    assert (found.basis, found.consent, found.result) == ("consent", consent, "found")
    # hukou was obtained before and is not asked again
    assert DataLookup.objects.filter(case=draft, source="hukou").count() == 1
    page = html(client.get(reverse("portal:draft", args=[draft.pk])))
    assert "授权查询婚姻登记信息（民政）" not in page


def test_lookup_without_consent_or_legal_basis_is_refused(world: World) -> None:
    draft = check_create_draft(world.applicant, item_code=ITEM, division_code="330100")
    outcome = services.lookup(world.applicant, draft, "marriage")
    assert (outcome.result, outcome.record, outcome.needs_consent) == ("refused", None, "marriage")
    row = DataLookup.objects.get(pk=outcome.lookup_id)
    assert (row.result, row.basis) == ("refused", "none")
    services.check_give_consent(world.applicant, draft.pk, "marriage")
    assert services.lookup(world.applicant, draft, "marriage").result == "found"
    # consent withdrawn through the API: refused again
    response = as_user(world.applicant).post(
        f"/api/v1/sharing/drafts/{draft.pk}/consents/marriage/withdraw"
    )
    assert response.status_code == 204
    assert services.lookup(world.applicant, draft, "marriage").result == "refused"
    # a source with a legal basis needs no consent
    with pytest.raises(Exception, match="无需授权"):
        services.check_give_consent(world.applicant, draft.pk, "hukou")


def test_submit_without_uploading_exempt_materials_and_staff_see_the_evidence(
    world: World,
) -> None:
    draft = world.apply()
    client = as_user(world.applicant)
    client.post(reverse("portal:shared_data_consent", args=[draft.pk]), {"source": "marriage"})
    # the permit's licence type has no resolver: it must be uploaded
    response = client.post(
        reverse("portal:draft", args=[draft.pk]),
        {"f_company": "", "intent": "submit", "m_plan": upload("平面图.pdf")},
    )
    assert response.status_code == 422
    assert "请上传“卫生许可证”" in html(response)
    response = client.post(
        reverse("portal:draft", args=[draft.pk]),
        {"intent": "submit", "m_permit": upload("许可证.pdf")},
    )
    assert response.status_code == 302, html(response)
    case = Case.objects.get(pk=draft.pk)
    assert case.state == CaseState.SUBMITTED
    assert case.form_data["household"] == world.address
    assert not case.materials.filter(material_key__in=["id_card", "marriage_cert"]).exists()

    page = html(as_user(world.window).get(reverse("workbench:case", args=[case.number])))
    assert "从户籍信息（公安）获取" in page
    assert "结婚登记信息" in page  # what was obtained
    assert world.marriage.data["reference"] in page
    lookups = html(as_user(world.window).get(reverse("workbench:lookups", args=[case.number])))
    assert mask_id_number(world.person.id_number) in lookups
    assert world.person.id_number not in lookups
    assert "申请人授权" in lookups
    assert "查得" in lookups


# --- a source that is down ----------------------------------------------------------------------


def _hukou_via(settings: Any, gateway: Gateway, **options: Any) -> None:
    settings.TONGBAN_SHARING_CONNECTORS = {
        "default": {"plugin": "local_registry"},
        "hukou": gateway.connector_entry(**options),
    }


def test_outage_falls_back_to_typing_and_uploading(
    world: World, settings: Any, gateway: Gateway
) -> None:
    _hukou_via(settings, gateway, breaker_failures=5)
    gateway.stop()
    draft = world.apply()  # the application is never blocked
    fields, materials = slots(draft)
    assert not fields["household"].locked
    assert "户籍信息（公安）暂时无法访问" in fields["household"].shared_note
    assert materials["id_card"].needs_upload
    assert "暂时无法访问" in materials["id_card"].shared_note
    client = as_user(world.applicant)
    page = html(client.get(reverse("portal:draft", args=[draft.pk])))
    assert "部分数据暂时无法从共享数源获取" in page
    assert "重新获取共享数据" in page
    assert 'name="f_household"' in page
    error = DataLookup.objects.get(case=draft, source="hukou")
    assert (error.result, error.basis) == ("error", "legal_basis")
    assert error.detail.startswith("无法连接")

    # typing and uploading instead; a submission missing the upload is refused as a whole
    response = client.post(
        reverse("portal:draft", args=[draft.pk]),
        {
            "f_household": "手工填写的地址",
            "f_marital": "已婚",
            "intent": "submit",
            "m_plan": upload("平面图.pdf"),
            "m_permit": upload("许可证.pdf"),
            "m_marriage_cert": upload("结婚证.pdf"),
        },
    )
    assert response.status_code == 422
    assert "请上传“居民身份证”" in html(response)
    draft.refresh_from_db()
    assert draft.state == CaseState.DRAFT
    assert draft.form_data["household"] == "手工填写的地址"  # nothing typed is lost
    # the submission does not wait for the source again
    asked = DataLookup.objects.filter(case=draft).count()
    response = client.post(
        reverse("portal:draft", args=[draft.pk]),
        {
            "f_household": "手工填写的地址",
            "f_marital": "已婚",
            "intent": "submit",
            "m_id_card": upload("身份证.pdf"),
        },
    )
    assert response.status_code == 302, html(response)
    draft.refresh_from_db()
    assert draft.state == CaseState.SUBMITTED
    assert draft.form_data["household"] == "手工填写的地址"
    assert DataLookup.objects.filter(case=draft).count() == asked


def test_outage_recovery_by_asking_again(world: World, settings: Any, gateway: Gateway) -> None:
    _hukou_via(settings, gateway, breaker_failures=1, breaker_cooldown_s=3600)
    gateway.stop()
    draft = world.apply()
    client = as_user(world.applicant)
    client.post(
        reverse("portal:draft", args=[draft.pk]), {"f_household": "手工地址", "intent": "save"}
    )
    # the breaker is open now: asking again answers at once, and says so
    client.post(reverse("portal:shared_data_refresh", args=[draft.pk]))
    last = DataLookup.objects.filter(case=draft, source="hukou").order_by("id").last()
    assert last.result == "circuit_open"
    fields, _materials = slots(draft)
    assert "已暂停调用" in fields["household"].shared_note
    # the source comes back and the cool-down ends
    gateway.script.records[("hukou", world.person.id_number)] = {
        "household_address": "网关返回的地址",
        "summary": "常住人口登记信息",
        "reference": "HJ-GW-1",
    }
    gateway.start()
    breaker.reset_breakers()
    response = client.post(reverse("portal:shared_data_refresh", args=[draft.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    fields, materials = slots(draft)
    assert (fields["household"].value, fields["household"].locked) == ("网关返回的地址", True)
    assert draft.form_data["household"] == "网关返回的地址"
    assert materials["id_card"].evidence.reference == "HJ-GW-1"
    assert gateway.script.requests[-1]["purpose"].startswith("办理“共享数据测试事项”")


def test_a_bad_value_from_a_source_is_not_taken(world: World) -> None:
    RegistryRecord.objects.filter(pk=world.hukou.pk).update(
        data={**world.hukou.data, "household_address": "地" * 300}
    )
    draft = world.apply()
    fields, _materials = slots(draft)
    assert not fields["household"].locked
    assert "不符合要求" in fields["household"].shared_note
    assert "household" not in draft.form_data


# --- licence types: the resolver registry -------------------------------------------------------


def test_a_registered_licence_resolver_satisfies_a_material(world: World) -> None:
    seen: list[str] = []

    def licences(context: Any, need: exemptions.MaterialNeed) -> exemptions.Resolution | None:
        if need.licence_type != "LT-TEST-PERMIT":
            return None
        seen.append(context.case.applicant_person.id_number)
        return exemptions.Resolution(
            True,
            "LT-TEST-PERMIT",
            "电子证照库",
            summary="卫生许可证（有效期至2028-12-31）",
            reference="WS-2026-0001",
        )

    exemptions.register_resolver("licence_type", licences, name="test.licences", priority=10)
    try:
        draft = world.apply()
    finally:
        exemptions.unregister_resolver("licence_type", "test.licences")
    _fields, materials = slots(draft)
    permit = materials["permit"]
    assert permit.exempt
    assert (permit.evidence.source, permit.evidence.reference) == ("电子证照库", "WS-2026-0001")
    assert seen == [world.person.id_number]
    item = SharedItem.objects.get(case=draft, key="permit")
    assert item.summary == "卫生许可证（有效期至2028-12-31）"
    with pytest.raises(ValueError, match="unknown resolver kind"):
        exemptions.register_resolver("colour", licences)


def test_business_licence_falls_back_to_the_enterprise_registry(world: World) -> None:
    from tongban.identity.models import Enterprise

    enterprise = Enterprise.objects.create(
        uscc="91330106MA2DEM01X3", name="杭州示例有限公司", kind="company",
        division_id=Department.objects.get(code="3301-SCJG").division_id,
    )  # fmt: skip
    services.load_synthetic_records(enterprises=[enterprise])

    class Context:
        actor = world.applicant
        case = check_create_draft(world.applicant, item_code=ITEM, division_code="330100")

        def lookup(self, code: str) -> Any:
            return services.lookup(world.applicant, self.case, code)

    Context.case.applicant_enterprise = enterprise
    need = exemptions.MaterialNeed("licence", "营业执照", "LT-BUSINESS-LICENCE", "")
    answer = exemptions.resolve(Context(), need)
    assert answer.satisfied
    assert answer.source == "enterprise_registry"
    assert answer.reference == enterprise.uscc


# --- the API --------------------------------------------------------------------------------------


def test_api_draft_is_filled_and_reports_what_was_obtained(world: World) -> None:
    client = as_user(world.applicant)
    response = client.post(
        "/api/v1/cases", {"item": ITEM, "division": "330100"}, content_type="application/json"
    )
    assert response.status_code == 201, response.content
    draft = Case.objects.get(pk=response.json()["id"])
    assert draft.form_data["household"] == world.address
    shared = client.get(f"/api/v1/sharing/drafts/{draft.pk}").json()
    by_key = {f["key"]: f for f in shared["fields"]}
    assert by_key["household"]["status"] == "obtained"
    assert by_key["household"]["value"] == world.address
    assert by_key["household"]["source"] == "户籍信息（公安）"
    assert by_key["marital"]["needs_consent"] == "marriage"
    materials = {m["key"]: m for m in shared["materials"]}
    assert materials["id_card"]["exempt"] is True
    assert materials["id_card"]["reference"] == world.hukou.data["reference"]
    assert materials["marriage_cert"]["status"] == "unavailable"
    assert shared["consent_sources"] == ["marriage"]

    consent = client.post(
        f"/api/v1/sharing/drafts/{draft.pk}/consents",
        {"source": "marriage", "purpose": "办理测试"},
        content_type="application/json",
    )
    assert consent.status_code == 201, consent.content
    assert consent.json()["fill"]["obtained"] == ["field:marital", "material:marriage_cert"]
    assert Consent.objects.get(case=draft).purpose == "办理测试"
    bad = client.post(
        f"/api/v1/sharing/drafts/{draft.pk}/consents",
        {"source": "horoscope"},
        content_type="application/json",
    )
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "source"
    assert client.post(f"/api/v1/sharing/drafts/{draft.pk}/fill").json()["lookups"] == 0

    # what shared data could not supply is uploaded; then the application is complete
    for key in ("permit", "plan"):
        upload = SimpleUploadedFile(f"{key}.pdf", PDF)
        stored = client.post(f"/api/v1/cases/drafts/{draft.pk}/materials/{key}", {"file": upload})
        assert stored.status_code == 201, stored.content
    submitted = client.post(f"/api/v1/cases/drafts/{draft.pk}/submit")
    assert submitted.status_code == 200, submitted.json()
    number = submitted.json()["number"]
    assert client.post(f"/api/v1/sharing/drafts/{draft.pk}/fill").status_code == 409
    lookups = as_user(world.window).get(f"/api/v1/sharing/cases/{number}/lookups").json()
    assert {(row["source"], row["result"]) for row in lookups} == {
        ("hukou", "found"),
        ("marriage", "refused"),
        ("marriage", "found"),
    }
    assert all(row["subject"] == mask_id_number(world.person.id_number) for row in lookups)


# --- the permission matrix ----------------------------------------------------------------------


def _who(world: World, who: str) -> Any:
    return {
        "anonymous": None,
        "owner": world.applicant,
        "other_applicant": world.other,
        "other_staff": world.other_staff,
        "right_staff": world.window,
    }[who]


DRAFT_PAGES = [
    ("anonymous", 302),
    ("other_applicant", 404),
    ("other_staff", 403),
    ("right_staff", 403),
    ("owner", 302),
]


@pytest.mark.parametrize(("who", "status"), DRAFT_PAGES)
@pytest.mark.parametrize("page", ["portal:shared_data_consent", "portal:shared_data_refresh"])
def test_draft_pages_permission_matrix(world: World, page: str, who: str, status: int) -> None:
    draft = check_create_draft(world.applicant, item_code=ITEM, division_code="330100")
    response = as_user(_who(world, who)).post(
        reverse(page, args=[draft.pk]), {"source": "marriage"}
    )
    assert response.status_code == status
    if who == "anonymous":
        assert "/accounts/login/" in response["Location"]
    given = Consent.objects.filter(case=draft).exists()
    asked = DataLookup.objects.filter(case=draft).exists()
    assert asked == (who == "owner")
    assert given == (who == "owner" and page == "portal:shared_data_consent")


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 401), ("other_applicant", 404), ("other_staff", 404), ("right_staff", 404),
     ("owner", 200)],
)  # fmt: skip
@pytest.mark.parametrize("endpoint", ["get", "fill", "consent", "withdraw"])
def test_api_draft_endpoints_permission_matrix(
    world: World, endpoint: str, who: str, status: int
) -> None:
    draft = check_create_draft(world.applicant, item_code=ITEM, division_code="330100")
    if endpoint == "withdraw":
        services.check_give_consent(world.applicant, draft.pk, "marriage")
    client = as_user(_who(world, who))
    base = f"/api/v1/sharing/drafts/{draft.pk}"
    response = {
        "get": lambda: client.get(base),
        "fill": lambda: client.post(f"{base}/fill"),
        "consent": lambda: client.post(
            f"{base}/consents", {"source": "marriage"}, content_type="application/json"
        ),
        "withdraw": lambda: client.post(f"{base}/consents/marriage/withdraw"),
    }[endpoint]()
    expected = {"consent": 201, "withdraw": 204}.get(endpoint, 200) if status == 200 else status
    assert response.status_code == expected, response.content
    if status != 200:
        assert not DataLookup.objects.filter(case=draft).exists()
        withdrawn = Consent.objects.filter(case=draft, withdrawn_at__isnull=False).exists()
        assert not withdrawn


def _submitted(world: World) -> Case:
    draft = world.apply()
    client = as_user(world.applicant)
    response = client.post(
        reverse("portal:draft", args=[draft.pk]),
        {
            "intent": "submit",
            "f_marital": "已婚",
            "m_plan": upload("平面图.pdf"),
            "m_permit": upload("许可证.pdf"),
            "m_marriage_cert": upload("结婚证.pdf"),
        },
    )
    assert response.status_code == 302, html(response)
    return Case.objects.get(pk=draft.pk)


@pytest.mark.parametrize(
    ("who", "page_status", "api_status"),
    [
        ("anonymous", 302, 401),
        ("other_applicant", 403, 404),
        ("other_staff", 404, 404),
        ("right_staff", 200, 200),
        ("owner", 403, 200),
    ],
)
def test_case_lookups_permission_matrix(
    world: World, who: str, page_status: int, api_status: int
) -> None:
    case = _submitted(world)
    client = as_user(_who(world, who))
    page = client.get(reverse("workbench:lookups", args=[case.number]))
    assert page.status_code == page_status
    api = client.get(f"/api/v1/sharing/cases/{case.number}/lookups")
    assert api.status_code == api_status
    if api_status == 200:
        assert {row["source"] for row in api.json()} == {"hukou", "marriage"}
    if page_status == 200:
        assert "户籍信息（公安）" in html(page)


@pytest.mark.parametrize("who", ["anonymous", "other_applicant", "other_staff", "right_staff"])
def test_public_sharing_pages_answer_everyone(world: World, who: str) -> None:
    client = as_user(_who(world, who))
    assert client.get(reverse("portal:prefill_rates")).status_code == 200
    assert client.get("/api/v1/sharing/prefill-rates").status_code == 200
    sources = client.get("/api/v1/sharing/sources").json()
    hukou = next(s for s in sources if s["code"] == "hukou")
    assert hukou["needs_consent"] is False
    assert next(s for s in sources if s["code"] == "marriage")["needs_consent"] is True


@pytest.mark.parametrize(
    ("who", "status"), [("system_admin", 200), ("right_staff", 302), ("owner", 302)]
)
def test_admin_lookup_log_is_for_system_administrators(world: World, who: str, status: int) -> None:
    draft = world.apply()
    user = StaffUserFactory(roles=["system_admin"]) if who == "system_admin" else _who(world, who)
    client = as_user(user)
    response = client.get("/admin/sharing/datalookup/")
    assert response.status_code in ((status,) if status == 200 else (302, 403))
    if status == 200:
        assert mask_id_number(world.person.id_number) in html(response)
        found = html(client.get("/admin/sharing/datalookup/", {"q": world.person.id_number}))
        assert found.count('class="field-at') == DataLookup.objects.filter(case=draft).count()
        row = DataLookup.objects.filter(case=draft).first()
        change = client.get(f"/admin/sharing/datalookup/{row.pk}/change/")
        assert change.status_code == 200
        assert client.post(f"/admin/sharing/datalookup/{row.pk}/delete/").status_code == 403
