"""Runs and the payment ledger: candidate list → approval → offers (即申即享) or instructions
(免申即享) → payment statuses and reconciliation.

**Exactly once.** ``PaymentInstruction`` has a unique constraint on (item code, entity, period).
Approving a run locks the policy row first, so approvals of the same policy — two runs of one
period, a repeated run, two workers — happen one after the other; each re-reads what the ledger
already holds, skips those entities and spends only the budget that is left. Everything an
approval writes is one transaction: a worker that dies mid-run leaves nothing behind, and the
next attempt starts clean. The constraint is the last line: a duplicate that got past the
checks aborts the transaction instead of paying twice.

**Budget.** Each version has a budget per period. Candidates are funded in priority order
(payable item priority, then the order of the candidate list); instructions already in the
ledger and open offers of the period count against the budget; what does not fit is marked
``over_budget``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
import structlog
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from tongban.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.identity.models import Enterprise, Person, User
from tongban.notifications.services import queue_notification
from tongban.policies import access, events
from tongban.policies.batch import eligible_long
from tongban.policies.models import (
    Candidate,
    CandidateStatus,
    Mode,
    PaymentInstruction,
    PaymentStatus,
    Policy,
    Run,
    RunStatus,
    RunTrigger,
    Schedule,
    VersionStatus,
)
from tongban.policies.schema import Target, schema_for
from tongban.policies.selectors import (
    compile_version,
    period_context,
    period_for,
    profile_frame,
    profile_model,
    tags_of,
)

logger = structlog.get_logger(__name__)
CHUNK = 5_000
NOTIFY_CHANNELS = ("in_app", "sms")


def yuan(fen: int | None) -> str:
    return "" if fen is None else f"{fen / 100:,.2f}"


# --- starting a run -----------------------------------------------------------------------------
def _candidate_frame(
    policy: Policy, period: str, payment_date: dt.date
) -> tuple[pl.DataFrame, dict[str, Any]]:
    version = policy.published_version
    assert version is not None
    items = compile_version(version)
    ctx = period_context(version.period_kind, period, payment_date)
    frame = profile_frame(policy.target, tags_of(items))
    schema = schema_for(policy.target)
    found = eligible_long(frame, [i.compiled for i in items], ctx, key=schema.key)
    info = {i.code: i for i in items}
    names = frame.select(
        pl.col(schema.key).alias("key"),
        pl.col("name"),
        pl.col("division" if policy.target == Target.ENTERPRISE else "household_division").alias(
            "division"
        ),
        (
            pl.col("industry") if policy.target == Target.ENTERPRISE else pl.lit(None, pl.String)
        ).alias("industry"),
    )
    found = found.join(names, on="key", how="left")
    return found, info


def check_start_run(
    actor: Any,
    policy_code: str,
    *,
    period: str | None = None,
    payment_date: dt.date | None = None,
    trigger: str = RunTrigger.MANUAL,
) -> Run:
    """Evaluate the published version over every profile and store the candidate list."""
    policy = Policy.objects.select_related("published_version").filter(code=policy_code).first()
    if policy is None:
        raise NotFound("没有这项政策", code="policy_not_found")
    if trigger == RunTrigger.MANUAL and not access.can_author(actor, policy):
        raise PermissionDenied("只有资金主管部门的工作人员可以发起兑现批次", code="forbidden")
    version = policy.published_version
    if version is None or version.status != VersionStatus.PUBLISHED:
        raise Conflict("政策尚未发布，不能发起兑现", code="not_published")
    pay_on = payment_date or timezone.localdate()
    period = period or period_for(version.period_kind, pay_on)
    period_context(version.period_kind, period, pay_on)  # validates the period
    found, info = _candidate_frame(policy, period, pay_on)
    with transaction.atomic():
        if (
            trigger == RunTrigger.SCHEDULED
            and Run.objects.filter(
                policy=policy, period=period, trigger=RunTrigger.SCHEDULED
            ).exists()
        ):
            raise Conflict("本期定时批次已生成", code="run_exists")
        run = Run.objects.create(
            policy=policy,
            version=version,
            period=period,
            trigger=trigger,
            payment_date=pay_on,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        paid = set(
            PaymentInstruction.objects.filter(period=period, item_code__in=list(info)).values_list(
                "item_code", "entity_key"
            )
        )
        rows = []
        eligible = unknown = 0
        total = 0
        for key, item, outcome, fen, name, division, industry in found.iter_rows():
            meta = info[item]
            if outcome == "eligible" and (fen or 0) <= 0:
                continue  # qualifies for nothing this period (e.g. below the first tier)
            if outcome == "unknown":
                status = CandidateStatus.UNKNOWN
                unknown += 1
            elif (item, key) in paid:
                status = CandidateStatus.ALREADY_PAID
            elif meta.mode == Mode.APPLICATION:
                status = CandidateStatus.APPLICATION
                eligible += 1
                total += fen
            else:
                status = CandidateStatus.ELIGIBLE
                eligible += 1
                total += fen
            rows.append(
                Candidate(
                    run=run,
                    item_code=item,
                    mode=meta.mode,
                    priority=meta.priority,
                    entity_key=key,
                    entity_name=name or "",
                    division_code=division or "",
                    industry=industry or "",
                    amount_fen=fen if outcome == "eligible" else None,
                    status=status,
                )
            )
        rows.sort(key=lambda c: (c.priority, c.item_code, c.entity_key))
        Candidate.objects.bulk_create(rows, batch_size=CHUNK)
        run.eligible_count, run.unknown_count, run.eligible_fen = eligible, unknown, total
        run.save(update_fields=["eligible_count", "unknown_count", "eligible_fen"])
        events.record(
            policy,
            "run_started",
            actor,
            run=run.pk,
            period=period,
            eligible=eligible,
            unknown=unknown,
        )
    return run


# --- approval -----------------------------------------------------------------------------------
def committed_fen(policy: Policy, period: str, *, exclude_run: int | None = None) -> int:
    """Budget already spoken for in ``period``: ledger instructions and open offers."""
    paid = (
        PaymentInstruction.objects.filter(policy=policy, period=period)
        .exclude(status=PaymentStatus.RETURNED)
        .aggregate(s=Sum("amount_fen"))["s"]
        or 0
    )
    offers = Candidate.objects.filter(
        run__policy=policy, run__period=period, status=CandidateStatus.OFFERED
    )
    if exclude_run is not None:
        offers = offers.exclude(run_id=exclude_run)
    return int(paid) + int(offers.aggregate(s=Sum("amount_fen"))["s"] or 0)


@dataclass
class ApprovalReport:
    instructed: int = 0
    offered: int = 0
    over_budget: int = 0
    already_paid: int = 0
    spent_fen: int = 0
    notified: list[tuple[str, str, int, str]] = field(default_factory=list)


def check_approve_run(actor: Any, run_id: int, *, today: dt.date | None = None) -> ApprovalReport:
    """Approve a candidate list: instructions for 免申即享, offers for 即申即享, in priority order
    within the budget. Safe to call concurrently and to repeat (see the module docstring)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        run = Run.objects.select_related("policy", "version").filter(pk=run_id).first()
        if run is None:
            raise NotFound("没有这个兑现批次", code="run_not_found")
        policy = Policy.objects.select_for_update().get(pk=run.policy_id)  # serialises approvals
        if not access.can_approve_run(actor, policy):
            raise PermissionDenied("只有资金主管部门负责人可以审批兑现批次", code="forbidden")
        run = Run.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.AWAITING_APPROVAL:
            raise Conflict(
                f"批次状态为“{run.get_status_display()}”，不能审批", code="run_not_pending"
            )
        version = run.version
        remaining = version.budget_fen - committed_fen(policy, run.period)
        candidates = list(
            Candidate.objects.filter(run=run, status=CandidateStatus.ELIGIBLE).order_by(
                "priority", "item_code", "id"
            )
        )
        paid = set(
            PaymentInstruction.objects.filter(
                period=run.period, item_code__in={c.item_code for c in candidates}
            ).values_list("item_code", "entity_key")
        )
        report = ApprovalReport()
        confirm_by = today + dt.timedelta(days=version.confirm_window_days)
        instructions: list[PaymentInstruction] = []
        by_status: dict[str, list[int]] = {}
        for c in candidates:
            status: str
            amount = c.amount_fen or 0
            if (c.item_code, c.entity_key) in paid:
                status = CandidateStatus.ALREADY_PAID
                report.already_paid += 1
            elif amount > remaining:
                status = CandidateStatus.OVER_BUDGET
                report.over_budget += 1
            else:
                remaining -= amount
                report.spent_fen += amount
                paid.add((c.item_code, c.entity_key))
                if c.mode == Mode.EXEMPT:
                    status = CandidateStatus.INSTRUCTED
                    report.instructed += 1
                    instructions.append(
                        PaymentInstruction(
                            policy=policy,
                            version=version,
                            run=run,
                            item_code=c.item_code,
                            entity_key=c.entity_key,
                            entity_name=c.entity_name,
                            period=run.period,
                            amount_fen=amount,
                        )
                    )
                else:
                    status = CandidateStatus.OFFERED
                    report.offered += 1
                report.notified.append((c.entity_key, c.item_code, amount, status))
            by_status.setdefault(status, []).append(c.pk)
        for status, ids in by_status.items():
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                updates: dict[str, Any] = {"status": status}
                if status == CandidateStatus.OFFERED:
                    updates["confirm_by"] = confirm_by
                Candidate.objects.filter(pk__in=chunk).update(**updates)
        PaymentInstruction.objects.bulk_create(instructions, batch_size=CHUNK)
        run.status = RunStatus.APPROVED
        run.approved_by = actor
        run.approved_at = timezone.now()
        run.instructed_count = report.instructed
        run.over_budget_count = report.over_budget
        run.save(
            update_fields=[
                "status",
                "approved_by",
                "approved_at",
                "instructed_count",
                "over_budget_count",
            ]
        )
        events.record(
            policy,
            "run_approved",
            actor,
            run=run.pk,
            instructed=report.instructed,
            offered=report.offered,
            over_budget=report.over_budget,
            already_paid=report.already_paid,
            spent_fen=report.spent_fen,
        )
        _notify(policy, run, report.notified, confirm_by)
    return report


def check_cancel_run(actor: Any, run_id: int) -> Run:
    with transaction.atomic():
        run = Run.objects.select_for_update().select_related("policy").filter(pk=run_id).first()
        if run is None:
            raise NotFound("没有这个兑现批次", code="run_not_found")
        if not access.can_author(actor, run.policy):
            raise PermissionDenied("只有资金主管部门的工作人员可以取消批次", code="forbidden")
        if run.status != RunStatus.AWAITING_APPROVAL:
            raise Conflict("只能取消待审批的批次", code="run_not_pending")
        run.status = RunStatus.CANCELLED
        run.save(update_fields=["status"])
        events.record(run.policy, "run_cancelled", actor, run=run.pk)
    return run


# --- notifications ------------------------------------------------------------------------------
def recipients_for(target: str, keys: Iterable[str]) -> dict[str, list[User]]:
    """Accounts to tell about an entity: the person's own account, or the accounts of the
    enterprise's valid 法定代表人/经办人."""
    keys = list(keys)
    found: dict[str, list[User]] = {}
    if target == Target.PERSON:
        for user in User.objects.filter(person__id_number__in=keys, is_active=True).select_related(
            "person"
        ):
            assert user.person is not None
            found.setdefault(user.person.id_number, []).append(user)
        return found
    today = timezone.localdate()
    for enterprise in Enterprise.objects.filter(uscc__in=keys).prefetch_related(
        "agents__person__account"
    ):
        for agent in enterprise.agents.all():
            if (
                agent.revoked_at
                or agent.valid_from > today
                or (agent.valid_until and agent.valid_until < today)
            ):
                continue
            account = getattr(agent.person, "account", None)
            if account is not None and account.is_active:
                found.setdefault(enterprise.uscc, []).append(account)
    return found


def _notify(
    policy: Policy, run: Run, notified: list[tuple[str, str, int, str]], confirm_by: dt.date
) -> None:
    if not notified:
        return
    accounts = recipients_for(policy.target, {n[0] for n in notified})
    names = dict(
        profile_model(policy.target)
        .objects.filter(**{f"{schema_for(policy.target).key}__in": list(accounts)})
        .values_list(schema_for(policy.target).key, "name")
    )
    from tongban.policies.selectors import item_names

    items = item_names({n[1] for n in notified})
    for key, item, amount, status in notified:
        template = "policies.offer" if status == CandidateStatus.OFFERED else "policies.granted"
        for user in accounts.get(key, []):
            queue_notification(
                user,
                template,
                {
                    "name": names.get(key, ""),
                    "item": items.get(item, item),
                    "amount": yuan(amount),
                    "confirm_by": confirm_by.isoformat(),
                },
                NOTIFY_CHANNELS,
                f"policy:{item}:{key}:{run.period}:{status}:{user.pk}",
            )


# --- one-click confirmation ---------------------------------------------------------------------
def check_confirm_offer(
    actor: Any, candidate_id: int, *, today: dt.date | None = None
) -> PaymentInstruction:
    """即申即享: the entity confirms an offer with one click; the instruction follows at once."""
    today = today or timezone.localdate()
    keys = access.entity_keys(actor)
    with transaction.atomic():
        found = (
            Candidate.objects.filter(pk=candidate_id)
            .values_list("run__policy_id", flat=True)
            .first()
        )
        if found is not None:
            Policy.objects.select_for_update().get(pk=found)  # one ledger writer per policy
        candidate = (
            Candidate.objects.select_for_update()
            .select_related("run__policy", "run__version")
            .filter(pk=candidate_id)
            .first()
        )
        if candidate is None or candidate.entity_key not in keys:
            raise NotFound("没有这条待确认的兑现", code="offer_not_found")
        if candidate.status != CandidateStatus.OFFERED:
            raise Conflict(
                f"该兑现状态为“{candidate.get_status_display()}”，无需再确认", code="not_offered"
            )
        run = candidate.run
        refusal: Conflict | None = None
        if candidate.confirm_by is not None and today > candidate.confirm_by:
            candidate.status = CandidateStatus.EXPIRED
            refusal = Conflict("已超过确认期限", code="offer_expired")
        elif PaymentInstruction.objects.filter(
            item_code=candidate.item_code, entity_key=candidate.entity_key, period=run.period
        ).exists():
            candidate.status = CandidateStatus.ALREADY_PAID
            refusal = Conflict("本期已兑现", code="already_paid")
        if refusal is not None:
            candidate.save(update_fields=["status"])  # kept: the offer is closed either way
            events.record(
                run.policy, "offer_closed", actor, candidate=candidate.pk, status=candidate.status
            )
            instruction = None
        else:
            instruction = _instruct_confirmed(actor, candidate)
    if refusal is not None:
        raise refusal  # after the commit: the closed offer stays closed
    assert instruction is not None
    return instruction


def _instruct_confirmed(actor: Any, candidate: Candidate) -> PaymentInstruction:
    """Write the confirmed offer's instruction (caller holds the policy and candidate locks)."""
    run = candidate.run
    instruction = PaymentInstruction.objects.create(
        policy=run.policy,
        version=run.version,
        run=run,
        item_code=candidate.item_code,
        entity_key=candidate.entity_key,
        entity_name=candidate.entity_name,
        period=run.period,
        amount_fen=candidate.amount_fen or 0,
    )
    candidate.status = CandidateStatus.CONFIRMED
    candidate.confirmed_at = timezone.now()
    candidate.save(update_fields=["status", "confirmed_at"])
    events.record(
        run.policy,
        "offer_confirmed",
        actor,
        candidate=candidate.pk,
        item=candidate.item_code,
        period=run.period,
    )
    return instruction


def expire_offers(today: dt.date | None = None) -> int:
    today = today or timezone.localdate()
    with transaction.atomic():
        return Candidate.objects.filter(
            status=CandidateStatus.OFFERED, confirm_by__lt=today
        ).update(status=CandidateStatus.EXPIRED)


# --- scheduled runs -----------------------------------------------------------------------------
def is_early_workday(day: dt.date, count: int = 3) -> bool:
    """Whether ``day`` is one of the first ``count`` working days of its month."""
    from tongban.workdays.selectors import is_workday

    if not is_workday(day):
        return False
    seen = 0
    current = day.replace(day=1)
    while current <= day:
        if is_workday(current):
            seen += 1
        current += dt.timedelta(days=1)
    return seen <= count


def start_due_runs(today: dt.date | None = None) -> int:
    """Start this month's scheduled run of each policy that asks for one (idempotent)."""
    today = today or timezone.localdate()
    if not is_early_workday(today):
        return 0
    started = 0
    for policy in Policy.objects.filter(
        published_version__schedule=Schedule.FIRST_3_WORKDAYS
    ).select_related("published_version"):
        period = period_for(policy.published_version.period_kind, today)  # type: ignore[union-attr]
        if Run.objects.filter(policy=policy, period=period, trigger=RunTrigger.SCHEDULED).exists():
            continue
        try:
            check_start_run(
                None, policy.code, period=period, payment_date=today, trigger=RunTrigger.SCHEDULED
            )
            started += 1
        except Conflict:
            continue  # another scheduler got there first
    return started


# --- payment statuses and reconciliation --------------------------------------------------------
TRANSITIONS = {
    PaymentStatus.PENDING: {PaymentStatus.SENT, PaymentStatus.FAILED},
    PaymentStatus.SENT: {PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.RETURNED},
    PaymentStatus.FAILED: {PaymentStatus.PENDING},
    PaymentStatus.PAID: {PaymentStatus.RETURNED},
    PaymentStatus.RETURNED: set(),
}


@dataclass(frozen=True)
class ReconciliationProblem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class ReconciliationInvalid(ValidationFailed):
    def __init__(self, problems: list[ReconciliationProblem]) -> None:
        super().__init__(
            "对账文件有误，未更新任何支付状态",
            code="reconciliation_invalid",
            errors=[FieldError(f"{p.file}:{p.line}.{p.column}", p.message) for p in problems],
        )
        self.problems = problems


def check_mark_sent(actor: Any, policy_code: str, period: str) -> int:
    """Hand the pending instructions of a period to the bank (status ``sent``)."""
    with transaction.atomic():
        policy = Policy.objects.select_for_update().filter(code=policy_code).first()
        if policy is None:
            raise NotFound("没有这项政策", code="policy_not_found")
        if not access.can_manage_payments(actor, policy):
            raise PermissionDenied("无权处理该政策的支付", code="forbidden")
        count = PaymentInstruction.objects.filter(
            policy=policy, period=period, status=PaymentStatus.PENDING
        ).update(status=PaymentStatus.SENT, updated_at=timezone.now())
        events.record(policy, "payments_sent", actor, period=period, count=count)
    return count


def check_import_reconciliation(
    actor: Any, policy_code: str, source: Path | str, text: str | None = None
) -> int:
    """Apply a bank reconciliation CSV (``item_code,entity_key,period,status,bank_reference,note``):
    every line is checked first; any problem → nothing changes, problems as ``file:line: column``."""
    name = str(source)
    content = text if text is not None else Path(source).read_text(encoding="utf-8-sig")
    policy = Policy.objects.filter(code=policy_code).first()
    if policy is None:
        raise NotFound("没有这项政策", code="policy_not_found")
    if not access.can_manage_payments(actor, policy):
        raise PermissionDenied("无权处理该政策的支付", code="forbidden")
    reader = csv.DictReader(io.StringIO(content))
    needed = ["item_code", "entity_key", "period", "status"]
    missing = [c for c in needed if c not in (reader.fieldnames or [])]
    if missing:
        raise ReconciliationInvalid(
            [ReconciliationProblem(name, 1, c, "缺少此列") for c in missing]
        )
    with transaction.atomic():
        problems: list[ReconciliationProblem] = []
        planned: list[tuple[PaymentInstruction, str, str, str]] = []
        seen: set[tuple[str, str, str]] = set()
        for row in reader:
            line = reader.line_num
            key = (row["item_code"].strip(), row["entity_key"].strip(), row["period"].strip())
            status = row["status"].strip()
            if key in seen:
                problems.append(
                    ReconciliationProblem(name, line, "entity_key", "同一支付指令出现两次")
                )
                continue
            seen.add(key)
            instruction = (
                PaymentInstruction.objects.select_for_update()
                .filter(policy=policy, item_code=key[0], entity_key=key[1], period=key[2])
                .first()
            )
            if instruction is None:
                problems.append(
                    ReconciliationProblem(name, line, "entity_key", f"没有支付指令 {'/'.join(key)}")
                )
                continue
            if status not in PaymentStatus.values:
                problems.append(ReconciliationProblem(name, line, "status", f"未知状态 {status!r}"))
                continue
            if (
                status != instruction.status
                and status not in TRANSITIONS[PaymentStatus(instruction.status)]
            ):
                problems.append(
                    ReconciliationProblem(
                        name,
                        line,
                        "status",
                        f"不能从“{instruction.get_status_display()}”变为 {status}",
                    )
                )
                continue
            planned.append(
                (
                    instruction,
                    status,
                    (row.get("bank_reference") or "").strip(),
                    (row.get("note") or "").strip(),
                )
            )
        if problems:
            raise ReconciliationInvalid(problems)
        now = timezone.now()
        for instruction, status, reference, note in planned:
            instruction.status = status
            instruction.bank_reference = reference or instruction.bank_reference
            instruction.note = note[:255]
            instruction.updated_at = now
            instruction.save(update_fields=["status", "bank_reference", "note", "updated_at"])
        events.record(policy, "reconciliation_imported", actor, file=name, lines=len(planned))
    return len(planned)


def person_or_enterprise(target: str, key: str) -> Person | Enterprise | None:
    if target == Target.PERSON:
        return Person.objects.filter(id_number=key).first()
    return Enterprise.objects.filter(uscc=key).first()
