"""Facts the case engine itself knows about an applicant, for 秒办 rules."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.utils import timezone

from tongban.cases.models import CommitmentBar
from tongban.core.facts import register


@register("fact.commitment_barred", "yes_no", "申请人因违反告知承诺被限制使用承诺制")
def commitment_barred(case: Any) -> bool:
    who = (
        Q(enterprise=case.applicant_enterprise)
        if case.applicant_enterprise_id
        else Q(person=case.applicant_person, enterprise=None)
    )
    return CommitmentBar.objects.filter(who, until__gte=timezone.localdate()).exists()
