"""The year file an administrator writes when the State Council publishes a new schedule.

YAML (one file per year)::

    year: 2027
    notice: 国办发明电〔2026〕N号
    holidays:                                  # 放假: one day, or a whole break from/to
      - {date: 2027-01-01, name: 元旦}
      - {from: 2027-02-05, to: 2027-02-11, name: 春节}
    makeup_workdays:                           # 调休上班 (Saturdays and Sundays only)
      - {date: 2027-02-13, name: 春节}

or CSV with the header ``date,kind,name`` (kind ``holiday``/``放假`` or
``makeup_workday``/``调休上班``), one day per row; a CSV file has no room for the notice, so
``parse_year_file`` takes it (and optionally the year) as arguments.

Every problem names the file and line: a missing notice or name, dates outside the year, a
调休上班 day that is not a Saturday or Sunday, a date listed twice. A holiday on a weekend is
accepted — weekend days inside a break carry the festival's name — but one not joined to any
weekday holiday changes nothing and is reported as a warning (it is usually a make-up workday
written under ``holidays``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tongban.core.sourcefiles import LoadedFile, PathKey, Problem, dotted, load_yaml
from tongban.workdays.errors import CalendarFileInvalid
from tongban.workdays.models import MAX_YEAR, MIN_YEAR, DayKind, check_day

SATURDAY = 5
MAX_BREAK_DAYS = 31
MAX_NAME = 64
MAX_NOTICE = 128
KIND_ALIASES = {
    "holiday": DayKind.HOLIDAY,
    "放假": DayKind.HOLIDAY,
    "makeup_workday": DayKind.MAKEUP_WORKDAY,
    "调休上班": DayKind.MAKEUP_WORKDAY,
    "上班": DayKind.MAKEUP_WORKDAY,
}
YAML_KEYS = {"year", "notice", "holidays", "makeup_workdays"}


@dataclass(frozen=True)
class ScheduledDay:
    date: dt.date
    kind: str
    name: str


@dataclass
class YearSchedule:
    """One year's exception days, ready to store."""

    year: int
    notice: str
    days: list[ScheduledDay] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list, compare=False)

    @property
    def holidays(self) -> list[ScheduledDay]:
        return [d for d in self.days if d.kind == DayKind.HOLIDAY]

    @property
    def makeup_workdays(self) -> list[ScheduledDay]:
        return [d for d in self.days if d.kind == DayKind.MAKEUP_WORKDAY]


@dataclass(frozen=True)
class _Entry:
    date: dt.date
    kind: str
    name: str
    file: str
    line: int
    path: str

    def problem(self, message: str) -> Problem:
        return Problem(self.file, self.line, self.path, message)


def parse_year_file(
    path: Path,
    *,
    year: int | None = None,
    notice: str | None = None,
    display_name: str | None = None,
) -> YearSchedule:
    """Read and check a year file (``.csv`` → CSV, anything else YAML); raise
    ``CalendarFileInvalid`` with every problem found, or return the schedule."""
    name = display_name or str(path)
    if path.suffix.lower() == ".csv":
        schedule, problems = _read_csv(path, name, year, notice)
    else:
        schedule, problems = _read_yaml(path, name)
    warnings: list[Problem] = []
    if schedule is not None:
        errors, warnings = _check_entries(schedule)
        problems.extend(errors)
    if problems or schedule is None:
        raise CalendarFileInvalid(problems)
    return YearSchedule(
        schedule.year,
        schedule.notice,
        sorted(
            (ScheduledDay(e.date, e.kind, e.name) for e in schedule.entries),
            key=lambda d: d.date,
        ),
        sorted(warnings),
    )


@dataclass
class _Parsed:
    year: int
    notice: str
    entries: list[_Entry]


# --- YAML -----------------------------------------------------------------------------------------


def _read_yaml(path: Path, name: str) -> tuple[_Parsed | None, list[Problem]]:
    loaded, problems = load_yaml(path, name)
    if loaded is None:
        return None, problems
    data = loaded.data
    if not isinstance(data, dict):
        return None, [
            *problems,
            loaded.problem((), "文件内容必须是一个映射（year、notice、holidays…）"),
        ]
    for key in data:
        if key not in YAML_KEYS:
            problems.append(
                loaded.problem((str(key),), f"未知的键；可用的键：{'、'.join(sorted(YAML_KEYS))}")
            )
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        problems.append(loaded.problem(("year",), "必须写明年份（整数，如 2027）"))
        return None, problems
    if not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(loaded.problem(("year",), f"年份必须在 {MIN_YEAR} 到 {MAX_YEAR} 之间"))
        return None, problems
    notice = data.get("notice")
    if not isinstance(notice, str) or not notice.strip():
        problems.append(loaded.problem(("notice",), "必须写明通知文号，如 国办发明电〔2026〕N号"))
        notice = ""
    elif len(notice.strip()) > MAX_NOTICE:
        problems.append(loaded.problem(("notice",), f"通知文号不能超过 {MAX_NOTICE} 个字"))
    entries: list[_Entry] = []
    for section, kind in (
        ("holidays", DayKind.HOLIDAY),
        ("makeup_workdays", DayKind.MAKEUP_WORKDAY),
    ):
        items = data.get(section, [])
        if items is None:
            items = []
        if not isinstance(items, list):
            problems.append(loaded.problem((section,), "必须是一个列表"))
            continue
        if section == "holidays" and not items:
            problems.append(
                loaded.problem(
                    (section,) if section in data else (), "没有放假安排（holidays 为空）"
                )
            )
        for index, item in enumerate(items):
            entries.extend(_yaml_entry(loaded, (section, index), kind, item, problems))
    return _Parsed(year, notice.strip(), entries), problems


def _yaml_entry(
    loaded: LoadedFile, where: PathKey, kind: str, item: Any, problems: list[Problem]
) -> list[_Entry]:
    if not isinstance(item, dict):
        problems.append(
            loaded.problem(where, "每一项必须是映射，如 {date: 2027-01-01, name: 元旦}")
        )
        return []
    allowed = {"date", "name"} | ({"from", "to"} if kind == DayKind.HOLIDAY else set())
    for key in item:
        if key not in allowed:
            problems.append(
                loaded.problem(
                    (*where, str(key)), f"未知的键；可用的键：{'、'.join(sorted(allowed))}"
                )
            )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append(loaded.problem((*where, "name"), "必须写明节日名称，如 春节"))
        return []
    name = name.strip()
    if len(name) > MAX_NAME:
        problems.append(loaded.problem((*where, "name"), f"节日名称不能超过 {MAX_NAME} 个字"))
        return []
    line = loaded.line_of(where)
    text = dotted(where)
    if "date" in item:
        if "from" in item or "to" in item:
            problems.append(loaded.problem(where, "date 与 from/to 只能二选一"))
            return []
        day = _date(item["date"])
        if day is None:
            problems.append(loaded.problem((*where, "date"), "日期格式应为 YYYY-MM-DD"))
            return []
        return [_Entry(day, kind, name, loaded.name, line, text)]
    if kind == DayKind.HOLIDAY and ("from" in item or "to" in item):
        first, last = _date(item.get("from")), _date(item.get("to"))
        if first is None or last is None:
            key = "from" if first is None else "to"
            problems.append(loaded.problem((*where, key), "日期格式应为 YYYY-MM-DD"))
            return []
        if last < first:
            problems.append(loaded.problem((*where, "to"), "结束日期早于开始日期"))
            return []
        if (last - first).days >= MAX_BREAK_DAYS:
            problems.append(loaded.problem((*where, "to"), f"一段假期不能超过 {MAX_BREAK_DAYS} 天"))
            return []
        return [
            _Entry(first + dt.timedelta(days=n), kind, name, loaded.name, line, text)
            for n in range((last - first).days + 1)
        ]
    keys = "date 或 from/to" if kind == DayKind.HOLIDAY else "date"
    problems.append(loaded.problem(where, f"必须写明 {keys}"))
    return []


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


# --- CSV ------------------------------------------------------------------------------------------


def _read_csv(
    path: Path, name: str, year: int | None, notice: str | None
) -> tuple[_Parsed | None, list[Problem]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        return None, [Problem(name, 1, "", "文件不是 UTF-8 编码")]
    except OSError as exc:
        return None, [Problem(name, 1, "", f"无法读取文件：{exc.strerror}")]
    problems: list[Problem] = []
    if not notice or not notice.strip():
        problems.append(Problem(name, 1, "notice", "CSV 文件须用 --notice 写明通知文号"))
        notice = ""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    columns = [c.strip().lower() for c in header] if header else []
    if sorted(columns) != ["date", "kind", "name"]:
        problems.append(Problem(name, 1, "", "第一行必须是表头 date,kind,name"))
        return None, problems
    index = {c: i for i, c in enumerate(columns)}
    entries: list[_Entry] = []
    for row in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            problems.append(Problem(name, line, "", f"应有 {len(columns)} 列，实有 {len(row)} 列"))
            continue
        cells = {c: row[i].strip() for c, i in index.items()}
        day = _date(cells["date"])
        kind = KIND_ALIASES.get(cells["kind"].lower())
        if day is None:
            problems.append(Problem(name, line, "date", "日期格式应为 YYYY-MM-DD"))
        if kind is None:
            problems.append(
                Problem(name, line, "kind", "类别应为 holiday（放假）或 makeup_workday（调休上班）")
            )
        if not cells["name"]:
            problems.append(Problem(name, line, "name", "必须写明节日名称，如 春节"))
        elif len(cells["name"]) > MAX_NAME:
            problems.append(Problem(name, line, "name", f"节日名称不能超过 {MAX_NAME} 个字"))
        if (
            day is not None
            and kind is not None
            and cells["name"]
            and len(cells["name"]) <= MAX_NAME
        ):
            entries.append(_Entry(day, kind, cells["name"], name, line, "date"))
    if year is None:
        years = Counter(e.date.year for e in entries)
        if not years:
            problems.append(Problem(name, 1, "", "文件中没有任何日期"))
            return None, problems
        year = years.most_common(1)[0][0]  # a stray date of another year is then the problem
    if not MIN_YEAR <= year <= MAX_YEAR:
        problems.append(Problem(name, 1, "year", f"年份必须在 {MIN_YEAR} 到 {MAX_YEAR} 之间"))
        return None, problems
    if not any(e.kind == DayKind.HOLIDAY for e in entries) and not problems:
        problems.append(Problem(name, 1, "", "没有放假安排（没有 holiday 行）"))
    return _Parsed(year, notice.strip(), entries), problems


# --- rules shared by both formats ----------------------------------------------------------------


def _check_entries(parsed: _Parsed) -> tuple[list[Problem], list[Problem]]:
    """Errors (the file is refused) and warnings (printed, the file is still stored)."""
    problems: list[Problem] = []
    seen: dict[dt.date, _Entry] = {}
    for entry in parsed.entries:
        message = check_day(parsed.year, entry.date, entry.kind)
        if message:
            problems.append(entry.problem(message))
            continue
        earlier = seen.get(entry.date)
        if earlier is not None:
            problems.append(
                entry.problem(f"{entry.date.isoformat()} 重复出现（第 {earlier.line} 行已列出）")
            )
            continue
        seen[entry.date] = entry
    warnings = [
        seen[day].problem(
            f"{day.isoformat()} 是周{'六日'[day.weekday() - SATURDAY]}，本来就休息，"
            "这天放假不改变任何工作日；请核对它是否应是调休上班日（makeup_workdays）",
        )
        for day in weekend_only_breaks(parsed.year, [(e.date, e.kind) for e in seen.values()])
    ]
    return problems, [Problem(w.file, w.line, w.path, w.message, "warning") for w in warnings]


def weekend_only_breaks(year: int, days: list[tuple[dt.date, str]]) -> list[dt.date]:
    """Weekend holidays not joined to any weekday holiday by a chain of rest days: listing
    them changes nothing, and is often a 调休上班 day written under the wrong heading. (Real
    notices do it sometimes — 中秋节 on Sunday 27 Sep 2015 — hence a warning, not an error.)"""
    holidays = {d for d, k in days if k == DayKind.HOLIDAY and d.year == year}
    makeups = {d for d, k in days if k == DayKind.MAKEUP_WORKDAY}

    def rest(day: dt.date) -> bool:
        return day in holidays or (day.weekday() >= SATURDAY and day not in makeups)

    lonely = []
    for day in sorted(holidays):
        if day.weekday() < SATURDAY:
            continue
        joined = False
        for step in (-1, 1):
            probe = day + dt.timedelta(days=step)
            while rest(probe) and not joined:
                joined = probe in holidays and probe.weekday() < SATURDAY
                probe += dt.timedelta(days=step)
        if not joined:
            lonely.append(day)
    return lonely
