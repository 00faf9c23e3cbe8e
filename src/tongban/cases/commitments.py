"""告知承诺 rules shared by the case transitions: the 核查 task that an approval on a commitment
opens in the handling department, due by the verification date.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from tongban.cases.models import Case, CaseTask, TaskKind, TaskState

VERIFICATION_STAGE_NAME = "承诺核查"
VERIFICATION_TASK_NAME = "告知承诺核查"


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
