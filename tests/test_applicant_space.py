"""The applicant space: apply from the guide (answers carried over, applicant and 告知承诺 chosen),
the generated form with 自动填/选择填 prefill and data-element checks, one upload per material,
submission refused while incomplete, 我的办件 with its timeline, answering a 补正 notice, 容缺
补交, withdrawal with confirmation, 再来一单 — and the permission matrix on every URL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.catalog_fixtures import sample, write_catalog
from tests.factories import ApplicantFactory, EnterpriseAgentFactory, StaffUserFactory
from tests.multipart import CONTENT_TYPE, multipart_body
from tongban.cases import applications
from tongban.cases.applications import application_of
from tongban.cases.materials import check_attach_material
from tongban.cases.models import Case, CaseMaterial, CaseState
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.masking import mask_id_number
from tongban.identity.models import Department

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
SIGN = "CG-SIGN-001"
FOOD = "SC-FOOD-001"

# what a window names when it accepts a complete SIGN application (its 容缺 materials missing)
TOLERATED = {"tolerated": ["photo", "plan"]}
SIGN_ITEM = """\
schema: tongban-catalog/1
data_elements:
  - {code: mobile, name: 手机号码, type: text, validator: mobile, max_length: 11}
  - {code: shop_name, name: 店铺名称, type: text, max_length: 64}
  - {code: has_parking, name: 是否有停车位, type: boolean}
  - {code: scale, name: 规模, type: choice, choices: [小型, 中型, 大型]}
items:
  - code: CG-SIGN-001
    name: 户外招牌设置
    type: licensing
    department: 3301-SCJG
    legal_basis: 《城市市容和环境卫生管理条例》第十一条
    acceptance_conditions: 招牌设置符合规划
    promised_limit_days: 5
    applicant_types: [person, enterprise]
    allows_commitment: true
    allows_tolerance: true
    materials:
      - {key: design, name: 招牌设计图, formats: [pdf, png]}
      - {key: safety, name: 安全承诺书, commitment_replaceable: true}
      - {key: photo, name: 现场照片, requirement: tolerable, formats: [jpg, png]}
      - {key: plan, name: 位置示意图, requirement: tolerable, formats: [pdf]}
    fields:
      - {key: name, label: 申请人姓名, element: person_name, prefill: identity}
      - {key: idno, label: 身份证号, element: id_number, prefill: identity}
      - {key: phone, label: 联系电话, element: mobile, prefill: identity}
      - {key: shop, label: 店铺名称, element: shop_name, prefill: history}
      - {key: parking, label: 是否有停车位, element: has_parking, required: false}
      - {key: scale, label: 规模, element: scale}
"""


class People:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        self.applicant = ApplicantFactory()
        self.other = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])


@pytest.fixture
def people(tmp_path: Path, settings: Any) -> People:
    settings.MEDIA_ROOT = tmp_path / "media"
    import_catalog(
        [*sample(tmp_path / "catalog"), *write_catalog(tmp_path / "catalog", sign=SIGN_ITEM)]
    )
    return People()


def as_user(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def html(response: Any) -> str:
    return response.content.decode()


def sign_draft(people: People, who: Any = None, **options: Any) -> Case:
    return check_create_draft(
        who or people.applicant, item_code=SIGN, division_code="330100", **options
    )


def complete(people: People, draft: Case, who: Any = None) -> Case:
    """Fill and upload what a SIGN draft needs, through the services."""
    who = who or people.applicant
    Case.objects.filter(pk=draft.pk).update(
        form_data={**draft.form_data, "shop": "老王面馆", "scale": "小型"}
    )
    check_attach_material(who, draft.pk, "design", "设计图.pdf", PDF)
    check_attach_material(who, draft.pk, "safety", "安全承诺书.pdf", PDF)
    return submit_draft(who, draft.pk)


# --- the guide's apply box ----------------------------------------------------------------------


def test_guide_offers_apply_when_the_answers_are_complete(people: People) -> None:
    guide = reverse("portal:item_guide", args=[FOOD])
    anonymous = html(Client().get(guide, {"a_entity": "individual", "a_area": "0"}))
    assert "登录后在线申请" in anonymous
    client = as_user(people.applicant)
    assert "回答完全部问题后" in html(client.get(guide))
    page = html(client.get(guide, {"a_entity": "individual", "a_area": "0"}))
    assert f'formaction="{reverse("portal:apply", args=[FOOD])}"' in page
    assert 'form="guide-form"' in page
    staff = html(as_user(people.window).get(guide, {"a_entity": "individual", "a_area": "0"}))
    assert "工作人员账户不能以办事人身份申请" in staff


def test_apply_carries_the_guide_answers_into_a_draft(people: People) -> None:
    client = as_user(people.applicant)
    url = reverse("portal:apply", args=[FOOD])
    # unanswered questions: back to the guide
    response = client.post(url, {"a_entity": "individual"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("portal:item_guide", args=[FOOD]))
    response = client.post(url, {"a_entity": "individual", "a_area": "120", "a_cold": "no"})
    assert response.status_code == 302
    draft = Case.objects.get(state=CaseState.DRAFT)
    assert response["Location"] == reverse("portal:draft", args=[draft.pk])
    assert draft.answers == {"entity": "individual", "area": "120", "cold": "no"}
    person = people.applicant.person
    assert draft.form_data == {"operator_name": person.name, "operator_id": person.id_number}
    assert draft.division.code == "330100"  # the item's own division when none was chosen


def test_apply_in_the_chosen_division(people: People) -> None:
    client = as_user(people.applicant)
    client.post(reverse("portal:set_division"), {"division": "330106"})
    client.post(reverse("portal:apply", args=[FOOD]), {"a_entity": "individual", "a_area": "0"})
    draft = Case.objects.get()
    assert (draft.division.code, draft.department.code) == ("330106", "330106-SCJG")


def test_applicant_and_commitment_are_chosen_first(people: People) -> None:
    agency = EnterpriseAgentFactory(person=people.applicant.person)
    client = as_user(people.applicant)
    url = reverse("portal:apply", args=[SIGN])
    page = html(client.post(url))
    assert agency.enterprise.name in page
    assert "告知承诺" in page
    assert 'value="safety"' in page
    response = client.post(url, {"applicant": agency.enterprise.uscc, "commitment": ["safety"]})
    assert response.status_code == 302
    draft = Case.objects.get()
    assert draft.applicant_enterprise == agency.enterprise
    application = application_of(draft)
    safety = next(m for m in application.materials if m.key == "safety")
    assert safety.committed
    assert not safety.needs_upload
    # a material the item does not let you replace by a commitment: the service says no
    response = client.post(url, {"applicant": "person", "commitment": ["design"]})
    assert response.status_code == 422
    assert "不能以承诺替代" in html(response)
    assert Case.objects.count() == 1


# --- the form -----------------------------------------------------------------------------------


def test_draft_form_is_prefilled_and_masks_the_id_number(people: People) -> None:
    draft = sign_draft(people)
    client = as_user(people.applicant)
    person = people.applicant.person
    # 自动填 through the portal's apply step
    client.post(reverse("portal:apply", args=[SIGN]), {"applicant": "person"})
    draft = Case.objects.latest("pk")
    page = html(client.get(reverse("portal:draft", args=[draft.pk])))
    assert mask_id_number(person.id_number) in page
    assert person.id_number not in page
    assert person.name in page
    assert f'value="{person.mobile}"' in page
    assert "来自实名认证信息" in page
    assert 'accept=".pdf,.png"' in page


def test_form_values_are_checked_against_their_data_elements(people: People) -> None:
    draft = sign_draft(people)
    client = as_user(people.applicant)
    response = client.post(
        reverse("portal:draft", args=[draft.pk]),
        {"f_phone": "12345", "f_scale": "巨型", "f_shop": "老王面馆", "intent": "save"},
    )
    assert response.status_code == 422
    page = html(response)
    assert "手机号应为以1开头的11位数字" in page
    assert "请从给出的选项中选择" in page
    assert 'value="老王面馆"' in page  # what was typed stays
    response = client.post(
        reverse("portal:draft", args=[draft.pk]),
        {
            "f_phone": "13900001111",
            "f_scale": "中型",
            "f_shop": "老王面馆",
            "f_parking": "yes",
            "f_idno": "110101199003070000",  # typed over an 自动填 number: ignored
            "intent": "save",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.form_data["phone"] == "13900001111"
    assert draft.form_data["parking"] is True
    assert draft.form_data["idno"] == people.applicant.person.id_number


def test_uploads_are_checked_and_submission_needs_everything(people: People) -> None:
    draft = sign_draft(people)
    client = as_user(people.applicant)
    url = reverse("portal:draft", args=[draft.pk])
    response = client.post(
        url,
        {
            "f_scale": "小型",
            "m_design": SimpleUploadedFile("设计图.pdf", b"not really a pdf"),
            "intent": "submit",
        },
    )
    assert response.status_code == 422
    assert "本材料只接受 pdf, png" in html(response)
    response = client.post(
        url,
        {"f_scale": "小型", "m_design": SimpleUploadedFile("设计图.png", PNG), "intent": "submit"},
    )
    assert response.status_code == 422
    page = html(response)
    assert "申请还不完整" in page
    assert "请填写“店铺名称”" in page
    assert "请上传“安全承诺书”" in page
    assert "现场照片" not in page.split("申请还不完整")[1].split("</ul>")[0]  # 容缺: optional
    assert CaseMaterial.objects.filter(case=draft, material_key="design").exists()
    response = client.post(
        url,
        {
            "f_scale": "小型",
            "f_shop": "老王面馆",
            "f_phone": "13900001111",
            "m_safety": SimpleUploadedFile("承诺书.pdf", PDF),
            "intent": "submit",
        },
    )
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.state == CaseState.SUBMITTED
    assert response["Location"] == reverse("portal:my_case", args=[draft.number])
    # a submitted application's form page leads to the case
    assert client.get(url)["Location"] == reverse("portal:my_case", args=[draft.number])


def test_a_file_name_that_is_not_utf8_is_shown_at_its_material(people: People) -> None:
    draft = sign_draft(people)
    client = as_user(people.applicant)
    url = reverse("portal:draft", args=[draft.pk])
    fields = {"f_scale": "小型", "f_shop": "老王面馆", "intent": "save"}
    body = multipart_body(fields, {"m_design": ("设计图.pdf".encode("gbk"), PDF)})
    response = client.post(url, body, content_type=CONTENT_TYPE)
    assert response.status_code == 422
    page = html(response)
    design = page.split("招牌设计图")[1].split("安全承诺书")[0]  # the error is at its material
    assert "文件名无法识别，请使用 UTF-8 编码的文件名后重新上传" in design
    assert not CaseMaterial.objects.filter(case=draft).exists()
    body = multipart_body(fields, {"m_design": ("设计图.pdf".encode(), PDF)})
    assert client.post(url, body, content_type=CONTENT_TYPE).status_code == 302
    assert CaseMaterial.objects.get(case=draft).original_name == "设计图.pdf"


def test_the_form_page_posts_only_the_item_s_fields(people: People) -> None:
    draft = sign_draft(people)
    response = as_user(people.applicant).post(
        reverse("portal:draft", args=[draft.pk]),
        {"f_scale": "小型", "f_zz": "不是本事项的字段", "zz": "1", "intent": "save"},
    )
    assert response.status_code == 302  # what is not a field of the form is not read at all
    draft.refresh_from_db()
    assert draft.form_data["scale"] == "小型"
    assert "zz" not in draft.form_data


def test_history_prefill_offers_earlier_values(people: People) -> None:
    complete(people, sign_draft(people))
    client = as_user(people.applicant)
    client.post(reverse("portal:apply", args=[SIGN]), {"applicant": "person"})
    draft = Case.objects.latest("pk")
    assert draft.form_data["shop"] == "老王面馆"  # 选择填: the latest earlier value
    page = html(client.get(reverse("portal:draft", args=[draft.pk])))
    assert '<datalist id="options-shop"><option value="老王面馆">' in page


def test_history_prefill_takes_only_the_same_applicant_s_submitted_cases(people: People) -> None:
    complete(people, sign_draft(people))  # 老王面馆, filed for the applicant themselves
    theirs = complete(people, sign_draft(people, people.other), people.other)  # newer, not mine
    Case.objects.filter(pk=theirs.pk).update(form_data={"shop": "别人的店"})
    unsent = sign_draft(people)  # a draft of the applicant's own, never submitted
    Case.objects.filter(pk=unsent.pk).update(form_data={"shop": "草稿里的店"})
    agency = EnterpriseAgentFactory(person=people.applicant.person)
    for_company = sign_draft(people, enterprise_uscc=agency.enterprise.uscc)
    Case.objects.filter(pk=for_company.pk).update(form_data={"shop": "公司的店"})
    check_attach_material(people.applicant, for_company.pk, "design", "设计图.pdf", PDF)
    check_attach_material(people.applicant, for_company.pk, "safety", "安全承诺书.pdf", PDF)
    submit_draft(people.applicant, for_company.pk)

    version = Case.objects.get(pk=unsent.pk).item_version
    mine = applications.initial_form_data(people.applicant, version)
    assert mine["shop"] == "老王面馆"  # not the company's newer case, not the draft
    draft = Case.objects.get(pk=sign_draft(people).pk)
    assert applications.history_options(people.applicant, draft) == {"shop": ("老王面馆",)}
    company = applications.initial_form_data(
        people.applicant, version, enterprise=agency.enterprise
    )
    assert company["shop"] == "公司的店"
    assert applications.initial_form_data(people.other, version)["shop"] == "别人的店"
    # an agent no longer authorised gets nothing from the enterprise's cases
    agency.revoked_at = timezone.now()
    agency.save(update_fields=["revoked_at"])
    gone = applications.initial_form_data(people.applicant, version, enterprise=agency.enterprise)
    assert "shop" not in gone


# --- 我的办件 -------------------------------------------------------------------------------------


def test_my_cases_lists_only_mine_newest_first(people: People, monkeypatch: Any) -> None:
    from tongban.portal import applicant_views

    monkeypatch.setattr(applicant_views, "PAGE_SIZE", 2)
    first = complete(people, sign_draft(people))
    second = sign_draft(people)
    third = sign_draft(people)
    theirs = sign_draft(people, people.other)
    client = as_user(people.applicant)
    page = html(client.get(reverse("portal:my_cases")))
    assert reverse("portal:draft", args=[third.pk]) in page
    assert reverse("portal:draft", args=[second.pk]) in page
    assert first.number not in page
    assert f'rel="next" href="?cursor={second.pk}"' in page
    rest = html(client.get(reverse("portal:my_cases"), {"cursor": second.pk}))
    assert first.number in rest
    assert 'rel="next"' not in rest
    assert reverse("portal:draft", args=[theirs.pk]) not in page + rest


def test_case_page_shows_progress_and_timeline(people: People) -> None:
    case = complete(people, sign_draft(people))
    perform(people.window, case.number or "", "accept", TOLERATED)
    page = html(as_user(people.applicant).get(reverse("portal:my_case", args=[case.number])))
    assert 'class="step step-done"' in page
    assert 'aria-current="step"' in page
    for label in ("提交申请", "受理", "办结期限"):
        assert label in page
    assert people.window.display_name not in page  # staff names stay on the workbench


def test_case_page_shows_review_steps_without_staff_notes(people: People) -> None:
    """The applicant reads that the review went on and the clock stopped for 专家评审 and
    started again; the opinion and the notes staff wrote stay on the workbench."""
    scjg = Department.objects.get(code="3301-SCJG")
    reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
    head = StaffUserFactory(department=scjg, roles=["department_head"])
    number = complete(people, sign_draft(people)).number or ""
    case = perform(people.window, number, "accept", TOLERATED)
    task = case.tasks.get().pk
    opinion, note = "内部意见：招牌尺寸已核", "内部备注：请李工评审"
    perform(head, number, "suspend", {"kind": "expert_review", "reason": note})
    perform(head, number, "resume")
    perform(reviewer, number, "approve_task", {"task": task, "opinion": opinion})
    page = html(as_user(people.applicant).get(reverse("portal:my_case", args=[number])))
    for shown in ("中止（特别程序）", "特别程序：专家评审", "恢复计时", "审查通过", "审查部门："):
        assert shown in page, shown
    for hidden in (opinion, note, reviewer.display_name, head.display_name):
        assert hidden not in page, hidden
    staff_page = html(as_user(head).get(reverse("workbench:case", args=[number])))
    assert opinion in staff_page
    assert note in staff_page


def test_supplement_answers_the_correction_notice(people: People) -> None:
    case = complete(people, sign_draft(people))
    number = case.number or ""
    perform(
        people.window,
        number,
        "request_correction",
        {"items": [{"material": "design", "problem": "尺寸标注不清"}]},
    )
    client = as_user(people.applicant)
    page = html(client.get(reverse("portal:my_case", args=[number])))
    assert "尺寸标注不清" in page
    assert 'name="m_design"' in page
    url = reverse("portal:supplement", args=[number])
    assert client.post(url, {}).status_code == 422  # neither a file nor a note
    response = client.post(url, {"m_design": SimpleUploadedFile("新设计图.pdf", PDF)})
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    files = CaseMaterial.objects.filter(case=case, material_key="design").order_by("pk")
    assert [(f.original_name, f.superseded) for f in files] == [
        ("设计图.pdf", True),
        ("新设计图.pdf", False),
    ]


def stored_files(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "media").rglob("*") if p.is_file())


def correction_of_both(people: People) -> str:
    number = complete(people, sign_draft(people)).number or ""
    items = [
        {"material": "design", "problem": "尺寸标注不清"},
        {"material": "safety", "problem": "缺少签字"},
    ]
    perform(people.window, number, "request_correction", {"items": items})
    return number


def current_files(number: str) -> list[tuple[str, str]]:
    rows = CaseMaterial.objects.filter(case__number=number, superseded=False)
    return sorted(rows.values_list("material_key", "original_name"))


def test_one_bad_file_replaces_nothing(people: People, tmp_path: Path) -> None:
    """补正 is one step: the good file posted with a bad one replaces nothing, and its stored
    copy is gone with the rolled-back upload."""
    number = correction_of_both(people)
    before, on_disk = current_files(number), stored_files(tmp_path)
    response = as_user(people.applicant).post(
        reverse("portal:supplement", args=[number]),
        {
            "m_design": SimpleUploadedFile("新设计图.pdf", PDF),
            "m_safety": SimpleUploadedFile("承诺书.pdf", b"not a pdf at all"),
        },
    )
    assert response.status_code == 422
    assert 'id="file-error-safety"' in html(response)
    assert current_files(number) == before
    assert CaseMaterial.objects.filter(case__number=number).count() == 2
    assert stored_files(tmp_path) == on_disk
    assert Case.objects.get(number=number).state == CaseState.CORRECTION


def test_a_supplement_missing_a_named_material_is_refused_whole(
    people: People, tmp_path: Path
) -> None:
    number = correction_of_both(people)
    before, on_disk = current_files(number), stored_files(tmp_path)
    client = as_user(people.applicant)
    url = reverse("portal:supplement", args=[number])
    response = client.post(url, {"m_design": SimpleUploadedFile("新设计图.pdf", PDF)})
    assert response.status_code == 422
    page = html(response)
    assert "请上传补正后的“安全承诺书”" in page
    assert current_files(number) == before  # the design drawing was not replaced either
    assert stored_files(tmp_path) == on_disk
    response = client.post(
        url,
        {
            "m_design": SimpleUploadedFile("新设计图.pdf", PDF),
            "m_safety": SimpleUploadedFile("已签承诺书.pdf", PDF),
        },
    )
    assert response.status_code == 302
    assert current_files(number) == [("design", "新设计图.pdf"), ("safety", "已签承诺书.pdf")]
    assert len(stored_files(tmp_path)) == len(on_disk) + 2
    assert Case.objects.get(number=number).state == CaseState.SUBMITTED


def test_tolerated_materials_are_handed_in_later(people: People) -> None:
    case = complete(people, sign_draft(people))
    number = case.number or ""
    perform(people.window, number, "accept", TOLERATED)
    client = as_user(people.applicant)
    assert "容缺材料待补交" in html(client.get(reverse("portal:my_case", args=[number])))
    response = client.post(
        reverse("portal:hand_in", args=[number]), {"m_photo": SimpleUploadedFile("照片.png", PNG)}
    )
    assert response.status_code == 302
    assert case.tolerated.get(material_key="photo").supplied_at is not None
    assert case.tolerated.get(material_key="plan").supplied_at is None


def test_tolerated_materials_handed_in_together_are_kept_all_or_none(
    people: People, tmp_path: Path
) -> None:
    case = complete(people, sign_draft(people))
    number = case.number or ""
    perform(people.window, number, "accept", TOLERATED)
    client = as_user(people.applicant)
    on_disk = stored_files(tmp_path)
    response = client.post(
        reverse("portal:hand_in", args=[number]),
        {
            "m_photo": SimpleUploadedFile("照片.png", PNG),  # fine
            "m_plan": SimpleUploadedFile("示意图.pdf", PNG),  # a PNG calling itself a PDF
        },
    )
    assert response.status_code == 422
    assert "png" in html(response)
    assert all(t.supplied_at is None for t in case.tolerated.all())
    assert not case.materials.filter(material_key__in=["photo", "plan"]).exists()
    assert stored_files(tmp_path) == on_disk  # the photo's file went with its row
    response = client.post(
        reverse("portal:hand_in", args=[number]),
        {
            "m_photo": SimpleUploadedFile("照片.png", PNG),
            "m_plan": SimpleUploadedFile("示意图.pdf", PDF),
        },
    )
    assert response.status_code == 302
    assert all(t.supplied_at is not None for t in case.tolerated.all())


def test_withdraw_asks_first(people: People) -> None:
    case = complete(people, sign_draft(people))
    url = reverse("portal:withdraw", args=[case.number])
    client = as_user(people.applicant)
    page = html(client.get(url))
    assert "确认撤回" in page
    case.refresh_from_db()
    assert case.state == CaseState.SUBMITTED
    assert client.post(url).status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.WITHDRAWN
    assert "该申请当前不能撤回" in html(client.get(url))
    assert client.post(url).status_code == 409


def test_reapply_copies_answers_and_form(people: People) -> None:
    client = as_user(people.applicant)
    client.post(
        reverse("portal:apply", args=[FOOD]),
        {"a_entity": "individual", "a_area": "120", "a_cold": "no"},
    )
    earlier = Case.objects.get()
    Case.objects.filter(pk=earlier.pk).update(form_data={**earlier.form_data, "site_area": "120"})
    response = client.post(reverse("portal:reapply", args=[earlier.pk]))
    assert response.status_code == 302
    again = Case.objects.latest("pk")
    assert again.pk != earlier.pk
    assert response["Location"] == reverse("portal:draft", args=[again.pk])
    assert again.answers == earlier.answers
    assert again.form_data["site_area"] == "120"
    assert again.form_data["operator_id"] == people.applicant.person.id_number


def test_reapply_drops_what_today_s_form_would_refuse(people: People) -> None:
    client = as_user(people.applicant)
    client.post(
        reverse("portal:apply", args=[FOOD]),
        {"a_entity": "individual", "a_area": "120", "a_cold": "no"},
    )
    earlier = Case.objects.get()
    # a value the area element no longer accepts, and a field the item no longer has
    Case.objects.filter(pk=earlier.pk).update(
        form_data={**earlier.form_data, "site_area": "很大", "retired_field": "x"}
    )
    assert client.post(reverse("portal:reapply", args=[earlier.pk])).status_code == 302
    again = Case.objects.latest("pk")
    assert "site_area" not in again.form_data
    assert "retired_field" not in again.form_data
    assert again.form_data["operator_name"] == people.applicant.person.name
    page = html(client.get(reverse("portal:draft", args=[again.pk])))
    assert "很大" not in page


def test_own_files_download(people: People) -> None:
    draft = sign_draft(people)
    stored = check_attach_material(people.applicant, draft.pk, "design", "设计图.pdf", PDF)
    url = reverse("portal:my_material", args=[draft.pk, stored.pk])
    response = as_user(people.applicant).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert as_user(people.other).get(url).status_code == 404


# --- the permission matrix ----------------------------------------------------------------------


def _urls(people: People) -> dict[str, tuple[str, str]]:
    draft = sign_draft(people)
    stored = check_attach_material(people.applicant, draft.pk, "design", "设计图.pdf", PDF)
    case = complete(people, sign_draft(people))
    number = case.number or ""
    return {
        "my_cases": ("get", reverse("portal:my_cases")),
        "draft": ("get", reverse("portal:draft", args=[draft.pk])),
        "save": ("post", reverse("portal:draft", args=[draft.pk])),
        "answers": ("get", reverse("portal:draft_answers", args=[draft.pk])),
        "answers_post": ("post", reverse("portal:draft_answers", args=[draft.pk])),
        "case": ("get", reverse("portal:my_case", args=[number])),
        "supplement": ("post", reverse("portal:supplement", args=[number])),
        "hand_in": ("post", reverse("portal:hand_in", args=[number])),
        "withdraw": ("get", reverse("portal:withdraw", args=[number])),
        "withdraw_post": ("post", reverse("portal:withdraw", args=[number])),
        "reapply": ("post", reverse("portal:reapply", args=[case.pk])),
        "file": ("get", reverse("portal:my_material", args=[draft.pk, stored.pk])),
        "apply": ("post", reverse("portal:apply", args=[SIGN])),
    }


@pytest.mark.parametrize("who", ["anonymous", "staff", "other", "applicant"])
def test_permission_matrix(people: People, who: str) -> None:
    urls = _urls(people)
    user = {"anonymous": None, "staff": people.window, "other": people.other}.get(
        who, people.applicant
    )
    client = as_user(user)
    for name, (method, url) in urls.items():
        response = getattr(client, method)(url)
        if who == "anonymous":
            expected = {302}
        elif who == "staff":
            expected = {403}
        elif who == "other":
            expected = {200} if name in ("my_cases", "apply") else {404}
        else:
            expected = {200, 302, 422}
        assert response.status_code in expected, (name, who, response.status_code)
        if who == "anonymous":
            assert reverse("portal:login") in response["Location"], name
    if who in ("other", "anonymous", "staff"):
        assert Case.objects.filter(state=CaseState.WITHDRAWN).count() == 0


def test_case_page_query_count_is_bounded(
    people: People, django_assert_max_num_queries: Any
) -> None:
    case = complete(people, sign_draft(people))
    perform(people.window, case.number or "", "accept", TOLERATED)
    client = as_user(people.applicant)
    url = reverse("portal:my_case", args=[case.number])
    client.get(url)
    with django_assert_max_num_queries(25):
        assert client.get(url).status_code == 200


# --- 修改情形 on a draft ------------------------------------------------------------------------


def food_draft(people: People) -> Case:
    answers = {"entity": "individual", "area": "120", "cold": "no"}
    draft = check_create_draft(
        people.applicant, item_code=FOOD, division_code="330100", answers=answers
    )
    return applications.check_save_draft_form(people.applicant, draft.pk, {"site_area": "120"})


def test_draft_answers_are_changed_from_the_form_page(people: People) -> None:
    draft = food_draft(people)
    client = as_user(people.applicant)
    url = reverse("portal:draft_answers", args=[draft.pk])
    form_page = html(client.get(reverse("portal:draft", args=[draft.pk])))
    assert 'name="intent" value="answers"' in form_page
    page = html(client.get(url))
    assert 'name="a_area" value="120"' in page
    assert 'value="no" checked' in page  # the draft's answers are shown
    assert "是否设专间" not in page

    # a follow-up question appears while answering (htmx), nothing is saved
    partial = client.post(
        url, {"a_entity": "individual", "a_area": "400", "a_cold": "yes"}, HTTP_HX_REQUEST="true"
    )
    assert partial.status_code == 200
    assert 'name="a_cold_room"' in html(partial)
    assert "<html" not in html(partial)
    # saving with it unanswered names it; nothing changed
    response = client.post(
        url, {"a_entity": "individual", "a_area": "400", "a_cold": "yes", "intent": "save"}
    )
    assert response.status_code == 422
    assert "请回答全部情形问题" in html(response)
    assert 'href="#q-cold_room-0"' in html(response)  # the summary leads to the question
    assert Case.objects.get(pk=draft.pk).answers == draft.answers
    bad = client.post(url, {"a_entity": "individual", "a_area": "很大", "a_cold": "no"})
    assert bad.status_code == 422
    assert Case.objects.get(pk=draft.pk).answers == draft.answers

    response = client.post(
        url,
        {"a_entity": "company", "a_area": "400", "a_cold": "yes", "a_cold_room": "no"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:draft", args=[draft.pk])
    case = Case.objects.get(pk=draft.pk)
    assert case.answers == {"entity": "company", "area": "400", "cold": "yes", "cold_room": "no"}
    assert case.form_data["site_area"] == "120"  # still applies, kept
    applying = {m.key for m in application_of(case).materials}
    assert {"layout", "cold_process", "business_licence"} <= applying
    assert "id_card" not in applying
    page = html(client.get(response["Location"]))
    assert "情形已修改" in page
    assert "冷食类食品加工制作流程" in page

    client.post(url, {"a_entity": "individual", "a_area": "0"})  # no site any more
    case = Case.objects.get(pk=draft.pk)
    assert case.answers == {"entity": "individual", "area": "0"}
    assert "site_area" not in case.form_data  # its field no longer applies


def test_the_form_is_saved_before_the_answers_are_changed(people: People) -> None:
    draft = food_draft(people)
    response = as_user(people.applicant).post(
        reverse("portal:draft", args=[draft.pk]), {"f_site_area": "150", "intent": "answers"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:draft_answers", args=[draft.pk])
    assert Case.objects.get(pk=draft.pk).form_data["site_area"] == "150"


def test_a_submitted_case_s_answers_are_final(people: People) -> None:
    case = complete(people, sign_draft(people))
    client = as_user(people.applicant)
    url = reverse("portal:draft_answers", args=[case.pk])
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:my_case", args=[case.number])
    assert client.post(url, {}).status_code == 302
    assert Case.objects.get(pk=case.pk).answers == case.answers


def test_pages_about_one_case_lead_back_through_my_cases(people: People) -> None:
    draft = food_draft(people)
    client = as_user(people.applicant)
    my_cases = f'<a href="{reverse("portal:my_cases")}">我的办件</a>'
    draft_link = f'<a href="{reverse("portal:draft", args=[draft.pk])}">填写申请</a>'
    answers_page = html(client.get(reverse("portal:draft_answers", args=[draft.pk])))
    assert my_cases in answers_page
    assert draft_link in answers_page
    assert '<li aria-current="page">修改情形</li>' in answers_page
    form_page = html(client.get(reverse("portal:draft", args=[draft.pk])))
    assert my_cases in form_page
    assert draft_link not in form_page  # the form page is the current one
    assert '<li aria-current="page">填写申请</li>' in form_page
    case = complete(people, sign_draft(people))
    case_page = html(client.get(reverse("portal:my_case", args=[case.number])))
    assert my_cases in case_page
    assert f'<li aria-current="page">{case.number}</li>' in case_page
