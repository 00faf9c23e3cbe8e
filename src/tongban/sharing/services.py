"""Sharing services: lookups (each one logged), consent, and filling an application's 系统填
fields and 免提交 materials from data sources.

``lookup`` is the one way to ask a data source. It works out whose data is asked (the
applicant enterprise for an enterprise source, else the applicant person), refuses — and logs
the refusal — when the source needs consent and there is none, asks the configured connector and
appends one ``DataLookup`` row whatever the answer. Lookups are made outside any transaction
that holds locks (a slow source never holds the draft), and the log row is written even when
the caller's later work fails: the lookup happened. ``lookup_subject`` is the case-less
variant for administrative use (profile refreshes): it names its subject, purpose and legal
basis itself, and is logged the same way (``case`` empty; ``requester`` empty for a job).

``check_fill_draft`` asks every source the draft's 系统填 fields and 免提交 materials need, and
those of the facts its 秒办 rules use (``tongban.sharing.facts``), each at most once, then
stores the outcome in one transaction with the draft locked
(``cases.applications.check_store_shared_values``): fetched values on the form, ``SharedItem``
rows for what was obtained and for what was not, with the reason. What was obtained before is
kept; only what is still missing is asked again. A source that is down never blocks the
application: the applicant types or uploads instead and can ask again later.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongban.cases import applications, instant
from tongban.cases.models import Case, CaseState
from tongban.cases.services import state_conflict
from tongban.core.errors import FieldError, NotFound, ValidationFailed
from tongban.core.masking import mask_id_number
from tongban.identity.models import Enterprise, Person
from tongban.sharing import exemptions, facts, synthetic
from tongban.sharing.connectors import Query, connector_for
from tongban.sharing.models import (
    Consent,
    DataLookup,
    LookupBasis,
    LookupResult,
    RegistryRecord,
    SharedItem,
    SharedStatus,
    SharedTarget,
    SubjectKind,
)
from tongban.sharing.sources import ENTERPRISE, PERSON, DataSource, source

NOT_APPLICABLE = "not_applicable"


@dataclass(frozen=True)
class Subject:
    kind: str
    identifier: str

    @property
    def masked(self) -> str:
        return mask_id_number(self.identifier) if self.kind == PERSON else self.identifier

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.kind}:{self.identifier}".encode()).hexdigest()


@dataclass(frozen=True)
class LookupOutcome:
    source: str
    source_label: str
    result: str  # a LookupResult value or NOT_APPLICABLE
    record: dict[str, Any] | None = None
    reason: str = ""  # for the applicant, when nothing was found
    needs_consent: str = ""  # the source, when the lookup was refused for lack of consent
    lookup_id: int | None = None


def subject_for(case: Case, data_source: DataSource) -> Subject | None:
    """Whose data a source is asked about for ``case``: the applicant enterprise for an
    enterprise source, else the applicant person."""
    enterprise = case.applicant_enterprise
    person = case.applicant_person
    if enterprise is not None and ENTERPRISE in data_source.subjects:
        return Subject(ENTERPRISE, enterprise.uscc)
    if person is not None and PERSON in data_source.subjects:
        return Subject(PERSON, person.id_number)
    return None


def purpose_for(case: Case) -> str:
    reference = case.number or _("申请草稿 %(id)s") % {"id": case.pk}
    return _("办理“%(item)s”（%(ref)s）") % {"item": case.item_name, "ref": reference}


def active_consent(case: Case, code: str) -> Consent | None:
    return Consent.objects.filter(case=case, source=code, withdrawn_at__isnull=True).first()


def _reason(result: str, data_source: DataSource, detail: str = "") -> str:
    label = data_source.label
    if result == LookupResult.NOT_FOUND:
        return _("%(source)s中没有查到相关记录，请上传或填写") % {"source": label}
    if result == LookupResult.CIRCUIT_OPEN:
        return _("%(source)s暂时无法访问（已暂停调用，稍后可重新获取），请上传或填写") % {
            "source": label
        }
    if result == LookupResult.ERROR:
        return _("%(source)s暂时无法访问，请上传或填写，也可稍后重新获取") % {"source": label}
    if result == LookupResult.REFUSED:
        return _("查询%(source)s需要您的授权；授权后可免于提交，也可直接上传或填写") % {
            "source": label
        }
    return detail


def lookup(actor: Any, case: Case, code: str, *, purpose: str = "") -> LookupOutcome:
    """Ask data source ``code`` about the applicant of ``case`` and log the lookup."""
    data_source = source(code)
    subject = subject_for(case, data_source)
    if subject is None:
        kinds = "、".join(str(SubjectKind(k).label) for k in data_source.subjects)
        return LookupOutcome(
            code,
            data_source.label,
            NOT_APPLICABLE,
            reason=_("%(source)s只登记%(kinds)s的信息，本申请无法查询，请上传或填写")
            % {"source": data_source.label, "kinds": kinds},
        )
    purpose = (purpose or purpose_for(case))[:255]
    consent = None if data_source.legal_basis else active_consent(case, code)
    row = DataLookup(
        requester=actor,
        case=case,
        source=code,
        subject_kind=subject.kind,
        subject_masked=subject.masked,
        subject_digest=subject.digest,
        legal_basis=data_source.legal_basis[:255],
        consent=consent,
        purpose=purpose,
    )
    if data_source.legal_basis:
        row.basis = LookupBasis.LEGAL_BASIS
    elif consent is not None:
        row.basis = LookupBasis.CONSENT
    else:
        row.basis = LookupBasis.NONE
        row.connector = ""
        row.result = LookupResult.REFUSED
        row.detail = _("无法定依据，且申请人未授权")
        row.save()
        return LookupOutcome(
            code,
            data_source.label,
            LookupResult.REFUSED,
            reason=_reason(LookupResult.REFUSED, data_source),
            needs_consent=code,
            lookup_id=row.pk,
        )
    connector = connector_for(code)
    basis = data_source.legal_basis or f"consent:{consent.pk if consent else ''}"
    started = time.monotonic()
    answer = connector.fetch(Query(code, subject.kind, subject.identifier, purpose, basis))
    row.connector = connector.key
    row.result = answer.result
    row.detail = answer.detail[:255]
    row.attempts = answer.attempts
    row.duration_ms = int((time.monotonic() - started) * 1000)
    row.save()
    return LookupOutcome(
        code,
        data_source.label,
        answer.result,
        record=answer.record,
        reason=_reason(answer.result, data_source, answer.detail),
        lookup_id=row.pk,
    )


def lookup_subject(
    actor: Any,
    *,
    code: str,
    purpose: str,
    legal_basis: str,
    subject_person: str = "",
    subject_enterprise: str = "",
) -> LookupOutcome:
    """Ask data source ``code`` about a person (身份证号) or an enterprise (统一社会信用代码)
    outside any application — administrative use on a stated legal basis (e.g. refreshing the
    一人一档/一企一档 of 惠企惠民 policies) — and log the lookup with its purpose and basis.

    ``actor`` is the staff account asking, or ``None`` for a scheduled job of the platform.
    Purpose and legal basis are required: without them nothing is asked."""
    data_source = source(code)
    if bool(subject_person) == bool(subject_enterprise):
        raise ValidationFailed(
            _("请指定一个查询对象（自然人或法人）"),
            code="subject_required",
            errors=[FieldError("subject", _("请指定一个查询对象"))],
        )
    subject = (
        Subject(PERSON, subject_person)
        if subject_person
        else Subject(ENTERPRISE, subject_enterprise)
    )
    errors = []
    if subject.kind not in data_source.subjects:
        errors.append(FieldError("source", _("该数源不登记此类对象的信息")))
    if not purpose.strip():
        errors.append(FieldError("purpose", _("请说明查询用途")))
    if not legal_basis.strip():
        errors.append(FieldError("legal_basis", _("请说明查询的法定依据")))
    if errors:
        raise ValidationFailed(
            _("无法查询%(source)s") % {"source": data_source.label},
            code="lookup_invalid",
            errors=errors,
        )
    basis = legal_basis.strip()[:255]
    connector = connector_for(code)
    started = time.monotonic()
    answer = connector.fetch(
        Query(code, subject.kind, subject.identifier, purpose.strip()[:255], basis)
    )
    row = DataLookup.objects.create(
        requester=actor if getattr(actor, "is_authenticated", False) else None,
        case=None,
        source=code,
        connector=connector.key,
        subject_kind=subject.kind,
        subject_masked=subject.masked,
        subject_digest=subject.digest,
        basis=LookupBasis.LEGAL_BASIS,
        legal_basis=basis,
        purpose=purpose.strip()[:255],
        result=answer.result,
        detail=answer.detail[:255],
        attempts=answer.attempts,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    return LookupOutcome(
        code,
        data_source.label,
        answer.result,
        record=answer.record,
        reason=_reason(answer.result, data_source, answer.detail),
        lookup_id=row.pk,
    )


# --- consent ------------------------------------------------------------------------------------


def _draft(actor: Any, draft_id: int) -> Case:
    case = applications.draft_for(actor, draft_id)
    if case.state != CaseState.DRAFT:
        raise state_conflict(
            actor,
            case,
            _("该申请已提交（%(number)s），不能再获取共享数据") % {"number": case.number},
            "already_submitted",
        )
    return case


@transaction.atomic
def check_give_consent(actor: Any, draft_id: int, code: str, *, purpose: str = "") -> Consent:
    """The applicant consents that ``code`` may be asked about them for this application
    (recorded with time and purpose). Giving it again keeps the consent already given."""
    case = _draft(actor, draft_id)
    data_source = source(code)
    if not data_source.needs_consent:
        raise ValidationFailed(
            _("%(source)s依法可以查询，无需授权") % {"source": data_source.label},
            code="consent_not_needed",
            errors=[FieldError("source", _("该数源无需授权"))],
        )
    subject = subject_for(case, data_source)
    if subject is None:
        raise ValidationFailed(
            _("本申请无法查询%(source)s") % {"source": data_source.label},
            code="source_not_applicable",
            errors=[FieldError("source", _("本申请无法查询该数源"))],
        )
    Case.objects.select_for_update(of=("self",)).filter(pk=case.pk).first()
    existing = active_consent(case, code)
    if existing is not None:
        return existing
    return Consent.objects.create(
        case=case,
        source=code,
        subject_kind=subject.kind,
        subject_masked=subject.masked,
        purpose=(purpose.strip() or purpose_for(case))[:255],
        given_by=actor,
    )


@transaction.atomic
def check_withdraw_consent(actor: Any, draft_id: int, code: str) -> None:
    case = _draft(actor, draft_id)
    source(code)
    consent = (
        Consent.objects.select_for_update()
        .filter(case=case, source=code, withdrawn_at__isnull=True)
        .first()
    )
    if consent is None:
        raise NotFound(_("没有对该数源的授权"), code="consent_not_found")
    consent.withdrawn_at = timezone.now()
    consent.save(update_fields=["withdrawn_at"])


# --- filling a draft ----------------------------------------------------------------------------


@dataclass
class _Context:
    """One fill: each source is asked at most once."""

    actor: Any
    case: Case
    asked: dict[str, LookupOutcome] = field(default_factory=dict)

    def lookup(self, code: str) -> LookupOutcome:
        if code not in self.asked:
            self.asked[code] = lookup(self.actor, self.case, code)
        return self.asked[code]


@dataclass(frozen=True)
class FillReport:
    obtained: list[str]
    unavailable: dict[str, str]  # "field:key" / "material:key" / "fact:name" → reason
    consents: list[str]  # sources waiting for consent
    lookups: int


def _field_item(case: Case, slot: applications.FieldSlot, outcome: LookupOutcome) -> SharedItem:
    item = SharedItem(
        case=case,
        target=SharedTarget.FIELD,
        key=slot.key,
        source=outcome.source,
        source_label=outcome.source_label[:128],
        lookup_id=outcome.lookup_id,
        needs_consent=outcome.needs_consent,
    )
    raw = (outcome.record or {}).get(slot.element_code)
    if outcome.result != LookupResult.FOUND:
        item.status, item.reason = SharedStatus.UNAVAILABLE, outcome.reason[:255]
    elif raw in (None, ""):
        item.status = SharedStatus.UNAVAILABLE
        item.reason = _("%(source)s的记录中没有“%(label)s”，请填写") % {
            "source": outcome.source_label,
            "label": slot.label,
        }
    else:
        try:
            item.value = applications.clean_value(slot.element, str(raw))
        except ValueError as exc:
            item.status = SharedStatus.UNAVAILABLE
            item.reason = _("%(source)s返回的“%(label)s”不符合要求（%(problem)s），请填写") % {
                "source": outcome.source_label,
                "label": slot.label,
                "problem": exc,
            }
        else:
            item.status = SharedStatus.OBTAINED
            item.summary = str(raw)[:255] if not slot.personal else ""
    return item


def _material_item(
    case: Case, slot: applications.MaterialSlot, answer: exemptions.Resolution
) -> SharedItem:
    return SharedItem(
        case=case,
        target=SharedTarget.MATERIAL,
        key=slot.key,
        source=answer.source[:64],
        source_label=answer.source_label[:128],
        status=SharedStatus.OBTAINED if answer.satisfied else SharedStatus.UNAVAILABLE,
        summary=answer.summary[:255],
        reference=answer.reference[:64],
        reason="" if answer.satisfied else answer.reason[:255],
        needs_consent=answer.needs_consent[:32],
        lookup_id=answer.lookup_id,
    )


def _fact_item(case: Case, fact: facts.SharedFact, outcome: LookupOutcome) -> SharedItem:
    item = SharedItem(
        case=case,
        target=SharedTarget.FACT,
        key=fact.name,
        source=outcome.source,
        source_label=outcome.source_label[:128],
        lookup_id=outcome.lookup_id,
        needs_consent=outcome.needs_consent,
        reference=str((outcome.record or {}).get("reference", ""))[:64],
    )
    value = fact.value_of(outcome.record or {})
    if outcome.result == LookupResult.NOT_FOUND and fact.when_not_found is not None:
        item.status, item.value = SharedStatus.OBTAINED, fact.when_not_found  # not on the list
        item.summary = facts.not_found_summary(outcome.source_label)[:255]
    elif outcome.result != LookupResult.FOUND:
        item.status, item.reason = SharedStatus.UNAVAILABLE, outcome.reason[:255]
    elif value is None:
        item.status = SharedStatus.UNAVAILABLE
        item.reason = facts.missing_reason(fact, outcome.source_label)[:255]
    else:
        item.status, item.value = SharedStatus.OBTAINED, value
        item.summary = str((outcome.record or {}).get("summary", ""))[:255]
    return item


def _store(items: list[SharedItem]) -> None:
    now = timezone.now()
    for item in items:
        SharedItem.objects.update_or_create(
            case=item.case,
            target=item.target,
            key=item.key,
            defaults={
                "source": item.source,
                "source_label": item.source_label,
                "status": item.status,
                "value": item.value,
                "summary": item.summary,
                "reference": item.reference,
                "reason": item.reason,
                "needs_consent": item.needs_consent,
                "lookup_id": item.lookup_id,
                "at": now,
            },
        )


def check_fill_draft(actor: Any, draft_id: int, *, only_new: bool = False) -> FillReport:
    """Fill the draft's 系统填 fields and resolve its 免提交 materials from shared data.

    What was obtained earlier is kept and not asked again; ``only_new`` also skips what was
    tried before without success (used at submission, so a source that is down does not slow
    every attempt to submit)."""
    case = _draft(actor, draft_id)
    application = applications.application_of(case)
    known = {
        (i.target, i.key): i.status
        for i in SharedItem.objects.filter(case=case).only("target", "key", "status")
    }

    def wanted(target: str, key: str) -> bool:
        status = known.get((target, key))
        return status is None or (status == SharedStatus.UNAVAILABLE and not only_new)

    context = _Context(actor, case)
    items: list[SharedItem] = []
    for slot in application.fields:
        if slot.prefill == "data_source" and slot.data_source and wanted("field", slot.key):
            items.append(_field_item(case, slot, context.lookup(slot.data_source)))
    for material in application.materials:
        shareable = material.licence_type or material.data_source
        if shareable and wanted("material", material.key):
            need = exemptions.MaterialNeed(
                material.key, material.name, material.licence_type, material.data_source
            )
            items.append(_material_item(case, material, exemptions.resolve(context, need)))
    for fact in facts.facts_used(instant.names_used(case.item_version)):
        if wanted(SharedTarget.FACT, fact.name):
            items.append(_fact_item(case, fact, context.lookup(fact.source)))
    values = {
        i.key: i.value
        for i in items
        if i.target == SharedTarget.FIELD and i.status == SharedStatus.OBTAINED
    }
    if items:
        applications.check_store_shared_values(
            actor, draft_id, values, record=lambda _case: _store(items)
        )
    return FillReport(
        obtained=[f"{i.target}:{i.key}" for i in items if i.status == SharedStatus.OBTAINED],
        unavailable={
            f"{i.target}:{i.key}": i.reason for i in items if i.status == SharedStatus.UNAVAILABLE
        },
        consents=sorted({i.needs_consent for i in items if i.needs_consent}),
        lookups=sum(1 for outcome in context.asked.values() if outcome.lookup_id),
    )


# --- the local registry -------------------------------------------------------------------------


@transaction.atomic
def do_load_registry_records(rows: Iterable[tuple[str, str, dict[str, Any]]]) -> int:
    """Store local registry records (source, subject, data), replacing a subject's earlier
    record of the same source; returns how many rows were new or changed (a second load of
    the same records writes nothing)."""
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for code, subject, data in rows:
        source(code)
        wanted[(code, subject)] = data
    existing = {
        (code, subject): data
        for code, subject, data in RegistryRecord.objects.filter(
            subject__in={subject for _code, subject in wanted}
        ).values_list("source", "subject", "data")
    }
    changed = [
        RegistryRecord(source=code, subject=subject, data=data, sample=True)
        for (code, subject), data in wanted.items()
        if existing.get((code, subject)) != data
    ]
    RegistryRecord.objects.bulk_create(
        changed,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["source", "subject"],
        update_fields=["data", "sample", "updated_at"],
    )
    return len(changed)


def load_synthetic_records(
    persons: Iterable[Person] = (),
    enterprises: Iterable[Enterprise] = (),
    *,
    ensure: Iterable[str] = (),
    dishonest: Iterable[str] = (),
) -> int:
    """Generate and store the deterministic synthetic records of registered persons and
    enterprises (``ensure``: sources every one of them has a record in; ``dishonest``: the
    身份证号 and 统一社会信用代码 the sample lists as 失信被执行人)."""
    wanted = list(ensure)
    listed = set(dishonest)
    rows: list[tuple[str, str, dict[str, Any]]] = []
    for p in persons:
        facts = synthetic.PersonFacts(p.id_number, p.name, p.gender, p.birth_date, p.address)
        records = synthetic.person_records(facts, wanted, dishonest=p.id_number in listed)
        rows += [(c, p.id_number, d) for c, d in records.items()]
    for e in enterprises:
        representative = e.legal_representative.name if e.legal_representative else ""
        facts_e = synthetic.EnterpriseFacts(
            e.uscc, e.name, e.address, e.industry_code, e.registered_on, representative
        )
        records = synthetic.enterprise_records(facts_e, wanted, dishonest=e.uscc in listed)
        rows += [(c, e.uscc, d) for c, d in records.items()]
    return do_load_registry_records(rows)
