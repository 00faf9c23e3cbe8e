"""Licence reads: what a holder holds, one licence's history, grants and access log, and the
presentation dictionaries the API and pages share (holder identifiers masked for staff)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tongban.core.masking import mask_id_number
from tongban.licences import access
from tongban.licences.models import Grant, Licence, LicenceAccess, LicenceVersion


def my_licences(actor: Any) -> QuerySet[Licence]:
    return (
        access.held_by(actor)
        .select_related("licence_type", "department")
        .order_by("-issued_at", "-id")
    )


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


def _mask_identifier(value: str) -> str:
    if len(value) == 18 and value[:17].isdigit():
        return mask_id_number(value)
    return value  # 统一社会信用代码 is public


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
            licence.holder_identifier if holder else _mask_identifier(licence.holder_identifier)
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
