"""Property tests of merging and the report on generated bundles (pure, no database): every
measure after ≤ before, and every required material of every item is covered by exactly one
merged material — an upload, an e-licence/shared data, or an earlier stage's result."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tongban.bundles.merging import merge
from tongban.bundles.report import compute
from tongban.bundles.spec import BundleSpec, ComponentSpec, ItemFacts
from tongban.catalog.guide import GuideField, GuideMaterial, GuideSpec
from tongban.catalog.rules import ALWAYS

NAMES = ["居民身份证", "照片", "户口簿", "申请表", "证明", "合同"]
LICENCES = ["", "", "LT-A", "LT-B"]
ELEMENTS = ["person_name", "id_number", "address", "mobile"]
PREFILL = ["none", "identity", "data_source", "history"]

material = st.builds(
    lambda name, licence, source, requirement: GuideMaterial(
        name, name, requirement, "applicant", False, licence, source, ("pdf",), 10, 0, 0, "", ALWAYS
    ),
    st.sampled_from(NAMES),
    st.sampled_from(LICENCES),
    st.sampled_from(["", "", "hukou"]),
    st.sampled_from(["required", "required", "tolerable", "optional"]),
)
field = st.builds(
    lambda key, element, prefill: GuideField(
        key,
        key,
        element,
        element,
        "text",
        True,
        prefill,
        "src" if prefill == "data_source" else "",
        ALWAYS,
    ),
    st.sampled_from(["a", "b", "c", "name", "id"]),
    st.sampled_from(ELEMENTS),
    st.sampled_from(PREFILL),
)


@st.composite
def bundles(draw: Any) -> BundleSpec:
    count = draw(st.integers(min_value=2, max_value=7))
    components = []
    stages: dict[str, int] = {}
    for n in range(count):
        code = f"I{n}"
        materials = draw(st.lists(material, max_size=5, unique_by=lambda m: m.name))
        materials = [m.__class__(**{**m.__dict__, "key": f"m{k}"}) for k, m in enumerate(materials)]
        fields = draw(st.lists(field, max_size=5, unique_by=lambda f: f.key))
        needs = tuple(
            sorted(set(draw(st.lists(st.sampled_from([f"I{k}" for k in range(n)]), max_size=2))))
            if n
            else ()
        )
        stage = 1 + max((stages[x] for x in needs), default=0)
        stages[code] = stage
        item = ItemFacts(
            code=code,
            name=code,
            version=1,
            department=draw(st.sampled_from(["D1", "D2", "D3"])),
            department_name="",
            promised_limit_days=draw(st.integers(0, 30)),
            required_trips=draw(st.integers(0, 3)),
            result_kind="licence",
            result_name="",
            result_licence_type=draw(st.sampled_from(LICENCES)),
            guide=GuideSpec(code, 1, (), tuple(materials), tuple(fields)),
        )
        components.append(ComponentSpec(item, needs, ALWAYS, stage))
    trips = sum(c.item.required_trips for c in components)
    return BundleSpec(
        code="B",
        name="B",
        summary="",
        division="330100",
        applicant_types=("person",),
        required_trips=draw(st.integers(0, trips)),
        on_denial="continue",
        questions=(),
        components=tuple(components),
        field_links={},
        material_links={},
        report_answers={},
        published=None,
    )


@settings(max_examples=200, deadline=None)
@given(bundles())
def test_after_never_exceeds_before(spec: BundleSpec) -> None:
    for name, figure in compute(spec).figures.items():
        assert 0 <= figure.after <= figure.before, name


@settings(max_examples=200, deadline=None)
@given(bundles())
def test_every_required_material_is_covered_exactly_once(spec: BundleSpec) -> None:
    merged = merge(spec, {})
    parts = merged.material_parts()
    for component in spec.components:
        for m in component.item.guide.materials:
            if m.requirement == "optional":
                continue
            owners = [x for x in merged.materials if (component.code, m.key) in x.parts]
            assert len(owners) == 1
            covering = owners[0]
            assert covering is parts[(component.code, m.key)]
            assert covering.coverage in ("upload", "exempt", "produced")
            if covering.coverage == "produced":
                producer = spec.component(covering.produced_by)
                assert producer.item.result_licence_type == m.licence_type
                assert producer.stage < component.stage
            elif covering.coverage == "exempt":
                assert m.licence_type or m.data_source
