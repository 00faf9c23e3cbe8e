"""The case world shared by the API and workbench permission matrices: a 食品经营许可 case filed
in 杭州市 with its applicant, another applicant, staff of the handling and a reviewing department
and of a district department; the states a case is brought to through the services; and for each
of the engine's actions how to take it (``ACTIONS``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.catalog_fixtures import sample, write_catalog
from tests.factories import ApplicantFactory, StaffUserFactory
from tests.test_case_routes import DRAINAGE
from tongban.cases.materials import check_attach_material
from tongban.cases.models import CaseTask
from tongban.cases.services import check_create_draft, perform, submit_draft
from tongban.catalog.services import import_catalog
from tongban.identity.models import Department

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


class World:
    """Who acts on the case: ``applicant`` (its own), ``other_applicant``; 市场监管 (3301-SCJG)
    ``window``, ``reviewer``, ``reviewer_two`` and ``head``; 公安 (3301-GA) reviewer ``ga``; and
    ``other_staff``, every staff role in the district 330106-SCJG, below the case's division."""

    def __init__(self) -> None:
        scjg = Department.objects.get(code="3301-SCJG")
        self.applicant = ApplicantFactory()
        self.other_applicant = ApplicantFactory()
        self.window = StaffUserFactory(department=scjg, roles=["window"])
        self.reviewer = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.reviewer_two = StaffUserFactory(department=scjg, roles=["reviewer"])
        self.ga = StaffUserFactory(
            department=Department.objects.get(code="3301-GA"), roles=["reviewer"]
        )
        self.head = StaffUserFactory(department=scjg, roles=["department_head"])
        self.other_staff = StaffUserFactory(
            department=Department.objects.get(code="330106-SCJG"),
            roles=["window", "reviewer", "department_head"],
        )
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"entity": "individual"},
        )
        self.case = submit_draft(self.applicant, draft.pk)

    def file_for_enterprise(self, agency: Any) -> str:
        """A submitted case the applicant files as 经办人 under ``agency``; its number."""
        draft = check_create_draft(
            self.applicant,
            item_code="SC-FOOD-001",
            division_code="330100",
            answers={"entity": "company", "area": 80, "cold": False},
            enterprise_uscc=agency.enterprise.uscc,
        )
        number = submit_draft(self.applicant, draft.pk).number
        assert number is not None
        return number

    @property
    def number(self) -> str:
        assert self.case.number is not None
        return self.case.number

    def task(self, department: str, stage: int = 1) -> int:
        """The review task of ``department`` in ``stage``, whatever its state."""
        return CaseTask.objects.get(case=self.case, department__code=department, stage=stage).pk

    # States a case is brought to through the services, each from a newly submitted case.
    def submitted(self) -> None:
        pass

    def in_correction(self) -> None:
        items = [{"material": "application", "problem": "缺少签字"}]
        perform(self.window, self.number, "request_correction", {"items": items})
        check_attach_material(self.applicant, self.case.pk, "application", "a.pdf", PDF)

    def in_review(self) -> None:
        perform(self.window, self.number, "accept")

    def at_stage_two(self) -> None:
        self.in_review()
        perform(self.ga, self.number, "approve_task", {"task": self.task("3301-GA")})
        perform(self.reviewer, self.number, "approve_task", {"task": self.task("3301-SCJG")})

    def awaiting_decision(self) -> None:
        self.at_stage_two()
        perform(self.reviewer, self.number, "approve_task", {"task": self.task("3301-SCJG", 2)})

    def suspended(self) -> None:
        self.in_review()
        perform(self.reviewer, self.number, "suspend", {"kind": "hearing", "reason": "听证"})

    def decided(self) -> None:
        self.awaiting_decision()
        perform(self.head, self.number, "decide", {"outcome": "approved"})

    def delivered(self) -> None:
        self.decided()
        perform(self.window, self.number, "deliver", {"method": "pickup"})

    def on_commitment(self) -> None:
        """Replace the case by a submitted 告知承诺 application (市场监管 handles it alone)."""
        draft = check_create_draft(
            self.applicant,
            item_code="SW-DRAIN-001",
            division_code="330100",
            commitment_materials=["drainage_plan"],
        )
        self.case = submit_draft(self.applicant, draft.pk)

    def approved_on_commitment(self) -> None:
        self.on_commitment()
        perform(self.window, self.number, "approve_on_commitment")


@pytest.fixture
def world(tmp_path: Path, db: None) -> World:
    import_catalog([*sample(tmp_path), *write_catalog(tmp_path, drainage=DRAINAGE)])
    return World()


def as_user(user: Any) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


@dataclass(frozen=True)
class Action:
    """How to take one action: from which state (a ``World`` method), by whom, with what body;
    who can see the case then but may not take it (403); the state it leads to; and a state
    that does not allow it."""

    start: str
    actor: str
    refused: tuple[str, ...]
    after: str
    wrong_state: str
    body: Callable[[World], dict[str, Any]] = lambda world: {}


REASON = {"reason": "依法办理"}
ACTIONS: dict[str, Action] = {
    "accept": Action("submitted", "window", ("applicant", "reviewer"), "in_review", "in_review"),
    "refuse": Action(
        "submitted",
        "window",
        ("applicant", "reviewer"),
        "refused",
        "in_review",
        lambda world: {**REASON, "legal_basis": "《行政许可法》第三十二条"},
    ),
    "request_correction": Action(
        "submitted",
        "window",
        ("applicant", "head"),
        "correction",
        "in_review",
        lambda world: {"items": [{"material": "application", "problem": "缺少签字"}]},
    ),
    "supplement": Action("in_correction", "applicant", ("window",), "submitted", "submitted"),
    "withdraw": Action("submitted", "applicant", ("window", "head"), "withdrawn", "decided"),
    "approve_task": Action(
        "in_review",
        "ga",
        ("applicant", "reviewer", "head"),
        "in_review",
        "awaiting_decision",
        lambda world: {"task": world.task("3301-GA"), "opinion": "符合"},
    ),
    "reject_task": Action(
        "in_review",
        "ga",
        ("applicant", "reviewer", "window"),
        "awaiting_decision",
        "awaiting_decision",
        lambda world: {"task": world.task("3301-GA"), "opinion": "消防通道不符合要求"},
    ),
    "countersign": Action(
        "in_review",
        "ga",
        ("applicant", "reviewer", "window"),
        "in_review",
        "awaiting_decision",
        lambda world: {"task": world.task("3301-GA"), "department": "330106-SCJG", **REASON},
    ),
    "transfer_task": Action(
        "in_review",
        "ga",
        ("applicant", "reviewer", "window"),
        "in_review",
        "awaiting_decision",
        lambda world: {"task": world.task("3301-GA"), "department": "330106-SCJG", **REASON},
    ),
    "send_back": Action(
        "at_stage_two",
        "head",
        ("applicant", "reviewer", "ga"),
        "in_review",
        "submitted",
        lambda world: {"to": "stage:1", **REASON},
    ),
    "suspend": Action(
        "in_review",
        "reviewer",
        ("applicant", "window"),
        "in_review",
        "suspended",  # once decided no task is open: the reviewer may not act at all (403)
        lambda world: {"kind": "expert_review", **REASON},
    ),
    "resume": Action("suspended", "reviewer", ("applicant", "window"), "in_review", "in_review"),
    "extend": Action(
        "in_review",
        "head",
        ("applicant", "reviewer", "window", "ga"),
        "in_review",
        "decided",
        lambda world: {"days": 5, **REASON},
    ),
    "decide": Action(
        "awaiting_decision",
        "head",
        ("applicant", "reviewer", "window", "ga"),
        "decided",
        "in_review",
        lambda world: {"outcome": "approved"},
    ),
    "deliver": Action(
        "decided", "window", ("applicant", "reviewer", "ga"), "delivered", "awaiting_decision"
    ),
    "close": Action("delivered", "window", ("applicant", "reviewer", "ga"), "closed", "decided"),
    "approve_on_commitment": Action(
        "on_commitment",
        "window",
        ("applicant", "reviewer"),
        "decided",
        "approved_on_commitment",
    ),
    "verify_commitment": Action(
        "approved_on_commitment",
        "reviewer",
        ("applicant", "window"),
        "decided",
        "on_commitment",
        lambda world: {"finding": "现场核查属实"},
    ),
    "revoke_for_broken_commitment": Action(
        "approved_on_commitment",
        "head",
        ("applicant", "reviewer", "window"),
        "closed",
        "on_commitment",
        lambda world: {"reason": "排水管网未建成"},
    ),
}
