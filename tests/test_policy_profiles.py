"""Bulk import of profiles from CSV and Parquet: everything or nothing, a validation report with
file and line, updates of existing profiles, a progress bar on stderr, and the command."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import polars as pl
import pytest
from django.core.management import CommandError, call_command

from tests.factories import make_id_number, make_uscc
from tests.policy_fixtures import make_world
from tongban.policies.models import EnterpriseProfile, PersonProfile, ProfileImport
from tongban.policies.profiles import ProfilesInvalid, import_profiles

pytestmark = pytest.mark.django_db

A = make_uscc("330106", 1)
B = make_uscc("330106", 2)


def write(tmp_path: Path, text: str, name: str = "firms.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_clean_csv_is_imported_and_a_second_import_updates(tmp_path: Path) -> None:
    make_world()
    path = write(
        tmp_path,
        "uscc,name,industry,division,employees,revenue,tax_credit_grade,registered_on,tags\n"
        f"{A},甲公司,C3911,330106,120,5000.5,A,2015-03-01,高新技术企业|专精特新\n"
        f"{B},乙公司,I6510,330212,,,,,\n",
    )
    progress = StringIO()
    report = import_profiles("enterprise", path, progress=progress)
    assert (report.rows, report.created, report.updated) == (2, 2, 0)
    assert "100.0%" in progress.getvalue()
    assert "导入" in progress.getvalue()
    a = EnterpriseProfile.objects.get(uscc=A)
    assert (a.employees, a.revenue, a.registered_on) == (120, 5000.5, dt.date(2015, 3, 1))
    assert a.tags == ["专精特新", "高新技术企业"]
    b = EnterpriseProfile.objects.get(uscc=B)
    assert b.employees is None
    assert b.tax_credit_grade is None
    assert b.tags is None
    write(tmp_path, f"uscc,name,employees\n{A},甲公司,130\n", "update.csv")
    report = import_profiles("enterprise", tmp_path / "update.csv", progress=None)
    assert (report.created, report.updated) == (0, 1)
    a.refresh_from_db()
    assert a.employees == 130
    assert a.industry_code == "C3911"
    assert ProfileImport.objects.count() == 2


def test_problems_are_reported_by_line_and_nothing_is_imported(tmp_path: Path) -> None:
    make_world()
    bad_uscc = A[:-1] + ("0" if A[-1] != "0" else "1")
    path = write(
        tmp_path,
        "uscc,name,employees,tax_credit_grade,division,registered_on,tags\n"
        f"{A},甲公司,12,A,330106,2020-01-01,\n"
        f"{bad_uscc},乙公司,-3,E,999999,2020-02-30,独角兽\n"
        f"{A},丙公司,x,,,,\n",
    )
    with pytest.raises(ProfilesInvalid) as info:
        import_profiles("enterprise", path, progress=None)
    lines = [str(p) for p in info.value.problems]
    assert "firms.csv:3: employees: 不能小于 0" in lines
    assert "firms.csv:3: tax_credit_grade: 只能取 A、B、M、C、D，实际为 'E'" in lines
    assert "firms.csv:3: division: 没有代码为 '999999' 的区划" in lines
    assert any(line.startswith("firms.csv:3: registered_on: 应为日期") for line in lines)
    assert any(line.startswith("firms.csv:3: tags: 未知标签 独角兽") for line in lines)
    assert any(line.startswith("firms.csv:3: uscc:") for line in lines)
    assert "firms.csv:4: uscc: 与第 2 行重复" in lines
    assert "firms.csv:4: employees: 应为整数，实际为 'x'" in lines
    assert not EnterpriseProfile.objects.exists()
    assert not ProfileImport.objects.exists()


def test_unknown_and_missing_columns_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "uscc,staff\nx,1\n")
    with pytest.raises(ProfilesInvalid) as info:
        import_profiles("enterprise", path, progress=None)
    lines = [str(p) for p in info.value.problems]
    assert lines[0].startswith("firms.csv:1: staff: 未知列")
    assert "firms.csv:1: name: 缺少必需的列" in lines


def test_parquet_persons_and_the_command(tmp_path: Path) -> None:
    make_world()
    person = make_id_number("330106", dt.date(1940, 2, 18), 11)
    frame = pl.DataFrame(
        {
            "id_number": [person],
            "name": ["陈某"],
            "birth_date": [dt.date(1940, 2, 18)],
            "household_division": ["330106"],
            "alive": [True],
            "bank_account_on_file": [None],
            "tags": [["残疾人"]],
        },
        schema_overrides={"bank_account_on_file": pl.Boolean},
    )
    path = tmp_path / "people.parquet"
    frame.write_parquet(path)
    out, err = StringIO(), StringIO()
    call_command("policies", "import-profiles", "person", str(path), stdout=out, stderr=err)
    assert "1 rows — 1 created" in out.getvalue()
    assert "100.0%" in err.getvalue()
    profile = PersonProfile.objects.get(id_number=person)
    assert profile.alive is True
    assert profile.bank_account_on_file is None
    assert profile.tags == ["残疾人"]
    bad = write(tmp_path, "id_number,name\n110101199001011234,某\n", "people.csv")
    err = StringIO()
    with pytest.raises(CommandError, match="nothing imported"):
        call_command("policies", "import-profiles", "person", str(bad), "--quiet", stderr=err)
    assert err.getvalue().startswith("people.csv:2: id_number:")


def test_rule_check_command(tmp_path: Path) -> None:
    good = write(
        tmp_path,
        "conditions: {attr: employees, op: '>=', value: 10}\namount: {per_head: new_hires, amount: 1000}\n",
        "ok.yaml",
    )
    out = StringIO()
    call_command("policies", "check", str(good), "--target", "enterprise", stdout=out)
    assert '"ok": true' in out.getvalue()
    bad = write(
        tmp_path,
        "conditions: {attr: staff, op: '>=', value: 10}\namount: {divide: [1, {attr: employees}]}\n",
        "bad.yaml",
    )
    err = StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command("policies", "check", str(bad), "--target", "enterprise", stderr=err)
    assert "bad.yaml: conditions.attr: 未知属性“staff”" in err.getvalue()
    assert "bad.yaml: amount.divide[1]: 除数可能为零" in err.getvalue()
