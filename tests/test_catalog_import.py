"""Catalog as code: problems with file and line, atomic import, immutable versions, round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.catalog_fixtures import BODIES, FOOD, sample, write_catalog
from tongban.catalog.models import (
    CatalogRevision,
    ImmutableVersionError,
    Implementation,
    Item,
    ItemVersion,
    Material,
)
from tongban.catalog.selectors import effective_item
from tongban.catalog.services import (
    CatalogInvalid,
    export_catalog,
    import_catalog,
    validate_catalog,
)
from tongban.identity.models import Department, Division, Window

pytestmark = pytest.mark.django_db


def problems_of(tmp_path: Path, food: str, bodies: str = BODIES) -> list[str]:
    paths = write_catalog(tmp_path, bodies=bodies, food=food)
    with pytest.raises(CatalogInvalid) as info:
        validate_catalog(paths, root=tmp_path)
    return [str(p) for p in info.value.problems]


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def test_sample_imports_everything(tmp_path: Path) -> None:
    report = import_catalog(sample(tmp_path))
    assert report.counts["items_created"] == 1
    assert Division.objects.get(code="330106001").parent.code == "330106"
    assert Department.objects.count() == 3
    assert Window.objects.get(number="1").departments.count() == 2
    version = Item.objects.get(code="SC-FOOD-001").current_version
    assert version is not None
    assert version.number == 1
    assert [m.key for m in version.materials.all()][:2] == ["application", "business_licence"]
    assert CatalogRevision.objects.get().number == 1


def test_implementation_overrides_apply_in_the_division_and_below(tmp_path: Path) -> None:
    import_catalog(sample(tmp_path))
    base = effective_item("SC-FOOD-001")
    assert base.promised_limit_days == 10
    assert base.handling_department.code == "3301-SCJG"
    street = effective_item("SC-FOOD-001", "330106001")  # inherits the district's list
    assert street.promised_limit_days == 3
    assert street.handling_department.code == "330106-SCJG"
    assert street.service_centre_name == "西湖区政务服务中心"
    city = effective_item("SC-FOOD-001", "330100")
    assert city.implementation is None
    assert city.promised_limit_days == 10


@pytest.mark.parametrize(
    ("old", "new", "needle", "fragment"),
    [
        (
            "type: licensing",
            "type: licence",
            "type: licence",
            "items[0].type: 取值 'licence' 不在允许范围内",
        ),
        (
            "    promised_limit_days: 10",
            "    promised_limit_days: 30",
            "promised_limit_days: 30",
            "超过法定时限 20",
        ),
        (
            "department: 3301-SCJG",
            "department: 3301-XXX",
            "department: 3301-XXX",
            "未知的部门 3301-XXX",
        ),
        ("element: area,", "element: surface,", "element: surface", "未知的数据元 surface"),
        (
            "when: {q: area, gt: 300}",
            "when: {all: [{q: area, gt: 300}, {q: area, lt: 100}]}",
            "q: area, lt: 100",
            "永远无法满足",
        ),
        (
            "when: {q: cold, eq: true}}",
            "when: {q: cold, eq: 是}}",
            "q: cold, eq: 是}}",
            "应与 true/false 比较",
        ),
        (
            "        when: {q: area, gt: 0}",
            "        when: {q: cold_room, eq: true}",
            "q: cold_room, eq: true}",
            "追问只能引用排在它前面的问题",
        ),
        (
            "legal_basis: 《中华人民共和国食品安全法》第三十五条",
            "legal_basis: ''",
            "legal_basis: ''",
            "legal_basis",
        ),
        (
            "    keywords: [开饭店, 餐馆]",
            "    keywords: [开饭店, 餐馆]\n    colour: red",
            "colour: red",
            "不允许的字段",
        ),
        (
            "result_licence_type: LT-FOOD-BUSINESS",
            "result_licence_type: ''",
            "result_licence_type: ''",
            "证照类型",
        ),
        (
            "- {department: 3301-GA, name: 消防安全核查",
            "- {department: 3301-XF, name: 消防安全核查",
            "department: 3301-XF",
            "未知的部门 3301-XF",
        ),
        (
            "- {department: 3301-SCJG, limit_days: 4}",
            "- {department: 3301-SCJG, limit_days: 8}",
            "review_stages:",
            "各审查环节时限之和 11 个工作日超过承诺时限 10 个工作日",
        ),
        (
            "extension_max_days: 10",
            "extension_max_days: 15",
            "extension_max_days: 15",
            "items[0].extension_max_days: 可延长期限 15 个工作日超过行政许可法第四十二条可以延长的 10 个",
        ),
        (
            "{key: layout,",
            "{key: application,",
            "{key: application, name: 经营场所",
            "标识 application 在 materials 中重复",
        ),
    ],
)
def test_problems_name_file_line_and_path(
    tmp_path: Path, old: str, new: str, needle: str, fragment: str
) -> None:
    assert old in FOOD
    text = FOOD.replace(old, new, 1)
    problems = problems_of(tmp_path, text)
    expected_prefix = f"food.yaml:{line_of(text, needle)}:"
    assert any(p.startswith(expected_prefix) and fragment in p for p in problems), problems


def test_yaml_syntax_error_and_duplicate_keys(tmp_path: Path) -> None:
    broken = FOOD.replace("    name: 食品经营许可（餐饮服务）", "    name: [食品经营许可", 1)
    (problem,) = problems_of(tmp_path, broken)
    assert problem.startswith("food.yaml:")
    assert "YAML 语法错误" in problem
    duplicated = FOOD.replace("    type: licensing", "    type: licensing\n    type: filing", 1)
    problems = problems_of(tmp_path, duplicated)
    assert any(
        p.startswith(f"food.yaml:{line_of(duplicated, 'type: filing')}:") and "重复的键" in p
        for p in problems
    )


def test_duplicate_code_across_files_names_both(tmp_path: Path) -> None:
    paths = write_catalog(
        tmp_path, bodies=BODIES, food=FOOD, again=FOOD.split("implementations:")[0]
    )
    with pytest.raises(CatalogInvalid) as info:
        validate_catalog(paths, root=tmp_path)
    assert any(
        "事项 SC-FOOD-001 重复定义（首次出现于 food.yaml:3）" in str(p) for p in info.value.problems
    )


def test_bad_division_tree(tmp_path: Path) -> None:
    bodies = BODIES.replace(
        '{code: "330106", name: 西湖区, level: district, parent: "330100"}',
        '{code: "330106", name: 西湖区, level: district, parent: "440100"}',
    )
    problems = problems_of(tmp_path, FOOD, bodies)
    assert any("bodies.yaml:5: divisions[2].parent: 未知的上级区划 440100" in p for p in problems)


def test_import_is_all_or_nothing(tmp_path: Path) -> None:
    bad = FOOD.replace("department: 3301-SCJG", "department: 3301-XXX", 1)
    paths = write_catalog(tmp_path, bodies=BODIES, food=bad)
    with pytest.raises(CatalogInvalid):
        import_catalog(paths)
    assert Division.objects.count() == 0  # the valid file was not applied either
    assert Item.objects.count() == 0
    assert not CatalogRevision.objects.exists()


def test_changed_item_gets_a_new_version_and_the_old_one_stays(tmp_path: Path) -> None:
    import_catalog(sample(tmp_path))
    first = Item.objects.get(code="SC-FOOD-001").current_version
    assert first is not None
    report = import_catalog(sample(tmp_path))
    assert report.counts["items_unchanged"] == 1
    assert report.revision == 1  # the same files again: caches need not refresh
    changed = FOOD.replace("promised_limit_days: 10", "promised_limit_days: 8", 1)
    report = import_catalog(write_catalog(tmp_path, bodies=BODIES, food=changed))
    assert report.counts["items_new_version"] == 1
    assert report.revision == 2
    item = Item.objects.get(code="SC-FOOD-001")
    assert item.current_version is not None
    assert item.current_version.number == 2
    first.refresh_from_db()
    assert first.promised_limit_days == 10
    assert first.materials.count() == 6
    assert Implementation.objects.count() == 1


def test_an_extension_beyond_ten_days_needs_its_own_legal_basis(tmp_path: Path) -> None:
    problems = problems_of(
        tmp_path, FOOD.replace("extension_max_days: 10", "extension_max_days: 11")
    )
    assert any("extension_legal_basis" in p for p in problems), problems
    basis = "《某省食品安全条例》第二十条（示例）：可以延长十五个工作日"
    longer = FOOD.replace(
        "extension_max_days: 10",
        f"extension_max_days: 15\n    extension_legal_basis: {basis}",
    )
    report = import_catalog(write_catalog(tmp_path, bodies=BODIES, food=longer))
    assert report.counts["items_created"] == 1
    version = ItemVersion.objects.get()
    assert (version.extension_max_days, version.extension_legal_basis) == (15, basis)
    export_catalog(tmp_path / "out")
    exported = yaml.safe_load((tmp_path / "out" / "items" / "3301-SCJG.yaml").read_text())
    assert exported["items"][0]["extension_legal_basis"] == basis
    again = import_catalog(write_catalog(tmp_path, bodies=BODIES, food=longer))
    assert again.counts["items_unchanged"] == 1


def test_published_versions_cannot_be_edited(tmp_path: Path) -> None:
    import_catalog(sample(tmp_path))
    version = ItemVersion.objects.get()
    version.promised_limit_days = 1
    with pytest.raises(ImmutableVersionError):
        version.save()
    material = Material.objects.first()
    assert material is not None
    material.name = "改名"
    with pytest.raises(ImmutableVersionError):
        material.save()


def test_export_then_import_round_trips_byte_for_byte(tmp_path: Path) -> None:
    import_catalog(sample(tmp_path / "src"))
    first = tmp_path / "first"
    export_catalog(first)
    for model in (Implementation,):
        model.objects.all().delete()
    second_db_files = sorted(first.rglob("*.yaml"))
    report = import_catalog(second_db_files)
    assert report.counts["items_unchanged"] == 1
    second = tmp_path / "second"
    export_catalog(second)
    names = sorted(p.relative_to(first) for p in first.rglob("*.yaml"))
    assert names == sorted(p.relative_to(second) for p in second.rglob("*.yaml"))
    for name in names:
        assert (first / name).read_text() == (second / name).read_text()
    exported = yaml.safe_load((first / "items" / "3301-SCJG.yaml").read_text())
    assert exported["items"][0]["materials"][3]["when"] == {"q": "area", "gt": 300}


def test_cli_validate_reports_and_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = FOOD.replace("department: 3301-SCJG", "department: 3301-XXX", 1)
    write_catalog(tmp_path, bodies=BODIES, food=bad)
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("catalog", "validate", str(tmp_path))
    err = capsys.readouterr().err
    assert "food.yaml" in err
    assert "未知的部门 3301-XXX" in err
    good = tmp_path / "good"
    sample(good)
    call_command("catalog", "import", str(good))
    assert "items_created=1" in capsys.readouterr().out


def test_impossible_date_in_a_rule_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    text = FOOD.replace("    keywords: [开饭店, 餐馆]", "    keywords: [开饭店, 餐馆]", 1).replace(
        "      - {key: area, text: 经营场所面积（平方米）, type: number}",
        "      - {key: area, text: 经营场所面积（平方米）, type: number}\n"
        "      - {key: opened, text: 开业日期, type: date, when: {q: area, gt: 0}}\n"
        "      - {key: late, text: 是否延迟, type: yes_no, when: {q: opened, lt: 2027-02-30}}",
        1,
    )
    problems = problems_of(tmp_path, text)
    assert any(
        "YYYY-MM-DD" in p and p.startswith(f"food.yaml:{line_of(text, '2027-02-30')}:")
        for p in problems
    ), problems
