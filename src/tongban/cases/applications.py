"""What an application (申请) is made of, for the applicant filling it in and for staff reading it:
the 情形 answers in words, the form fields and materials that apply (decided by the catalog's
guide from the case's answers), the files uploaded per material, and what is still missing.

Prefill: 自动填 fields come from the account's verified identity (the ``Person``, or the
enterprise the applicant acts for) — name and 身份证号/统一社会信用代码 are taken from there and
cannot be typed over; 选择填 fields offer the values the applicant gave in earlier cases.
系统填 fields and 免提交 materials are answered by a shared-data provider another app registers
(``register_shared_data``; the ``sharing`` app): a value fetched from a data source is shown
with its source and cannot be typed over, a material it satisfied needs no upload, and whatever
it could not fetch falls back to typing or uploading, with its reason.
``check_save_draft_form`` checks each value against its data element (数据元: type, validator,
length, choices) and stores the form on the draft; ``check_submit_application`` refuses a draft
that lacks a required field or a required material, then submits it
(``tongban.cases.services.submit_draft``).
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from tongban.cases import access, services
from tongban.cases.models import Case, CaseMaterial, CaseState, Commitment
from tongban.catalog.guide import GuideSpec, evaluate, parse_answers, spec_for
from tongban.catalog.models import DataElement, ItemVersion
from tongban.core.errors import FieldError, NotFound, ValidationFailed
from tongban.core.identifiers import InvalidIdentifier, check_id_number, check_uscc
from tongban.core.masking import mask_address, mask_id_number, mask_mobile, mask_name
from tongban.identity.models import Enterprise, Person

# 自动填: data element → the value in the verified identity record.
_PERSON_VALUES: dict[str, Callable[[Person], Any]] = {
    "person_name": lambda p: p.name,
    "id_number": lambda p: p.id_number,
    "mobile": lambda p: p.mobile,
    "address": lambda p: p.address,
    "birth_date": lambda p: p.birth_date.isoformat(),
    "gender": lambda p: p.get_gender_display(),
}
_ENTERPRISE_VALUES: dict[str, Callable[[Enterprise], Any]] = {
    "enterprise_name": lambda e: e.name,
    "uscc": lambda e: e.uscc,
    "industry_code": lambda e: e.industry_code,
}
# Taken from the verified identity as they are; the applicant cannot type over them.
LOCKED_ELEMENTS = frozenset({"person_name", "id_number", "enterprise_name", "uscc"})
# Personal data shown masked to staff until they deliberately ask (and it is logged).
_MASKS: dict[str, Callable[[str], str]] = {
    "person_name": mask_name,
    "id_number": mask_id_number,
    "mobile": mask_mobile,
    "address": mask_address,
    "household_address": mask_address,
    "bank_account": mask_id_number,
    "social_security_card_no": mask_id_number,
}
HISTORY_OPTIONS = 5
# The most digits an integer form value may have: no more than Python itself converts
# (``sys.get_int_max_str_digits``, 4,300 by default) — past it ``int()`` refuses in English.
MAX_INTEGER_DIGITS = min(4300, sys.get_int_max_str_digits() or 4300)
_HISTORY_CASES = 20


def is_personal(element_code: str) -> bool:
    """Whether values of the data element are personal data staff first see masked."""
    return element_code in _MASKS


def mask_personal(element_code: str, text: str) -> str:
    """``text`` as staff first see it: masked when the data element holds personal data."""
    mask = _MASKS.get(element_code)
    return mask(text) if mask and text else text


@dataclass(frozen=True)
class AnswerLine:
    question: str
    answer: str


@dataclass(frozen=True)
class FieldSlot:
    """One form field that applies to the case, with its value."""

    key: str
    label: str
    element: DataElement | None
    element_code: str
    required: bool
    prefill: str
    value: Any
    options: tuple[str, ...] = ()  # 选择填: values from earlier cases
    locked: bool = False
    data_source: str = ""  # 系统填: the 数源 the catalog names
    shared_from: str = ""  # 系统填: the source the value was fetched from (shown with it)
    shared_at: dt.datetime | None = None
    shared_note: str = ""  # 系统填: why the value could not be fetched (the applicant types it)
    needs_consent: str = ""  # 系统填: the data source that may be asked once the applicant consents

    @property
    def value_type(self) -> str:
        return self.element.value_type if self.element else "text"

    @property
    def choices(self) -> list[str]:
        return list(self.element.choices) if self.element else []

    @property
    def display(self) -> str:
        return _display(self.value)

    @property
    def personal(self) -> bool:
        return is_personal(self.element_code)

    @property
    def masked(self) -> str:
        return mask_personal(self.element_code, self.display)

    @property
    def input_value(self) -> str:
        if isinstance(self.value, bool):
            return "yes" if self.value else "no"
        return "" if self.value is None else str(self.value)


@dataclass(frozen=True)
class MaterialSlot:
    """One material that applies to the case, with the files uploaded for it (newest first)."""

    key: str
    name: str
    requirement: str
    formats: tuple[str, ...]
    max_size_mb: int
    licence_type: str
    data_source: str
    commitment_replaceable: bool
    notes: str
    files: tuple[CaseMaterial, ...]
    committed: bool = False  # replaced by the applicant's signed commitment (告知承诺)
    evidence: SharedEvidence | None = None  # 免提交: what was obtained instead of a file
    shared_note: str = ""  # why nothing could be obtained (the applicant uploads)
    needs_consent: str = ""  # the data source that may be asked once the applicant consents

    @property
    def current(self) -> CaseMaterial | None:
        return next((f for f in self.files if not f.superseded), None)

    @property
    def earlier(self) -> tuple[CaseMaterial, ...]:
        return tuple(f for f in self.files if f.superseded)

    @property
    def exempt(self) -> bool:
        """免提交: an e-licence or shared data stands in for the file — once it was obtained;
        when it could not be, the file is needed after all. Before any lookup (no sharing
        layer, or a draft it has not seen yet) the catalog's declaration stands."""
        if self.evidence is not None:
            return True
        if self.shared_note:
            return False
        return bool(self.licence_type or self.data_source)

    @property
    def needs_upload(self) -> bool:
        return (
            self.requirement == "required"
            and not self.exempt
            and not self.committed
            and self.current is None
        )

    @property
    def accept(self) -> str:
        """The ``accept`` attribute of a file input for this material."""
        extensions = {"jpg": ".jpg,.jpeg", "doc": ".doc", "xls": ".xls"}
        return ",".join(extensions.get(f, f".{f}") for f in self.formats)


@dataclass(frozen=True)
class SharedValue:
    """系统填: a form value fetched from a data source."""

    value: Any
    source: str  # e.g. 户籍信息（公安）
    obtained_at: dt.datetime


@dataclass(frozen=True)
class SharedEvidence:
    """免提交: what stands in for a material's file, from where and when."""

    summary: str
    source: str
    reference: str
    obtained_at: dt.datetime


@dataclass(frozen=True)
class SharedData:
    """What the shared-data provider obtained for one application, or could not."""

    values: Mapping[str, SharedValue]  # field key → value
    evidence: Mapping[str, SharedEvidence]  # material key → evidence
    field_notes: Mapping[str, str]  # field key → why it could not be fetched
    material_notes: Mapping[str, str]  # material key → why it could not be obtained
    consents: Mapping[str, str]  # "form.<key>"/"materials.<key>" → a source awaiting consent


SharedDataProvider = Callable[[Case], SharedData]
_shared_providers: dict[str, SharedDataProvider] = {}
_NO_SHARED = SharedData({}, {}, {}, {}, {})


def register_shared_data(provider: SharedDataProvider, name: str = "sharing") -> None:
    """Let an app answer 系统填 and 免提交 for applications (registering a name again
    replaces it)."""
    _shared_providers[name] = provider


def shared_data(case: Case) -> SharedData:
    if not _shared_providers or case.pk is None:
        return _NO_SHARED
    found = [provider(case) for provider in _shared_providers.values()]
    if len(found) == 1:
        return found[0]
    merged: dict[str, dict[str, Any]] = {
        "values": {},
        "evidence": {},
        "field_notes": {},
        "material_notes": {},
        "consents": {},
    }
    for data in found:
        for name, part in merged.items():
            part.update(getattr(data, name))
    return SharedData(**merged)


@dataclass(frozen=True)
class Application:
    case: Case
    answers: tuple[AnswerLine, ...]
    fields: tuple[FieldSlot, ...]
    materials: tuple[MaterialSlot, ...]
    other_files: tuple[CaseMaterial, ...]  # files of materials that no longer apply
    commitment: Commitment | None = None  # 告知承诺, when the applicant chose it
    unanswered: tuple[str, ...] = ()  # 情形 questions the answers leave open

    @property
    def missing(self) -> list[FieldError]:
        """What a submission still lacks, with the path of the input at fault."""
        errors = [
            FieldError(f"form.{f.key}", _("请填写“%(label)s”") % {"label": f.label})
            for f in self.fields
            if f.required and f.display == ""
        ]
        errors += [
            FieldError(f"materials.{m.key}", _("请上传“%(name)s”") % {"name": m.name})
            for m in self.materials
            if m.needs_upload
        ]
        return errors

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def tolerable_missing(self) -> tuple[MaterialSlot, ...]:
        """The materials marked 容缺 that apply and are not there (no file, nothing stands in
        for one, not committed): a submission may lack them, an acceptance must name them as
        tolerated (``transitions.accept``)."""
        return tuple(
            m
            for m in self.materials
            if m.requirement == "tolerable"
            and not m.exempt
            and not m.committed
            and m.current is None
        )

    @property
    def consent_sources(self) -> list[str]:
        """Data sources that may be asked once the applicant consents (系统填/免提交)."""
        wanted = [f.needs_consent for f in self.fields] + [m.needs_consent for m in self.materials]
        return list(dict.fromkeys(code for code in wanted if code))

    @property
    def shared_missing(self) -> bool:
        """Something shared data could not provide (a source down, no record, no consent)."""
        return any(f.shared_note for f in self.fields) or any(
            m.shared_note and m.current is None for m in self.materials
        )

    @property
    def material_names(self) -> dict[str, str]:
        return {m.key: m.name for m in self.materials}


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("是") if value else _("否")
    return str(value)


def _answer_text(spec: GuideSpec, key: str, value: Any) -> str:
    question = next(q for q in spec.questions if q.spec.key == key)
    labels = dict(question.options)
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, tuple):
        return "、".join(str(labels.get(v, v)) for v in value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(labels.get(value, value)) if isinstance(value, str) else str(value)


def _elements(codes: Iterable[str]) -> dict[str, DataElement]:
    return {e.code: e for e in DataElement.objects.filter(code__in=sorted(set(codes)))}


def _guide(case: Case) -> tuple[GuideSpec, Any]:
    spec = spec_for(case.item_version)
    try:
        answers = parse_answers(spec, case.answers or {})
    except ValidationFailed:
        answers = {}
    return spec, evaluate(spec, answers)


def application_of(
    case: Case,
    *,
    history: Mapping[str, tuple[str, ...]] | None = None,
    attached: list[CaseMaterial] | None = None,
) -> Application:
    """The application as filed (or being filled in): answers, fields, materials and files.

    Costs four queries (data elements, files, commitment — only for a case filed on one —,
    shared data); the guide is compiled
    once per item version. ``attached`` is for a draft the caller created in its own open
    transaction without a commitment: its files are those given, and nothing was shared for it
    yet, so only the data elements are read."""
    spec, result = _guide(case)
    shared = shared_data(case) if attached is None else _NO_SHARED
    answered = {q.key: q for q in result.questions if q.state == "asked" and q.answer is not None}
    answers = tuple(
        AnswerLine(q.text, _answer_text(spec, q.key, q.answer)) for q in answered.values()
    )
    applying = [f.field for f in result.fields if f.status == "applies"]
    elements = _elements(f.element_code for f in applying)
    form = case.form_data or {}
    fields = tuple(
        FieldSlot(
            key=f.key,
            label=f.label,
            element=elements.get(f.element_code),
            element_code=f.element_code,
            required=f.required,
            prefill=f.prefill,
            value=shared.values[f.key].value if f.key in shared.values else form.get(f.key),
            options=(history or {}).get(f.key, ()),
            locked=(f.prefill == "identity" and f.element_code in LOCKED_ELEMENTS)
            or f.key in shared.values,
            data_source=f.data_source,
            shared_from=shared.values[f.key].source if f.key in shared.values else "",
            shared_at=shared.values[f.key].obtained_at if f.key in shared.values else None,
            shared_note=shared.field_notes.get(f.key, ""),
            needs_consent=shared.consents.get(f"form.{f.key}", ""),
        )
        for f in applying
    )
    files: dict[str, list[CaseMaterial]] = {}
    on_file = case.materials.all() if attached is None else attached
    for stored in sorted(on_file, key=lambda m: m.uploaded_at, reverse=True):
        files.setdefault(stored.material_key, []).append(stored)
    materials = tuple(
        MaterialSlot(
            key=m.material.key,
            name=m.material.name,
            requirement=m.material.requirement,
            formats=m.material.formats,
            max_size_mb=m.material.max_size_mb,
            licence_type=m.material.licence_type,
            data_source=m.material.data_source,
            commitment_replaceable=m.material.commitment_replaceable,
            notes=m.material.notes,
            files=tuple(files.pop(m.material.key, ())),
            evidence=shared.evidence.get(m.material.key),
            shared_note=shared.material_notes.get(m.material.key, ""),
            needs_consent=shared.consents.get(f"materials.{m.material.key}", ""),
        )
        for m in result.materials
        if m.status == "applies"
    )
    commitment = (
        Commitment.objects.filter(case=case).first()
        if attached is None and case.filed_on_commitment
        else None
    )
    committed = set(commitment.materials) if commitment else set()
    materials = tuple(replace(m, committed=m.key in committed) for m in materials)
    other = tuple(f for group in files.values() for f in group)
    return Application(
        case, answers, fields, materials, other, commitment, tuple(result.unanswered)
    )


def missing_by_case(cases: Iterable[Case]) -> dict[int, list[str]]:
    """For a page of cases (a queue), the names of the required fields and materials each one
    lacks — two queries for the whole page (uploaded files, commitments)."""
    cases = list(cases)
    ids = [c.pk for c in cases]
    uploaded: dict[int, set[str]] = {}
    for case_id, key in CaseMaterial.objects.filter(case_id__in=ids, superseded=False).values_list(
        "case_id", "material_key"
    ):
        uploaded.setdefault(case_id, set()).add(key)
    committed: dict[int, set[str]] = {
        case_id: set(keys)
        for case_id, keys in Commitment.objects.filter(case_id__in=ids).values_list(
            "case_id", "materials"
        )
    }
    report: dict[int, list[str]] = {}
    for case in cases:
        _spec, result = _guide(case)
        form = case.form_data or {}
        have = uploaded.get(case.pk, set()) | committed.get(case.pk, set())
        report[case.pk] = [
            f.field.label
            for f in result.fields
            if f.status == "applies" and f.field.required and form.get(f.field.key) in (None, "")
        ] + [
            m.material.name
            for m in result.materials
            if m.status == "applies"
            and m.material.requirement == "required"
            and not (m.material.licence_type or m.material.data_source)
            and m.material.key not in have
        ]
    return report


# --- prefill --------------------------------------------------------------------------------------


def _identity_value(element: str, person: Person | None, enterprise: Enterprise | None) -> Any:
    if enterprise is not None and element in _ENTERPRISE_VALUES:
        return _ENTERPRISE_VALUES[element](enterprise) or None
    if person is not None and element in _PERSON_VALUES:
        return _PERSON_VALUES[element](person) or None
    return None


def _earlier_forms(
    actor: Any, enterprise_id: int | None, exclude: int | None = None
) -> list[dict[str, Any]]:
    """Forms of the same applicant's earlier submitted cases, newest first: the person's own
    when applying for themselves, the enterprise's (filed by any of its 经办人) when applying
    for it — never another applicant's, and only while the actor may act for the enterprise."""
    if enterprise_id is None:
        cases = Case.objects.filter(submitted_by=actor, applicant_enterprise__isnull=True)
    else:
        cases = Case.objects.filter(
            access.applicant_scope(actor), applicant_enterprise_id=enterprise_id
        )
    cases = cases.exclude(state=CaseState.DRAFT).exclude(form_data={})
    if exclude is not None:
        cases = cases.exclude(pk=exclude)
    return list(cases.order_by("-id").values_list("form_data", flat=True)[:_HISTORY_CASES])


def history_options(actor: Any, case: Case) -> dict[str, tuple[str, ...]]:
    """选择填: for each 选择填 field of the case, the distinct values the applicant entered in
    earlier cases (newest first), matched by field key."""
    _spec, result = _guide(case)
    keys = [f.field.key for f in result.fields if f.field.prefill == "history"]
    if not keys:
        return {}
    options: dict[str, list[str]] = {key: [] for key in keys}
    for form in _earlier_forms(actor, case.applicant_enterprise_id, exclude=case.pk):
        for key in keys:
            value = form.get(key)
            if value not in (None, "") and str(value) not in options[key]:
                options[key].append(str(value))
    return {key: tuple(values[:HISTORY_OPTIONS]) for key, values in options.items() if values}


def initial_form_data(
    actor: Any,
    version: ItemVersion,
    *,
    enterprise: Enterprise | None = None,
    copy_of: Case | None = None,
) -> dict[str, Any]:
    """The form a new application starts with: 自动填 from the verified identity, 选择填 with
    the latest value from the applicant's earlier cases. ``copy_of`` (再来一单) starts from that
    case's form instead, with the identity fields refreshed."""
    spec = spec_for(version)
    person = getattr(actor, "person", None)
    copied = (copy_of.form_data or {}) if copy_of is not None else {}
    elements = _elements(f.element_code for f in spec.fields) if spec.fields else {}
    data: dict[str, Any] = {}
    earlier: list[dict[str, Any]] | None = None
    for field in spec.fields:
        element = elements.get(field.element_code)
        if field.prefill == "identity":
            value = _identity_value(field.element_code, person, enterprise)
            if value is None:
                value = _recheck(element, copied.get(field.key))
        elif field.key in copied:
            value = _recheck(element, copied[field.key])
        elif field.prefill == "history":
            if earlier is None:
                earlier = _earlier_forms(actor, enterprise.pk if enterprise else None)
            value = next(
                (
                    checked
                    for f in earlier
                    if (checked := _recheck(element, f.get(field.key))) is not None
                ),
                None,
            )
        else:
            continue
        if value is not None:
            data[field.key] = value
    return data


def _recheck(element: DataElement | None, value: Any) -> Any:
    """A value from an earlier case checked again against today's data element: ``None`` when
    there is none or it no longer passes (the field is then empty and the applicant types it)
    — a copied form never carries a value the form itself would refuse."""
    if value is None or value == "":
        return None
    raw = ("yes" if value else "no") if isinstance(value, bool) else str(value)
    try:
        return clean_value(element, raw)
    except ValueError:
        return None


def draft_for(actor: Any, draft_id: int) -> Case:
    """One of the applicant's own applications by id (drafts have no number yet)."""
    case = (
        Case.objects.select_related(
            "item_version", "division", "department", "applicant_person", "applicant_enterprise"
        )
        .filter(pk=draft_id)
        .first()
    )
    if case is None or not access.is_case_applicant(actor, case):
        raise NotFound(_("没有找到该申请"), code="draft_not_found")
    return case


# --- checking and saving the form -----------------------------------------------------------------


def clean_value(element: DataElement | None, raw: str) -> Any:
    """A form value checked against its data element; raises ``ValueError`` with a message."""
    value = raw.strip()
    if element is None:
        return value
    if element.max_length and len(value) > element.max_length:
        raise ValueError(_("最多 %(count)d 个字符") % {"count": element.max_length})
    kind = element.value_type
    if kind == "integer":
        if not re.fullmatch(r"[+-]?\d+", value):
            raise ValueError(_("请填写整数"))
        digits = len(value.lstrip("+-"))
        if digits > MAX_INTEGER_DIGITS:
            raise ValueError(_("数字位数过多，最多 %(count)d 位") % {"count": MAX_INTEGER_DIGITS})
        return int(value)
    if kind == "decimal":
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise ValueError(_("请填写数字")) from None
        if not number.is_finite():
            raise ValueError(_("请填写数字"))
        return str(number)
    if kind == "date":
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError(_("请填写日期，格式为 YYYY-MM-DD")) from None
    if kind == "boolean":
        if value in ("yes", "true", "1", "是"):
            return True
        if value in ("no", "false", "0", "否"):
            return False
        raise ValueError(_("请选择“是”或“否”"))
    if kind == "choice":
        if value not in element.choices:
            raise ValueError(_("请从给出的选项中选择"))
        return value
    return _check_text(element, value)


def _check_text(element: DataElement, value: str) -> str:
    validator = element.validator
    try:
        if validator == "id_number":
            return check_id_number(value)
        if validator == "uscc":
            return check_uscc(value)
    except InvalidIdentifier as exc:
        raise ValueError(str(exc)) from None
    if validator == "mobile" and not re.fullmatch(r"1\d{10}", value):
        raise ValueError(_("手机号应为以1开头的11位数字"))
    if validator == "postcode" and not re.fullmatch(r"\d{6}", value):
        raise ValueError(_("邮政编码应为6位数字"))
    if validator == "division" and not re.fullmatch(r"\d{6}(\d{3}){0,2}", value):
        raise ValueError(_("行政区划代码应为6位数字（GB/T 2260）"))
    if validator == "regex" and element.pattern and not re.fullmatch(element.pattern, value):
        raise ValueError(_("格式不正确"))
    return value


def _locked_draft(actor: Any, draft_id: int) -> Case:
    case = (
        Case.objects.select_for_update(of=("self",))
        .select_related("item_version", "applicant_person", "applicant_enterprise", "division")
        .filter(pk=draft_id)
        .first()
    )
    if case is None or not access.is_case_applicant(actor, case):
        raise NotFound(_("没有找到该申请草稿"), code="draft_not_found")
    if case.state != CaseState.DRAFT:
        raise services.state_conflict(
            actor,
            case,
            _("该申请已提交（%(number)s），不能再修改表单") % {"number": case.number},
            "already_submitted",
        )
    return case


@transaction.atomic
def check_save_draft_form(actor: Any, draft_id: int, values: Mapping[str, str]) -> Case:
    """Store the applicant's form on their draft. Every value is checked against its data
    element and all problems are reported at once (paths ``form.<field key>``); 自动填 name and
    certificate numbers are taken from the verified identity whatever was sent. A key the
    item's form has no field for is refused (``未知字段``); a value for a field the 情形
    answers leave out is dropped, as when the answers change (``check_change_answers``)."""
    case = _locked_draft(actor, draft_id)
    spec, result = _guide(case)
    applying = [f.field for f in result.fields if f.status == "applies"]
    elements = _elements(f.element_code for f in applying)
    cleaned: dict[str, Any] = {}
    known = {f.key for f in spec.fields}
    errors = [unknown_field_error(key) for key in values if key not in known]
    shared = shared_data(case).values
    for field in applying:
        if field.key in shared:  # 系统填 from a data source: not typed over
            cleaned[field.key] = shared[field.key].value
            continue
        if field.prefill == "identity" and field.element_code in LOCKED_ELEMENTS:
            value = _identity_value(
                field.element_code, case.applicant_person, case.applicant_enterprise
            )
            if value is not None:
                cleaned[field.key] = value
            continue
        raw = values.get(field.key)
        if not isinstance(raw, str) or not raw.strip():
            continue
        try:
            cleaned[field.key] = clean_value(elements.get(field.element_code), raw)
        except ValueError as exc:
            errors.append(FieldError(f"form.{field.key}", str(exc)))
    if errors:
        raise ValidationFailed(_("表单有内容需要修改"), code="invalid_form", errors=errors)
    case.form_data = cleaned
    case.save(update_fields=["form_data"])
    return case


@transaction.atomic
def check_change_answers(actor: Any, draft_id: int, answers: dict[str, Any]) -> Case:
    """Answer the draft's 情形 questions anew: every question the new answers lead to must be
    answered (422 ``answers.<key>``, nothing changed). Form values of fields that no longer
    apply are dropped; files stay on the draft, listed apart while their material does not
    apply."""
    case = _locked_draft(actor, draft_id)
    spec = spec_for(case.item_version)
    result = evaluate(spec, parse_answers(spec, answers))
    if result.unanswered:
        raise ValidationFailed(
            _("请先回答全部情形问题"),
            code="unanswered",
            errors=[_unanswered_error(key) for key in result.unanswered],
        )
    applying = {f.field.key for f in result.fields if f.status == "applies"}
    case.answers = answers
    case.form_data = {k: v for k, v in (case.form_data or {}).items() if k in applying}
    case.save(update_fields=["answers", "form_data"])
    return case


def unknown_field_error(key: str) -> FieldError:
    """``form.<key>``: no field of the form has this key (refused, never dropped silently)."""
    return FieldError(f"form.{key}", _("未知字段：本事项的表单没有“%(key)s”") % {"key": key})


def _unanswered_error(key: str) -> FieldError:
    return FieldError(f"answers.{key}", _("请回答这个问题"))


@transaction.atomic
def check_start_application(
    actor: Any,
    *,
    item_code: str,
    division_code: str,
    answers: dict[str, Any],
    values: Mapping[str, str],
    enterprise_uscc: str | None = None,
    commitment_materials: list[str] | None = None,
) -> Case:
    """The draft with its form: 自动填 from the verified identity and ``values`` checked as
    ``check_save_draft_form`` checks them (422 ``form.<key>``), all of it or nothing. Every
    情形 question the answers lead to must be answered first (422 ``answers.<key>``), as on
    the guide page: until then it is not known which materials and fields apply."""
    case = services.check_create_draft_here(
        actor,
        item_code=item_code,
        division_code=division_code,
        answers=answers,
        enterprise_uscc=enterprise_uscc,
        commitment_materials=commitment_materials,
    )
    unanswered = _guide(case)[1].unanswered
    if unanswered:  # the draft goes with the transaction
        raise ValidationFailed(
            _("请先回答全部情形问题"),
            code="unanswered",
            errors=[_unanswered_error(key) for key in unanswered],
        )
    return check_save_draft_form(actor, case.pk, values)


@transaction.atomic
def check_store_shared_values(
    actor: Any,
    draft_id: int,
    values: Mapping[str, Any],
    *,
    record: Callable[[Case], None] | None = None,
) -> Case:
    """系统填: put values fetched from data sources on the applicant's draft form, in one
    transaction with the draft locked; ``record`` lets the sharing layer store what it obtained
    in the same transaction. Values typed for other fields are kept."""
    case = _locked_draft(actor, draft_id)
    if record is not None:
        record(case)
    if values:
        case.form_data = {**(case.form_data or {}), **values}
        case.save(update_fields=["form_data"])
    return case


@transaction.atomic
def check_submit_application(actor: Any, draft_id: int) -> Case:
    """Submit a draft once every required field is filled and every required material that
    cannot be exempted has a file; otherwise say what is missing (422)."""
    return _submit_complete(actor, _locked_draft(actor, draft_id))


def check_submit_created(actor: Any, case: Case, attached: list[CaseMaterial]) -> Case:
    """Submit a draft the caller created, without a commitment, in its own (still open)
    transaction, with ``attached`` its files — a 一件事 files its item cases this way — with
    the same completeness check as any submission."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("check_submit_created runs inside the transaction that made the draft")
    if case.state != CaseState.DRAFT or not access.is_case_applicant(actor, case):
        raise NotFound(_("没有找到该申请草稿"), code="draft_not_found")
    return _submit_complete(actor, case, attached)


def _submit_complete(actor: Any, case: Case, attached: list[CaseMaterial] | None = None) -> Case:
    application = application_of(case, attached=attached)
    errors = [_unanswered_error(key) for key in application.unanswered] + application.missing
    if errors:  # an unanswered 情形 question leaves its materials and fields undecided
        raise ValidationFailed(_("申请还不完整"), code="incomplete", errors=errors)
    return services.do_submit(actor, case, commitment=application.commitment)
