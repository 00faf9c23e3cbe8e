"""Reads of one policy's payment ledger (支付台账) for staff: the instructions newest first, filtered
by period, status and payee name, a page at a time by keyset on the id (the last id of a page is
the cursor of the next; one extra row says whether there is a next page, so the ledger is never
counted), the periods it holds, and the totals by status of one period in a single aggregate
query. A person's 身份证号 is masked; the source of each instruction is its run (免申即享 /
即申即享) or the case whose 准予 wrote it (申请制).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Sum

from tongban.core.masking import mask_id_number
from tongban.policies.models import PaymentInstruction, PaymentStatus, Policy
from tongban.policies.runs import yuan
from tongban.policies.schema import Target
from tongban.policies.selectors import item_names

MAX_PERIODS = 120


@dataclass(frozen=True)
class LedgerFilters:
    period: str = ""
    status: str = ""
    query: str = ""

    def as_query(self) -> dict[str, str]:
        """The filters as GET parameters (empty ones left out)."""
        found = {"period": self.period, "status": self.status, "q": self.query}
        return {key: value for key, value in found.items() if value}


@dataclass(frozen=True)
class LedgerRow:
    instruction: PaymentInstruction
    item_name: str
    entity_key: str  # masked for persons
    amount: str  # yuan
    status_label: Any


@dataclass(frozen=True)
class LedgerPage:
    rows: list[LedgerRow]
    next_cursor: int | None


@dataclass(frozen=True)
class StatusTotal:
    status: str
    label: Any
    count: int
    amount: str  # yuan


@dataclass(frozen=True)
class PeriodTotals:
    period: str
    by_status: list[StatusTotal]
    count: int
    amount: str  # yuan


STATUS_LABELS: dict[str, Any] = dict(PaymentStatus.choices)


def periods(policy: Policy) -> list[str]:
    """The periods the policy's ledger holds, newest first."""
    found = (
        PaymentInstruction.objects.filter(policy=policy)
        .order_by("-period")
        .values_list("period", flat=True)
        .distinct()
    )
    return list(found[:MAX_PERIODS])


def ledger_page(
    policy: Policy,
    filters: LedgerFilters,
    *,
    cursor: int | None = None,
    size: int = 50,
) -> LedgerPage:
    """One page of the policy's payment instructions, newest first (``id`` descending)."""
    instructions = PaymentInstruction.objects.filter(policy=policy)
    if filters.period:
        instructions = instructions.filter(period=filters.period)
    if filters.status:
        instructions = instructions.filter(status=filters.status)
    if filters.query:
        instructions = instructions.filter(entity_name__icontains=filters.query)
    if cursor is not None:
        instructions = instructions.filter(id__lt=cursor)
    found = list(instructions.order_by("-id")[: size + 1])
    names = item_names({p.item_code for p in found[:size]})
    person = policy.target == Target.PERSON
    rows = [
        LedgerRow(
            instruction=p,
            item_name=names.get(p.item_code, p.item_code),
            entity_key=mask_id_number(p.entity_key) if person else p.entity_key,
            amount=yuan(p.amount_fen),
            status_label=STATUS_LABELS.get(p.status, p.status),
        )
        for p in found[:size]
    ]
    return LedgerPage(rows=rows, next_cursor=found[size - 1].pk if len(found) > size else None)


def period_totals(policy: Policy, period: str) -> PeriodTotals:
    """Count and amount of the period's instructions by status (one aggregate query); every
    status is listed, those without instructions with zero."""
    grouped = {
        row["status"]: (row["n"], row["fen"] or 0)
        for row in PaymentInstruction.objects.filter(policy=policy, period=period)
        .order_by()
        .values("status")
        .annotate(n=Count("id"), fen=Sum("amount_fen"))
    }
    by_status = [
        StatusTotal(
            status, label, grouped.get(status, (0, 0))[0], yuan(grouped.get(status, (0, 0))[1])
        )
        for status, label in PaymentStatus.choices
    ]
    return PeriodTotals(
        period=period,
        by_status=by_status,
        count=sum(n for n, _ in grouped.values()),
        amount=yuan(sum(fen for _, fen in grouped.values())),
    )
