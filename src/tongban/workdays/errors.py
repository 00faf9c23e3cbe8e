"""Errors of the working-day calendar.

``CalendarUnknown`` (HTTP 409, code ``calendar_unknown``) is the visible condition DESIGN.md asks
for: a period reaches a year whose State Council schedule nobody has entered yet, so no deadline
is computed. ``CalendarFileInvalid`` (HTTP 422) lists every problem of a year file with its file
and line; ``CalendarYearExists`` (HTTP 409) refuses to overwrite a year without ``replace``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from tongban.core.errors import Conflict, FieldError, ValidationFailed

if TYPE_CHECKING:
    from tongban.workdays.document import Problem


class CalendarUnknown(Conflict):
    """A date falls in ``year``, which is not in the known calendar."""

    def __init__(self, year: int, *, path: str = "start") -> None:
        message = (
            f"{year} 年的工作日历尚未录入，无法计算期限：请系统管理员按国务院办公厅公布的"
            f"{year} 年部分节假日安排录入（tongban workdays import）后再试"
        )
        super().__init__(message, "calendar_unknown", [FieldError(path, message)])
        self.year = year


class CalendarYearExists(Conflict):
    """``year`` is already known; importing it again needs ``replace``."""

    def __init__(self, year: int) -> None:
        message = f"{year} 年的工作日历已存在；如需更正，请使用 --replace 重新导入"
        super().__init__(message, "calendar_year_exists", [FieldError("year", message)])
        self.year = year


class CalendarFileInvalid(ValidationFailed):
    """A year file cannot be imported; ``problems`` say where (file and line) and why."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = sorted(problems)
        message = "日历文件有误，未导入任何内容"
        errors = [FieldError(f"{p.file}:{p.line}:{p.path}", p.message) for p in self.problems]
        super().__init__(message, "calendar_file_invalid", errors)
