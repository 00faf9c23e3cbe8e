"""Licence writes: issue, change, re-issue, cancel, revoke, grants (授权用证) and logged use.

Each function runs in one transaction, locks the licence row it changes, appends a
``LicenceVersion`` (for content or state changes) and a ``LicenceEvent``, and writes messages
to the outbox in the same transaction. ``check_*`` functions validate the actor and input
first; ``do_*`` functions are for trusted callers (the case outcome listener, demo data).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.core.sequences import take_next
from tongban.identity.models import Department, Enterprise, Person, User
from tongban.identity.permissions import can_administer_system
from tongban.licences import access, events, notices, sealing, seals, statuslist
from tongban.licences.models import (
    Grant,
    HolderKind,
    Licence,
    LicenceAccess,
    LicenceNumberSequence,
    LicenceState,
    LicenceType,
    LicenceVersion,
    VersionAction,
)

MAX_GRANT_DAYS = 366


def valid_until_for(licence_type: LicenceType, valid_from: dt.date) -> dt.date | None:
    """Last valid day: ``validity_months`` after ``valid_from``, less one day; None = 长期."""
    months = licence_type.validity_months
    if not months:
        return None
    month_index = valid_from.month - 1 + months
    year, month = valid_from.year + month_index // 12, month_index % 12 + 1
    day = min(valid_from.day, _days_in_month(year, month))
    return dt.date(year, month, day) - dt.timedelta(days=1)


def _days_in_month(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def _next_number(licence_type: LicenceType, year: int) -> str:
    prefix = f"{licence_type.department.division.code}{licence_type.number_prefix}{year}"
    return f"{prefix}{take_next(LicenceNumberSequence, prefix):06d}"


def _seal_version(licence: Licence, action: str, actor: Any, reason: str = "") -> LicenceVersion:
    """Seal the row's current content with the department's key and append the version."""
    now = timezone.now()
    key = seals.signing_key(licence.department, at=now)
    licence.seal_key = key
    licence.seal = sealing.seal_content(licence, key, int(now.timestamp()))
    licence.save()
    return LicenceVersion.objects.create(
        licence=licence,
        version=licence.version,
        action=action,
        data=licence.data,
        valid_from=licence.valid_from,
        valid_until=licence.valid_until,
        state=licence.state,
        seal=licence.seal,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        actor_label=events.actor_label(actor),
        reason=reason,
    )


def do_issue(
    licence_type: LicenceType,
    *,
    holder_person: Person | None = None,
    holder_enterprise: Enterprise | None = None,
    data: dict[str, Any] | None = None,
    valid_from: dt.date | None = None,
    actor: Any = None,
    case_number: str = "",
) -> Licence:
    """Issue a new licence (numbered, sealed, with a status-list index) to its holder."""
    if (holder_person is None) == (holder_enterprise is None):
        raise ValidationFailed("证照须有且只有一个持证主体", errors=[FieldError("holder", "必填")])
    if holder_enterprise is None and licence_type.holder_kind == HolderKind.ENTERPRISE:
        raise ValidationFailed(
            f"{licence_type.name}只能发给法人", errors=[FieldError("holder", "须为法人")]
        )
    if holder_person is None and licence_type.holder_kind == HolderKind.PERSON:
        raise ValidationFailed(
            f"{licence_type.name}只能发给自然人", errors=[FieldError("holder", "须为自然人")]
        )
    now = timezone.now()
    start = valid_from or timezone.localdate(now)
    with transaction.atomic():
        status_list, index = statuslist.allocate()
        if holder_enterprise is not None:
            name, identifier = holder_enterprise.name, holder_enterprise.uscc
        else:
            assert holder_person is not None
            name, identifier = holder_person.name, holder_person.id_number
        licence = Licence(
            number=_next_number(licence_type, start.year),
            licence_type=licence_type,
            department=licence_type.department,
            holder_person=holder_person,
            holder_enterprise=holder_enterprise,
            holder_name=name,
            holder_identifier=identifier,
            data=dict(data or {}),
            issued_at=now,
            valid_from=start,
            valid_until=valid_until_for(licence_type, start),
            case_number=case_number,
            status_list=status_list,
            status_index=index,
        )
        licence.seal_key = seals.signing_key(licence.department, at=now)
        licence.seal = b""
        licence.save()
        _seal_version(licence, VersionAction.ISSUE, actor)
        events.record("issue", actor, licence=licence, data={"case": case_number})
        notices.notify(licence, "issued", "issued")
    return licence


def _locked(number: str) -> Licence:
    try:
        return (
            Licence.objects.select_for_update(of=("self",))
            .select_related("licence_type", "department", "holder_enterprise")
            .get(number=number)
        )
    except Licence.DoesNotExist:
        raise NotFound("没有找到该证照", code="licence_not_found") from None


def get_visible(actor: Any, number: str) -> Licence:
    """The licence if ``actor`` may see it (holder or issuing staff), else 404."""
    licence = (
        Licence.objects.select_related("licence_type", "department", "holder_enterprise")
        .filter(number=number)
        .first()
    )
    if licence is None or not access.can_see(actor, licence):
        raise NotFound("没有找到该证照", code="licence_not_found")
    return licence


def _require_reason(reason: str) -> str:
    text = (reason or "").strip()
    if not text:
        raise ValidationFailed(
            "请填写理由", code="reason_required", errors=[FieldError("reason", "必填")]
        )
    return text


def _require_valid(licence: Licence) -> None:
    if licence.state != LicenceState.VALID:
        raise Conflict(
            f"证照{licence.get_state_display()}，不能再办理此项", code="licence_not_valid"
        )


def check_change(actor: Any, number: str, data: dict[str, Any], reason: str) -> Licence:
    """变更: new content, a new version and seal; the old version stays in the history."""
    text = _require_reason(reason)
    with transaction.atomic():
        licence = _locked(number)
        if not access.can_see(actor, licence):
            raise NotFound("没有找到该证照", code="licence_not_found")
        if not access.is_issuer_staff(actor, licence):
            raise PermissionDenied("只有发证部门的工作人员可以变更证照")
        _require_valid(licence)
        allowed = {f.get("key") for f in licence.licence_type.fields} or set(licence.data)
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValidationFailed(
                "有不属于该证照类型的字段",
                errors=[FieldError(f"data.{key}", "该证照类型没有此字段") for key in unknown],
            )
        if not data:
            raise ValidationFailed("没有要变更的内容", errors=[FieldError("data", "必填")])
        licence.data = {**licence.data, **data}
        licence.version += 1
        _seal_version(licence, VersionAction.CHANGE, actor, text)
        events.record("change", actor, licence=licence, reason=text, data={"fields": sorted(data)})
    return licence


def check_reissue(actor: Any, number: str, reason: str) -> Licence:
    """换发/延续: a new version valid from today for the type's validity period."""
    text = _require_reason(reason)
    with transaction.atomic():
        licence = _locked(number)
        if not access.can_see(actor, licence):
            raise NotFound("没有找到该证照", code="licence_not_found")
        if not access.is_issuer_staff(actor, licence):
            raise PermissionDenied("只有发证部门的工作人员可以换发证照")
        _require_valid(licence)
        licence.valid_from = timezone.localdate()
        licence.valid_until = valid_until_for(licence.licence_type, licence.valid_from)
        licence.version += 1
        _seal_version(licence, VersionAction.REISSUE, actor, text)
        events.record("reissue", actor, licence=licence, reason=text)
    return licence


def _end(licence: Licence, state: str, action: str, actor: Any, reason: str) -> Licence:
    licence.state = state
    licence.revoked_at = timezone.now()
    licence.revocation_reason = reason
    statuslist.set_revoked(licence.status_list_id, licence.status_index)
    _seal_version(licence, action, actor, reason)
    events.record(action, actor, licence=licence, reason=reason)
    notices.notify(licence, "revoked", action, reason=reason)
    return licence


def check_cancel(actor: Any, number: str, reason: str) -> Licence:
    """注销 (e.g. the holder gave the licence up): by the issuing department's head."""
    text = _require_reason(reason)
    with transaction.atomic():
        licence = _locked(number)
        if not access.can_see(actor, licence):
            raise NotFound("没有找到该证照", code="licence_not_found")
        if not access.is_issuer_head(actor, licence):
            raise PermissionDenied("只有发证部门负责人可以注销证照")
        _require_valid(licence)
        return _end(licence, LicenceState.CANCELLED, VersionAction.CANCEL, actor, text)


def check_revoke(actor: Any, number: str, reason: str) -> Licence:
    """撤销 by an administrative act with a reason: the issuing department's head or a system
    administrator. The status list bit is set in the same transaction."""
    text = _require_reason(reason)
    with transaction.atomic():
        licence = _locked(number)
        allowed = access.is_issuer_head(actor, licence) or can_administer_system(actor)
        if not allowed and not access.can_see(actor, licence):
            raise NotFound("没有找到该证照", code="licence_not_found")
        if not allowed:
            raise PermissionDenied("只有发证部门负责人或系统管理员可以撤销证照")
        _require_valid(licence)
        return _end(licence, LicenceState.REVOKED, VersionAction.REVOKE, actor, text)


def do_revoke_for_case(case_number: str, actor: Any, reason: str) -> list[Licence]:
    """Revoke every valid licence issued from ``case_number`` (its decision was revoked)."""
    ended = []
    numbers = Licence.objects.filter(case_number=case_number, state=LicenceState.VALID).values_list(
        "number", flat=True
    )
    for number in list(numbers):
        licence = _locked(number)
        ended.append(
            _end(
                licence,
                LicenceState.REVOKED,
                VersionAction.REVOKE,
                actor,
                reason or "准予决定被撤销",
            )
        )
    return ended


# --- 授权用证 ------------------------------------------------------------------------------------


def check_grant(
    actor: Any,
    number: str,
    *,
    purpose: str,
    valid_until: dt.datetime,
    department_code: str = "",
    username: str = "",
) -> Grant:
    """The holder lets a department (its staff) or a named account use the licence."""
    licence = get_visible(actor, number)
    if not access.is_holder(actor, licence):
        raise PermissionDenied("只有持证人可以授权他人使用证照")
    errors = []
    text = (purpose or "").strip()
    if not text:
        errors.append(FieldError("purpose", "请说明用途"))
    now = timezone.now()
    if valid_until <= now:
        errors.append(FieldError("valid_until", "授权截止时间须晚于现在"))
    elif valid_until > now + dt.timedelta(days=MAX_GRANT_DAYS):
        errors.append(FieldError("valid_until", f"授权期限最长 {MAX_GRANT_DAYS} 天"))
    department = user = None
    if bool(department_code) == bool(username):
        errors.append(FieldError("grantee", "请指定一个被授权的部门或账户"))
    elif department_code:
        department = Department.objects.filter(code=department_code).first()
        if department is None:
            errors.append(FieldError("department", f"没有部门 {department_code}"))
    else:
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            errors.append(FieldError("username", f"没有账户 {username}"))
    if errors:
        raise ValidationFailed("授权信息不完整", code="grant_invalid", errors=errors)
    with transaction.atomic():
        licence = _locked(number)
        _require_valid(licence)
        grant = Grant.objects.create(
            licence=licence,
            grantee_department=department,
            grantee_user=user,
            grantee_label=department.name if department else str(user),
            purpose=text,
            valid_from=now,
            valid_until=valid_until,
            granted_by=actor,
        )
        events.record(
            "grant", actor, licence=licence, data={"grant": grant.pk, "to": grant.grantee_label}
        )
    return grant


def check_withdraw_grant(actor: Any, grant_id: int) -> Grant:
    grant = Grant.objects.select_related("licence").filter(pk=grant_id).first()
    if grant is None or not access.can_see(actor, grant.licence):
        raise NotFound("没有找到该授权", code="grant_not_found")
    if not access.is_holder(actor, grant.licence):
        raise PermissionDenied("只有持证人可以撤回授权")
    with transaction.atomic():
        grant = Grant.objects.select_for_update().get(pk=grant_id)
        if grant.revoked_at is not None:
            raise Conflict("该授权已撤回", code="grant_withdrawn")
        grant.revoked_at = timezone.now()
        grant.save(update_fields=["revoked_at"])
        events.record("withdraw_grant", actor, licence=grant.licence, data={"grant": grant.pk})
    return grant


def check_use(actor: Any, number: str, purpose: str) -> Licence:
    """用证: a third party reads the licence under a grant. Every attempt is logged — a refused
    one too (then 403) — so the holder sees who tried."""
    text = (purpose or "").strip()
    if not text:
        raise ValidationFailed("请说明用证事由", errors=[FieldError("purpose", "必填")])
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied("请先登录", code="login_required")
    licence = (
        Licence.objects.select_related("licence_type", "department").filter(number=number).first()
    )
    if licence is None:
        raise NotFound("没有找到该证照", code="licence_not_found")
    grant = access.matching_grant(actor, licence, now=timezone.now())
    with transaction.atomic():
        LicenceAccess.objects.create(
            licence=licence,
            grant=grant,
            actor=actor,
            actor_label=events.actor_label(actor),
            purpose=text[:200],
            allowed=grant is not None,
        )
    if grant is None:
        raise PermissionDenied("持证人没有授权您使用该证照（本次访问已记录）", code="no_grant")
    if licence.state != LicenceState.VALID:
        raise Conflict(f"证照{licence.get_state_display()}", code="licence_not_valid")
    return licence
