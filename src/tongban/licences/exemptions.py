"""免提交 by e-licence: a material the catalog lets a licence stand in for (``licence_type``) is
satisfied when the applicant — or the enterprise a 经办人 applies for — holds a valid licence of
that type today (not cancelled or revoked, within its validity). Registered with the sharing
app's resolver registry, asked before the registry fallbacks; the licence number is kept on the
application as the evidence staff see."""

from __future__ import annotations

from django.db.models import Q
from django.utils import timezone

from tongban.licences.models import Licence, LicenceState
from tongban.sharing.exemptions import MaterialNeed, Resolution, ResolveContext


def held_licence(case: object, licence_type: str) -> Licence | None:
    """The newest valid licence of ``licence_type`` held by the case's applicant."""
    enterprise_id = getattr(case, "applicant_enterprise_id", None)
    person_id = getattr(case, "applicant_person_id", None)
    if enterprise_id:
        holder = Q(holder_enterprise_id=enterprise_id)
    elif person_id:
        holder = Q(holder_person_id=person_id, holder_enterprise__isnull=True)
    else:
        return None
    today = timezone.localdate()
    return (
        Licence.objects.filter(holder, licence_type__code=licence_type, state=LicenceState.VALID)
        .filter(valid_from__lte=today)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=today))
        .select_related("licence_type")
        .order_by("-issued_at", "-id")
        .first()
    )


def resolve(context: ResolveContext, need: MaterialNeed) -> Resolution | None:
    if not need.licence_type:
        return None
    licence = held_licence(context.case, need.licence_type)
    if licence is None:
        return None  # another resolver (e.g. a registry record) may still answer
    until = f"有效期至{licence.valid_until:%Y-%m-%d}" if licence.valid_until else "长期有效"
    return Resolution(
        True,
        need.licence_type,
        "电子证照库",
        summary=f"{licence.licence_type.name} {licence.number}（{until}）",
        reference=licence.number,
    )
