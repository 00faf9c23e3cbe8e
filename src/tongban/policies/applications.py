"""申请制 payable items: benefits applied for as a case of a catalog item, paid on 准予.

A payable item in mode ``application`` names the catalog item its beneficiaries apply through
(``PayableItem.catalog_item``). The applicant applies like for any item (form, prefill,
免提交 materials), a department reviews the case in the case engine, and the decision is what
pays: ``ApplicationOutcomes`` is registered in ``tongban.cases.outcomes`` and, inside the
decision's transaction, checks the applicant against the item's rules on the decision date
and writes the ledger instruction of the current period (``PaymentInstruction.case_number``).

The rules still decide the amount, so a 准予 that the rules cannot back is refused and the
decision rolls back with the reason a reviewer can act on: the applicant fails a condition,
data is missing from the profile, the period is already paid (the ledger's exactly-once key
holds here too), or the period's budget is spent. ``assess`` gives the same verdict before
deciding — the workbench shows it beside the case (兑现核定). Revoking the decision (违诺撤销)
voids an instruction not yet sent to the bank; one already sent or paid is marked for recovery
(追回) and left to the finance department.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils import timezone

from tongban.core.compiled import CompiledRead
from tongban.core.errors import Conflict
from tongban.notifications.services import queue_notification
from tongban.policies import events
from tongban.policies.evaluate import Explained, amount_fen, explain, missing_data
from tongban.policies.models import (
    Candidate,
    CandidateStatus,
    Mode,
    PayableItem,
    PaymentInstruction,
    PaymentStatus,
    Policy,
    PolicyVersion,
    VersionStatus,
)
from tongban.policies.runs import NOTIFY_CHANNELS, committed_fen, yuan
from tongban.policies.schema import Target
from tongban.policies.selectors import (
    ItemInfo,
    compile_version,
    period_context,
    period_for,
    profile_of,
)

if TYPE_CHECKING:
    from tongban.cases.models import Case
    from tongban.identity.models import User


@dataclass
class Assessment:
    """What the rules say about paying a case's applicant (兑现核定)."""

    policy: Policy
    version: PolicyVersion
    item: ItemInfo
    entity_key: str
    entity_name: str
    period: str
    explanation: Explained | None  # None: no profile
    amount_fen: int | None
    paid: PaymentInstruction | None  # this period's instruction already in the ledger
    remaining_fen: int
    refusal: str  # empty when 准予 can be paid

    @property
    def payable(self) -> bool:
        return not self.refusal


_LINKED_ITEM = CompiledRead(
    lambda item_code: (
        PayableItem.objects.filter(
            catalog_item=item_code,
            mode=Mode.APPLICATION,
            version__status=VersionStatus.PUBLISHED,
        )
        .select_related("version__policy")
        .order_by("pk")[:1]
    ),
    (str,),
    "linked_payable_item",
)  # compiled once: every approved case asks


def linked_item(item_code: str) -> PayableItem | None:
    """The published 申请制 payable item applied for through catalog item ``item_code``."""
    item: PayableItem | None = _LINKED_ITEM.first(item_code)
    return item


def _entity(case: Case, target: str) -> tuple[str, str] | None:
    if target == Target.PERSON and case.applicant_person_id is not None:
        person = case.applicant_person
        assert person is not None
        return person.id_number, person.name
    if target == Target.ENTERPRISE and case.applicant_enterprise_id is not None:
        enterprise = case.applicant_enterprise
        assert enterprise is not None
        return enterprise.uscc, enterprise.name
    return None


def assess(
    case: Case, *, on: dt.date | None = None, payable: PayableItem | None = None
) -> Assessment | None:
    """The verdict for paying ``case``'s applicant on ``on`` (today), or None when the case's
    item pays no benefit (``payable``: its ``linked_item`` when the caller has it already)."""
    payable = payable or linked_item(case.item_code)
    if payable is None:
        return None
    version = payable.version
    policy = version.policy
    info = next(i for i in compile_version(version) if i.code == payable.code)
    today = on or timezone.localdate()
    period = period_for(version.period_kind, today)
    remaining = version.budget_fen - committed_fen(policy, period)
    entity = _entity(case, policy.target)
    if entity is None:
        target = Target(policy.target)
        kind = "自然人" if target == Target.PERSON else "法人"
        return Assessment(
            policy=policy,
            version=version,
            item=info,
            entity_key="",
            entity_name="",
            period=period,
            explanation=None,
            amount_fen=None,
            paid=None,
            remaining_fen=remaining,
            refusal=f"“{info.name}”的兑现对象为{kind}，本办件的申请人不是{kind}",
        )
    key, name = entity
    paid = PaymentInstruction.objects.filter(
        item_code=info.code, entity_key=key, period=period
    ).first()
    profile = profile_of(policy.target, key)
    explained = None
    fen = None
    if profile is None:
        refusal = "平台尚无申请人的档案，无法核定兑现金额；请先更新档案，或作出不予决定"
    else:
        ctx = period_context(version.period_kind, period, today)
        explained = explain(info.compiled.condition, profile, ctx)
        fen = amount_fen(info.compiled.amount, profile, ctx) if explained.result else None
        refusal = _refusal(explained, fen, paid, remaining)
    return Assessment(
        policy=policy,
        version=version,
        item=info,
        entity_key=key,
        entity_name=name,
        period=period,
        explanation=explained,
        amount_fen=fen,
        paid=paid,
        remaining_fen=remaining,
        refusal=refusal,
    )


def _refusal(
    explained: Explained, fen: int | None, paid: PaymentInstruction | None, remaining: int
) -> str:
    if explained.result is None:
        missing = "、".join(missing_data(explained))
        return f"数据不足，无法判断是否符合条件（缺少：{missing}）；请先核实数据，或作出不予决定"
    if not explained.result:
        failed = "；".join(leaf.label for leaf in explained.leaves() if leaf.result is False)
        return f"按政策规则申请人不符合条件（{failed}），请作出不予决定"
    if fen is None:
        return "金额公式所需数据不足，无法核定兑现金额"
    if fen <= 0:
        return "按金额公式本期应兑现金额为 0，请作出不予决定"
    if paid is not None:
        source = f"办件 {paid.case_number}" if paid.case_number else "兑现批次"
        return f"申请人本期已兑现该事项（{source}），不能重复兑现"
    if fen > remaining:
        return f"本期预算余额不足（余 {yuan(max(remaining, 0))} 元，需 {yuan(fen)} 元）"
    return ""


def instruction_for_case(number: str) -> PaymentInstruction | None:
    """The ledger instruction a 准予 of case ``number`` wrote, if any."""
    return PaymentInstruction.objects.filter(case_number=number).first() if number else None


def benefit_panel(case: Case) -> dict[str, Any] | None:
    """兑现核定 beside a case: the instruction once 准予, otherwise the rules' verdict now."""
    payable = linked_item(case.item_code)
    if payable is None:
        return None
    instruction = instruction_for_case(case.number or "")
    if instruction is not None:
        return {
            "instruction": instruction,
            "assessment": None,
            "leaves": [],
            "amount": yuan(instruction.amount_fen),
        }
    if case.outcome:  # decided without a payment (不予, or before the item was linked)
        return None
    verdict = assess(case, payable=payable)
    if verdict is None:
        return None
    leaves = verdict.explanation.leaves() if verdict.explanation is not None else []
    return {
        "instruction": None,
        "assessment": verdict,
        "leaves": leaves,
        "amount": yuan(verdict.amount_fen),
    }


class ApplicationOutcomes:
    """Registered as ``policies`` in ``tongban.cases.outcomes``."""

    def case_approved(self, case: Case, actor: User | None) -> None:
        payable = linked_item(case.item_code)
        if payable is None:
            return
        # one ledger writer per policy: runs, confirmations and decisions queue here
        Policy.objects.select_for_update().filter(pk=payable.version.policy_id).first()
        verdict = assess(case, payable=payable)
        assert verdict is not None
        if not verdict.payable:
            raise Conflict(f"不能作出准予决定：{verdict.refusal}", code="benefit_not_payable")
        assert verdict.amount_fen is not None
        instruction = PaymentInstruction.objects.create(
            policy=verdict.policy,
            version=verdict.version,
            run=None,
            case_number=case.number or "",
            item_code=verdict.item.code,
            entity_key=verdict.entity_key,
            entity_name=verdict.entity_name,
            period=verdict.period,
            amount_fen=verdict.amount_fen,
        )
        Candidate.objects.filter(
            run__policy=verdict.policy,
            run__period=verdict.period,
            item_code=verdict.item.code,
            entity_key=verdict.entity_key,
            status=CandidateStatus.APPLICATION,
        ).update(status=CandidateStatus.INSTRUCTED)
        events.record(
            verdict.policy,
            "application_granted",
            actor,
            case=case.number,
            item=verdict.item.code,
            period=verdict.period,
            amount_fen=verdict.amount_fen,
            instruction=instruction.pk,
        )
        _tell_applicant(case, verdict)

    def case_revoked(self, case: Case, actor: User | None, reason: str) -> None:
        if not case.number:
            return
        instruction = (
            PaymentInstruction.objects.select_for_update()
            .select_related("policy")
            .filter(case_number=case.number)
            .first()
        )
        if instruction is None:
            return
        data: dict[str, Any] = {"case": case.number, "instruction": instruction.pk}
        if instruction.status == PaymentStatus.PENDING:
            instruction.status = PaymentStatus.CANCELLED
            instruction.note = f"准予决定已撤销：{reason}"[:255]
            action = "application_payment_cancelled"
        else:
            instruction.note = f"准予决定已撤销，需追回：{reason}"[:255]
            action = "application_payment_recovery"
            data["status"] = instruction.status
        instruction.save(update_fields=["status", "note", "updated_at"])
        events.record(instruction.policy, action, actor, reason=reason, **data)


def _tell_applicant(case: Case, verdict: Assessment) -> None:
    queue_notification(
        case.submitted_by,
        "policies.applied",
        {
            "name": verdict.entity_name,
            "item": verdict.item.name,
            "amount": yuan(verdict.amount_fen),
            "case": case.number or "",
        },
        NOTIFY_CHANNELS,
        f"policy:{verdict.item.code}:{verdict.entity_key}:{verdict.period}:applied",
    )
