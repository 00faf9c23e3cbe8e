"""Policy writes: named conditions, policies, draft versions with their payable items, and the
review chain (合法性审查 → 财政审核 → 发布). Every function validates first (``check_*``), runs
in one transaction, locks the policy row and writes a ``PolicyEvent``.

A draft is saved only when every payable item type-checks against the profile schema (unknown
attribute, type mismatch, unknown tag, a formula that can be negative or divide by zero are
refused with their path), the budget is positive, departments exist, division codes in
``within`` tests exist, and item codes are not used by another policy (the ledger is keyed by
item code). A 申请制 item names an existing catalog item for the policy's target that no other
policy links. A named condition used by a version under review or published cannot be changed
(the version's meaning is fixed); a new one is made under a new name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from tongban.catalog import selectors as catalog_selectors
from tongban.core.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationFailed
from tongban.identity.models import Department, Division
from tongban.policies import access, events, refresh
from tongban.policies.models import (
    Mode,
    NamedCondition,
    PayableItem,
    PeriodKind,
    Policy,
    PolicyReview,
    PolicyVersion,
    ReviewStep,
    Schedule,
    TargetKind,
    VersionStatus,
)
from tongban.policies.rules import Leaf, RuleInvalid, compile_amount, compile_rule
from tongban.policies.schema import SCHEMAS, schema_for
from tongban.policies.selectors import named_lookup


def _invalid(message: str, path: str, detail: str, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(message, code=code, errors=[FieldError(path, detail)])


# --- named conditions ---------------------------------------------------------------------------
def check_save_named_condition(
    actor: Any, name: str, target: str, rule: Any, description: str = ""
) -> NamedCondition:
    if not access.can_author_any(actor):
        raise PermissionDenied("只有政策主管部门工作人员可以维护命名条件", code="forbidden")
    if not name or len(name) > 64:
        raise _invalid("名称无效", "name", "1 至 64 个字符")
    if target not in SCHEMAS:
        raise _invalid("对象无效", "target", "应为 enterprise 或 person")
    lookup_self = {name}

    def lookup(other: str) -> tuple[str, Any] | None:
        if other in lookup_self:
            return (target, {"ref": other})  # a self-reference is a cycle
        return named_lookup(other)

    compile_rule(rule, schema_for(target), path="rule", named=lookup)
    with transaction.atomic():
        existing = NamedCondition.objects.select_for_update().filter(name=name).first()
        if existing is not None and (existing.rule != rule or existing.target != target):
            in_use = _versions_using(name)
            if in_use:
                raise Conflict(
                    f"命名条件“{name}”已被送审或已发布的政策使用（{'、'.join(in_use)}），"
                    "不能修改；请以新名称另建",
                    code="named_condition_in_use",
                )
        condition, _ = NamedCondition.objects.update_or_create(
            name=name, defaults={"target": target, "rule": rule, "description": description}
        )
    return condition


def _versions_using(name: str) -> list[str]:
    """Versions beyond draft whose items refer to the named condition (their meaning is fixed)."""
    needle = json.dumps({"ref": name}, ensure_ascii=False)[1:-1]
    found = []
    items = PayableItem.objects.exclude(version__status=VersionStatus.DRAFT).select_related(
        "version__policy"
    )
    for item in items:
        text = json.dumps([item.conditions, item.amount], ensure_ascii=False)
        if needle in text:
            found.append(f"{item.version.policy.code} v{item.version.number}")
    return sorted(set(found))


# --- policies and drafts ------------------------------------------------------------------------
def check_create_policy(
    actor: Any, *, code: str, title: str, target: str, department: str
) -> Policy:
    problems = []
    if not code or len(code) > 40:
        problems.append(FieldError("code", "1 至 40 个字符"))
    if not title:
        problems.append(FieldError("title", "必填"))
    if target not in TargetKind.values:
        problems.append(FieldError("target", "应为 enterprise 或 person"))
    dept = Department.objects.filter(code=department).first()
    if dept is None:
        problems.append(FieldError("department", f"没有编码为 {department!r} 的部门"))
    if problems:
        raise ValidationFailed("政策信息有误", code="invalid", errors=problems)
    assert dept is not None
    if not access.can_author_in(actor, dept.pk):
        raise PermissionDenied("只有资金主管部门的工作人员可以创建政策", code="forbidden")
    with transaction.atomic():
        if Policy.objects.filter(code=code).exists():
            raise Conflict(
                "政策编码已存在", code="policy_exists", errors=[FieldError("code", code)]
            )
        policy = Policy.objects.create(code=code, title=title, target=target, department=dept)
        events.record(policy, "created", actor, code=code)
    return policy


def _yuan_to_fen(value: Any, path: str) -> int:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _invalid("预算无效", path, f"应为金额（元），实际为 {value!r}") from None
    if not amount.is_finite() or amount <= 0:
        raise _invalid(
            "预算无效", path, "每期预算应大于零（零预算的政策无法兑现）", "budget_invalid"
        )
    return int((amount * 100).to_integral_value())


def _check_divisions(node: Any, path_errors: list[FieldError]) -> None:
    """``within`` tests must name divisions that exist."""
    from tongban.policies.rules import All, AnyOf, Not, Ref

    if isinstance(node, Leaf):
        if node.op == "within" and not Division.objects.filter(code=node.shown_value).exists():
            path_errors.append(
                FieldError(f"{node.path}.value", f"没有代码为 {node.shown_value} 的区划")
            )
    elif isinstance(node, All | AnyOf):
        for child in node.children:
            _check_divisions(child, path_errors)
    elif isinstance(node, Not | Ref):
        _check_divisions(node.child, path_errors)


def validate_draft(policy: Policy, data: Mapping[str, Any]) -> dict[str, Any]:
    """Check a draft's content; return the cleaned fields and items, or raise with every path."""
    errors: list[FieldError] = []
    cleaned: dict[str, Any] = {}
    legal_basis = str(data.get("legal_basis") or "").strip()
    if not legal_basis:
        errors.append(FieldError("legal_basis", "请写明政策依据（文件名称与文号）"))
    cleaned["legal_basis"] = legal_basis
    cleaned["summary"] = str(data.get("summary") or "")
    period_kind = data.get("period_kind")
    if period_kind not in PeriodKind.values:
        errors.append(FieldError("period_kind", "应为 monthly、yearly 或 once"))
    cleaned["period_kind"] = period_kind
    schedule = data.get("schedule", Schedule.MANUAL)
    if schedule not in Schedule.values:
        errors.append(FieldError("schedule", "应为 manual 或 first_3_workdays"))
    elif schedule == Schedule.FIRST_3_WORKDAYS and period_kind != PeriodKind.MONTHLY:
        errors.append(FieldError("schedule", "每月前3个工作日发起只适用于按月兑现"))
    cleaned["schedule"] = schedule
    window = data.get("confirm_window_days", 15)
    if isinstance(window, bool) or not isinstance(window, int) or not 1 <= window <= 90:
        errors.append(FieldError("confirm_window_days", "应为 1 至 90 的整数"))
    cleaned["confirm_window_days"] = window
    try:
        cleaned["budget_fen"] = _yuan_to_fen(data.get("budget"), "budget")
    except ValidationFailed as exc:
        errors.extend(exc.errors)
    for field in ("legality_department", "finance_department"):
        dept = Department.objects.filter(code=data.get(field)).first()
        if dept is None:
            errors.append(FieldError(field, f"没有编码为 {data.get(field)!r} 的部门"))
        cleaned[field] = dept
    schema = schema_for(policy.target)
    items_raw = data.get("items")
    items: list[dict[str, Any]] = []
    if not isinstance(items_raw, list) or not items_raw:
        errors.append(FieldError("items", "至少需要一个兑现事项"))
        items_raw = []
    seen: set[str] = set()
    linked: set[str] = set()
    for i, raw in enumerate(items_raw):
        path = f"items[{i}]"
        if not isinstance(raw, Mapping):
            errors.append(FieldError(path, "应为对象"))
            continue
        code = str(raw.get("code") or "")
        if not code or len(code) > 40:
            errors.append(FieldError(f"{path}.code", "1 至 40 个字符"))
        elif code in seen:
            errors.append(FieldError(f"{path}.code", f"事项编码 {code} 重复"))
        elif PayableItem.objects.filter(code=code).exclude(version__policy=policy).exists():
            errors.append(FieldError(f"{path}.code", f"事项编码 {code} 已被其他政策使用"))
        seen.add(code)
        name = str(raw.get("name") or "")
        if not name:
            errors.append(FieldError(f"{path}.name", "必填"))
        mode = raw.get("mode")
        if mode not in Mode.values:
            errors.append(
                FieldError(
                    f"{path}.mode",
                    "应为 exempt（免申即享）、confirm（即申即享）或 application（申请制）",
                )
            )
        catalog_item = str(raw.get("catalog_item") or "").strip()
        errors.extend(
            _catalog_item_errors(policy, f"{path}.catalog_item", mode, catalog_item, linked)
        )
        linked.add(catalog_item)
        priority = raw.get("priority", 100)
        if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
            errors.append(FieldError(f"{path}.priority", "应为非负整数"))
        try:
            condition = compile_rule(
                raw.get("conditions"), schema, path=f"{path}.conditions", named=named_lookup
            )
            _check_divisions(condition, errors)
        except RuleInvalid as exc:
            errors.extend(exc.errors)
        try:
            compile_amount(raw.get("amount"), schema, path=f"{path}.amount", named=named_lookup)
        except RuleInvalid as exc:
            errors.extend(exc.errors)
        items.append(
            {
                "code": code,
                "name": name,
                "mode": mode,
                "priority": priority,
                "conditions": raw.get("conditions"),
                "amount": raw.get("amount"),
                "catalog_item": catalog_item,
            }
        )
    if errors:
        raise ValidationFailed("政策版本有误，未保存", code="version_invalid", errors=errors)
    cleaned["items"] = items
    return cleaned


def _catalog_item_errors(
    policy: Policy, path: str, mode: Any, code: str, linked: set[str]
) -> list[FieldError]:
    """申请制 items name the catalog item through which they are applied for; only they do."""
    if mode != Mode.APPLICATION:
        if code:
            return [FieldError(path, "只有申请制兑现事项关联申请事项；免申即享、即申即享无需申请")]
        return []
    if not code:
        return [FieldError(path, "申请制兑现事项须填写申请事项编码（群众在该事项下提交申请）")]
    if code in linked:
        return [FieldError(path, f"事项 {code} 已关联本版本的另一兑现事项")]
    try:
        item = catalog_selectors.get_current_version(code)
    except NotFound as exc:
        return [FieldError(path, exc.message)]
    if policy.target not in item.applicant_types:
        kinds = "、".join(str(TargetKind(t).label) for t in item.applicant_types)
        return [
            FieldError(
                path,
                f"事项 {code} 的服务对象为{kinds}，与政策对象"
                f"（{TargetKind(policy.target).label}）不符",
            )
        ]
    other = (
        PayableItem.objects.filter(catalog_item=code)
        .exclude(version__policy=policy)
        .exclude(version__status__in=[VersionStatus.SUPERSEDED, VersionStatus.REJECTED])
        .select_related("version__policy")
        .first()
    )
    if other is not None:
        return [
            FieldError(
                path,
                f"事项 {code} 已关联政策“{other.version.policy.title}”的兑现事项 {other.code}",
            )
        ]
    return []


def _locked_policy(code: str) -> Policy:
    policy = Policy.objects.select_for_update().filter(code=code).first()
    if policy is None:
        raise NotFound("没有这项政策", code="policy_not_found")
    return policy


def check_save_draft(actor: Any, policy_code: str, data: Mapping[str, Any]) -> PolicyVersion:
    """Create the policy's draft version, or replace the content of the open draft."""
    with transaction.atomic():
        policy = _locked_policy(policy_code)
        if not access.can_author(actor, policy):
            raise PermissionDenied("只有资金主管部门的工作人员可以编辑政策", code="forbidden")
        cleaned = validate_draft(policy, data)
        items = cleaned.pop("items")
        draft = policy.versions.filter(status=VersionStatus.DRAFT).first()
        if draft is None:
            open_review = policy.versions.filter(
                status__in=[VersionStatus.LEGALITY_REVIEW, VersionStatus.FINANCE_REVIEW]
            ).first()
            if open_review is not None:
                raise Conflict(
                    f"版本 {open_review.number} 正在审核，审核结束前不能起草新版本",
                    code="review_in_progress",
                )
            policy.version_count += 1
            policy.save(update_fields=["version_count"])
            draft = PolicyVersion.objects.create(
                policy=policy, number=policy.version_count, created_by=actor, **cleaned
            )
        else:
            for field, value in cleaned.items():
                setattr(draft, field, value)
            draft.save(update_fields=list(cleaned))
            draft.items.all().delete()
        PayableItem.objects.bulk_create(PayableItem(version=draft, **item) for item in items)
        events.record(policy, "draft_saved", actor, version=draft.number, items=len(items))
    return draft


def check_submit(actor: Any, policy_code: str, number: int) -> PolicyVersion:
    with transaction.atomic():
        policy = _locked_policy(policy_code)
        if not access.can_author(actor, policy):
            raise PermissionDenied("只有资金主管部门的工作人员可以提交审核", code="forbidden")
        version = policy.versions.select_for_update().filter(number=number).first()
        if version is None:
            raise NotFound("没有这个政策版本", code="version_not_found")
        if version.status != VersionStatus.DRAFT:
            raise Conflict(
                f"版本状态为“{version.get_status_display()}”，不能提交", code="not_draft"
            )
        validate_draft(policy, _version_data(version))  # named conditions may have changed
        version.status = VersionStatus.LEGALITY_REVIEW
        version.save(update_fields=["status"])
        events.record(policy, "submitted", actor, version=number)
    return version


def _version_data(version: PolicyVersion) -> dict[str, Any]:
    return {
        "legal_basis": version.legal_basis,
        "summary": version.summary,
        "period_kind": version.period_kind,
        "schedule": version.schedule,
        "confirm_window_days": version.confirm_window_days,
        "budget": Decimal(version.budget_fen) / 100,
        "legality_department": version.legality_department.code,
        "finance_department": version.finance_department.code,
        "items": [
            {
                "code": i.code,
                "name": i.name,
                "mode": i.mode,
                "priority": i.priority,
                "conditions": i.conditions,
                "amount": i.amount,
                "catalog_item": i.catalog_item,
            }
            for i in version.items.all()
        ],
    }


def check_review(
    actor: Any, policy_code: str, number: int, *, step: str, approved: bool, comment: str = ""
) -> PolicyVersion:
    """Record a legality or finance review; the finance approval publishes the version."""
    if step not in ReviewStep.values:
        raise _invalid("审核环节无效", "step", "应为 legality 或 finance")
    with transaction.atomic():
        policy = _locked_policy(policy_code)
        version = (
            policy.versions.select_for_update()
            .select_related("legality_department", "finance_department")
            .filter(number=number)
            .first()
        )
        if version is None:
            raise NotFound("没有这个政策版本", code="version_not_found")
        if not access.can_review(actor, version, step):
            raise PermissionDenied("您不是该审核环节的审核部门工作人员", code="forbidden")
        expected = (
            VersionStatus.LEGALITY_REVIEW
            if step == ReviewStep.LEGALITY
            else VersionStatus.FINANCE_REVIEW
        )
        if version.status != expected:
            raise Conflict(
                f"版本状态为“{version.get_status_display()}”，现在不能进行{ReviewStep(step).label}",
                code="wrong_step",
            )
        if not approved and not comment.strip():
            raise _invalid("退回需写明意见", "comment", "请写明退回理由")
        PolicyReview.objects.create(
            version=version, step=step, approved=approved, comment=comment, reviewer=actor
        )
        fields = ["status"]
        if not approved:
            version.status = VersionStatus.REJECTED
        elif step == ReviewStep.LEGALITY:
            version.status = VersionStatus.FINANCE_REVIEW
        else:
            version.status = VersionStatus.PUBLISHED
            version.published_at = timezone.now()
            fields.append("published_at")
            previous = policy.published_version_id
            if previous is not None:
                PolicyVersion.objects.filter(pk=previous).update(status=VersionStatus.SUPERSEDED)
            policy.published_version = version
            policy.save(update_fields=["published_version"])
        version.save(update_fields=fields)
        events.record(
            policy, f"review_{step}", actor, version=number, approved=approved, comment=comment
        )
    return version


def check_refresh_profiles(
    actor: Any, kind: str, ids: Iterable[int] | None = None, *, limit: int | None = None
) -> refresh.RefreshReport:
    """Refresh 一人一档 (``person``) or 一企一档 (``enterprise``) profiles from the data
    sources (``tongban.policies.refresh``); policy staff only. Each profile is written in its
    own transaction; every lookup is logged with the refresh's purpose and legal basis."""
    if not access.can_refresh_profiles(actor):
        raise PermissionDenied("只有政策主管部门的工作人员可以更新档案", code="forbidden")
    if kind not in (TargetKind.PERSON, TargetKind.ENTERPRISE):
        raise _invalid("档案类型应为 person 或 enterprise", "kind", "未知的档案类型")
    return refresh.refresh_profiles(actor, kind, ids, limit=limit)
