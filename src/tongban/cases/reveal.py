"""查看完整个人信息 on the staff case page: the one access-log entry (个人信息访问记录) each
reveal writes, and what the reveal shows.

Staff who may reveal a case's applicant (``access.may_reveal_applicant``: the 综合窗口 of the
case's division, staff of the handling or a reviewing department) ask with a purpose and are
shown, for that one response, the applicant person's name, 身份证号 and mobile, the personal
data on the form and — when 智能秒办 rules decided the case — the values of its 决定依据 in
full. Each reveal is logged once, before anything is shown, naming the purpose and what was
shown. Anyone else is refused and nothing is logged; the next view of the page is masked again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from django.db import transaction

from tongban.cases import access, selectors
from tongban.cases.instant_explanation import InstantDecision
from tongban.cases.models import Case
from tongban.core.errors import FieldError, PermissionDenied, ValidationFailed
from tongban.identity.models import PersonalDataAccess
from tongban.identity.services import record_personal_data_access

# What a reveal shows, in the access log's words (stored as written, like the purposes).
SHOWN_APPLICANT: Final = "申请人信息"
SHOWN_FORM: Final = "申请表单"
SHOWN_INSTANT_DECISION: Final = "智能秒办决定依据"


@dataclass(frozen=True)
class Revealed:
    """What one reveal shows: the 决定依据 with its values in full (``None`` when rules did
    not decide the case), and the access-log entry written for it."""

    instant_decision: InstantDecision | None
    logged: PersonalDataAccess


MAX_PURPOSE: Final = 64


def check_reveal_applicant(actor: Any, case: Case, purpose: str) -> Revealed:
    """Log that ``actor`` is shown ``case``'s applicant in full, and return what to show.

    403 for an actor who may not reveal, 422 without a purpose; nothing is logged then."""
    person = case.applicant_person
    if person is None or not access.may_reveal_applicant(actor, case):
        raise PermissionDenied("您不能查看该申请人的完整个人信息", code="reveal_not_allowed")
    decision = selectors.instant_decision(actor, case, unmasked=True)
    shown = [SHOWN_APPLICANT, SHOWN_FORM, *([SHOWN_INSTANT_DECISION] if decision else [])]
    purpose = purpose.strip()
    if len(purpose) > MAX_PURPOSE:  # the log keeps the purpose and what was shown, whole
        message = f"用途最多 {MAX_PURPOSE} 个字"
        raise ValidationFailed(
            message, code="purpose_too_long", errors=[FieldError("purpose", message)]
        )
    with transaction.atomic():
        logged = record_personal_data_access(
            actor, person, f"{purpose}：{'、'.join(shown)}" if purpose else ""
        )
    return Revealed(decision, logged)
