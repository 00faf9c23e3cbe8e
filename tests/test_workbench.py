"""Workbench pages: the permission matrix on every URL (anonymous / applicant / staff of another
department / the right staff), the case page with only the user's actions, errors next to the
inputs (422) or as a banner (409), masked personal data and its logged reveal, file downloads,
bulk 受理, and bounded query counts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tests.catalog_fixtures import sample
from tests.factories import ApplicantFactory, StaffUserFactory
from tongban.cases.materials import check_attach_material
from tongban.cases.models import Case, CaseState, CorrectionNotice, TaskState
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.masking import mask_id_number
from tongban.identity.models import Department, PersonalDataAccess

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
ANSWERS = {"entity": "individual", "area": "120", "cold": "no"}


class World:
    """The FOOD item filed in 杭州市 (330100): handled by 3301-SCJG, reviewed by 3301-SCJG and
    3301-GA in stage 1 and 3301-SCJG in stage 2."""

    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        ga = Department.objects.get(code="3301-GA")
        self.applicant = ApplicantFactory()
        self.other_applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga = StaffUserFactory(department=ga, roles=["reviewer"])
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.supervisor = StaffUserFactory(department=ga, roles=["supervisor"])
        self.other_staff = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["window", "reviewer", "department_head", "supervisor"],
        )
        self.case = self.new_case()

    def new_case(self, *, upload: bool = True, applicant: Any = None) -> Case:
        who = applicant or self.applicant
        draft = check_create_draft(
            who,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers=ANSWERS,
            form_data={
                "operator_name": who.person.name,
                "operator_id": who.person.id_number,
                "site_area": "120",
            },
        )
        if upload:
            check_attach_material(who, draft.pk, "application", "申请书.pdf", PDF)
        return submit_draft(who, draft.pk)

    @property
    def number(self) -> str:
        assert self.case.number is not None
        return self.case.number


@pytest.fixture
def world(tmp_path: Path, settings: Any) -> World:
    settings.MEDIA_ROOT = tmp_path / "media"
    import_catalog(sample(tmp_path / "catalog"))
    return World()


def as_user(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def page(response: Any) -> str:
    return response.content.decode()


def accept(world: World, case: Case | None = None) -> Case:
    return perform(world.window, (case or world.case).number or "", "accept")


def open_task(case: Case, department: str) -> Any:
    return case.tasks.get(department__code=department, state=TaskState.OPEN)


# --- the permission matrix ----------------------------------------------------------------------


def material_url(world: World) -> str:
    material = world.case.materials.get()
    return reverse("workbench:material", args=[world.number, material.pk])


GET_URLS = {
    "home": lambda w: reverse("workbench:home"),
    "intake": lambda w: reverse("workbench:queue", args=["intake"]),
    "case": lambda w: reverse("workbench:case", args=[w.number]),
    "material": material_url,
}


@pytest.mark.parametrize("url", sorted(GET_URLS))
@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("applicant", 403),
        ("other_applicant", 403),
        ("other_staff", 404),
        ("window", 200),
    ],
)
def test_get_permission_matrix(world: World, url: str, who: str, status: int) -> None:
    user = None if who == "anonymous" else getattr(world, who)
    response = as_user(user).get(GET_URLS[url](world))
    expected = status
    if who == "other_staff" and url in ("home", "intake"):
        expected = 200  # their own workbench and queue, without this case
    assert response.status_code == expected, (url, who)
    if who == "anonymous":
        assert response["Location"].startswith(reverse("portal:login"))
    if who == "other_staff" and url == "intake":
        assert world.number not in page(response)
    if who == "window" and url == "intake":
        assert world.number in page(response)


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("applicant", 403),
        ("other_applicant", 403),
        ("other_staff", 404),
        ("reviewer", 403),
    ],
)
def test_action_permission_matrix(world: World, who: str, status: int) -> None:
    """Only the window may 受理 a submitted case: everyone else is turned away (a reviewer of the
    handling department sees the case but gets 403)."""
    user = None if who == "anonymous" else getattr(world, who)
    url = reverse("workbench:action", args=[world.number, "accept"])
    response = as_user(user).post(url)
    assert response.status_code == status
    world.case.refresh_from_db()
    assert world.case.state == CaseState.SUBMITTED


def test_the_window_accepts_through_the_form(world: World) -> None:
    client = as_user(world.window)
    response = client.post(reverse("workbench:action", args=[world.number, "accept"]))
    assert response.status_code == 302
    world.case.refresh_from_db()
    assert world.case.state == CaseState.IN_REVIEW
    assert "已受理" in page(client.get(response["Location"]))


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("applicant", 403),
        ("other_applicant", 403),
        ("other_staff", 404),
        ("supervisor", 403),
    ],
)
def test_reveal_permission_matrix(world: World, who: str, status: int) -> None:
    user = None if who == "anonymous" else getattr(world, who)
    url = reverse("workbench:reveal", args=[world.number])
    response = as_user(user).post(url, {"purpose": "核验申请人身份"})
    assert response.status_code == status
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.parametrize(
    "name",
    ["intake", "delivery", "review", "decision", "verification", "risk_cases", "risk_tasks"],
)
def test_queues_need_the_role(world: World, name: str) -> None:
    """A queue of a role the user does not hold is 403; every queue works for its role."""
    holders = {
        "intake": world.window,
        "delivery": world.window,
        "review": world.reviewer,
        "decision": world.head,
        "verification": world.reviewer,
        "risk_cases": world.supervisor,
        "risk_tasks": world.head,
    }
    url = reverse("workbench:queue", args=[name])
    assert as_user(holders[name]).get(url).status_code == 200
    stranger = world.window if name in ("review", "verification") else world.ga
    assert as_user(stranger).get(url).status_code == 403


def test_the_window_finds_decided_cases_to_deliver(world: World) -> None:
    perform(world.window, world.number, "accept")
    for _stage in (1, 2):
        for task in world.case.tasks.filter(state="open"):
            reviewer = world.ga if task.department.code == "3301-GA" else world.reviewer
            perform(reviewer, world.number, "approve_task", {"task": task.pk})
    perform(world.head, world.number, "decide", {"outcome": "approved"})
    page = as_user(world.window).get(reverse("workbench:queue", args=["delivery"]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "待送达与办结" in html
    assert world.number in html
    assert (
        as_user(world.other_staff)
        .get(reverse("workbench:queue", args=["delivery"]))
        .content.decode()
        .count(world.number)
        == 0
    )  # the district window: not its division


def test_a_broken_page_link_goes_back_to_the_first_page_saying_so(world: World) -> None:
    client = as_user(world.window)
    response = client.get("/workbench/queues/intake/", {"cursor": "%%%", "item": "SC-FOOD"})
    assert response.status_code == 302
    assert response["Location"] == "/workbench/queues/intake/?item=SC-FOOD"
    first = client.get(response["Location"])
    assert first.status_code == 200
    assert "翻页链接无效，已回到第一页" in page(first)
    assert world.number in page(first)


def test_unknown_queue_is_404(world: World) -> None:
    assert as_user(world.window).get("/workbench/queues/nothing/").status_code == 404


# --- the case page --------------------------------------------------------------------------------


def test_case_page_masks_personal_data_until_a_logged_reveal(world: World) -> None:
    person = world.applicant.person
    client = as_user(world.window)
    html = page(client.get(reverse("workbench:case", args=[world.number])))
    assert mask_id_number(person.id_number) in html
    assert person.id_number not in html  # neither in the applicant box nor in the form data
    assert person.mobile not in html
    assert "查看完整个人信息" in html

    response = client.post(
        reverse("workbench:reveal", args=[world.number]), {"purpose": "联系申请人"}
    )
    assert response.status_code == 200
    assert person.id_number in page(response)
    assert response["Cache-Control"] == "private, no-store"
    access = PersonalDataAccess.objects.get()
    assert (access.actor, access.person, access.purpose) == (
        world.window,
        person,
        "联系申请人：申请人信息、申请表单",  # what was shown: no 决定依据 on this case
    )
    # the next view is masked again
    assert person.id_number not in page(client.get(reverse("workbench:case", args=[world.number])))


def test_reveal_needs_a_purpose(world: World) -> None:
    response = as_user(world.window).post(reverse("workbench:reveal", args=[world.number]))
    assert response.status_code == 422
    assert not PersonalDataAccess.objects.exists()


def test_case_page_offers_only_the_users_actions(world: World) -> None:
    window = page(as_user(world.window).get(reverse("workbench:case", args=[world.number])))
    for action in ("accept", "refuse", "request_correction"):
        assert f"/workbench/cases/{world.number}/{action}/" in window
    assert "/decide/" not in window
    head = page(as_user(world.head).get(reverse("workbench:case", args=[world.number])))
    assert f"/workbench/cases/{world.number}/accept/" not in head
    assert "没有可执行的操作" in head
    # answers, the form and the uploaded file are on the page
    assert "申请主体类型" in window
    assert "个体工商户" in window
    assert "申请书.pdf" in window


def test_correction_items_are_picked_from_the_materials(world: World) -> None:
    client = as_user(world.window)
    url = reverse("workbench:action", args=[world.number, "request_correction"])
    # ticked without a problem text: 422, the error sits in that material's row
    response = client.post(url, {"item": ["application"], "problem_application": ""})
    assert response.status_code == 422
    html = page(response)
    assert "请写明需要补正的问题" in html
    assert 'id="act-request_correction-items-application-error"' in html
    # nothing ticked at all
    response = client.post(url, {})
    assert response.status_code == 422
    assert "至少列出一项需要补正的材料" in page(response)
    response = client.post(url, {"item": ["application"], "problem_application": "缺少签字"})
    assert response.status_code == 302
    notice = CorrectionNotice.objects.get(case=world.case)
    assert notice.items == [
        {"material": "application", "name": "食品经营许可申请书", "problem": "缺少签字"}
    ]


def test_refusal_errors_sit_next_to_their_inputs(world: World) -> None:
    response = as_user(world.window).post(
        reverse("workbench:action", args=[world.number, "refuse"]), {"reason": "  "}
    )
    assert response.status_code == 422
    html = page(response)
    assert 'id="act-refuse-reason-error"' in html
    assert "请填写理由" in html


def test_acting_in_the_wrong_state_is_a_409_banner(world: World) -> None:
    accept(world)
    response = as_user(world.window).post(
        reverse("workbench:action", args=[world.number, "accept"])
    )
    assert response.status_code == 409
    assert "不能“受理”" in page(response)


def test_parallel_reviews_decision_delivery_through_the_forms(world: World) -> None:
    accept(world)
    case = world.case
    reviewer, ga = as_user(world.reviewer), as_user(world.ga)
    html = page(ga.get(reverse("workbench:case", args=[world.number])))
    task = open_task(case, "3301-GA")
    assert f'name="task" value="{task.pk}"' in html
    assert f'value="{open_task(case, "3301-SCJG").pk}"' not in html  # not GA's task
    # 审查不通过 needs an opinion: 422 next to the opinion box of that task's form
    response = ga.post(
        reverse("workbench:action", args=[world.number, "reject_task"]), {"task": task.pk}
    )
    assert response.status_code == 422
    assert f'id="act-task-{task.pk}-opinion-error"' in page(response)
    for client, department in ((ga, "3301-GA"), (reviewer, "3301-SCJG"), (reviewer, "3301-SCJG")):
        task = open_task(case, department)
        response = client.post(
            reverse("workbench:action", args=[world.number, "approve_task"]),
            {"task": task.pk, "opinion": "符合要求"},
        )
        assert response.status_code == 302, page(response)
    case.refresh_from_db()
    assert case.state == CaseState.AWAITING_DECISION
    head = as_user(world.head)
    response = head.post(
        reverse("workbench:action", args=[world.number, "decide"]), {"outcome": "denied"}
    )
    assert response.status_code == 422  # a denial needs reasons and the legal basis
    assert 'id="act-decide-reason-error"' in page(response)
    response = head.post(
        reverse("workbench:action", args=[world.number, "decide"]), {"outcome": "approved"}
    )
    assert response.status_code == 302
    window = as_user(world.window)
    for action, data in (("deliver", {"method": "electronic"}), ("close", {})):
        response = window.post(reverse("workbench:action", args=[world.number, action]), data)
        assert response.status_code == 302
    case.refresh_from_db()
    assert case.state == CaseState.CLOSED
    assert case.delivery_method == "electronic"


def test_countersign_and_transfer_through_the_forms(world: World) -> None:
    accept(world)
    task = open_task(world.case, "3301-GA")
    ga = as_user(world.ga)
    html = page(ga.get(reverse("workbench:case", args=[world.number])))
    assert f'id="act-route-{task.pk}"' in html
    assert '<option value="330106-SCJG"' in html  # a department of the district below
    assert '<option value="3301-GA"' not in html  # not the task's own department
    url = reverse("workbench:action", args=[world.number, "countersign"])
    response = ga.post(url, {"task": task.pk, "department": "330106-SCJG", "limit_days": "3"})
    assert response.status_code == 422  # a reason is required
    assert f'id="act-route-{task.pk}-reason-error"' in page(response)
    response = ga.post(
        url,
        {"task": task.pk, "department": "330106-SCJG", "limit_days": "3", "reason": "涉及区属"},
    )
    assert response.status_code == 302, page(response)
    co = world.case.tasks.get(countersign_for=task)
    assert (co.department.code, co.limit_days, co.state) == ("330106-SCJG", 3, TaskState.OPEN)
    # the district reviewer now sees the case and its countersign task
    html = page(as_user(world.other_staff).get(reverse("workbench:case", args=[world.number])))
    assert f'name="task" value="{co.pk}"' in html
    response = ga.post(
        reverse("workbench:action", args=[world.number, "transfer_task"]),
        {"task": task.pk, "department": "330106-SCJG", "reason": "属区局职责"},
    )
    assert response.status_code == 422  # 330106-SCJG already reviews in this stage
    assert f'id="act-route-{task.pk}-department-error"' in page(response)


def test_head_extends_and_sends_back_with_inputs(world: World) -> None:
    accept(world)
    head = as_user(world.head)
    html = page(head.get(reverse("workbench:case", args=[world.number])))
    assert "本事项最多还可延长 10 个工作日" in html
    response = head.post(
        reverse("workbench:action", args=[world.number, "extend"]),
        {"days": "11", "reason": "需要现场核查"},
    )
    assert response.status_code == 422
    assert 'id="act-extend-days-error"' in page(response)
    response = head.post(
        reverse("workbench:action", args=[world.number, "extend"]),
        {"days": "3", "reason": "需要现场核查"},
    )
    assert response.status_code == 302
    world.case.refresh_from_db()
    assert world.case.extended_days == 3
    response = head.post(
        reverse("workbench:action", args=[world.number, "send_back"]),
        {"to": "intake", "reason": "材料需重新预审"},
    )
    assert response.status_code == 302
    world.case.refresh_from_db()
    assert world.case.state == CaseState.SUBMITTED


def test_unknown_action_is_404(world: World) -> None:
    response = as_user(world.window).post(
        reverse("workbench:action", args=[world.number, "teleport"])
    )
    assert response.status_code == 404


# --- files ----------------------------------------------------------------------------------------


def test_files_are_served_to_those_who_may_see_the_case(world: World) -> None:
    url = material_url(world)
    response = as_user(world.window).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    preview = as_user(world.window).get(url + "?preview=1")
    assert preview["Content-Disposition"].startswith("inline")
    # a reviewer of a reviewing department sees the case once it is in review
    assert as_user(world.ga).get(url).status_code == 404
    accept(world)
    assert as_user(world.ga).get(url).status_code == 200
    # a file of another case is not reachable through this case's number
    other = world.new_case(applicant=world.other_applicant)
    foreign = other.materials.get()
    response = as_user(world.window).get(
        reverse("workbench:material", args=[world.number, foreign.pk])
    )
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("anonymous", 302),
        ("other_applicant", 403),
        ("other_staff", 404),
        ("ga", 404),  # 公安 reviews only once the case is accepted
        ("supervisor", 403),  # sees the case, not the applicant's files
        ("window", 200),
        ("reviewer", 200),
    ],
)
def test_material_permission_matrix_and_access_log(world: World, who: str, status: int) -> None:
    """Only handling staff open a case's files; each opening writes one access-log row naming
    the material, and a refusal writes none."""
    user = None if who == "anonymous" else getattr(world, who)
    response = as_user(user).get(material_url(world))
    assert response.status_code == status
    logged = list(PersonalDataAccess.objects.values_list("actor_id", "person_id", "purpose"))
    if status != 200:
        assert logged == []
        return
    assert b"".join(response.streaming_content) == PDF
    material = world.case.materials.get()
    assert logged == [
        (
            user.pk,
            world.applicant.person_id,
            f"查看申请材料：{material.material_name}（申请书.pdf）",
        )
    ]
    as_user(user).get(material_url(world) + "?preview=1")
    assert PersonalDataAccess.objects.count() == 2


def test_the_case_page_offers_files_only_to_handling_staff(world: World) -> None:
    url = material_url(world)
    case_url = reverse("workbench:case", args=[world.number])
    assert url in page(as_user(world.window).get(case_url))
    supervised = page(as_user(world.supervisor).get(case_url))
    assert "申请书.pdf" in supervised  # which files there are
    assert url not in supervised


# --- bulk 受理 ------------------------------------------------------------------------------------


def test_bulk_accept_reports_each_case(world: World) -> None:
    complete = world.new_case()
    incomplete = world.new_case(upload=False)
    client = as_user(world.window)
    html = page(client.get(reverse("workbench:queue", args=["intake"])))
    assert f'name="case" value="{complete.number}"' in html
    assert f'name="case" value="{incomplete.number}"' not in html  # 材料不齐: no box
    assert "缺 1 项" in html
    response = client.post(
        reverse("workbench:bulk_accept"),
        {"case": [world.number, complete.number, incomplete.number], "query": "light=green"},
        follow=True,
    )
    html = page(response)
    assert f"{world.number}：已受理" in html
    assert f"{complete.number}：已受理" in html
    assert f"{incomplete.number}：材料或表单不完整" in html
    states = dict(Case.objects.filter(number__isnull=False).values_list("number", "state"))
    assert states[complete.number] == CaseState.IN_REVIEW
    assert states[incomplete.number] == CaseState.SUBMITTED
    assert response.redirect_chain[-1][0].endswith("/workbench/queues/intake/?light=green")


def test_bulk_accept_is_for_the_window_only(world: World) -> None:
    url = reverse("workbench:bulk_accept")
    response = as_user(world.reviewer).post(url, {"case": [world.number]}, follow=True)
    assert "不能对该办件执行“受理”" in page(response)
    response = as_user(world.other_staff).post(url, {"case": [world.number]}, follow=True)
    assert f"没有找到办件 {world.number}" in page(response)
    assert as_user(world.applicant).post(url).status_code == 403
    assert as_user(world.other_applicant).post(url).status_code == 403
    assert as_user(None).post(url).status_code == 302
    world.case.refresh_from_db()
    assert world.case.state == CaseState.SUBMITTED


# --- query counts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["intake", "review"])
def test_queue_pages_cost_a_fixed_number_of_queries(
    world: World, name: str, django_assert_max_num_queries: Any
) -> None:
    user = world.window if name == "intake" else world.reviewer
    url = reverse("workbench:queue", args=[name])
    client = as_user(user)
    if name == "review":
        accept(world)
    client.get(url)  # warm the calendar and the compiled guide
    with django_assert_max_num_queries(12) as few:
        assert client.get(url).status_code == 200
    for _n in range(12):
        case = world.new_case()
        if name == "review":
            accept(world, case)
    with django_assert_max_num_queries(len(few.captured_queries) + 1):
        response = client.get(url)
    assert page(response).count('class="wb-case-link"') == 13


def test_case_page_costs_a_bounded_number_of_queries(
    world: World, django_assert_max_num_queries: Any
) -> None:
    accept(world)
    client = as_user(world.head)
    url = reverse("workbench:case", args=[world.number])
    client.get(url)
    with django_assert_max_num_queries(21) as first:  # 21st: is the item a benefit (申请制)?
        assert client.get(url).status_code == 200
    # more tasks done, more events, another stage open: the page costs no more
    for user, department in ((world.ga, "3301-GA"), (world.reviewer, "3301-SCJG")):
        task = open_task(world.case, department)
        perform(user, world.number, "approve_task", {"task": task.pk, "opinion": "符合"})
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert client.get(url).status_code == 200


def test_case_number_lookup(world: World) -> None:
    client = as_user(world.window)
    response = client.get(reverse("workbench:home"), {"number": world.number})
    assert response.status_code == 302
    assert response["Location"] == reverse("workbench:case", args=[world.number])
    response = client.get(
        reverse("workbench:home"), {"number": "330100-20000101-99999"}, follow=True
    )
    assert "没有找到办件" in page(response)


def test_pages_read_in_english(world: World) -> None:
    client = as_user(world.window)
    client.post("/i18n/setlang/", {"language": "en"})
    queue = page(client.get(reverse("workbench:queue", args=["intake"])))
    assert "Intake" in queue
    assert "working days left" in queue
    case = page(client.get(reverse("workbench:case", args=[world.number])))
    for text in ("Request correction", "Refuse to accept", "Submitted, awaiting intake"):
        assert text in case
    applicant = as_user(world.applicant)
    applicant.post("/i18n/setlang/", {"language": "en"})
    mine = page(applicant.get(reverse("portal:my_case", args=[world.number])))
    assert "Progress" in mine
    assert "Apply again" in mine


def test_the_legend_follows_the_yellow_setting(world: World, settings: Any) -> None:
    settings.TONGBAN_YELLOW_WORKDAYS = 3
    html = page(as_user(world.window).get(reverse("workbench:queue", args=["intake"])))
    assert "剩余工作日不超过 3 天或时限的 20%" in html


HOME = "浙江省杭州市西湖区文三路90号3幢501室"
ACCOUNT = "6222021202001234567"


def test_addresses_and_account_numbers_on_the_form_are_masked_until_a_logged_reveal(
    tmp_path: Path, settings: Any
) -> None:
    """An address, a bank account or a social security card number is personal data like the
    ID number: masked on the case page, in full only on the page a logged reveal returns."""
    from tests.catalog_fixtures import BODIES, FOOD, write_catalog

    settings.MEDIA_ROOT = tmp_path / "media"
    bodies = BODIES.replace(
        "  - {code: area, name: 面积, type: decimal}\n",
        "  - {code: area, name: 面积, type: decimal}\n"
        "  - {code: address, name: 地址, type: text, max_length: 255}\n"
        "  - {code: bank_account, name: 银行账号, type: text, max_length: 19}\n"
        "  - {code: social_security_card_no, name: 社会保障卡卡号, type: text, max_length: 20}\n",
    )
    food = FOOD.replace(
        "      - {key: site_area,",
        "      - {key: home, label: 住址, element: address}\n"
        "      - {key: account, label: 收款账号, element: bank_account}\n"
        "      - {key: card, label: 社保卡号, element: social_security_card_no}\n"
        "      - {key: site_area,",
    )
    import_catalog(write_catalog(tmp_path / "catalog", bodies=bodies, food=food))
    world = World()
    draft = check_create_draft(
        world.applicant,
        item_code="SC-FOOD-001",
        division_code="330100",
        answers=ANSWERS,
        form_data={"home": HOME, "account": ACCOUNT, "card": "A12345678901", "site_area": "120"},
    )
    check_attach_material(world.applicant, draft.pk, "application", "申请书.pdf", PDF)
    number = submit_draft(world.applicant, draft.pk).number
    client = as_user(world.window)
    html = page(client.get(reverse("workbench:case", args=[number])))
    for value in (HOME, "文三路90号", ACCOUNT, "A12345678901"):
        assert value not in html
    assert "浙江省杭州市西湖区" in html  # where, to the district
    assert "6222***********4567" in html
    assert not PersonalDataAccess.objects.exists()
    revealed = page(
        client.post(reverse("workbench:reveal", args=[number]), {"purpose": "联系申请人"})
    )
    assert HOME in revealed
    assert ACCOUNT in revealed
    assert PersonalDataAccess.objects.count() == 1
