"""Case writes. ``check_create_draft`` and ``submit_draft`` start a case; ``perform`` runs any
lifecycle transition (``tongban.cases.transitions``) by name. Each call is one transaction that
locks the case row, so two staff acting on the same task at once cannot both succeed: the
second waits, then finds the task done and gets a 409.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.cases import access, commitments, events, instant, notices, outcomes
from tongban.cases.models import (
    Case,
    CaseEvent,
    CaseState,
    CaseTask,
    Commitment,
    CommitmentState,
    Outcome,
)
from tongban.cases.numbers import next_case_number
from tongban.cases.transitions import TRANSITIONS, Context, Transition, clock_stopped
from tongban.catalog import guide, selectors
from tongban.core.compiled import CompiledRead
from tongban.core.compiled_writes import insert_row, update_then_insert
from tongban.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.identity.models import Enterprise
from tongban.identity.permissions import acts_for_enterprise, is_applicant
from tongban.identity.selectors import StaffRoleGrantsOf, remember_staff_roles
from tongban.workdays.selectors import one_calendar


def _today() -> dt.date:
    return timezone.localdate()


def check_create_draft_here(
    actor: Any,
    *,
    item_code: str,
    division_code: str,
    answers: dict[str, Any] | None = None,
    form_data: dict[str, Any] | None = None,
    enterprise_uscc: str | None = None,
    commitment_materials: list[str] | None = None,
    effective: selectors.EffectiveItem | None = None,
) -> Case:
    """An applicant starts an application (草稿) for an item as carried out in a division.

    ``commitment_materials`` chooses the 告知承诺 route: those materials are replaced by a signed
    commitment (the item must allow it, the materials must be replaceable, and the applicant must
    not be barred for an earlier broken commitment). ``effective`` is the item as carried out
    in the division when the caller resolved it already (``catalog.selectors.effective_items``).

    Runs in the caller's transaction (a 一件事 files several drafts in one, without a savepoint
    each); ``check_create_draft`` is the same in a transaction of its own."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_create_draft_here runs inside the caller's transaction")
    if not is_applicant(actor) or actor.person_id is None:
        raise PermissionDenied("请以实名认证的办事人身份登录后申请", code="applicant_required")
    if (
        effective is None
        or effective.version.item.code != item_code
        or effective.division is None
        or effective.division.code != division_code
    ):
        effective = selectors.effective_item(item_code, division_code)
    version = effective.version
    spec = guide.spec_for(version)
    guide.parse_answers(spec, answers or {})  # 422 with answers.<key> paths
    enterprise = None
    if enterprise_uscc:
        enterprise = Enterprise.objects.filter(uscc=enterprise_uscc).first()
        if enterprise is None or not acts_for_enterprise(actor, enterprise):
            raise PermissionDenied("您不是该企业的有效经办人", code="not_an_agent")
    wanted = "enterprise" if enterprise else "person"
    if wanted not in version.applicant_types:
        raise ValidationFailed(
            "该事项不面向此类申请人",
            code="wrong_applicant_type",
            errors=[
                FieldError("enterprise_uscc", f"服务对象为：{', '.join(version.applicant_types)}")
            ],
        )
    assert effective.division is not None
    if commitment_materials is not None:
        _check_commitment(actor, version, commitment_materials, enterprise)
    case = Case(
        item_version=version,
        item_code=item_code,
        item_name=version.name,
        division=effective.division,
        department=effective.handling_department,
        applicant_person=actor.person,
        applicant_enterprise=enterprise,
        submitted_by=actor,
        answers=answers or {},
        form_data=form_data or {},
        promised_limit_days=effective.promised_limit_days,
        extension_max_days=version.extension_max_days,
        filed_on_commitment=commitment_materials is not None,
        event_count=1,  # the create_draft event below
    )
    insert_row(case)
    if commitment_materials is not None:
        Commitment.objects.create(
            case=case,
            materials=sorted(set(commitment_materials)),
            statement=COMMITMENT_STATEMENT.format(item=version.name),
        )
    event = CaseEvent(
        case=case,
        sequence=1,
        action="create_draft",
        actor=actor,
        actor_label=str(actor),
        to_state=CaseState.DRAFT,
        data={"commitment": sorted(set(commitment_materials))} if commitment_materials else {},
    )
    insert_row(event)
    return case


# The same in a transaction of its own: what pages and the API call.
check_create_draft = transaction.atomic(check_create_draft_here)

COMMITMENT_STATEMENT = (
    "本人（本单位）申请办理“{item}”，承诺已符合法律法规规定的条件，所承诺的材料真实、有效，"
    "愿意接受核查；如有不实，愿意承担撤销决定及相应法律责任。"
)


def _check_commitment(
    actor: Any, version: Any, keys: list[str], enterprise: Enterprise | None
) -> None:
    if not version.allows_commitment:
        raise ValidationFailed(
            "本事项不适用告知承诺制",
            code="commitment_not_allowed",
            errors=[FieldError("commitment_materials", "本事项不适用告知承诺制")],
        )
    replaceable = dict(
        version.materials.filter(commitment_replaceable=True).values_list("key", "name")
    )
    errors = [
        FieldError(f"commitment_materials[{n}]", f"材料 {key!r} 不能以承诺替代")
        for n, key in enumerate(keys)
        if key not in replaceable
    ]
    if errors:
        raise ValidationFailed("承诺替代的材料有误", code="invalid_commitment", errors=errors)
    bar = commitments.active_bar(
        person_id=None if enterprise else actor.person_id,
        enterprise_id=enterprise.pk if enterprise else None,
        today=_today(),
    )
    if bar is not None:
        raise PermissionDenied(commitments.barred_message(bar), code="commitment_barred")


_LOCKED_DRAFT = CompiledRead(
    lambda draft_id: (
        Case.objects.select_for_update(of=("self",))
        .select_related("division", "item_version", "applicant_enterprise", "commitment")
        .filter(pk=draft_id)
        .order_by()[:1]
    ),
    (int,),
    "locked_draft",
)  # compiled once: every application is submitted


@transaction.atomic
def submit_draft(actor: Any, draft_id: int) -> Case:
    """提交: the draft gets its case number and waits for 预审 at the window."""
    case = _LOCKED_DRAFT.first(draft_id)
    if case is None or not access.is_case_applicant(actor, case):
        raise NotFound("没有找到该申请草稿", code="draft_not_found")
    if case.state != CaseState.DRAFT:
        raise state_conflict(actor, case, f"该申请已提交（{case.number}）", "already_submitted")
    return do_submit(actor, case, commitment=getattr(case, "commitment", None))


def do_submit(actor: Any, case: Case, *, commitment: Commitment | None = None) -> Case:
    """提交 of a draft the caller holds: locked by it, or created in its own transaction and
    so not yet visible to anyone else. Numbers the case, records the event, and lets 智能秒办
    decide when the item's rules can. ``commitment`` is the draft's 告知承诺 when it has one
    (the caller read it with the draft): an applicant barred since the draft was made is
    refused the route (409 naming the bar's end)."""
    if commitment is not None:
        commitments.check_case_not_barred(case, _today())
    case.number = next_case_number(case.division.code, _today())
    case.state = CaseState.SUBMITTED
    case.submitted_at = case.received_at = timezone.now()
    event = events.build(case, "submit", actor, from_state=CaseState.DRAFT)
    update_then_insert(
        [(case, ["number", "state", "submitted_at", "received_at", "event_count"])], event
    )
    _decide_instantly(case, commitment)
    return case


def _decide_instantly(case: Case, commitment: Commitment | None) -> None:
    """智能秒办: when the item's rules decide, the case is accepted and decided at once. An
    approval of a case filed on a commitment starts its 核查, as staff's approval on it does:
    the commitment is pending and may be found broken."""
    result = instant.evaluate(case)
    if not result.explanation:
        return
    case.instant_explanation = result.explanation
    case.save(update_fields=["instant_explanation"])
    if result.outcome is None or result.rule is None:
        events.record(
            case,
            "instant_check",
            None,
            data={"explanation": result.explanation},
            reason="规则无法自动判定，转人工办理",
        )
        return
    now = timezone.now()
    case.accepted_at = now
    case.decided_at = now
    case.due_date = _today()
    case.outcome = Outcome.APPROVED if result.outcome == "approve" else Outcome.DENIED
    case.decision_reason = result.rule["reason"]
    case.decision_basis = result.rule.get("legal_basis", "")
    case.state = CaseState.DECIDED
    data = {
        "rule": result.rule["name"],
        "legal_basis": case.decision_basis,
        "explanation": result.explanation,
    }
    verification = None
    if (
        case.outcome == Outcome.APPROVED
        and commitment is not None
        and commitment.state == CommitmentState.DECLARED
    ):
        verification = commitments.start_verification(
            case, commitment, today=_today(), days=commitments.VERIFY_DAYS_DEFAULT, stage=1
        )
        assert commitment.verification_due is not None
        data["verification_due"] = commitment.verification_due.isoformat()
    event = events.build(
        case,
        "instant_decision",
        None,
        from_state=CaseState.SUBMITTED,
        reason=result.rule["reason"],
        data=data,
        task=verification,
    )
    fields = [
        "accepted_at",
        "decided_at",
        "due_date",
        "outcome",
        "decision_reason",
        "decision_basis",
        "state",
        "event_count",
    ]
    update_then_insert([(case, fields)], event)
    if case.outcome == Outcome.APPROVED:
        outcomes.case_approved(case, None)
    notices.tell_applicant(case, event)


_LOCKED_CASE = CompiledRead(
    lambda number, actor_id: (
        Case.objects.select_for_update(of=("self",))
        .select_related(
            "division__parent__parent__parent",  # the chain access checks walk
            "department",
            "item_version",
            "applicant_enterprise",
            "submitted_by__person",  # whom the step's notice goes to
        )
        .annotate(actor_grants=StaffRoleGrantsOf(actor_id))  # the actor's roles, read with it
        .filter(number=number)
        .order_by()[:1]  # numbers are unique: no ORDER BY to build
    ),
    (str, int),
    "locked_case",
)


def _locked_case(actor: Any, number: str) -> Case:
    # compiled once: it runs at every step of every case, and reads the actor's roles with it
    case = _LOCKED_CASE.first(number, getattr(actor, "pk", None) or 0)
    if case is not None:
        remember_staff_roles(actor, case.actor_grants)
    if case is None or not access.can_see_case(actor, case):
        raise NotFound(f"没有找到办件 {number}", code="case_not_found")
    return case


def _task_of(case: Case, task_id: Any) -> CaseTask:
    if not isinstance(task_id, int):
        raise ValidationFailed(
            "请指明审查任务", code="task_required", errors=[FieldError("task", "应为审查任务编号")]
        )
    task = next((t for t in access.case_tasks(case) if t.pk == task_id), None)
    if task is None:
        raise NotFound("该办件没有这个审查任务", code="task_not_found")
    return task


def perform(actor: Any, number: str, action: str, payload: dict[str, Any] | None = None) -> Case:
    """Run one lifecycle transition on a case, atomically, and record the event.

    One transaction: lock the case (with what the access checks read), check, execute, then one
    UPDATE of the changed case fields with the event counter, the event row, the outcome
    listeners and the applicant's messages (outbox rows)."""
    transition_ = TRANSITIONS.get(action)
    if transition_ is None:
        raise NotFound(f"没有“{action}”这个办理动作", code="unknown_action")
    with transaction.atomic(), one_calendar():
        case = _locked_case(actor, number)
        payload = dict(payload or {})
        ctx = Context(case=case, actor=actor, payload=payload, today=_today())
        if transition_.needs_task:
            ctx.task = _task_of(case, payload.get("task"))
        if not transition_.allowed(ctx):
            raise PermissionDenied(f"您不能对该办件执行“{transition_.label}”", code="not_allowed")
        _check_state(transition_, ctx)
        before = case.state
        try:
            transition_.validate(ctx)
            transition_.execute(ctx)
        except Conflict as exc:  # the case's state allows the action, something else does not
            if any(e.path == "state" for e in exc.errors):
                raise
            case.state = before
            raise state_conflict(actor, case, exc.message, exc.code, exc.errors) from exc
        event = events.build(
            case,
            action,
            actor,
            from_state=before,
            to_state=case.state,
            reason=ctx.reason,
            data=ctx.event_data,
            task=ctx.task,
            # a 会签 task's steps are staff business, like the 会签 itself
            visible_to_applicant=transition_.applicant_visible
            and not (ctx.task is not None and ctx.task.countersign_for_id is not None),
        )
        # compiled, and one statement on PostgreSQL: every step writes the case and its event
        update_then_insert([*ctx.rows_changed, (case, {*ctx.changed, "event_count"})], event)
        for then in ctx.after:
            then()
        notices.tell_applicant(case, event)
    access.forget_tasks(case)  # callers read the tasks afresh
    return case


def state_conflict(
    actor: Any,
    case: Case,
    message: str,
    code: str,
    errors: list[FieldError] | None = None,
) -> Conflict:
    """A 409 about ``case`` that, like every refusal of a case action, also names the case's
    state and what ``actor`` may do now (paths ``state`` and ``allowed``)."""
    allowed = available_actions(actor, case) if case.number else []
    return Conflict(
        f"{message}。当前可执行：{_labels(allowed)}",
        code=code,
        errors=[
            *(errors or []),
            FieldError("state", case.state),
            *(FieldError("allowed", a) for a in allowed),
        ],
    )


def _labels(actions: list[str]) -> str:
    """The actions in the words staff and applicants read (the API also lists their names,
    at ``allowed``)."""
    return "、".join(TRANSITIONS[a].label for a in actions) or "无"


def _check_state(transition_: Transition, ctx: Context) -> None:
    case = ctx.case
    stopped = clock_stopped(case)
    if not _state_allows(transition_, case.state, stopped):
        allowed = available_actions(ctx.actor, case)
        state = case.get_state_display() + ("（中止中）" if stopped else "")
        raise Conflict(
            f"办件当前状态为“{state}”，不能“{transition_.label}”。当前可执行：{_labels(allowed)}",
            code="invalid_transition",
            errors=[FieldError("state", case.state), *(FieldError("allowed", a) for a in allowed)],
        )


def _state_allows(transition_: Transition, state: str, stopped: bool) -> bool:
    if state not in transition_.sources:
        return False
    if stopped and transition_.requires_open_clock:
        return False
    return stopped or not transition_.requires_stopped_clock


def available_actions(actor: Any, case: Case) -> list[str]:
    """The transitions ``actor`` may take on ``case`` now (for pages, 409 answers and the API)."""
    stopped, today = clock_stopped(case), _today()
    names = []
    for name, transition_ in TRANSITIONS.items():
        if not _state_allows(transition_, case.state, stopped):
            continue
        if not transition_.offered(case, today):
            continue
        if transition_.needs_task:
            tasks = [t for t in access.case_tasks(case) if t.state == "open"]
            ctxs = [Context(case, actor, {}, today, task=t) for t in tasks]
        else:
            ctxs = [Context(case, actor, {}, today)]
        if any(transition_.allowed(c) for c in ctxs):
            names.append(name)
    return names
