"""Licence reads: what a holder holds, the register an issuing department's staff search (one
keyset page at a time, never counted), one licence's history, grants and access log, and the
presentation dictionaries the API and pages share (holder identifiers masked for staff)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongban.core.errors import NotFound
from tongban.core.identifiers import is_valid_id_number
from tongban.core.masking import mask_id_number, mask_name
from tongban.licences import access
from tongban.licences.models import (
    Grant,
    Licence,
    LicenceAccess,
    LicenceState,
    LicenceType,
    LicenceVersion,
)

EXPIRED = "expired"
# What staff filter by: the stored states, with 有效 split at the last valid day.
STATUS_LABELS: dict[str, Any] = {
    LicenceState.VALID: LicenceState.VALID.label,
    EXPIRED: _("已过期"),
    LicenceState.CANCELLED: LicenceState.CANCELLED.label,
    LicenceState.REVOKED: LicenceState.REVOKED.label,
}


def my_licences(actor: Any) -> QuerySet[Licence]:
    return (
        access.held_by(actor)
        .select_related("licence_type", "department")
        .order_by("-issued_at", "-id")
    )


@dataclass(frozen=True)
class IssuedFilters:
    """What staff narrow the register by: a licence number or holder name, a status (a key of
    ``STATUS_LABELS``) and a licence type code."""

    query: str = ""
    status: str = ""
    licence_type: str = ""

    def as_query(self) -> dict[str, str]:
        """The filters as GET parameters (empty ones left out)."""
        found = {"q": self.query, "status": self.status, "type": self.licence_type}
        return {key: value for key, value in found.items() if value}


@dataclass(frozen=True)
class IssuedRow:
    licence: Licence
    holder_name: str
    holder_identifier: str
    status: str
    status_label: Any


@dataclass(frozen=True)
class IssuedPage:
    rows: list[IssuedRow]
    next_cursor: int | None


def issued_types(actor: Any) -> QuerySet[LicenceType]:
    """Licence types the departments where ``actor`` is issuing staff issue."""
    return LicenceType.objects.filter(department_id__in=access.issuing_departments(actor)).order_by(
        "code"
    )


def issued_page(
    actor: Any,
    filters: IssuedFilters,
    *,
    cursor: int | None = None,
    size: int = 25,
    today: dt.date | None = None,
) -> IssuedPage:
    """One page of the licences issued by ``actor``'s departments, newest first. Keyset paged
    on the id (``cursor`` = the last id of the previous page); one extra row tells whether a
    next page exists, so the register is never counted."""
    day = today or timezone.localdate()
    licences = access.issued_for_staff(actor).select_related("licence_type")
    text = filters.query.strip()
    if text:
        licences = licences.filter(Q(number__icontains=text) | Q(holder_name__icontains=text))
    if filters.licence_type:
        licences = licences.filter(licence_type__code=filters.licence_type)
    if filters.status == LicenceState.VALID:
        licences = licences.filter(state=LicenceState.VALID).filter(
            Q(valid_until__isnull=True) | Q(valid_until__gte=day)
        )
    elif filters.status == EXPIRED:
        licences = licences.filter(state=LicenceState.VALID, valid_until__lt=day)
    elif filters.status in (LicenceState.CANCELLED, LicenceState.REVOKED):
        licences = licences.filter(state=filters.status)
    if cursor is not None:
        licences = licences.filter(id__lt=cursor)
    found = list(licences.order_by("-id")[: size + 1])
    rows = [issued_row(licence, today=day) for licence in found[:size]]
    return IssuedPage(rows=rows, next_cursor=found[size - 1].pk if len(found) > size else None)


def issued_row(licence: Licence, *, today: dt.date | None = None) -> IssuedRow:
    """A licence as staff see it: a person holder's name and identifier masked, and the status
    with 已过期 for a valid licence past its last valid day."""
    status = status_of(licence, today=today)
    return IssuedRow(
        licence=licence,
        holder_name=masked_holder_name(licence),
        holder_identifier=masked_holder_identifier(licence),
        status=status,
        status_label=STATUS_LABELS[status],
    )


def status_of(licence: Licence, *, today: dt.date | None = None) -> str:
    day = today or timezone.localdate()
    if (
        licence.state == LicenceState.VALID
        and licence.valid_until is not None
        and licence.valid_until < day
    ):
        return EXPIRED
    return str(licence.state)


def masked_holder_name(licence: Licence) -> str:
    """An enterprise's name is public; a person's is masked (张*)."""
    if licence.holder_enterprise_id is not None:
        return licence.holder_name
    return mask_name(licence.holder_name)


def masked_holder_identifier(licence: Licence) -> str:
    """An enterprise's 统一社会信用代码 is public; a person's 身份证号 is always masked."""
    if licence.holder_enterprise_id is not None:
        return licence.holder_identifier
    return mask_id_number(licence.holder_identifier)


@dataclass(frozen=True)
class DataField:
    key: str
    label: str
    value: Any
    masked: bool


def staff_data(licence: Licence) -> list[DataField]:
    """The licence's content as staff see it: a person holder's name and 身份证号 (and any
    other 身份证号) in a field are masked; ``masked`` tells which fields were."""
    labels = {f.get("key"): f.get("label") or f.get("key") for f in licence.licence_type.fields}
    rows = []
    for key, value in licence.data.items():
        shown = _mask_value(licence, value)
        rows.append(DataField(str(key), str(labels.get(key, key)), shown, shown != value))
    return rows


def _mask_value(licence: Licence, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if licence.holder_enterprise_id is not None and value == licence.holder_identifier:
        return value  # 统一社会信用代码 is public
    if licence.holder_person_id is not None:
        if value == licence.holder_identifier:
            return mask_id_number(value)
        if value == licence.holder_name:
            return mask_name(value)
    if is_valid_id_number(value):
        return mask_id_number(value)
    return value


def issued_licence(actor: Any, number: str) -> Licence:
    """A licence issued by a department where ``actor`` is issuing staff; anything else is
    not found, so numbers leak nothing."""
    licence = (
        access.issued_for_staff(actor)
        .select_related("licence_type", "department")
        .filter(number=number)
        .first()
    )
    if licence is None:
        raise NotFound("没有找到该证照", code="licence_not_found")
    return licence


def versions(licence: Licence) -> QuerySet[LicenceVersion]:
    return licence.versions.order_by("version", "id")


def grants(licence: Licence) -> QuerySet[Grant]:
    return licence.grants.select_related("grantee_department", "grantee_user").order_by("-id")


def accesses(licence: Licence) -> QuerySet[LicenceAccess]:
    return licence.accesses.order_by("-at", "-id")


def materials_satisfied(licence_type_code: str, limit: int = 50) -> list[tuple[str, str, str]]:
    """(item code, item name, material name) of current catalog materials this licence type
    can replace (免提交), read from the catalog's current item versions."""
    from tongban.catalog.models import Item, Material

    current = Item.objects.exclude(current_version=None).values("current_version_id")
    rows = (
        Material.objects.filter(licence_type=licence_type_code, version_id__in=current)
        .select_related("version__item")
        .order_by("version__item__code", "order")[:limit]
    )
    return [(m.version.item.code, m.version.name, m.name) for m in rows]


def licence_dict(actor: Any, licence: Licence) -> dict[str, Any]:
    holder = access.is_holder(actor, licence)
    labels = {f.get("key"): f.get("label", f.get("key")) for f in licence.licence_type.fields}
    return {
        "number": licence.number,
        "licence_type": licence.licence_type.code,
        "licence_type_name": licence.licence_type.name,
        "department": licence.department.name,
        "holder_name": licence.holder_name,
        "holder_identifier": (
            licence.holder_identifier if holder else masked_holder_identifier(licence)
        ),
        "data": licence.data,
        "labels": {key: labels.get(key, key) for key in licence.data},
        "version": licence.version,
        "state": licence.state,
        "state_label": licence.get_state_display(),
        "issued_at": licence.issued_at.isoformat(),
        "valid_from": licence.valid_from.isoformat(),
        "valid_until": licence.valid_until.isoformat() if licence.valid_until else None,
        "case_number": licence.case_number,
        "revocation_reason": licence.revocation_reason,
    }


def grant_dict(grant: Grant) -> dict[str, Any]:
    return {
        "id": grant.pk,
        "grantee": grant.grantee_label,
        "purpose": grant.purpose,
        "valid_from": grant.valid_from.isoformat(),
        "valid_until": grant.valid_until.isoformat(),
        "revoked_at": grant.revoked_at.isoformat() if grant.revoked_at else None,
    }


def access_dict(entry: LicenceAccess) -> dict[str, Any]:
    return {
        "who": entry.actor_label,
        "at": entry.at.isoformat(),
        "purpose": entry.purpose,
        "allowed": entry.allowed,
        "grant": entry.grant_id,
    }
