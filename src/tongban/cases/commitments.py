"""告知承诺 rules shared by the case services and transitions: the bar an applicant who broke a
commitment carries (``CommitmentBar``, ``TONGBAN_COMMITMENT_BAR_YEARS`` long, three years by
default as in Nanning), checked when the route is chosen (the draft), again at submission and
again when the case is approved on the commitment; and the 核查 that every approval of a case
filed on a commitment starts — by staff (``approve_on_commitment``) or by 智能秒办 rules — a task
in the handling department, due by the verification date.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from tongban.cases.models import (
    Case,
    CaseTask,
    Commitment,
    CommitmentBar,
    CommitmentState,
    TaskKind,
    TaskState,
)
from tongban.core.errors import Conflict, FieldError
from tongban.workdays.selectors import add_workdays

VERIFICATION_STAGE_NAME = "承诺核查"
VERIFICATION_TASK_NAME = "告知承诺核查"
VERIFY_DAYS_DEFAULT = 20  # working days from the approval to the 核查


def active_bar(
    *, person_id: int | None, enterprise_id: int | None, today: dt.date
) -> CommitmentBar | None:
    """The longest-running bar on this applicant (the enterprise, or the person acting for
    themselves) still in force on ``today``."""
    who = (
        Q(enterprise_id=enterprise_id)
        if enterprise_id is not None
        else Q(person_id=person_id, enterprise=None)
    )
    return CommitmentBar.objects.filter(who, until__gte=today).order_by("-until").first()


def barred_message(bar: CommitmentBar) -> str:
    return f"因曾违反告知承诺，{bar.until:%Y年%m月%d日}前不能选择告知承诺方式办理"


def check_case_not_barred(case: Case, today: dt.date) -> None:
    """409 when the case's applicant is barred from the commitment route (naming the bar's end
    date): a bar imposed after the draft was made still holds at submission and approval."""
    bar = active_bar(
        person_id=case.applicant_person_id, enterprise_id=case.applicant_enterprise_id, today=today
    )
    if bar is not None:
        raise Conflict(
            f"{barred_message(bar)}；请按一般程序申请",
            code="commitment_barred",
            errors=[FieldError("commitment", f"限制至 {bar.until.isoformat()}")],
        )


def open_verification_task(case: Case, *, stage: int, limit_days: int, due: dt.date) -> CaseTask:
    """The 核查 task of an approval on a commitment, in the handling department."""
    return CaseTask.objects.create(
        case=case,
        kind=TaskKind.VERIFICATION,
        stage=stage,
        stage_name=VERIFICATION_STAGE_NAME,
        name=VERIFICATION_TASK_NAME,
        department=case.department,
        limit_days=limit_days,
        on_timeout="none",  # a verification is never deemed done by silence
        state=TaskState.OPEN,
        opened_at=timezone.now(),
        due_date=due,
    )


def start_verification(
    case: Case, commitment: Commitment, *, today: dt.date, days: int, stage: int
) -> CaseTask:
    """The case was approved on ``commitment``: it is pending, and its 核查 task opens, due
    ``days`` working days after ``today``."""
    commitment.state = CommitmentState.PENDING
    commitment.verification_due = add_workdays(today, days, case.division)
    commitment.save(update_fields=["state", "verification_due"])
    return open_verification_task(
        case, stage=stage, limit_days=days, due=commitment.verification_due
    )
