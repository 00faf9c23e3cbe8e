"""Bundle reads: definitions compiled against the current catalog (cached), bundle cases an
actor may see, and a bundle case's combined status and timeline.

A compiled spec is cached under a key made of the bundle's content hash and the identity of
every component's current item version and 实施清单 row (two queries), so a catalog import
or an implementation change is seen at once and nothing is ever stale.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import F, QuerySet

from tongban.bundles.definitions import database_facts
from tongban.bundles.models import Bundle, BundleCase, BundleComponent, BundleEvent, ComponentState
from tongban.bundles.spec import BundleSpec, compile_bundle
from tongban.cases import access
from tongban.cases import selectors as case_selectors
from tongban.cases.models import CaseEvent, CaseState, Outcome
from tongban.catalog.document import BundleDoc
from tongban.catalog.models import Implementation, Item
from tongban.core.errors import NotFound
from tongban.identity.permissions import is_applicant

_CACHE: dict[tuple[Any, ...], BundleSpec] = {}
_CACHE_MAX = 256


def list_bundles() -> list[Bundle]:
    return list(Bundle.objects.order_by("code"))


def get_bundle(code: str) -> Bundle:
    bundle = Bundle.objects.filter(code=code).first()
    if bundle is None:
        raise NotFound(f"没有编码为 {code} 的一件事", code="bundle_not_found")
    return bundle


def _catalog_key(codes: list[str]) -> tuple[Any, ...]:
    versions = tuple(
        Item.objects.filter(code__in=codes)
        .order_by("code")
        .values_list("code", "current_version_id", "current_version__content_hash")
    )
    impls = tuple(
        Implementation.objects.filter(item__code__in=codes)
        .order_by("pk")
        .values_list(
            "pk", "division_id", "promised_limit_days", "required_trips", "handling_department_id"
        )
    )
    return versions + impls


def spec_of(bundle: Bundle) -> BundleSpec:
    """The bundle compiled against the current catalog (``BundleSpecInvalid`` if the catalog
    changed under it so that it no longer holds)."""
    doc = BundleDoc.model_validate(bundle.definition)
    return spec_from_doc(doc, bundle.content_hash)


def spec_from_doc(doc: BundleDoc, digest: str) -> BundleSpec:
    codes = [c.item for c in doc.components]
    key = (digest, doc.division, _catalog_key(codes))
    spec = _CACHE.get(key)
    if spec is None:
        spec = compile_bundle(doc, database_facts(codes, doc.division))
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
        _CACHE[key] = spec
    return spec


def bundle_spec(code: str) -> BundleSpec:
    return spec_of(get_bundle(code))


# --- bundle cases ---------------------------------------------------------------------------------
def _cases_qs() -> QuerySet[BundleCase]:
    return BundleCase.objects.select_related("division", "submitted_by").prefetch_related(
        "components__case__department", "components__case__division__parent__parent__parent"
    )


def is_bundle_applicant(actor: Any, bundle_case: BundleCase) -> bool:
    """As for an item case: a person's bundle case is the filer's, an enterprise's belongs to
    its valid 经办人 of today (``cases.access.is_case_applicant``)."""
    return access.files_as_applicant(
        actor, bundle_case.applicant_enterprise, bundle_case.submitted_by_id
    )


def visible_components(actor: Any, bundle_case: BundleCase) -> list[BundleComponent]:
    """Components whose item case ``actor`` may see (all of them for the applicant)."""
    components = list(bundle_case.components.all())
    if is_bundle_applicant(actor, bundle_case):
        return components
    return [c for c in components if c.case is not None and access.can_see_case(actor, c.case)]


def can_see_bundle_case(actor: Any, bundle_case: BundleCase) -> bool:
    if not getattr(actor, "is_authenticated", False):
        return False
    return is_bundle_applicant(actor, bundle_case) or bool(visible_components(actor, bundle_case))


def get_bundle_case(actor: Any, number: str) -> BundleCase:
    """A bundle case the actor may see (404 otherwise — numbers leak nothing)."""
    bundle_case = _cases_qs().filter(number=number).first()
    if bundle_case is None or not can_see_bundle_case(actor, bundle_case):
        raise NotFound(f"没有找到一件事办件 {number}", code="bundle_case_not_found")
    return bundle_case


def my_bundle_cases(actor: Any, limit: int = 50) -> list[BundleCase]:
    if not is_applicant(actor):
        return []
    return list(_cases_qs().filter(access.applicant_scope(actor)).order_by("-id")[:limit])


@dataclass(frozen=True)
class ComponentStatus:
    component: BundleComponent
    label: str
    tone: str  # ok | wait | bad | off
    reason: str = ""


def component_status(component: BundleComponent) -> ComponentStatus:
    case = component.case
    if case is None:
        tone = {"waiting": "wait", "excluded": "off"}.get(component.state, "bad")
        return ComponentStatus(component, component.get_state_display(), tone)
    if case.state == CaseState.REFUSED:
        return ComponentStatus(component, case.get_state_display(), "bad", case.decision_reason)
    if case.outcome == Outcome.DENIED:
        return ComponentStatus(component, "不予准予", "bad", case.decision_reason)
    if case.state == CaseState.WITHDRAWN:
        return ComponentStatus(component, case.get_state_display(), "off")
    tone = (
        "ok" if case.state in (CaseState.DECIDED, CaseState.DELIVERED, CaseState.CLOSED) else "wait"
    )
    return ComponentStatus(component, case.get_state_display(), tone)


def denied(components: Iterable[BundleComponent]) -> list[BundleComponent]:
    return [
        c
        for c in components
        if c.case is not None
        and (
            c.case.state == CaseState.REFUSED or c.case.outcome in (Outcome.DENIED, Outcome.REVOKED)
        )
    ]


@dataclass(frozen=True)
class BundleStatus:
    label: str
    tone: str
    components: list[ComponentStatus]
    denied: list[ComponentStatus]


def bundle_status(
    bundle_case: BundleCase, components: list[BundleComponent] | None = None
) -> BundleStatus:
    """The combined status: withdrawn, held, partly denied, completed or in progress."""
    components = list(bundle_case.components.all()) if components is None else components
    refused = denied(components)
    refused_codes = {c.item_code for c in refused}
    hold = bool(refused) and (bundle_case.definition or {}).get("on_denial") == "hold"
    statuses = []
    for c in components:
        status = component_status(c)
        if c.state == ComponentState.WAITING and hold:
            status = ComponentStatus(c, str(ComponentState.HELD.label), "bad")
        elif c.state == ComponentState.WAITING and refused_codes & set(c.needs or []):
            status = ComponentStatus(c, str(ComponentState.BLOCKED.label), "bad")
        statuses.append(status)
    bad = [s for s in statuses if s.component in refused]
    active = [c for c in components if c.state != ComponentState.EXCLUDED]
    finished = all(
        c.case is not None
        and c.case.state
        in (CaseState.DELIVERED, CaseState.CLOSED, CaseState.REFUSED, CaseState.WITHDRAWN)
        for c in active
    )
    if bundle_case.state == "withdrawn":
        label, tone = "已撤回", "off"
    elif bundle_case.state == "held" or (hold and bundle_case.state == "in_progress"):
        label, tone = "已暂停：有事项不予办理", "bad"
    elif bad:
        label, tone = "部分事项不予办理", "bad"
    elif finished:
        label, tone = "已全部办结", "ok"
    else:
        label, tone = "办理中", "wait"
    return BundleStatus(label, tone, statuses, bad)


@dataclass(frozen=True)
class TimelineEntry:
    at: Any
    source: str  # the bundle or an item name
    action: str
    label: str
    reason: str


ACTION_LABELS = {
    "submit_bundle": "提交一件事申请",
    "start_stage": "下一阶段事项自动申请",
    "hold": "因有事项不予办理，后续事项暂停",
    "block": "前序事项未获准予，后续事项无法办理",
    "withdraw_bundle": "撤回一件事申请",
    "start_failed": "后续事项无法自动申请",
    "create_draft": "创建申请",
    "submit": "提交申请",
    "accept": "受理",
    "refuse": "不予受理",
    "request_correction": "补正告知",
    "supplement": "补正材料",
    "withdraw": "撤回",
    "approve_task": "审查通过",
    "reject_task": "审查不通过",
    "decide": "作出决定",
    "instant_decision": "秒批",
    "deliver": "送达",
    "close": "办结",
}


def timeline(actor: Any, bundle_case: BundleCase) -> list[TimelineEntry]:
    """The bundle's own events and the events of every item case the actor may see, in time
    order; applicants read the case events as on each case's own timeline (shown events only,
    without staff notes)."""
    components = visible_components(actor, bundle_case)
    entries = [
        TimelineEntry(
            e.at, bundle_case.bundle_name, e.action, ACTION_LABELS.get(e.action, e.action), e.reason
        )
        for e in BundleEvent.objects.filter(bundle_case=bundle_case)
    ]
    names = {c.case_id: c.item_name for c in components if c.case_id}
    events: Iterable[CaseEvent] = CaseEvent.objects.filter(case_id__in=list(names))
    if is_bundle_applicant(actor, bundle_case):  # what they read on each case's own timeline
        events = [
            case_selectors.for_applicant(e)
            for e in case_selectors.applicant_events(
                CaseEvent.objects.filter(case_id__in=list(names))
            ).annotate(actor_kind=F("actor__kind"))
        ]
    entries += [
        TimelineEntry(
            e.at, names[e.case_id], e.action, ACTION_LABELS.get(e.action, e.action), e.reason
        )
        for e in events
    ]
    entries.sort(key=lambda e: e.at)
    return entries
