"""Bundle definitions as catalog-as-code: the ``bundles:`` section of catalog files.

``BundleSection`` is registered with ``tongban.catalog.extensions``: ``check`` compiles every
bundle against the items it names — those in the same import, else those already in the
database — and reports problems as ``file:line: bundles[i]…: message``; ``apply`` stores the
bundles inside the catalog import's transaction; ``export`` writes them back. ``item_facts``
builds the facts of a component from the database (the current item version as carried out in
the bundle's division).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from tongban.bundles.models import Bundle
from tongban.bundles.spec import BundleSpecInvalid, ElementFacts, ItemFacts, compile_bundle
from tongban.catalog import guide, selectors
from tongban.catalog.document import SCHEMA_ID, BundleDoc, CatalogDocument, ItemDoc
from tongban.catalog.guide import GuideField, GuideMaterial, GuideQuestion, GuideSpec
from tongban.catalog.models import DataElement, Item
from tongban.catalog.rules import QuestionSpec, RuleError, compile_rule
from tongban.core.errors import NotFound
from tongban.core.sourcefiles import Problem


def content_hash(doc: BundleDoc) -> str:
    payload = json.dumps(doc.model_dump(mode="json"), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _elements(codes: Iterable[str] | None = None) -> dict[str, ElementFacts]:
    qs = DataElement.objects.all()
    if codes is not None:
        qs = qs.filter(code__in=set(codes))
    return {
        code: ElementFacts(code, kind, validator, tuple(choices))
        for code, kind, validator, choices in qs.values_list(
            "code", "value_type", "validator", "choices"
        )
    }


def facts_from_doc(
    item: ItemDoc, elements: Mapping[str, ElementFacts], dept_name: str
) -> ItemFacts:
    """Facts of an item described in the files being imported (rules compiled here)."""
    specs: dict[str, QuestionSpec] = {}
    questions = []
    for q in item.questions:
        when = compile_rule(q.when, dict(specs))
        specs[q.key] = QuestionSpec(q.key, q.type, tuple(o.value for o in q.options))
        questions.append(
            GuideQuestion(
                specs[q.key], q.text, q.help, tuple((o.value, o.label) for o in q.options), when
            )
        )
    materials = tuple(
        GuideMaterial(
            m.key,
            m.name,
            m.requirement,
            m.source,
            m.commitment_replaceable,
            m.licence_type,
            m.data_source,
            tuple(m.formats),
            m.max_size_mb,
            m.originals,
            m.copies,
            m.notes,
            compile_rule(m.when, specs),
        )
        for m in item.materials
    )
    fields = tuple(
        GuideField(
            f.key,
            f.label,
            f.element,
            f.element,
            elements[f.element].value_type if f.element in elements else "text",
            f.required,
            f.prefill,
            f.data_source,
            compile_rule(f.when, specs),
        )
        for f in item.fields
    )
    return ItemFacts(
        code=item.code,
        name=item.name,
        version=0,
        department=item.department,
        department_name=dept_name,
        promised_limit_days=item.promised_limit_days,
        required_trips=item.required_trips,
        result_kind=item.result,
        result_name=item.result_name,
        result_licence_type=item.result_licence_type,
        guide=GuideSpec(item.code, 0, tuple(questions), materials, fields),
        elements=elements,
    )


def item_facts(
    code: str, division_code: str | None, elements: Mapping[str, ElementFacts]
) -> ItemFacts:
    """Facts of a published item as carried out in ``division_code`` (实施清单 applied)."""
    effective = selectors.effective_item(code, division_code)
    version = effective.version
    return ItemFacts(
        code=code,
        name=version.name,
        version=version.number,
        department=effective.handling_department.code,
        department_name=effective.handling_department.name,
        promised_limit_days=effective.promised_limit_days,
        required_trips=effective.required_trips,
        result_kind=version.result_kind,
        result_name=version.result_name,
        result_licence_type=version.result_licence_type,
        guide=guide.spec_for(version),
        elements=elements,
    )


def database_facts(codes: Iterable[str], division_code: str | None) -> dict[str, ItemFacts]:
    """Facts of the named items that are published (missing ones are simply absent)."""
    elements = _elements()
    out: dict[str, ItemFacts] = {}
    for code in codes:
        try:
            out[code] = item_facts(code, division_code, elements)
        except NotFound:
            continue
    return out


class BundleSection:
    """The ``bundles:`` section of the catalog format."""

    section = "bundles"

    def check(self, catalog: Any) -> list[Problem]:
        problems: list[Problem] = []
        entries = list(catalog.entries("bundles"))
        if not entries and not Bundle.objects.exists():
            return problems
        elements = _elements()
        for _parsed, _i, e in catalog.entries("data_elements"):
            elements[e.code] = ElementFacts(e.code, e.type, e.validator, tuple(e.choices))
        from tongban.identity.models import Department

        names = dict(Department.objects.values_list("code", "name"))
        for _parsed, _i, d in catalog.entries("departments"):
            names[d.code] = d.name
        in_files: dict[str, ItemFacts] = {}
        where: dict[str, tuple[Any, int]] = {}
        for parsed, index, item in catalog.entries("items"):
            where[item.code] = (parsed, index)
            try:
                in_files[item.code] = facts_from_doc(item, elements, names.get(item.department, ""))
            except RuleError:
                continue  # the item's own problems are reported by the catalog checks
        seen: dict[str, int] = {}
        known_divisions = {d.code for _p, _i, d in catalog.entries("divisions")}
        from tongban.identity.models import Division

        known_divisions |= set(Division.objects.values_list("code", flat=True))
        for parsed, index, doc in entries:
            base = ("bundles", index)
            if doc.code in seen:
                problems.append(
                    parsed.loaded.problem((*base, "code"), f"一件事 {doc.code} 重复定义")
                )
            seen[doc.code] = index
            if doc.division not in known_divisions:
                problems.append(
                    parsed.loaded.problem((*base, "division"), f"未知的区划 {doc.division}")
                )
            wanted = [c.item for c in doc.components if c.item not in in_files]
            facts = {**database_facts(wanted, None), **in_files}
            try:
                compile_bundle(doc, facts)
            except BundleSpecInvalid as exc:
                problems.extend(
                    parsed.loaded.problem((*base, *p.path), p.message, p.severity)
                    for p in exc.problems
                )
        problems.extend(self._check_stored(set(seen), in_files, where))
        return problems

    def _check_stored(
        self, redefined: set[str], in_files: dict[str, ItemFacts], where: dict[str, tuple[Any, int]]
    ) -> list[Problem]:
        """A stored bundle the files do not redefine must still hold with the items they change;
        the problem is reported at the item that breaks it."""
        problems: list[Problem] = []
        for bundle in Bundle.objects.exclude(code__in=redefined).order_by("code"):
            doc = BundleDoc.model_validate(bundle.definition)
            touched = [c.item for c in doc.components if c.item in in_files]
            if not touched:
                continue
            others = [c.item for c in doc.components if c.item not in in_files]
            facts = {**database_facts(others, None), **in_files}
            try:
                compile_bundle(doc, facts)
            except BundleSpecInvalid as exc:
                parsed, index = where[touched[0]]
                detail = "；".join(p.message for p in exc.problems)
                problems.append(
                    parsed.loaded.problem(
                        ("items", index),
                        f"此次变更使已发布的一件事 {bundle.code}（{bundle.name}）无法成立：{detail}",
                    )
                )
        return problems

    def apply(self, catalog: Any, counts: Any) -> None:
        for _parsed, _i, doc in catalog.entries("bundles"):
            outcome = store_bundle(doc)
            counts[f"bundles_{outcome}"] += 1

    def export(self) -> dict[str, CatalogDocument]:
        docs = [b.definition for b in Bundle.objects.order_by("code")]
        if not docs:
            return {}
        return {
            "bundles.yaml": CatalogDocument.model_validate({"schema": SCHEMA_ID, "bundles": docs})
        }


def store_bundle(doc: BundleDoc) -> str:
    """Create or update the stored definition (caller holds the transaction)."""
    digest = content_hash(doc)
    data = doc.model_dump(mode="json", exclude_defaults=True)
    bundle = Bundle.objects.select_for_update().filter(code=doc.code).first()
    if bundle is None:
        Bundle.objects.create(
            code=doc.code,
            name=doc.name,
            division_code=doc.division,
            definition=data,
            content_hash=digest,
        )
        return "created"
    if bundle.content_hash == digest:
        return "unchanged"
    bundle.name, bundle.division_code = doc.name, doc.division
    bundle.definition, bundle.content_hash = data, digest
    bundle.save(update_fields=["name", "division_code", "definition", "content_hash", "updated_at"])
    return "updated"


def known_item_codes() -> set[str]:
    return set(Item.objects.filter(current_version__isnull=False).values_list("code", flat=True))
