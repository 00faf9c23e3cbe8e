"""Bulk import of 一企一档/一人一档 profiles from CSV or Parquet: all rows or none.

Columns are the schema's attribute names (``uscc,name,industry,…`` or ``id_number,name,…``);
a missing column leaves that attribute as it is (new profiles: unknown), an empty cell means
unknown. Every row is checked first — key check digit (GB 32100 / GB 11643), types, choices,
division codes that exist, tags from the tag library — and problems are reported as
``file:line: column: message`` (CSV lines as in the file, counting the header as line 1;
Parquet rows numbered the same way). Only a clean file is written, in one transaction, created
or updated in batches; a progress bar goes to stderr.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from django.db import transaction

from tongban.core.errors import FieldError, ValidationFailed
from tongban.core.identifiers import InvalidIdentifier, check_id_number, check_uscc
from tongban.identity.models import Division
from tongban.policies.models import ProfileImport
from tongban.policies.schema import Attribute, AttrType, ProfileSchema, Target, schema_for
from tongban.policies.selectors import profile_model

BATCH = 2_000
TAG_SEPARATORS = ("|", ";", "；", "、")
TRUE = {"true", "1", "yes", "y", "是", "t"}
FALSE = {"false", "0", "no", "n", "否", "f"}


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"


class ProfilesInvalid(ValidationFailed):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(
            f"档案文件有 {len(problems)} 处错误，未导入任何内容",
            code="profiles_invalid",
            errors=[FieldError(f"{p.file}:{p.line}.{p.column}", p.message) for p in problems],
        )
        self.problems = problems

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


@dataclass(frozen=True)
class ImportReport:
    rows: int
    created: int
    updated: int


class Writer(Protocol):
    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class Progress:
    """A plain progress bar on a stream (stderr); silent when ``stream`` is None."""

    def __init__(self, total: int, label: str, stream: Writer | None) -> None:
        self.total, self.label, self.stream, self.done = max(total, 1), label, stream, 0

    def advance(self, n: int) -> None:
        self.done += n
        if self.stream is None:
            return
        share = min(self.done / self.total, 1.0)
        bar = "#" * int(share * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {self.done}/{self.total} {share:6.1%}")
        if self.done >= self.total:
            self.stream.write("\n")
        self.stream.flush()


def _rows(path: Path) -> tuple[list[str], Iterator[tuple[int, dict[str, Any]]], int]:
    """Header, (line, row) pairs and the row count of a CSV or Parquet file."""
    if path.suffix.lower() == ".parquet":
        import polars as pl

        frame = pl.read_parquet(path)
        records = frame.to_dicts()
        return frame.columns, ((i + 2, r) for i, r in enumerate(records)), len(records)
    text = path.read_text(encoding="utf-8-sig")
    reader = csv.DictReader(text.splitlines())
    header = list(reader.fieldnames or [])
    records_csv = [(reader.line_num, dict(r)) for r in reader]
    return header, iter(records_csv), len(records_csv)


def _parse(attr: Attribute, raw: Any, schema: ProfileSchema, divisions: set[str]) -> Any:
    """The typed value of one cell; raises ValueError with the message for the report."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, float) and math.isnan(raw):
        return None
    text = raw.strip() if isinstance(raw, str) else raw
    kind = attr.type
    if kind is AttrType.INT:
        try:
            value = int(text) if not isinstance(text, float) or text.is_integer() else None
        except (TypeError, ValueError):
            value = None
        if value is None:
            raise ValueError(f"应为整数，实际为 {raw!r}")
        _check_range(attr, value)
        return value
    if kind is AttrType.NUMBER:
        try:
            number = float(text)
        except (TypeError, ValueError):
            raise ValueError(f"应为数字，实际为 {raw!r}") from None
        if not math.isfinite(number):
            raise ValueError("应为有限数")
        _check_range(attr, number)
        return number
    if kind is AttrType.BOOL:
        if isinstance(text, bool):
            return text
        lowered = str(text).lower()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        raise ValueError(f"应为 是/否（true/false），实际为 {raw!r}")
    if kind is AttrType.DATE:
        if isinstance(text, dt.date):
            return text
        try:
            return dt.date.fromisoformat(str(text))
        except ValueError:
            raise ValueError(f"应为日期 YYYY-MM-DD，实际为 {raw!r}") from None
    if kind is AttrType.ENUM:
        if text not in attr.choices:
            raise ValueError(f"只能取 {'、'.join(attr.choices)}，实际为 {raw!r}")
        return text
    if kind is AttrType.DIVISION:
        if str(text) not in divisions:
            raise ValueError(f"没有代码为 {raw!r} 的区划")
        return str(text)
    if kind is AttrType.TAGS:
        if isinstance(text, list):
            tags = [str(t).strip() for t in text if str(t).strip()]
        else:
            value_text = str(text)
            for sep in TAG_SEPARATORS[1:]:
                value_text = value_text.replace(sep, TAG_SEPARATORS[0])
            tags = [t.strip() for t in value_text.split(TAG_SEPARATORS[0]) if t.strip()]
        unknown = [t for t in tags if t not in schema.tags]
        if unknown:
            raise ValueError(f"未知标签 {'、'.join(unknown)}（标签库：{'、'.join(schema.tags)}）")
        return sorted(set(tags))
    text_value = str(text)
    if attr.name == "industry" and len(text_value) > 5:
        raise ValueError("行业代码最长 5 位（GB/T 4754）")
    return text_value


def _check_range(attr: Attribute, value: float) -> None:
    if attr.minimum is not None and value < attr.minimum:
        raise ValueError(f"不能小于 {attr.minimum:g}")
    if attr.maximum is not None and value > attr.maximum:
        raise ValueError(f"不能大于 {attr.maximum:g}")


def _check_key(schema: ProfileSchema, value: str) -> None:
    try:
        if schema.target == Target.ENTERPRISE:
            check_uscc(value)
        else:
            check_id_number(value)
    except InvalidIdentifier as exc:
        raise ValueError(str(exc)) from exc


def import_profiles(
    target: str,
    path: Path,
    *,
    progress: Writer | None = sys.stderr,
    display_name: str | None = None,
) -> ImportReport:
    """Validate the whole file, then create/update every profile in one transaction."""
    schema = schema_for(target)
    name = display_name or path.name
    header, rows, total = _rows(path)
    problems: list[Problem] = []
    unknown_columns = [c for c in header if schema.get(c) is None]
    for column in unknown_columns:
        problems.append(
            Problem(name, 1, column, f"未知列（{target} 档案的列有：{'、'.join(schema.names())}）")
        )
    for attr in schema.attributes:
        if attr.required and attr.name not in header:
            problems.append(Problem(name, 1, attr.name, "缺少必需的列"))
    if problems:
        raise ProfilesInvalid(problems)
    divisions = set(Division.objects.values_list("code", flat=True))
    columns = [a for a in (schema.get(c) for c in header) if a is not None]
    parsed: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    checking = Progress(total, "检查", progress)
    for line, row in rows:
        record: dict[str, Any] = {}
        for attr in columns:
            try:
                record[attr.model_column] = _parse(attr, row.get(attr.name), schema, divisions)
            except ValueError as exc:
                problems.append(Problem(name, line, attr.name, str(exc)))
        key = record.get(schema.key)
        if key is None:
            problems.append(Problem(name, line, schema.key, "不能为空"))
        else:
            try:
                _check_key(schema, key)
            except ValueError as exc:
                problems.append(Problem(name, line, schema.key, str(exc)))
            if key in seen:
                problems.append(Problem(name, line, schema.key, f"与第 {seen[key]} 行重复"))
            seen.setdefault(key, line)
        if not record.get("name"):
            problems.append(Problem(name, line, "name", "不能为空"))
        parsed.append(record)
        if len(parsed) % BATCH == 0:
            checking.advance(BATCH)
    checking.advance(len(parsed) % BATCH or (0 if parsed else 1))
    if problems:
        raise ProfilesInvalid(sorted(problems)[:1000])
    model = profile_model(target)
    created = updated = 0
    fields = [schema.get(c).model_column for c in header if c != schema.key]  # type: ignore[union-attr]
    writing = Progress(len(parsed), "导入", progress)
    with transaction.atomic():
        for start in range(0, len(parsed), BATCH):
            chunk = parsed[start : start + BATCH]
            keys = [r[schema.key] for r in chunk]
            existing = {
                getattr(p, schema.key): p
                for p in model.objects.filter(**{f"{schema.key}__in": keys})
            }
            new, changed = [], []
            for record in chunk:
                obj = existing.get(record[schema.key])
                if obj is None:
                    new.append(model(**record))
                else:
                    for column in fields:
                        setattr(obj, column, record[column])
                    changed.append(obj)
            model.objects.bulk_create(new)
            if changed and fields:
                model.objects.bulk_update(changed, fields)
            created += len(new)
            updated += len(changed)
            writing.advance(len(chunk))
        ProfileImport.objects.create(
            target=target, file_name=name, rows=len(parsed), created=created, updated=updated
        )
    return ImportReport(rows=len(parsed), created=created, updated=updated)
