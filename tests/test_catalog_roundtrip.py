"""Property: for any valid catalog, import → export → import (empty database) → export is a
fixed point byte for byte, and the exported items equal the canonical form of what was written."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from tongban.catalog.document import SCHEMA_ID, CatalogDocument, ItemDoc
from tongban.catalog.services import canonical_item, dump_document, export_documents, import_catalog

BODIES: dict[str, Any] = {
    "divisions": [
        {"code": "330000", "name": "浙江省", "level": "province"},
        {"code": "330100", "name": "杭州市", "level": "city", "parent": "330000"},
    ],
    "departments": [{"code": "D1", "name": "杭州市民政局", "division": "330100"}],
    "data_elements": [
        {"code": "name", "name": "姓名", "type": "text"},
        {"code": "born", "name": "出生日期", "type": "date"},
    ],
}

TEXT = (
    st.text(alphabet="婚姻登记出生户口申请材料证明abc 123：（）", min_size=1, max_size=12)
    .map(str.strip)
    .filter(bool)
)
KEYS = st.lists(
    st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True), min_size=1, max_size=5, unique=True
)


@st.composite
def questions(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key in draw(KEYS):
        kind = draw(st.sampled_from(["choice", "multi_choice", "yes_no", "number", "date"]))
        q: dict[str, Any] = {"key": key, "text": draw(TEXT), "type": kind}
        if kind in ("choice", "multi_choice"):
            values = draw(
                st.lists(st.sampled_from(["a", "b", "c", "d"]), min_size=2, max_size=4, unique=True)
            )
            q["options"] = [{"value": v, "label": draw(TEXT)} for v in values]
        if out and draw(st.booleans()):
            q["when"] = draw(leaf(out))
        out.append(q)
    return out


def leaf(qs: list[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        q = draw(st.sampled_from(qs))
        if q["type"] in ("choice", "multi_choice"):
            values = [o["value"] for o in q["options"]]
            if draw(st.booleans()):
                return {"q": q["key"], "eq": draw(st.sampled_from(values))}
            return {
                "q": q["key"],
                "in": draw(st.lists(st.sampled_from(values), min_size=1, unique=True)),
            }
        if q["type"] == "yes_no":
            return {"q": q["key"], "eq": draw(st.booleans())}
        if q["type"] == "number":
            return {
                "q": q["key"],
                draw(st.sampled_from(["gt", "lte", "eq"])): draw(st.integers(0, 500)),
            }
        return {
            "q": q["key"],
            "lt": draw(st.dates(dt.date(2000, 1, 1), dt.date(2030, 12, 31))).isoformat(),
        }

    return build()


@st.composite
def items(draw: st.DrawFn) -> list[dict[str, Any]]:
    codes = draw(
        st.lists(st.from_regex(r"IT-[0-9]{3}", fullmatch=True), min_size=1, max_size=3, unique=True)
    )
    out = []
    for code in codes:
        qs = draw(questions())
        limit = draw(st.integers(1, 60))
        item: dict[str, Any] = {
            "code": code,
            "name": draw(TEXT),
            "type": draw(st.sampled_from(["licensing", "confirmation", "public_service"])),
            "department": "D1",
            "legal_basis": draw(TEXT),
            "acceptance_conditions": draw(TEXT),
            "statutory_limit_days": limit + draw(st.integers(0, 20)),
            "promised_limit_days": limit,
            "applicant_types": draw(
                st.lists(st.sampled_from(["person", "enterprise"]), min_size=1, unique=True)
            ),
            "keywords": draw(st.lists(TEXT, max_size=3)),
            "allows_tolerance": draw(st.booleans()),
            "review_stages": draw(
                st.lists(
                    st.builds(
                        lambda name: {
                            "name": name,
                            "tasks": [{"department": "D1", "limit_days": 1}],
                        },
                        TEXT,
                    ),
                    max_size=min(limit, 2),
                )
            ),
            "extension_max_days": (extension := draw(st.integers(0, 30))),
            **({"extension_legal_basis": draw(TEXT)} if extension > 10 else {}),
            "questions": qs,
            "materials": [
                {
                    "key": k,
                    "name": draw(TEXT),
                    "requirement": draw(st.sampled_from(["required", "tolerable", "optional"])),
                    **({"when": draw(leaf(qs))} if draw(st.booleans()) else {}),
                }
                for k in draw(KEYS)
            ],
            "fields": [
                {
                    "key": k,
                    "label": draw(TEXT),
                    "element": draw(st.sampled_from(["name", "born"])),
                    **({"when": draw(leaf(qs))} if draw(st.booleans()) else {}),
                }
                for k in draw(KEYS)
            ],
        }
        out.append(item)
    return out


def _export_texts() -> dict[str, str]:
    return {name: dump_document(doc) for name, doc in export_documents().items()}


def _write(folder: Path, texts: dict[str, str]) -> list[Path]:
    paths = []
    for name, text in texts.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


class RoundTrip(TestCase):
    @given(item_docs=items())
    def test_export_import_is_a_fixed_point(self, item_docs: list[dict[str, Any]]) -> None:
        document = {"schema": SCHEMA_ID, **BODIES, "items": item_docs}
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            source = root / "catalog.yaml"
            source.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
            savepoint = transaction.savepoint()
            import_catalog([source])
            first = _export_texts()
            transaction.savepoint_rollback(savepoint)  # an empty database again
            import_catalog(_write(root / "exported", first))
            second = _export_texts()
        assert first == second
        written = {
            i["code"]: canonical_item(ItemDoc.model_validate(i)).model_dump() for i in item_docs
        }
        exported: dict[str, Any] = {}
        for name, text in first.items():
            if name.startswith("items/"):
                doc = CatalogDocument.model_validate(yaml.safe_load(text))
                exported.update({i.code: i.model_dump() for i in doc.items})
        assert exported == written
