"""情形 guidance: answers → personal material list, follow-ups, depends-on, validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.catalog_fixtures import sample
from tongban.catalog import guide, selectors
from tongban.catalog.services import import_catalog
from tongban.core.errors import ValidationFailed

pytestmark = pytest.mark.django_db


@pytest.fixture
def spec(tmp_path: Path) -> guide.GuideSpec:
    import_catalog(sample(tmp_path))
    version = selectors.get_current_version("SC-FOOD-001")
    return guide.spec_for(version)


def run(spec: guide.GuideSpec, **answers: object) -> guide.GuideResult:
    return guide.evaluate(spec, guide.parse_answers(spec, answers))


def keys(result: guide.GuideResult, status: str = "applies") -> set[str]:
    return {m.material.key for m in result.materials if m.status == status}


def test_no_answers_lists_what_always_applies_and_what_depends(spec: guide.GuideSpec) -> None:
    result = run(spec)
    assert keys(result) == {"application"}
    assert keys(result, "depends") == {
        "business_licence",
        "id_card",
        "layout",
        "cold_process",
        "cold_room_plan",
    }
    depends = {m.material.key: m.depends_on for m in result.materials if m.status == "depends"}
    assert depends["layout"] == ["area"]
    assert depends["cold_process"] == ["cold"]  # asked once area is known
    states = {q.key: q.state for q in result.questions}
    assert states == {"entity": "asked", "area": "asked", "cold": "pending", "cold_room": "pending"}
    assert not result.complete
    assert result.unanswered == ["entity", "area"]


def test_small_company_without_cold_food(spec: guide.GuideSpec) -> None:
    result = run(spec, entity="company", area=80, cold=False)
    assert keys(result) == {"application", "business_licence"}
    assert keys(result, "depends") == set()
    states = {q.key: q.state for q in result.questions}
    assert states["cold_room"] == "hidden"
    assert result.complete


def test_follow_up_chain_and_tolerable_material(spec: guide.GuideSpec) -> None:
    result = run(spec, entity="individual", area=500, cold=True, cold_room=True)
    assert keys(result) == {
        "application",
        "id_card",
        "layout",
        "cold_process",
        "cold_room_plan",
    }
    plan = next(m for m in result.materials if m.material.key == "cold_room_plan")
    assert plan.material.requirement == "tolerable"
    assert result.complete


def test_answers_to_hidden_questions_are_ignored(spec: guide.GuideSpec) -> None:
    result = run(spec, entity="company", area=50, cold=False, cold_room=True)
    assert "cold_room_plan" not in keys(result)
    assert result.ignored == ["cold_room"]


def test_invalid_answers_report_every_path(spec: guide.GuideSpec) -> None:
    with pytest.raises(ValidationFailed) as info:
        guide.parse_answers(spec, {"entity": "bank", "area": "large", "colour": "red"})
    paths = {e.path for e in info.value.errors}
    assert paths == {"answers.entity", "answers.area", "answers.colour"}


@pytest.mark.parametrize("raw", [float("inf"), float("-inf"), float("nan"), "1e999", "NaN", "-inf"])
def test_a_number_that_is_not_finite_is_refused(spec: guide.GuideSpec, raw: object) -> None:
    with pytest.raises(ValidationFailed) as info:
        guide.parse_answers(spec, {"area": raw})
    assert [(e.path, e.message) for e in info.value.errors] == [
        ("answers.area", "请填写一个有限的数字")
    ]
    assert guide.parse_answers(spec, {"area": 1e300})["area"] == 1e300


def test_fields_follow_rules(spec: guide.GuideSpec) -> None:
    result = run(spec, entity="company", area=0)
    assert {f.field.key for f in result.fields} == {"operator_name", "operator_id"}
    result = run(spec, entity="company", area=10)
    assert "site_area" in {f.field.key for f in result.fields}


ANSWERS = st.fixed_dictionaries(
    {},
    optional={
        "entity": st.sampled_from(["company", "individual"]),
        "area": st.integers(0, 1000),
        "cold": st.booleans(),
        "cold_room": st.booleans(),
    },
)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # spec is immutable
@given(answers=ANSWERS)
def test_guide_properties(spec: guide.GuideSpec, answers: dict[str, object]) -> None:
    """A complete answer set leaves nothing depending; unconditional materials always apply;
    a material listed as applying stays listed when more questions are answered."""
    result = guide.evaluate(spec, guide.parse_answers(spec, answers))
    assert "application" in keys(result)
    if result.complete:
        assert keys(result, "depends") == set()
    full = {"entity": "company", "area": 1, "cold": True, "cold_room": True, **answers}
    more = guide.evaluate(spec, guide.parse_answers(spec, full))
    assert keys(result) <= keys(more)
    assert more.complete
