"""Bundle writes. ``check_submit_bundle`` turns one application (answers, one form, one upload
per merged material) into a bundle case and one item case per component of the first stage(s),
in **one transaction**, through the case services (``check_create_draft``, material upload,
``check_submit_application``). A later stage starts by itself when the results it waits for are
issued: ``BundleOutcomes`` is registered with ``tongban.cases.outcomes`` and runs inside the
decision's transaction. ``check_withdraw_bundle`` withdraws every open item case; ``check_save_bundle``
stores a definition from the composer after the same checks as a catalog import.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from tongban.bundles import definitions, selectors
from tongban.bundles.merging import Merged, MergedField, form_keys, merge
from tongban.bundles.models import (
    Bundle,
    BundleCase,
    BundleCaseState,
    BundleComponent,
    BundleEvent,
    BundleUpload,
    ComponentState,
)
from tongban.bundles.spec import BundleSpec, BundleSpecInvalid, compile_bundle
from tongban.cases import applications, materials
from tongban.cases import services as case_services
from tongban.cases.models import Case, CaseState, Outcome
from tongban.catalog import selectors as catalog_selectors
from tongban.catalog.document import BundleDoc
from tongban.catalog.models import DataElement, Item, ItemVersion
from tongban.catalog.selectors import EffectiveItem
from tongban.core.compiled import CompiledRead
from tongban.core.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from tongban.core.uploads import file_name_problem
from tongban.identity.models import Division, Enterprise
from tongban.identity.permissions import acts_for_enterprise, is_applicant
from tongban.notifications.services import queue_notification

CHANNELS = ("in_app", "sms")
WITHDRAWABLE = (
    CaseState.SUBMITTED,
    CaseState.CORRECTION,
    CaseState.IN_REVIEW,
    CaseState.AWAITING_DECISION,
)
Upload = tuple[str, bytes]  # (file name, content)
Handed = tuple[str, bytes, str]  # (file name, content, name of the stored file)


def _record(
    bundle_case: BundleCase,
    action: str,
    actor: Any,
    *,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> BundleEvent:
    bundle_case.event_count += 1
    bundle_case.save(update_fields=["event_count"])
    person = actor if getattr(actor, "is_authenticated", False) else None
    return BundleEvent.objects.create(
        bundle_case=bundle_case,
        sequence=bundle_case.event_count,
        action=action,
        actor=person,
        actor_label=str(person) if person else "系统",
        reason=reason,
        data=data or {},
    )


# --- the merged form ------------------------------------------------------------------------------
def _versions(codes: list[str]) -> dict[str, ItemVersion]:
    return {
        v.item.code: v
        for v in ItemVersion.objects.filter(
            item__code__in=codes, item__current_version=F("pk")
        ).select_related("item")
    }


def initial_values(
    actor: Any, merged: Merged, enterprise: Enterprise | None = None
) -> dict[str, Any]:
    """The merged form as it starts: 自动填 from the verified identity, 选择填 from earlier cases
    (through the case application rules), by merged field key."""
    codes = [c.code for c in merged.included]
    versions = _versions(codes)
    per_item = {
        code: applications.initial_form_data(actor, versions[code], enterprise=enterprise)
        for code in codes
        if code in versions
    }
    values: dict[str, Any] = {}
    for f in merged.fields:
        for item, key in f.parts:
            value = per_item.get(item, {}).get(key)
            if value not in (None, ""):
                values[f.key] = value
                break
    return values


def locked(field: MergedField) -> bool:
    return field.prefill == "identity" and field.element_code in applications.LOCKED_ELEMENTS


def clean_form(merged: Merged, raw: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    """Check the typed values against their data elements; report missing required ones and
    refuse a key no item of the bundle has a field for (``未知字段``, as for one item's form).
    A value for a field the answers leave out is dropped."""
    elements = {
        e.code: e
        for e in DataElement.objects.filter(code__in={f.element_code for f in merged.fields})
    }
    cleaned: dict[str, Any] = {}
    known = form_keys(merged)
    errors = [applications.unknown_field_error(key) for key in raw if key not in known]
    for f in merged.fields:
        if f.status != "applies" or locked(f):
            continue
        value = raw.get(f.key)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        if value is None or (isinstance(value, str) and not value.strip()):
            if f.required and f.prefill != "identity":
                errors.append(FieldError(f"form.{f.key}", f"请填写“{f.label}”"))
            continue
        try:
            cleaned[f.key] = applications.clean_value(elements.get(f.element_code), str(value))
        except ValueError as exc:
            errors.append(FieldError(f"form.{f.key}", str(exc)))
    return cleaned, errors


def _accepted(formats: tuple[str, ...], detected: str | None) -> bool:
    """Whether the format read from the content is one the merged material accepts (legacy
    Office files do not say whether they are Word or Excel)."""
    if detected is None:
        return False
    if detected == "ole2":
        return bool({"doc", "xls"} & set(formats))
    return detected in formats


def _check_uploads(merged: Merged, files: Mapping[str, Upload]) -> list[FieldError]:
    errors: list[FieldError] = []
    by_key = {m.key: m for m in merged.materials}
    for key in files:
        if key not in by_key:
            errors.append(FieldError(f"materials.{key}", "本一件事没有这项材料"))
    for m in merged.materials:
        if m.status != "applies":
            continue
        upload = files.get(m.key)
        if upload is None:
            if m.coverage == "upload":
                errors.append(FieldError(f"materials.{m.key}", f"请上传“{m.name}”"))
            continue
        if m.coverage in ("exempt", "produced"):
            errors.append(FieldError(f"materials.{m.key}", f"“{m.name}”免提交，无需上传"))
            continue
        name, content = upload
        if (problem := file_name_problem(name, f"materials.{m.key}")) is not None:
            errors.append(problem)
            continue
        if not content:
            errors.append(FieldError(f"materials.{m.key}", "文件为空"))
            continue
        if len(content) > m.max_size_mb * 1024 * 1024:
            errors.append(FieldError(f"materials.{m.key}", f"文件超过 {m.max_size_mb} MB"))
        detected = materials.sniff_format(content)
        if not _accepted(m.formats, detected):
            errors.append(
                FieldError(
                    f"materials.{m.key}",
                    f"文件内容是 {detected or '无法识别的'} 格式，本材料只接受 {', '.join(m.formats)}",
                )
            )
    return errors


# --- submission -----------------------------------------------------------------------------------
@transaction.atomic
def check_submit_bundle(
    actor: Any,
    code: str,
    *,
    answers: Mapping[str, Any],
    form: Mapping[str, Any],
    files: Mapping[str, Upload] | None = None,
    enterprise_uscc: str | None = None,
) -> BundleCase:
    """One application for a bundle → one bundle case and the item cases of every component
    that can start now, all or nothing."""
    if not is_applicant(actor) or actor.person_id is None:
        raise PermissionDenied("请以实名认证的办事人身份登录后申请", code="applicant_required")
    bundle = selectors.get_bundle(code)
    spec = selectors.spec_of(bundle)
    enterprise = None
    if enterprise_uscc:
        enterprise = Enterprise.objects.filter(uscc=enterprise_uscc).first()
        if enterprise is None or not acts_for_enterprise(actor, enterprise):
            raise PermissionDenied("您不是该企业的有效经办人", code="not_an_agent")
    wanted = "enterprise" if enterprise else "person"
    if wanted not in spec.applicant_types:
        raise ValidationFailed(
            "该一件事不面向此类申请人",
            code="wrong_applicant_type",
            errors=[
                FieldError("enterprise_uscc", f"服务对象为：{', '.join(spec.applicant_types)}")
            ],
        )
    merged = merge(spec, answers)
    errors = [FieldError(path, message) for path, message in merged.errors.items()]
    errors += [FieldError(f"answers.{key}", "请回答这个问题") for key in merged.unanswered]
    if errors:
        raise ValidationFailed("情形回答有误", code="invalid_answers", errors=errors)
    files = files or {}
    cleaned, errors = clean_form(merged, form)
    errors += _check_uploads(merged, files)
    if errors:
        raise ValidationFailed("申请还不完整", code="incomplete", errors=errors)
    division = Division.objects.get(code=spec.division)
    bundle_case = BundleCase.objects.create(
        number=f"tmp-{uuid.uuid4().hex}",
        bundle=bundle,
        bundle_code=bundle.code,
        bundle_name=bundle.name,
        definition=bundle.definition,
        division=division,
        applicant_person=actor.person,
        applicant_enterprise=enterprise,
        submitted_by=actor,
        answers=dict(answers),
        form_data=cleaned,
    )
    bundle_case.number = f"YJS-{division.code}-{timezone.localdate():%Y%m%d}-{bundle_case.pk:06d}"
    bundle_case.save(update_fields=["number"])
    handed: dict[str, Handed] = {}
    for key, (name, content) in files.items():
        material = next(m for m in merged.materials if m.key == key)
        upload = BundleUpload(
            bundle_case=bundle_case,
            material_key=key,
            material_name=material.name,
            original_name=name[:255],
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
        )
        upload.file.save(f"{uuid.uuid4().hex}.bin", ContentFile(content), save=False)
        upload.save()
        handed[key] = (name, content, upload.file.name)
    included = {c.code: c for c in merged.included}
    BundleComponent.objects.bulk_create(
        BundleComponent(
            bundle_case=bundle_case,
            order=n,
            item_code=c.code,
            item_name=c.item.name,
            stage=c.stage,
            needs=list(c.needs),
            state=ComponentState.WAITING if c.code in included else ComponentState.EXCLUDED,
        )
        for n, c in enumerate(spec.components)
    )
    _record(
        bundle_case,
        "submit_bundle",
        actor,
        data={"items": sorted(included), "stages": spec.stages},
    )
    effective = catalog_selectors.effective_items(sorted(included), division.code)
    _start_ready(bundle_case, spec, merged, actor, handed, effective=effective)
    queue_notification(
        actor,
        "bundle.submitted",
        {
            "bundle": bundle_case.bundle_name,
            "number": bundle_case.number,
            "count": len(included),
        },
        CHANNELS,
        dedupe_key=f"bundle:{bundle_case.number}:submitted",
    )
    return bundle_case


def _item_form(merged: Merged, code: str, values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in merged.fields:
        if f.key not in values:
            continue
        for item, key in f.parts:
            if item == code:
                out[key] = values[f.key]
    return out


def _start_component(
    bundle_case: BundleCase,
    component: BundleComponent,
    merged: Merged,
    applicant: Any,
    files: Mapping[str, Handed],
    effective: EffectiveItem | None = None,
) -> Case:
    """File the component's item case for the applicant, with the bundle's answers, form and
    files (stored once, shared by the item cases), and submit it."""
    state = next(c for c in merged.included if c.code == component.item_code)
    own = {q.spec.key for q in state.component.item.guide.questions}
    answers = {k: v for k, v in (bundle_case.answers or {}).items() if k in own}
    enterprise = bundle_case.applicant_enterprise
    division_code = bundle_case.division.code
    effective = effective or catalog_selectors.effective_item(component.item_code, division_code)
    form = applications.initial_form_data(applicant, effective.version, enterprise=enterprise)
    form.update(_item_form(merged, component.item_code, bundle_case.form_data or {}))
    case = case_services.check_create_draft_here(
        applicant,
        item_code=component.item_code,
        division_code=division_code,
        answers=answers,
        form_data=form,
        enterprise_uscc=enterprise.uscc if enterprise else None,
        effective=effective,
    )
    attached = []
    for m in merged.materials:
        if m.key not in files:
            continue
        name, content, stored_name = files[m.key]
        for item, key in m.parts:
            if item == component.item_code:
                attached.append(
                    materials.do_attach_shared(applicant, case, key, name, content, stored_name)
                )
    try:
        case = applications.check_submit_created(applicant, case, attached)
    except ValidationFailed as exc:
        raise ValidationFailed(
            f"“{component.item_name}”的申请不完整",
            code="incomplete",
            errors=[
                FieldError(f"items.{component.item_code}.{e.path}", e.message) for e in exc.errors
            ],
        ) from exc
    component.case = case
    component.state = ComponentState.STARTED
    component.started_at = timezone.now()
    component.save(update_fields=["case", "state", "started_at"])
    return case


def _issued(component: BundleComponent) -> bool:
    return component.case is not None and component.case.outcome == Outcome.APPROVED


def _failed(component: BundleComponent) -> bool:
    case = component.case
    return case is not None and (
        case.state == CaseState.REFUSED or case.outcome in (Outcome.DENIED, Outcome.REVOKED)
    )


def _start_ready(
    bundle_case: BundleCase,
    spec: BundleSpec,
    merged: Merged,
    actor: Any,
    files: Mapping[str, Handed],
    *,
    later: bool = False,
    effective: Mapping[str, EffectiveItem] | None = None,
) -> None:
    """Start every waiting component whose inputs are all issued; hold or block the rest as the
    definition says. Repeats until nothing changes (a 秒办 result can release the next stage)."""
    while True:
        components = {c.item_code: c for c in bundle_case.components.select_related("case")}
        waiting = [c for c in components.values() if c.state == ComponentState.WAITING]
        if not waiting or bundle_case.state != BundleCaseState.IN_PROGRESS:
            return
        failed = [c for c in components.values() if _failed(c)]
        if failed and spec.on_denial == "hold":
            for c in waiting:
                c.state = ComponentState.HELD
                c.save(update_fields=["state"])
            bundle_case.state = BundleCaseState.HELD
            bundle_case.save(update_fields=["state"])
            _record(
                bundle_case,
                "hold",
                None,
                reason="；".join(
                    f"{c.item_name}：{c.case.decision_reason}" for c in failed if c.case
                ),
                data={
                    "denied": [c.item_code for c in failed],
                    "held": [c.item_code for c in waiting],
                },
            )
            return
        started = False
        for c in waiting:
            needs = [components[n] for n in c.needs if n in components]
            if any(
                _failed(n) or n.state in (ComponentState.BLOCKED, ComponentState.HELD)
                for n in needs
            ):
                c.state = ComponentState.BLOCKED
                c.save(update_fields=["state"])
                _record(bundle_case, "block", None, data={"item": c.item_code})
                started = True
                continue
            if all(_issued(n) for n in needs):
                resolved = (effective or {}).get(c.item_code)
                if not _try_start(bundle_case, c, merged, files, later=later, effective=resolved):
                    started = True
                    continue
                if c.stage > 1:
                    _record(
                        bundle_case,
                        "start_stage",
                        actor,
                        data={"item": c.item_code, "stage": c.stage},
                    )
                started = True
        if not started:
            return


def _try_start(
    bundle_case: BundleCase,
    component: BundleComponent,
    merged: Merged,
    files: Mapping[str, Handed],
    *,
    later: bool,
    effective: EffectiveItem | None = None,
) -> bool:
    """Start one component. At submission a problem is the applicant's to fix (it propagates);
    for a later stage, started inside another department's decision, it must not undo that
    decision: the component is blocked and the reason recorded."""
    applicant = bundle_case.submitted_by
    if not later:
        _start_component(bundle_case, component, merged, applicant, files, effective)
        return True
    try:
        with transaction.atomic():
            _start_component(bundle_case, component, merged, applicant, files, effective)
    except DomainError as exc:
        component.state = ComponentState.BLOCKED
        component.case = None
        component.save(update_fields=["state", "case"])
        detail = "；".join(e.message for e in exc.errors)
        _record(
            bundle_case,
            "start_failed",
            None,
            reason=f"“{component.item_name}”无法自动申请：{exc.message}"
            + (f"（{detail}）" if detail else ""),
            data={"item": component.item_code, "code": exc.code},
        )
        return False
    return True


def _tell_if_complete(bundle_case: BundleCase) -> None:
    """One combined notice when every item of the bundle has its result."""
    components = list(bundle_case.components.select_related("case"))
    active = [c for c in components if c.state != ComponentState.EXCLUDED]
    if not active or not all(_issued(c) for c in active):
        return
    queue_notification(
        bundle_case.submitted_by,
        "bundle.completed",
        {"bundle": bundle_case.bundle_name, "number": bundle_case.number, "count": len(active)},
        CHANNELS,
        dedupe_key=f"bundle:{bundle_case.number}:completed",
    )


def _stored_files(bundle_case: BundleCase) -> dict[str, Handed]:
    out: dict[str, Handed] = {}
    for upload in bundle_case.uploads.all():
        with upload.file.open("rb") as handle:
            out[upload.material_key] = (upload.original_name, handle.read(), upload.file.name)
    return out


_COMPONENT_OF_CASE = CompiledRead(
    lambda case_id: (
        BundleComponent.objects.select_related("bundle_case")
        .filter(case_id=case_id)
        .order_by("pk")[:1]
    ),
    (int,),
    "bundle_component_of_case",
)  # compiled once: every approved case asks


class BundleOutcomes:
    """Registered with ``tongban.cases.outcomes``: a decision on an item case may release the
    next stage of its bundle. Runs inside the decision's transaction."""

    def case_approved(self, case: Case, actor: Any) -> None:
        component = _COMPONENT_OF_CASE.first(case.pk)
        if component is None:
            return
        bundle_case = BundleCase.objects.select_for_update().get(pk=component.bundle_case_id)
        if bundle_case.state != BundleCaseState.IN_PROGRESS:
            return
        waiting = bundle_case.components.filter(state=ComponentState.WAITING)
        if waiting.exists():
            doc = BundleDoc.model_validate(bundle_case.definition)
            try:
                spec = selectors.spec_from_doc(doc, definitions.content_hash(doc))
            except BundleSpecInvalid as exc:
                # the catalog changed under a running bundle: never undo the decision
                blocked = [c.item_code for c in waiting]
                waiting.update(state=ComponentState.BLOCKED)
                _record(
                    bundle_case,
                    "start_failed",
                    None,
                    reason=f"事项目录已变更，后续事项无法按申请时的一件事定义自动申请：{exc}",
                    data={"items": blocked},
                )
                return
            merged = merge(spec, bundle_case.answers)
            files = _stored_files(bundle_case)
            _start_ready(bundle_case, spec, merged, actor, files, later=True)
        _tell_if_complete(bundle_case)

    def case_revoked(self, case: Case, actor: Any, reason: str) -> None:
        return None


# --- withdrawal -----------------------------------------------------------------------------------
@transaction.atomic
def check_withdraw_bundle(actor: Any, number: str, reason: str = "") -> BundleCase:
    """撤回: every open item case is withdrawn and no later stage starts."""
    bundle_case = BundleCase.objects.select_for_update().filter(number=number).first()
    if bundle_case is None or not selectors.can_see_bundle_case(actor, bundle_case):
        raise NotFound(f"没有找到一件事办件 {number}", code="bundle_case_not_found")
    if not selectors.is_bundle_applicant(actor, bundle_case):
        raise PermissionDenied("只有申请人可以撤回一件事申请", code="not_applicant")
    if bundle_case.state == BundleCaseState.WITHDRAWN:
        raise Conflict("该一件事申请已撤回", code="already_withdrawn")
    withdrawn, kept = [], []
    for component in bundle_case.components.select_related("case"):
        case = component.case
        if case is None:
            if component.state in (ComponentState.WAITING, ComponentState.HELD):
                component.state = ComponentState.WITHDRAWN
                component.save(update_fields=["state"])
            continue
        if case.state in WITHDRAWABLE:
            case_services.perform(actor, case.number or "", "withdraw", {"reason": reason})
            withdrawn.append(component.item_code)
        else:
            kept.append(component.item_code)
    bundle_case.state = BundleCaseState.WITHDRAWN
    bundle_case.closed_at = timezone.now()
    bundle_case.save(update_fields=["state", "closed_at"])
    _record(
        bundle_case,
        "withdraw_bundle",
        actor,
        reason=reason,
        data={"withdrawn": withdrawn, "decided_kept": kept},
    )
    return bundle_case


# --- composer -------------------------------------------------------------------------------------
def preview(data: Mapping[str, Any]) -> tuple[BundleSpec | None, list[FieldError]]:
    """Compile a definition given as data (composer) against the current catalog."""
    from pydantic import ValidationError

    try:
        doc = BundleDoc.model_validate(dict(data))
    except ValidationError as exc:
        return None, [
            FieldError(".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ]
    facts = definitions.database_facts([c.item for c in doc.components], doc.division)
    try:
        return compile_bundle(doc, facts), []
    except BundleSpecInvalid as exc:
        return None, [FieldError(".".join(str(p) for p in e.path), e.message) for e in exc.problems]


@transaction.atomic
def check_save_bundle(actor: Any, data: Mapping[str, Any]) -> Bundle:
    """A catalog administrator saves a definition from the composer (same checks as import)."""
    from tongban.identity.permissions import can_manage_catalog

    if not can_manage_catalog(actor):
        raise PermissionDenied("只有事项管理员可以编辑一件事", code="catalog_admin_required")
    spec, errors = preview(data)
    if spec is None:
        raise ValidationFailed("一件事定义有误", code="invalid_bundle", errors=errors)
    if not Division.objects.filter(code=spec.division).exists():
        raise ValidationFailed(
            "一件事定义有误", code="invalid_bundle", errors=[FieldError("division", "未知的区划")]
        )
    doc = BundleDoc.model_validate(dict(data))
    definitions.store_bundle(doc)
    return Bundle.objects.get(code=doc.code)


def item_choices() -> list[tuple[str, str]]:
    return list(
        Item.objects.filter(current_version__isnull=False)
        .order_by("code")
        .values_list("code", "current_version__name")
    )
