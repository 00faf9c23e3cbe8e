"""The sample catalog shipped for ``make demo`` is valid, big enough and internally consistent.

Every YAML file under ``tongban/demo/catalog`` must parse as a ``tongban-catalog/1`` document;
together they must hold at least 45 items from at least 12 departments at province, city and
district level, with 情形 questions whose rules compile and can apply. The last test runs the
real catalog validator and importer against the database, so the sample never drifts from the
importer's own checks.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from tongban.catalog.document import CatalogDocument, ItemDoc
from tongban.catalog.rules import QuestionSpec, analyse, compile_rule
from tongban.demo.sample import CATALOG_DIR, catalog_paths

LEVEL_OF_DIVISION_LENGTH = {2: "province", 4: "city", 6: "district"}


def _documents() -> dict[Path, CatalogDocument]:
    return {
        path: CatalogDocument.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        for path in catalog_paths()
    }


DOCUMENTS = _documents()
ITEMS: list[ItemDoc] = [item for doc in DOCUMENTS.values() for item in doc.items]
DEPARTMENTS = {d.code: d for doc in DOCUMENTS.values() for d in doc.departments}
DIVISIONS = {d.code: d for doc in DOCUMENTS.values() for d in doc.divisions}
ELEMENTS = {e.code: e for doc in DOCUMENTS.values() for e in doc.data_elements}
CENTRES = {c.code: c for doc in DOCUMENTS.values() for c in doc.service_centres}


def _specs(item: ItemDoc) -> dict[str, QuestionSpec]:
    return {
        q.key: QuestionSpec(q.key, q.type, tuple(o.value for o in q.options))
        for q in item.questions
    }


def test_expected_files_exist() -> None:
    names = {p.relative_to(CATALOG_DIR).as_posix() for p in DOCUMENTS}
    assert {"divisions.yaml", "departments.yaml", "centres.yaml", "data-elements.yaml"} <= names
    assert any(name.startswith("items/") for name in names)
    assert any(name.startswith("implementations") for name in names)


def test_every_file_is_a_catalog_document() -> None:
    for path, document in DOCUMENTS.items():
        assert document.schema_ == "tongban-catalog/1", path


def test_codes_are_unique_across_files() -> None:
    for label, codes in {
        "items": [i.code for i in ITEMS],
        "departments": [d.code for doc in DOCUMENTS.values() for d in doc.departments],
        "divisions": [d.code for doc in DOCUMENTS.values() for d in doc.divisions],
        "elements": [e.code for doc in DOCUMENTS.values() for e in doc.data_elements],
    }.items():
        duplicates = [code for code, n in Counter(codes).items() if n > 1]
        assert not duplicates, f"duplicate {label}: {duplicates}"


def test_catalog_is_big_enough() -> None:
    assert len(ITEMS) >= 45
    item_departments = {i.department for i in ITEMS}
    assert len(item_departments) >= 12
    assert len(DEPARTMENTS) >= 12
    levels = {DIVISIONS[DEPARTMENTS[code].division].level for code in item_departments}
    assert {"province", "city", "district"} <= levels
    assert sum(1 for i in ITEMS if i.questions) >= 12


def test_divisions_form_a_tree_with_gbt2260_codes() -> None:
    for division in DIVISIONS.values():
        if division.level == "province":
            assert division.parent is None
            assert division.code.endswith("0000")
            continue
        parent = DIVISIONS[division.parent or ""]
        if division.level == "street":
            assert len(division.code) == 9
            assert division.code.startswith(parent.code)
        else:
            significant = parent.code.rstrip("0")
            assert len(division.code) == 6
            assert division.code.startswith(significant)
    streets = [d for d in DIVISIONS.values() if d.level == "street"]
    assert len(streets) >= 3


def test_references_resolve() -> None:
    for department in DEPARTMENTS.values():
        assert department.division in DIVISIONS, department.code
    for centre in CENTRES.values():
        assert centre.division in DIVISIONS, centre.code
        for window in centre.windows:
            assert set(window.departments) <= set(DEPARTMENTS), (centre.code, window.number)
    assert any(w.kind == "general" for c in CENTRES.values() for w in c.windows)
    for item in ITEMS:
        assert item.department in DEPARTMENTS, item.code
        for field in item.fields:
            assert field.element in ELEMENTS, (item.code, field.key, field.element)
    codes = {i.code for i in ITEMS}
    for doc in DOCUMENTS.values():
        for impl in doc.implementations:
            assert impl.item in codes, impl.item
            assert impl.division in DIVISIONS, impl
            assert impl.handling_department in (None, *DEPARTMENTS), impl
            assert impl.service_centre in (None, *CENTRES), impl


def test_implementations_cover_city_and_district_with_shorter_promises() -> None:
    items = {i.code: i for i in ITEMS}
    impls = [impl for doc in DOCUMENTS.values() for impl in doc.implementations]
    divisions = {impl.division for impl in impls}
    assert {"330100", "330106"} <= divisions
    shorter = [
        impl
        for impl in impls
        if impl.promised_limit_days is not None
        and impl.promised_limit_days < items[impl.item].promised_limit_days
    ]
    assert len(shorter) >= 5
    for impl in impls:
        statutory = items[impl.item].statutory_limit_days
        if impl.promised_limit_days is not None and statutory is not None:
            assert impl.promised_limit_days <= statutory, impl


def test_item_elements_are_filled_in() -> None:
    for item in ITEMS:
        where = item.code
        assert item.legal_basis.strip(), where
        assert item.acceptance_conditions.strip(), where
        assert item.keywords, where
        assert item.themes, where
        assert item.sample_note.startswith("示例数据"), where
        assert item.materials or item.fields, where
        if item.statutory_limit_days is not None:
            assert item.promised_limit_days <= item.statutory_limit_days, where
        if item.result == "licence":
            assert item.result_licence_type.startswith("LT-"), where
        if item.handling_mode == "immediate":
            assert item.promised_limit_days <= 1, where
        for field in item.fields:
            if field.prefill == "data_source":
                assert field.data_source, (where, field.key)
    assert sum(1 for i in ITEMS if i.popularity >= 500) >= 10


def test_question_rules_only_look_back() -> None:
    for item in ITEMS:
        earlier: dict[str, QuestionSpec] = {}
        for question in item.questions:
            compile_rule(question.when, earlier, f"{item.code}.{question.key}")
            earlier[question.key] = QuestionSpec(
                question.key, question.type, tuple(o.value for o in question.options)
            )
            if question.type in ("choice", "multi_choice"):
                assert len(question.options) >= 2, (item.code, question.key)
            else:
                assert not question.options, (item.code, question.key)


def test_every_rule_compiles_and_can_apply() -> None:
    checked = 0
    for item in ITEMS:
        specs = _specs(item)
        parts = [*item.questions, *item.materials, *item.fields]
        compiled = [compile_rule(p.when, specs, f"{item.code}.{p.key}") for p in parts]
        for part, rule in zip(parts, compiled, strict=True):
            if not rule.questions():
                continue
            reach = analyse(rule, specs, compiled)
            assert reach is not None, (item.code, part.key)
            assert reach.can_be_true, f"{item.code}.{part.key}: rule can never apply"
            assert reach.can_be_false, f"{item.code}.{part.key}: rule always applies"
            checked += 1
    assert checked >= 30


def test_every_question_is_used() -> None:
    for item in ITEMS:
        used: set[str] = set()
        specs = _specs(item)
        for part in [*item.questions, *item.materials, *item.fields]:
            used |= compile_rule(part.when, specs).questions()
        unused = set(specs) - used
        assert not unused, f"{item.code}: questions {sorted(unused)} decide nothing"


def test_materials_name_shareable_documents() -> None:
    shared = [m for i in ITEMS for m in i.materials if m.licence_type or m.data_source]
    assert len(shared) >= 40
    licence_types = {m.licence_type for i in ITEMS for m in i.materials if m.licence_type}
    assert {"LT-BUSINESS-LICENCE", "LT-MARRIAGE-CERT", "LT-DISABILITY-CARD"} <= licence_types
    for item in ITEMS:
        for material in item.materials:
            if material.licence_type or material.data_source:
                assert material.source == "government", (item.code, material.key)


def test_bundle_building_blocks_are_present() -> None:
    names = {i.name for i in ITEMS}
    for expected in ("出生登记", "食品经营许可（新办）", "残疾人证》新办证申请", "企业设立登记"):
        assert any(expected in name for name in names), expected
    themes = Counter(t for i in ITEMS for t in i.themes)
    for theme in ("出生", "开办企业", "退休养老", "身后事", "残疾人", "就业创业", "住房"):
        assert themes[theme] >= 2, theme


@pytest.mark.django_db
def test_catalog_imports_with_the_real_importer() -> None:
    services = pytest.importorskip("tongban.catalog.services")
    if not hasattr(services, "validate_catalog"):
        pytest.skip("catalog importer not available")
    valid = services.validate_catalog([CATALOG_DIR])
    assert [str(w) for w in valid.warnings] == []
    report = services.import_catalog([CATALOG_DIR])
    assert report.counts["items_created"] == len(ITEMS)
    again = services.import_catalog([CATALOG_DIR])
    assert again.counts["items_unchanged"] == len(ITEMS)
