"""The workbench's case actions, the HTML counterpart of the API matrix in ``test_api_cases``: every
action of the engine posted as form data by every kind of visitor — anonymous (sent to log in),
applicant accounts, the case's own included (403: the workbench is for staff), staff of a
district department (404, told no more than for a case that does not exist), staff who see the
case but may not act (403 with the reason) and the right staff member (302 back to the case,
the state moved and the step recorded under their name) — with nothing changed on any refusal;
the case page offering exactly the actions the services say are available, each form carrying
the inputs its action is posted with; and a post in the wrong state answered 409 naming it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.http import QueryDict
from django.urls import resolve, reverse

from tests import case_actions
from tests.case_actions import ACTIONS, World, as_user
from tongban.cases import selectors
from tongban.cases.models import Case
from tongban.cases.services import available_actions
from tongban.cases.transitions import TRANSITIONS
from tongban.workbench import forms

world = case_actions.world  # the shared fixture, under the name the tests ask for

APPLICANTS = ("applicant", "other_applicant")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="[^"]*"')


def is_staff(who: str) -> bool:
    return who not in ("anonymous", *APPLICANTS)


def form_data(body: dict[str, Any]) -> dict[str, Any]:
    """``body`` (an API payload) as the workbench's forms post it: 补正 items as ticked materials
    with a problem box each, everything else as text."""
    data: dict[str, Any] = {}
    for key, value in body.items():
        if key == "items":
            data["item"] = [item["material"] for item in value]
            data.update({f"problem_{item['material']}": item["problem"] for item in value})
        else:
            data[key] = str(value)
    return data


def action_url(world: World, name: str) -> str:
    return reverse("workbench:action", args=[world.number, name])


def page(response: Any) -> str:
    return response.content.decode()


def templates(response: Any) -> set[str]:
    return {t.name for t in response.templates if t.name}


def banner(html: str) -> str:
    found = re.search(r'<div class="error-summary wb-banner" role="alert"><p>(.*?)</p>', html, re.S)
    assert found is not None, "no banner on the page"
    return found.group(1)


@dataclass
class PageForm:
    """A ``<form>`` as rendered: where each of its submit buttons posts, its named inputs, the
    values of its hidden inputs and the values offered by its selects, radios and checkboxes."""

    action: str
    posts_to: list[str] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    hidden: dict[str, str] = field(default_factory=dict)
    choices: dict[str, set[str]] = field(default_factory=dict)


class FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[PageForm] = []
        self._form: PageForm | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self._form = PageForm(a.get("action", ""))
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name", "")
        if tag == "button" and a.get("type", "submit") == "submit":
            form.posts_to.append(a.get("formaction") or form.action)
        elif tag in ("input", "select", "textarea") and name:
            form.names.add(name)
            kind = a.get("type", "")
            if tag == "input" and kind == "hidden":
                form.hidden[name] = a.get("value", "")
            if tag == "input" and kind in ("radio", "checkbox"):
                form.choices.setdefault(name, set()).add(a.get("value", ""))
            if tag == "select":
                self._select = name
                form.choices.setdefault(name, set())
        elif tag == "option" and self._select is not None and a.get("value"):
            form.choices[self._select].add(a["value"])

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None


def action_forms(html: str, number: str) -> list[tuple[str, PageForm]]:
    """(action, form) for every button on the page that posts an action on case ``number``."""
    parser = FormParser()
    parser.feed(html)
    found = []
    for form in parser.forms:
        for url in form.posts_to:
            match = resolve(urlsplit(url).path)
            if match.view_name == "workbench:action":
                assert match.kwargs["number"] == number, url
                found.append((match.kwargs["action"], form))
    return found


def offered(html: str, number: str) -> set[str]:
    return {name for name, _ in action_forms(html, number)}


def forms_for(html: str, number: str, name: str, body: dict[str, Any]) -> list[PageForm]:
    """The forms on the page that take action ``name`` — on the task in ``body``, if it names
    one (a reviewer refused another department's task may still review their own)."""
    found = [form for n, form in action_forms(html, number) if n == name]
    if "task" in body:
        found = [form for form in found if form.hidden.get("task") == str(body["task"])]
    return found


def services_say(user: Any, number: str) -> set[str]:
    return set(available_actions(user, selectors.case_for(user, number)))


def snapshot(world: World) -> tuple[str, int, int]:
    """(state, event count, sequence of the last event) of the case."""
    case = Case.objects.get(pk=world.case.pk)
    last = case.events.order_by("-sequence").first()
    assert last is not None
    return case.state, case.event_count, last.sequence


# Every action: anonymous visitors are sent to log in; applicant accounts — the case's own too,
# even for the applicant's own actions (补正, 撤回: those are taken in 我的办件) — are refused the
# workbench; district staff do not find the city's case; staff who see it but may not take the
# action get 403; the right staff member is sent back to the case page.
STATUSES = {"anonymous": 302, "other_applicant": 403, "applicant": 403, "other_staff": 404}
MATRIX = [
    pytest.param(name, who, status, id=f"{name}-{who}")
    for name, action in ACTIONS.items()
    for who, status in {
        **STATUSES,
        **{refused: 403 for refused in action.refused if is_staff(refused)},
        **({action.actor: 302} if is_staff(action.actor) else {}),
    }.items()
]
STAFF_ACTIONS = [name for name, action in ACTIONS.items() if is_staff(action.actor)]


def test_the_matrix_covers_every_action_and_every_kind_of_visitor() -> None:
    assert set(ACTIONS) == set(TRANSITIONS)
    assert len(MATRIX) == len({p.id for p in MATRIX})
    for name, action in ACTIONS.items():
        kinds = {who for (n, who, _) in (p.values for p in MATRIX) if n == name}
        assert kinds >= {*STATUSES, action.actor, *action.refused}, name
    # the applicant's own actions have no staff member who may take them here
    assert set(ACTIONS) - set(STAFF_ACTIONS) == {"supplement", "withdraw"}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_the_form_data_reads_back_as_the_api_payload(world: World, name: str) -> None:
    """What the matrix posts is what the API matrix sends, once ``payload_from`` has read it."""
    action = ACTIONS[name]
    getattr(world, action.start)()
    body = action.body(world)
    posted = QueryDict(urlencode(form_data(body), doseq=True))
    assert forms.payload_from(posted) == body


@pytest.mark.parametrize(("name", "who", "status"), MATRIX)
def test_action_permission_matrix(world: World, name: str, who: str, status: int) -> None:
    action = ACTIONS[name]
    getattr(world, action.start)()
    state, events, last = snapshot(world)
    user = None if who == "anonymous" else getattr(world, who)
    client = as_user(user)
    url = action_url(world, name)
    response = client.post(url, form_data(action.body(world)))
    assert response.status_code == status, page(response)[:2000]
    case = Case.objects.get(pk=world.case.pk)
    if status == 302 and user is not None:
        assert response["Location"] == reverse("workbench:case", args=[world.number])
        assert case.state == action.after
        assert case.event_count == events + 1
        event = case.events.order_by("-sequence").first()
        assert event is not None
        assert (event.action, event.actor_id, event.sequence) == (name, user.pk, events + 1)
        assert forms.done_message(name) in page(client.get(response["Location"]))
        return
    assert snapshot(world) == (state, events, last)
    if who == "anonymous":
        # a form posted once the session has ended: after logging in, back to the case page
        # (the action's URL takes only POST)
        location = urlsplit(response["Location"])
        assert location.path == reverse("portal:login")
        assert parse_qs(location.query)["next"] == [reverse("workbench:case", args=[world.number])]
    elif who in APPLICANTS or status == 404:
        # the workbench's door, or not finding the case: told exactly what a made-up number
        # is told, nothing about the case
        shown = "workbench/forbidden.html" if who in APPLICANTS else "workbench/not_found.html"
        assert templates(response) >= {shown}
        missing = client.post(url.replace(world.number, "NO-SUCH-CASE"), form_data({}))
        assert missing.status_code == status
        assert CSRF.sub("", page(response)) == CSRF.sub("", page(missing)).replace(
            "NO-SUCH-CASE", world.number
        )
    else:
        # sees the case: its page, with why not and without the action among the forms
        assert templates(response) >= {"workbench/case.html"}
        assert banner(page(response))
        assert forms_for(page(response), world.number, name, action.body(world)) == []
        assert offered(page(response), world.number) == services_say(user, world.number)


PAGE_VIEWERS = [
    pytest.param(name, who, id=f"{name}-{who}")
    for name, action in ACTIONS.items()
    for who in dict.fromkeys((action.actor, *action.refused))
    if is_staff(who)
]


@pytest.mark.parametrize(("name", "who"), PAGE_VIEWERS)
def test_the_case_page_offers_exactly_the_available_actions(
    world: World, name: str, who: str
) -> None:
    action = ACTIONS[name]
    getattr(world, action.start)()
    user = getattr(world, who)
    response = as_user(user).get(reverse("workbench:case", args=[world.number]))
    assert response.status_code == 200
    rendered = action_forms(page(response), world.number)
    available = services_say(user, world.number)
    assert {n for n, _ in rendered} == available
    body = action.body(world)
    candidates = forms_for(page(response), world.number, name, body)
    if who != action.actor:
        assert candidates == []
        return
    # the action's form (of the task, for a review) has an input for everything the matrix
    # posts and offers the values posted
    assert len(candidates) == 1, candidates
    data = form_data(body)
    form = candidates[0]
    assert set(data) <= form.names
    for key, value in data.items():
        if key in form.choices:
            assert set(value if isinstance(value, list) else [value]) <= form.choices[key], key


@pytest.mark.parametrize("name", STAFF_ACTIONS)
def test_an_action_in_the_wrong_state_is_a_409_naming_the_state(world: World, name: str) -> None:
    action = ACTIONS[name]
    getattr(world, action.wrong_state)()
    before = snapshot(world)
    user = getattr(world, action.actor)
    response = as_user(user).post(action_url(world, name), form_data(action.body(world)))
    assert response.status_code == 409, page(response)[:2000]
    assert snapshot(world) == before
    case = Case.objects.get(pk=world.case.pk)
    said = banner(page(response))
    assert f"办件当前状态为“{case.get_state_display()}" in said
    assert f"不能“{TRANSITIONS[name].label}”" in said
    assert name not in offered(page(response), world.number)
    assert offered(page(response), world.number) == services_say(user, world.number)


@pytest.mark.parametrize(
    ("url", "back"),
    [
        (lambda w: action_url(w, "accept"), lambda w: reverse("workbench:case", args=[w.number])),
        (
            lambda w: reverse("workbench:reveal", args=[w.number]),
            lambda w: reverse("workbench:case", args=[w.number]),
        ),
        (lambda w: reverse("workbench:bulk_accept"), lambda w: "/workbench/queues/intake/"),
    ],
    ids=["action", "reveal", "bulk_accept"],
)
def test_a_form_posted_after_the_session_ended_comes_back_to_its_page(
    world: World, url: Any, back: Any
) -> None:
    """Not to the URL the form posts to, which answers nothing but POST (405)."""
    response = as_user(None).post(url(world), {"case": world.number, "purpose": "联系申请人"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == reverse("portal:login")
    (target,) = parse_qs(location.query)["next"]
    assert target == back(world)
    assert as_user(world.window).get(target).status_code == 200
    assert as_user(world.window).get(url(world)).status_code == 405
    assert Case.objects.get(pk=world.case.pk).state == "submitted"
