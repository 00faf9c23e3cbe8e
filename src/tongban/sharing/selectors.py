"""Sharing reads: what an application obtained (the provider ``cases.applications`` asks), the
lookups made for a case (for those who may see the case), and the prefill measurement — per
item, the share of form fields filled without typing (自动填 from the verified identity, 系统填
from data sources; 选择填 from earlier cases counted apart), as Qingdao reports "80 % of fields
filled from shared data".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from tongban.cases import access
from tongban.cases.applications import SharedData, SharedEvidence, SharedValue
from tongban.cases.models import Case
from tongban.catalog.models import Field, Material
from tongban.catalog.selectors import published_versions
from tongban.core.errors import NotFound
from tongban.sharing.models import Consent, DataLookup, SharedItem, SharedStatus, SharedTarget


def shared_data_for(case: Case) -> SharedData:
    """What the sharing layer obtained for ``case`` (one query)."""
    values: dict[str, SharedValue] = {}
    evidence: dict[str, SharedEvidence] = {}
    field_notes: dict[str, str] = {}
    material_notes: dict[str, str] = {}
    consents: dict[str, str] = {}
    for item in SharedItem.objects.filter(case_id=case.pk).exclude(target=SharedTarget.FACT):
        if item.target == SharedTarget.FIELD:
            if item.status == SharedStatus.OBTAINED:
                values[item.key] = SharedValue(item.value, item.source_label, item.at)
            else:
                field_notes[item.key] = item.reason
        elif item.status == SharedStatus.OBTAINED:
            evidence[item.key] = SharedEvidence(
                item.summary, item.source_label, item.reference, item.at
            )
        else:
            material_notes[item.key] = item.reason
        if item.status != SharedStatus.OBTAINED and item.needs_consent:
            path = "form" if item.target == SharedTarget.FIELD else "materials"
            consents[f"{path}.{item.key}"] = item.needs_consent
    return SharedData(values, evidence, field_notes, material_notes, consents)


def shared_items(case: Case) -> list[SharedItem]:
    return list(SharedItem.objects.filter(case_id=case.pk).order_by("target", "key"))


def consents_of(case: Case) -> list[Consent]:
    return list(Consent.objects.filter(case_id=case.pk).order_by("-given_at", "-id"))


def sources_awaiting_consent(case: Case) -> list[str]:
    """Data sources a lookup was refused for, for want of the applicant's consent."""
    pending = SharedItem.objects.filter(case_id=case.pk).exclude(status=SharedStatus.OBTAINED)
    return sorted(set(pending.exclude(needs_consent="").values_list("needs_consent", flat=True)))


def lookups_for_case(actor: Any, case: Case) -> QuerySet[DataLookup]:
    """Every lookup made for ``case``, newest first — for someone who may see the case (the
    applicant, or staff with authority over it); anyone else gets 404."""
    if not access.can_see_case(actor, case):
        raise NotFound(f"没有找到办件 {case.number or case.pk}", code="case_not_found")
    return DataLookup.objects.filter(case_id=case.pk).select_related("requester")


# --- prefill measurement ------------------------------------------------------------------------


@dataclass(frozen=True)
class PrefillRate:
    code: str
    name: str
    fields: int
    identity: int  # 自动填
    data_source: int  # 系统填
    history: int  # 选择填
    typed: int
    materials: int
    exempt_materials: int  # 免提交 by licence or data source

    @property
    def automatic(self) -> int:
        return self.identity + self.data_source

    @property
    def automatic_share(self) -> float:
        """自动填 + 系统填 over all fields."""
        return self.automatic / self.fields if self.fields else 0.0

    @property
    def prefilled_share(self) -> float:
        """自动填 + 系统填 + 选择填 over all fields (nothing to type unless it changed)."""
        return (self.automatic + self.history) / self.fields if self.fields else 0.0

    @property
    def exempt_share(self) -> float:
        return self.exempt_materials / self.materials if self.materials else 0.0


def prefill_rates() -> list[PrefillRate]:
    """Per current item version, how its fields are filled; three queries for the catalog."""
    versions = list(published_versions().order_by("item__code"))
    ids = [v.pk for v in versions]
    by_prefill: dict[int, Counter[str]] = {v: Counter() for v in ids}
    for version_id, prefill, count in (
        Field.objects.filter(version_id__in=ids)
        .values_list("version_id", "prefill")
        .annotate(n=Count("id"))
        .values_list("version_id", "prefill", "n")
    ):
        by_prefill[version_id][prefill] += count
    materials = {
        row["version_id"]: row
        for row in Material.objects.filter(version_id__in=ids)
        .values("version_id")
        .annotate(
            total=Count("id"),
            exempt=Count("id", filter=~Q(licence_type="") | ~Q(data_source="")),
        )
    }
    rates = []
    for version in versions:
        counts = by_prefill[version.pk]
        row = materials.get(version.pk, {"total": 0, "exempt": 0})
        rates.append(
            PrefillRate(
                code=version.item.code,
                name=version.name,
                fields=sum(counts.values()),
                identity=counts["identity"],
                data_source=counts["data_source"],
                history=counts["history"],
                typed=counts["none"],
                materials=row["total"],
                exempt_materials=row["exempt"],
            )
        )
    return rates


@dataclass(frozen=True)
class PrefillSummary:
    items: int
    fields: int
    automatic: int
    history: int
    materials: int
    exempt_materials: int
    items_at_80: int  # items with ≥ 80 % of fields filled without typing

    @property
    def automatic_share(self) -> float:
        return self.automatic / self.fields if self.fields else 0.0

    @property
    def prefilled_share(self) -> float:
        return (self.automatic + self.history) / self.fields if self.fields else 0.0

    @property
    def exempt_share(self) -> float:
        return self.exempt_materials / self.materials if self.materials else 0.0


def prefill_summary(rates: list[PrefillRate] | None = None) -> PrefillSummary:
    rates = prefill_rates() if rates is None else rates
    return PrefillSummary(
        items=len(rates),
        fields=sum(r.fields for r in rates),
        automatic=sum(r.automatic for r in rates),
        history=sum(r.history for r in rates),
        materials=sum(r.materials for r in rates),
        exempt_materials=sum(r.exempt_materials for r in rates),
        items_at_80=sum(1 for r in rates if r.fields and r.prefilled_share >= 0.8),
    )


def prefill_rate_of(code: str) -> PrefillRate | None:
    return next((r for r in prefill_rates() if r.code == code), None)
