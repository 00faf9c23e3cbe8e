"""``tongban workdays …``: an administrator enters a year from a YAML or CSV file; every problem
is reported with file and line and nothing is stored; the other subcommands."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tongban.workdays import selectors, services
from tongban.workdays.document import parse_year_file
from tongban.workdays.errors import CalendarUnknown
from tongban.workdays.models import CalendarDay, CalendarSource, CalendarYear

# these tests are about the shipped calendar's end: no test years after it
pytestmark = [pytest.mark.django_db, pytest.mark.shipped_calendar]

D = dt.date

GOOD = """\
year: 2027
notice: 国办发明电〔2026〕样例号
holidays:
  - {from: 2027-01-01, to: 2027-01-03, name: 元旦}
  - {from: 2027-02-06, to: 2027-02-12, name: 春节}
  - date: 2027-04-05
    name: 清明节
makeup_workdays:
  - {date: 2027-02-13, name: 春节}
"""


@pytest.fixture(autouse=True)
def calendar() -> None:
    services.do_sync_chinese_calendar()


def write(tmp_path: Path, text: str, name: str = "2027.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("workdays", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def fails(*args: str) -> tuple[str, str]:
    err = io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("workdays", *args, stdout=io.StringIO(), stderr=err)
    return str(caught.value), err.getvalue()


def test_import_a_year_from_yaml(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    out, err = run("import", str(path), "--by", "sysadmin")
    assert (
        out.strip()
        == "imported 2027: 11 holiday(s), 1 make-up workday(s), notice 国办发明电〔2026〕样例号"
    )
    assert err == ""
    year = CalendarYear.objects.get(year=2027)
    assert (year.source, year.notice, year.entered_by) == (
        CalendarSource.ADMINISTRATOR,
        "国办发明电〔2026〕样例号",
        "sysadmin",
    )
    assert CalendarDay.objects.get(date=D(2027, 2, 9)).name == "春节"
    assert selectors.add_workdays(D(2027, 2, 5), 1) == D(2027, 2, 13)
    assert selectors.add_workdays(D(2027, 2, 5), 2) == D(2027, 2, 15)
    assert not selectors.is_workday(D(2027, 4, 5))

    message, _ = fails("import", str(path))
    assert "2027 年的工作日历已存在" in message
    changed = write(tmp_path, GOOD.replace("  - date: 2027-04-05\n    name: 清明节\n", ""))
    run("import", str(changed), "--replace")
    assert selectors.is_workday(D(2027, 4, 5))
    assert CalendarYear.objects.get(year=2027).entered_by.startswith("cli:")


def test_validate_stores_nothing(tmp_path: Path) -> None:
    out, _ = run("validate", str(write(tmp_path, GOOD)))
    assert out.strip() == "OK: 2027, 11 holiday(s), 1 make-up workday(s)"
    assert not CalendarYear.objects.filter(year=2027).exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (  # a make-up workday on a Wednesday
            GOOD.replace("{date: 2027-02-13, name: 春节}", "{date: 2027-02-17, name: 春节}"),
            [
                "2027.yaml:9: makeup_workdays[0]: 2027-02-17 是工作日（周三），调休上班日必须是周六或周日"
            ],
        ),
        (  # outside the year
            GOOD.replace("2027-04-05", "2028-04-05"),
            ["2027.yaml:6: holidays[2]: 2028-04-05 不在 2027 年内"],
        ),
        (  # the same day twice
            GOOD.replace("2027-04-05", "2027-01-02"),
            ["2027.yaml:6: holidays[2]: 2027-01-02 重复出现（第 4 行已列出）"],
        ),
        (  # no notice, a misspelt key, a bad date
            GOOD.replace("notice: 国办发明电〔2026〕样例号\n", "")
            .replace("name: 清明节", "nmae: 清明节")
            .replace("2027-02-12", "2027-02-30"),
            [
                "2027.yaml:1: notice: 必须写明通知文号，如 国办发明电〔2026〕N号",
                "2027.yaml:4: holidays[1].to: 日期格式应为 YYYY-MM-DD",
                "2027.yaml:5: holidays[2].name: 必须写明节日名称，如 春节",
                "2027.yaml:6: holidays[2].nmae: 未知的键；可用的键：date、from、name、to",
            ],
        ),
        (  # a break that ends before it starts
            GOOD.replace("to: 2027-02-12", "to: 2027-02-01"),
            ["2027.yaml:5: holidays[1].to: 结束日期早于开始日期"],
        ),
        (  # YAML syntax
            GOOD.replace("  - {date: 2027-02-13, name: 春节}", "  - {date: 2027-02-13, name: 春节"),
            ["2027.yaml:10: YAML 语法错误"],
        ),
        (  # the year itself
            GOOD.replace("year: 2027", "year: next"),
            ["2027.yaml:1: year: 必须写明年份（整数，如 2027）"],
        ),
    ],
)
def test_problems_name_file_and_line(tmp_path: Path, text: str, expected: list[str]) -> None:
    path = write(tmp_path, text)
    message, err = fails("import", str(path))
    assert "nothing was stored" in message
    lines = [line.replace(str(tmp_path) + "/", "") for line in err.splitlines()]
    assert len(lines) == len(expected), lines
    for line, wanted in zip(lines, expected, strict=True):
        assert line.startswith(wanted), (line, wanted)
    assert not CalendarYear.objects.filter(year=2027).exists()
    assert not CalendarDay.objects.filter(date__year=2027).exists()


def test_a_lonely_weekend_holiday_is_a_warning(tmp_path: Path) -> None:
    text = GOOD.replace(
        "  - {date: 2027-02-13, name: 春节}", "  - {date: 2027-02-13, name: 春节}\n"
    ).replace("  - date: 2027-04-05", "  - {date: 2027-09-18, name: 中秋节}\n  - date: 2027-04-05")
    out, err = run("import", str(write(tmp_path, text)))
    assert "imported 2027: 12 holiday(s)" in out
    assert "2027.yaml:6: [warning] holidays[2]: 2027-09-18 是周六，本来就休息" in err
    assert CalendarDay.objects.filter(date=D(2027, 9, 18)).exists()


CSV = """\
date,kind,name
2027-01-01,holiday,元旦
2027-02-08,放假,春节
2027-02-09,holiday,春节
2027-02-13,调休上班,春节
"""


def test_import_a_year_from_csv(tmp_path: Path) -> None:
    path = write(tmp_path, CSV, "2027.csv")
    _message, err = fails("import", str(path))
    assert "2027.csv:1: notice: CSV 文件须用 --notice 写明通知文号" in err
    out, _ = run("import", str(path), "--notice", "国办发明电〔2026〕样例号")
    assert "imported 2027: 3 holiday(s), 1 make-up workday(s)" in out
    assert selectors.is_workday(D(2027, 2, 13))
    assert not selectors.is_workday(D(2027, 2, 8))


def test_csv_problems_name_the_line(tmp_path: Path) -> None:
    text = CSV + "2027-02-17,makeup_workday,春节\n2027-13-01,holiday,春节\n2027-05-03,休息,劳动节\n"
    path = write(tmp_path, text, "2027.csv")
    _, err = fails("import", str(path), "--notice", "样例")
    lines = [line.replace(str(tmp_path) + "/", "") for line in err.splitlines()]
    assert lines == [
        "2027.csv:6: date: 2027-02-17 是工作日（周三），调休上班日必须是周六或周日",
        "2027.csv:7: date: 日期格式应为 YYYY-MM-DD",
        "2027.csv:8: kind: 类别应为 holiday（放假）或 makeup_workday（调休上班）",
    ]
    stray = write(tmp_path, CSV + "2026-12-31,holiday,元旦\n", "stray.csv")
    _, err = fails("import", str(stray), "--notice", "样例")
    assert err.strip().endswith("stray.csv:6: date: 2026-12-31 不在 2027 年内")
    _, err = fails("import", str(write(tmp_path, "day,kind\n", "bad.csv")), "--notice", "样例")
    assert "bad.csv:1: 第一行必须是表头 date,kind,name" in err


def test_sync_years_add_and_horizon_commands(tmp_path: Path) -> None:
    out, _ = run("sync")
    assert out.strip() == "新增 0 年，更新 0 年，未变 23 年"
    out, _ = run("years")
    assert out.splitlines()[0].startswith("2026\tchinese_calendar\t33\t6\t-")
    assert len(out.splitlines()) == 23
    out, _ = run("add", "2025-01-24", "5")
    assert out.strip() == "2025-02-07"
    message, _ = fails("add", "2026-12-25", "5")
    assert "2027 年的工作日历尚未录入" in message
    out, _ = run("horizon", "--today", "2026-10-01")
    assert out.strip() == "last known day 2026-12-31, 91 day(s) left"
    message, _ = fails("horizon", "--today", "2026-11-23")
    assert "enter 2027" in message


def test_weekday_years_fill_the_gap_after_the_known_ones_and_only_that(tmp_path: Path) -> None:
    """Sample and throw-away databases enter plain years after the shipped ones; a year an
    administrator already entered is kept, and nothing before the last known year is added."""
    selectors.forget_calendar()
    with pytest.raises(CalendarUnknown):
        selectors.add_workdays(D(2026, 12, 28), 5)
    published = parse_year_file(write(tmp_path, GOOD))  # 2027, as the State Council would
    services.do_save_year(published, entered_by="admin")
    entered = services.do_enter_weekday_years(2029, notice="示例数据", entered_by="demo")
    assert entered == [2028, 2029]
    rows = {y.year: y for y in CalendarYear.objects.filter(year__gte=2027)}
    assert (rows[2027].notice, rows[2027].entered_by) == ("国办发明电〔2026〕样例号", "admin")
    assert (rows[2028].notice, rows[2028].source) == ("示例数据", CalendarSource.ADMINISTRATOR)
    assert not CalendarDay.objects.filter(year__year__in=[2028, 2029]).exists()
    # a plain year: weekends off, nothing else — 2028-01-01 is a Saturday
    assert selectors.add_workdays(D(2027, 12, 31), 1) == D(2028, 1, 3)
    assert services.do_enter_weekday_years(2029, notice="示例数据", entered_by="demo") == []
    assert services.do_enter_weekday_years(2020, notice="示例数据", entered_by="demo") == []


def test_the_demo_enters_next_year_as_sample_data() -> None:
    from freezegun import freeze_time

    from tongban.demo.management.commands.demo_data import DEMO_CALENDAR_NOTICE, Command

    out = io.StringIO()
    with freeze_time("2026-12-07 10:00:00+08:00"):
        command = Command(stdout=out)
        command._load_calendar_years()
        command._load_calendar_years()  # a second run adds nothing
    assert "已录入 2027 年示例日历" in out.getvalue()
    assert out.getvalue().count("示例日历") == 1
    year = CalendarYear.objects.get(year=2027)
    assert year.notice == DEMO_CALENDAR_NOTICE
    assert not CalendarYear.objects.filter(year=2028).exists()
