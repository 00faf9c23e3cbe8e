"""The demo's local registry makes 系统填 and 免提交 visible for the demo accounts, its
公共信用信息 lets 智能秒办 decide the 排水许可 (告知承诺) for synthetic and demo applicants while
the named 失信被执行人 go to a person, and the prefill measurement (Qingdao's "80 % of fields
filled from shared data") per item and overall — selector, public page and API."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.catalog_fixtures import sample, write_catalog
from tests.test_sharing_applications import ITEM, SHARED_ITEM
from tongban.cases.applications import application_of, check_submit_application
from tongban.cases.materials import check_attach_material
from tongban.cases.models import Case, CaseState, Outcome
from tongban.cases.services import check_create_draft
from tongban.catalog.services import import_catalog
from tongban.demo.accounts import DEMO_ACCOUNTS
from tongban.identity.models import Enterprise, Person, RealNameLevel, User
from tongban.identity.services import do_create_applicant_account
from tongban.identity.synthetic import build_uscc
from tongban.sharing import selectors
from tongban.sharing.models import RegistryRecord, SharedItem
from tongban.sharing.services import check_fill_draft
from tongban.sharing.sources import SOURCES

pytestmark = pytest.mark.django_db


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_demo_registry_makes_sharing_visible_for_demo_accounts() -> None:
    out = io.StringIO()
    call_command("demo_data", "--persons", "6", "--enterprises", "3", "--no-table", stdout=out)
    assert "本地数源示例记录" in out.getvalue()
    citizen = User.objects.get(username="citizen")
    held = set(
        RegistryRecord.objects.filter(subject=citizen.person.id_number).values_list(
            "source", flat=True
        )
    )
    person_sources = {code for code, s in SOURCES.items() if "person" in s.subjects}
    assert held == person_sources  # a demo account is in every person source
    before = RegistryRecord.objects.count()
    call_command("demo_data", "--persons", "6", "--enterprises", "3", "--no-table", stdout=out)
    assert RegistryRecord.objects.count() == before  # a second run adds nothing

    # 新手妈妈 registers her newborn: the birth data and the household address are filled in,
    # the ID cards and the birth certificate need no upload
    response = as_user(citizen).post(
        reverse("portal:apply", args=["330106-GAFJ.birth-registration"]),
        {"a_parents_married": "yes", "a_born_in_province": "yes", "a_follow": "mother"},
    )
    assert response.status_code == 302
    draft = Case.objects.get(submitted_by=citizen)
    application = application_of(draft)
    fields = {f.key: f for f in application.fields}
    assert fields["baby_birth_date"].shared_from == "出生医学证明信息（卫生健康）"
    assert fields["household_address"].value == citizen.person.address
    materials = {m.key: m for m in application.materials}
    assert materials["birth_cert_shared"].exempt
    assert materials["parents_ids"].evidence is not None
    # her 结婚证 is an e-licence she holds (demo data): it stands in for the paper copy, so the
    # marriage registry (which would need her consent) is not asked
    marriage = materials["marriage_cert"]
    assert marriage.exempt
    assert marriage.evidence is not None
    assert marriage.evidence.source == "电子证照库"
    assert marriage.needs_consent == ""
    page = as_user(citizen).get(reverse("portal:draft", args=[draft.pk])).content.decode()
    assert "系统填：来自出生医学证明信息（卫生健康）" in page
    assert "授权查询婚姻登记信息（民政）" not in page

    # the 经办人 applies for the demo enterprise: its registration fills the form and stands in
    # for the 营业执照
    agent = User.objects.get(username="agent")
    enterprise = Enterprise.objects.get(name="杭州小满餐饮管理有限公司")
    response = as_user(agent).post(
        reverse("portal:apply", args=["330106-SCJG.food-business-licence"]),
        {
            "a_subject_type": "enterprise",
            "a_business_form": "retail",
            "a_area": "50",
            "a_online_sales": "no",
            "a_by_agent": "no",
            "applicant": enterprise.uscc,
        },
    )
    assert response.status_code == 302, response.content
    draft = Case.objects.get(submitted_by=agent)
    application = application_of(draft)
    fields = {f.key: f for f in application.fields}
    assert (fields["operator_name"].value, fields["uscc"].value) == (
        enterprise.name,
        enterprise.uscc,
    )
    owner = next(a for a in DEMO_ACCOUNTS if a.username == "owner")
    assert fields["legal_rep"].value == owner.display_name
    licence = next(m for m in application.materials if m.licence_type == "LT-BUSINESS-LICENCE")
    assert licence.exempt
    # the demo enterprise holds its 营业执照 as an e-licence, asked before the registry fallback
    assert licence.evidence.source == "电子证照库"


DRAINAGE = "330100-CGJ.drainage-permit"
CREDIT = "fact.credit_dishonest"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


def drainage(
    user: Any, *, enterprise: Enterprise | None = None, uploads: tuple[str, ...] = (), **form: Any
) -> Case:
    """The applicant files the 排水许可 on the 告知承诺 route, as the portal does: the draft is
    filled from shared data, the signed 告知承诺书 (and ``uploads``) uploaded, and it is
    submitted — refused if anything is still missing."""
    draft = check_create_draft(
        user,
        item_code=DRAINAGE,
        division_code="330100",
        answers={"route": "commitment", "discharger": "catering"},
        form_data={"contact_mobile": user.person.mobile, **form},
        enterprise_uscc=enterprise.uscc if enterprise else None,
    )
    check_fill_draft(user, draft.pk)
    for key in ("commitment", *uploads):
        check_attach_material(user, draft.pk, key, f"{key}.pdf", PDF)
    return check_submit_application(user, draft.pk)


def test_demo_credit_records_let_the_drainage_permit_be_decided_at_once(
    tmp_path: Path, settings: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command(
        "demo_data", "--persons", "6", "--enterprises", "3", "--no-table", stdout=io.StringIO()
    )
    demo_ids = {a.person.id_number for a in DEMO_ACCOUNTS if a.person is not None}
    synthetic = Person.objects.exclude(id_number__in=demo_ids).order_by("id_number")
    for person in synthetic:  # every synthetic person is on no 失信 list
        record = RegistryRecord.objects.get(source="credit", subject=person.id_number).data
        assert record["dishonest"] is False

    # a synthetic person applies in their own name: approved at submission
    person = synthetic.first()
    assert person is not None
    user = do_create_applicant_account(
        username="synthetic-applicant",
        password="x-pass-2026",
        person=person,
        real_name_level=RealNameLevel.VERIFIED,
    )
    case = drainage(
        user,
        uploads=("business_licence",),  # no e-licence of a 营业执照 in a person's name
        uscc=build_uscc("330106", "MA2DEM03", category="2"),  # a 个体工商户
        discharger_name="示例小吃店",
        address="浙江省杭州市西湖区示例路1号",
    )
    assert (case.state, case.outcome) == (CaseState.DECIDED, Outcome.APPROVED)
    (rule,) = case.instant_explanation
    assert rule["values"][CREDIT] is False
    assert rule["result"] == "true"

    # the demo 经办人 for 杭州小满餐饮 (no 失信 record): approved at submission
    agent = User.objects.get(username="agent")
    xiaoman = Enterprise.objects.get(name="杭州小满餐饮管理有限公司")
    case = drainage(agent, enterprise=xiaoman, address="浙江省杭州市西湖区示例路66号")
    assert (case.state, case.outcome) == (CaseState.DECIDED, Outcome.APPROVED)
    assert case.instant_explanation[0]["values"][CREDIT] is False
    # the city's window reads the 决定依据, the credit condition among it
    window = User.objects.get(username="window-city")
    page = as_user(window).get(reverse("workbench:case", args=[case.number])).content.decode()
    grounds = page[page.index('id="instant-decision"') :]
    assert "申请人被列入严重失信主体名单（公共信用信息）" in grounds
    assert "告知承诺且无失信记录" in grounds

    # the named 失信被执行人 and his company: a person decides, the explanation says why
    debtor = User.objects.get(username="debtor")
    company = Enterprise.objects.get(name="杭州晚晴餐饮有限公司")
    case = drainage(debtor, enterprise=company, address="浙江省杭州市西湖区示例路90号")
    assert case.state == CaseState.SUBMITTED
    assert case.outcome == ""
    (rule,) = case.instant_explanation
    assert (rule["rule"], rule["result"]) == ("告知承诺且无失信记录", "false")
    assert rule["values"][CREDIT] is True
    assert rule["missing"] == []
    assert case.events.filter(action="instant_check").exists()
    assert (
        case.number
        in as_user(window).get(reverse("workbench:queue", args=["intake"])).content.decode()
    )
    item = SharedItem.objects.get(case=case, key=CREDIT)
    assert "列入失信被执行人名单" in item.summary
    listed = RegistryRecord.objects.get(source="credit", subject=debtor.person.id_number).data
    assert listed["dishonest"] is True
    assert "debtor" in call_command_table()


def call_command_table() -> str:
    out = io.StringIO()
    call_command("demo_accounts", stdout=out)
    return out.getvalue()


def test_prefill_rates_per_item_and_overall(tmp_path: Path) -> None:
    import_catalog(
        [*sample(tmp_path / "catalog"), *write_catalog(tmp_path / "catalog", shared=SHARED_ITEM)]
    )
    rates = {r.code: r for r in selectors.prefill_rates()}
    shared = rates[ITEM]
    assert (shared.fields, shared.identity, shared.data_source, shared.history, shared.typed) == (
        4,
        1,
        3,
        0,
        0,
    )
    assert shared.automatic_share == 1.0
    assert (shared.materials, shared.exempt_materials) == (4, 3)
    food = rates["SC-FOOD-001"]
    assert food.fields == food.identity + food.data_source + food.history + food.typed
    summary = selectors.prefill_summary()
    assert summary.items == 2
    assert summary.fields == shared.fields + food.fields
    assert summary.items_at_80 >= 1

    api = Client().get("/api/v1/sharing/prefill-rates").json()
    row = next(r for r in api if r["item"] == ITEM)
    assert (row["automatic_share"], row["prefilled_share"], row["exempt_materials"]) == (
        1.0,
        1.0,
        3,
    )
    page = Client().get(reverse("portal:prefill_rates")).content.decode()
    assert "共享数据测试事项" in page
    assert f'data-item="{ITEM}"' in page
    assert "100%" in page
    guide = Client().get(reverse("portal:item_guide", args=[ITEM])).content.decode()
    assert "4 项中有 4 项由系统预先填好（约 100%），您只需核对。" in guide
    english = Client(headers={"accept-language": "en"})
    english.cookies["django_language"] = "en"
    page = english.get(reverse("portal:item_guide", args=[ITEM])).content.decode()
    assert "4 of 4 are filled in for you (about 100%)" in page
    out = io.StringIO()
    call_command("sharing", "prefill", "--json", "--items", stdout=out)
    report = json.loads(out.getvalue())
    assert report["overall"]["fields"] == summary.fields
    assert {"item": ITEM, "fields": 4, "automatic_share": 1.0, "prefilled_share": 1.0} in report[
        "items"
    ]


def test_sample_catalog_prefill_figure() -> None:
    from tongban.demo.sample import CATALOG_DIR

    import_catalog([CATALOG_DIR])
    summary = selectors.prefill_summary()
    assert summary.items > 50
    # the figure docs/benchmarks.md reports; it changes only when the sample catalog does
    assert 0.5 < summary.prefilled_share < 1.0


def test_bench_sharing_json(tmp_path: Path) -> None:
    from tests.test_bench import only_json_object, run_bench

    done = run_bench(tmp_path, "sharing", "--json", "--lookups", "5", "--drafts", "2")
    assert done.returncode == 0, done.stderr
    result = only_json_object(done.stdout)
    assert (result["benchmark"], result["sources_per_draft"]) == ("sharing", 6)
    for key in (
        "lookup_local_p50_ms",
        "lookup_http_p50_ms",
        "raw_http_p50_ms",
        "breaker_open_p50_ms",
        "fill_draft_p95_ms",
        "http_overhead_ratio",
    ):
        assert isinstance(result[key], float), key
