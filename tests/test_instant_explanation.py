"""智能秒办 决定依据 on the pages and in the API: the applicant reads the conditions their
application met or failed in words, the right staff also read rule names, data keys and raw
values with personal data masked — in full after a logged reveal, for staff who may reveal —
anyone else gets 404, and a case rules did not decide shows nothing. What is shown is what the
rules saw when they decided."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse

from tests.catalog_fixtures import BODIES, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tests.test_instant_decision import NIGHT_WORK
from tongban.cases import selectors
from tongban.cases.models import Case, CaseState, Outcome
from tongban.cases.services import check_create_draft, submit_draft
from tongban.catalog.services import import_catalog
from tongban.core.masking import mask_id_number
from tongban.identity.models import Department, PersonalDataAccess

pytestmark = pytest.mark.django_db

# The night-work item with the operator's 身份证号 on the form, and an approve rule that also
# asks for it or the site: personal data the rules see, and a group of conditions.
NIGHT_WITH_ID = NIGHT_WORK.replace(
    "      - {key: site, label: 工地名称, element: site, required: false}\n",
    "      - {key: site, label: 工地名称, element: site, required: false}\n"
    "      - {key: operator_id, label: 负责人身份证号, element: id_number, required: false}\n",
).replace(
    "{q: fact.commitment_barred, eq: false}]}",
    "{q: fact.commitment_barred, eq: false},"
    " {any: [{q: form.operator_id, answered: true}, {q: form.site, answered: true}]}]}",
)
SECTION = "智能秒办 决定依据"


class World:
    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        self.applicant = ApplicantFactory()
        self.other_applicant = ApplicantFactory()
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.other_staff = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["window", "reviewer", "department_head"],
        )
        # sees the city's cases (督办) but does not handle them: may not reveal
        self.supervisor = StaffUserFactory(
            department=Department.objects.get(code="3301-GA"), roles=["supervisor"]
        )

    def apply(self, **form: Any) -> Case:
        draft = check_create_draft(
            self.applicant, item_code="CG-NIGHT-001", division_code="330100", form_data=form
        )
        return submit_draft(self.applicant, draft.pk)

    def approved(self) -> Case:
        person = self.applicant.person
        case = self.apply(consecutive_days="2", monthly_days=5, operator_id=person.id_number)
        assert case.outcome == Outcome.APPROVED
        return case


@pytest.fixture
def world(tmp_path: Path) -> World:
    assert "operator_id" in NIGHT_WITH_ID
    assert "any:" in NIGHT_WITH_ID
    import_catalog(write_catalog(tmp_path, bodies=BODIES, night=NIGHT_WITH_ID))
    return World()


def as_user(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def portal_page(user: Any, case: Case) -> Any:
    return as_user(user).get(reverse("portal:my_case", args=[case.number]))


def staff_page(user: Any, case: Case) -> Any:
    return as_user(user).get(reverse("workbench:case", args=[case.number]))


def reveal(user: Any, case: Case, purpose: str = "核验申请人身份") -> Any:
    client = Client() if user is None else as_user(user)
    return client.post(reverse("workbench:reveal", args=[case.number]), {"purpose": purpose})


def api_case(user: Any, case: Case) -> Any:
    return as_user(user).get(f"/api/v1/cases/{case.number}")


def section(response: Any) -> str:
    html = response.content.decode()
    start = html.index('id="instant-decision"')
    return html[start : html.index("</section>", start)]


def test_the_applicant_reads_each_condition_in_words(world: World) -> None:
    case = world.approved()
    response = portal_page(world.applicant, case)
    assert response.status_code == 200
    html = section(response)
    assert SECTION in html
    assert '<th scope="col">' in html
    assert '<th scope="row">连续夜间施工天数</th>' in html
    for words in ("大于 3", "不超过 3", "不超过 12", "本月累计夜间施工天数", "以下条件满足其一"):
        assert words in html
    assert "第 3 项核对（条件满足时准予）" in html
    assert "符合夜间施工条件，系统自动准予" in html
    assert world.applicant.person.id_number in html  # their own data, as they gave it
    # no rule names and no data keys for the applicant
    assert "符合条件且无违诺记录" not in html
    assert "form.consecutive_days" not in html


def test_the_right_staff_read_rule_names_keys_and_masked_values(world: World) -> None:
    case = world.approved()
    id_number = world.applicant.person.id_number
    for staff in (world.head, world.window):
        response = staff_page(staff, case)
        assert response.status_code == 200
        html = section(response)
        assert "规则 3“符合条件且无违诺记录”（成立时准予）" in html
        assert "form.consecutive_days" in html
        assert "fact.commitment_barred" in html
        assert mask_id_number(id_number) in html
        assert id_number not in response.content.decode()


def test_others_get_404_as_for_the_case(world: World) -> None:
    case = world.approved()
    assert portal_page(world.other_applicant, case).status_code == 404
    assert staff_page(world.other_staff, case).status_code == 404
    assert api_case(world.other_applicant, case).status_code == 404
    assert api_case(world.other_staff, case).status_code == 404


def test_api_shows_what_the_rules_saw(world: World) -> None:
    case = world.approved()
    saw = case.instant_explanation[-1]["values"]

    staff = api_case(world.head, case).json()["instant_decision"]
    assert (staff["audience"], staff["outcome"], staff["rule"]) == (
        "staff",
        "approve",
        "符合条件且无违诺记录",
    )
    assert staff["rule_version"] == case.item_version.number
    assert [r["result"] for r in staff["rules"]] == ["false", "false", "true"]
    assert [r["fired"] for r in staff["rules"]] == [False, False, True]
    leaves = {c["key"]: c for c in staff["rules"][2]["conditions"] if not c["group"]}
    assert {k: c["raw"] for k, c in leaves.items() if k != "form.operator_id"} == {
        k: v for k, v in saw.items() if k != "form.operator_id"
    }
    assert leaves["form.operator_id"]["raw"] == mask_id_number(saw["form.operator_id"])
    assert leaves["form.consecutive_days"]["seen"] == "2"
    assert leaves["fact.commitment_barred"]["seen"] == "否"
    assert leaves["form.site"] == {**leaves["form.site"], "seen": "（未提供）", "met": "unknown"}
    assert all(c["met"] == "yes" for c in leaves.values() if c["key"] != "form.site")

    mine = api_case(world.applicant, case).json()["instant_decision"]
    assert (mine["audience"], mine["rule"]) == ("applicant", None)
    conditions = mine["rules"][2]["conditions"]
    assert all(c["key"] is None and c["raw"] is None for c in conditions)
    assert [r["name"] for r in mine["rules"]] == [None, None, None]
    assert [c["seen"] for c in conditions if c["label"] == "负责人身份证号"] == [
        saw["form.operator_id"]
    ]


def test_a_denial_explains_the_rule_that_held(world: World) -> None:
    case = world.apply(consecutive_days=4, monthly_days=5)
    assert case.outcome == Outcome.DENIED
    decision = api_case(world.applicant, case).json()["instant_decision"]
    assert decision["outcome"] == "deny"
    assert decision["reason"] == "连续夜间施工不得超过3天"
    (rule,) = decision["rules"]
    assert rule["fired"]
    assert rule["conditions"][0]["seen"] == "4"
    assert "条件满足，据此作出“不予”决定" in section(portal_page(world.applicant, case))


def test_a_case_rules_did_not_decide_shows_no_section(world: World) -> None:
    case = world.apply(monthly_days=5)  # 连续天数 missing: a person decides
    assert case.state == CaseState.SUBMITTED
    assert case.instant_explanation
    assert SECTION not in portal_page(world.applicant, case).content.decode()
    assert SECTION not in staff_page(world.window, case).content.decode()
    assert api_case(world.applicant, case).json()["instant_decision"] is None
    assert api_case(world.window, case).json()["instant_decision"] is None


def test_submitting_through_the_api_returns_the_explanation(world: World) -> None:
    client = as_user(world.applicant)
    draft = client.post(
        "/api/v1/cases",
        {
            "item": "CG-NIGHT-001",
            "division": "330100",
            "form": {"consecutive_days": 9, "monthly_days": 10},
        },
        content_type="application/json",
    ).json()
    assert draft["instant_decision"] is None
    submitted = client.post(f"/api/v1/cases/drafts/{draft['id']}/submit")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["instant_decision"]["outcome"] == "deny"


def test_openapi_documents_the_explanation(client: Client) -> None:
    schemas = client.get("/api/v1/openapi.json").json()["components"]["schemas"]
    field = schemas["CaseOut"]["properties"]["instant_decision"]
    assert "InstantDecisionOut" in str(field)
    assert {"rules", "outcome", "rule_version", "audience"} <= set(
        schemas["InstantDecisionOut"]["properties"]
    )
    assert "conditions" in schemas["InstantRuleOut"]["properties"]


def test_the_events_api_does_not_repeat_the_values_the_rules_saw(world: World) -> None:
    case = world.approved()
    id_number = world.applicant.person.id_number
    for user in (world.head, world.applicant):
        response = as_user(user).get(f"/api/v1/cases/{case.number}/events")
        assert response.status_code == 200
        assert id_number not in response.content.decode()
        event = next(e for e in response.json() if e["action"] == "instant_decision")
        assert event["data"]["rule"]
        assert event["data"]["explanation"] == "见办件详情 instant_decision"
    detail = as_user(world.head).get(f"/api/v1/cases/{case.number}").json()
    assert mask_id_number(id_number) in str(detail["instant_decision"])
    assert id_number not in str(detail["instant_decision"])


# --- after a reveal (查看完整个人信息) ---------------------------------------------------------


def test_a_reveal_shows_the_values_in_full_and_logs_what_was_shown(world: World) -> None:
    case = world.approved()
    person = world.applicant.person
    for staff, purpose in ((world.head, "制作决定文书"), (world.window, "核验申请人身份")):
        response = reveal(staff, case, purpose)
        assert response.status_code == 200
        html = section(response)
        assert "规则 3“符合条件且无违诺记录”（成立时准予）" in html
        assert f"<td>{person.id_number}</td>" in html  # 规则所见值
        assert f"&quot;{person.id_number}&quot;" in html  # 原始值
        assert mask_id_number(person.id_number) not in html
        assert "决定依据中的个人信息仅在本次完整显示" in html
        # one entry per reveal, naming the 决定依据 among what was shown
        logged = PersonalDataAccess.objects.filter(actor=staff).get()
        assert (logged.person, logged.purpose) == (
            person,
            f"{purpose}：申请人信息、申请表单、智能秒办决定依据",
        )
    assert PersonalDataAccess.objects.count() == 2
    # the next view is masked again, and the applicant's view is as it was
    again = section(staff_page(world.head, case))
    assert person.id_number not in again
    assert mask_id_number(person.id_number) in again
    assert "仅在本次完整显示" not in again
    mine = api_case(world.applicant, case).json()["instant_decision"]
    assert mine["audience"] == "applicant"
    assert all(c["raw"] is None for r in mine["rules"] for c in r["conditions"])
    assert PersonalDataAccess.objects.count() == 2


@pytest.mark.parametrize(
    ("who", "status"),
    [("anonymous", 302), ("other_applicant", 403), ("other_staff", 404), ("supervisor", 403)],
)
def test_a_reveal_is_refused_to_anyone_else(world: World, who: str, status: int) -> None:
    case = world.approved()
    id_number = world.applicant.person.id_number
    response = reveal(getattr(world, who, None), case)
    assert response.status_code == status
    assert id_number not in response.content.decode()
    assert not PersonalDataAccess.objects.exists()


@pytest.mark.parametrize("who", ["anonymous", "other_applicant", "other_staff", "supervisor"])
def test_the_selector_shows_values_in_full_only_to_those_who_may_reveal(
    world: World, who: str
) -> None:
    case = world.approved()
    actor = AnonymousUser() if who == "anonymous" else getattr(world, who)
    decision = selectors.instant_decision(actor, case, unmasked=True)
    if who == "supervisor":  # may see the case, so reads it masked
        assert decision is not None
        assert decision.for_staff
        assert not decision.unmasked
        raws = [c.raw for r in decision.rules for c in r.conditions]
        assert mask_id_number(world.applicant.person.id_number) in raws
        assert world.applicant.person.id_number not in raws
    else:
        assert decision is None
    mine = selectors.instant_decision(world.applicant, case, unmasked=True)
    assert mine == selectors.instant_decision(world.applicant, case)
    assert mine is not None
    assert not mine.for_staff
    assert not mine.unmasked
