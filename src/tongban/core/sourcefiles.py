"""Reading YAML source files (catalog, working-day calendars) with line numbers, so every
problem can name its file and line.

PyYAML's node tree keeps the position of every value; ``load_yaml`` returns the plain data
together with a map from a value's path (``("items", 0, "materials", 2)``) to its line.
Duplicate mapping keys — silently merged by most YAML readers — are reported as problems.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PathKey = tuple[str | int, ...]


class _TextDatesLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as the text written: readers parse ISO dates themselves, and
    an impossible date (2027-02-30) becomes a problem with a line instead of a crash."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a source file; ``path`` is dotted (``items[0].materials[2].source``)."""

    file: str
    line: int
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        label = "" if self.severity == "error" else f"[{self.severity}] "
        return (
            f"{where}: {label}{self.path}: {self.message}"
            if self.path
            else f"{where}: {label}{self.message}"
        )


def dotted(path: PathKey) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


@dataclass
class LoadedFile:
    path: Path
    data: Any
    lines: dict[PathKey, int]

    @property
    def name(self) -> str:
        """The file as problems name it."""
        return str(self.path)

    def line_of(self, path: PathKey) -> int:
        """The line of ``path``, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), 1)

    def problem(self, path: PathKey, message: str, severity: str = "error") -> Problem:
        return Problem(str(self.path), self.line_of(path), dotted(path), message, severity)


def load_yaml(
    path: Path, display_name: str | None = None
) -> tuple[LoadedFile | None, list[Problem]]:
    """Parse one YAML file; on failure return the problems instead of raising."""
    name = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None, [Problem(name, 1, "", "文件不是 UTF-8 编码")]
    except OSError as exc:
        return None, [Problem(name, 1, "", f"无法读取文件：{exc.strerror}")]
    loader = _TextDatesLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, [Problem(name, 1, "", "文件为空")]
        problems: list[Problem] = []
        lines: dict[PathKey, int] = {}
        _walk(node, (), lines, problems, name)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return None, [Problem(name, line, "", f"YAML 语法错误：{exc.problem or exc}")]
    except yaml.YAMLError as exc:
        return None, [Problem(name, 1, "", f"YAML 语法错误：{exc}")]
    finally:
        loader.dispose()
    return LoadedFile(Path(name), data, lines), problems


def _walk(
    node: yaml.Node, path: PathKey, lines: dict[PathKey, int], problems: list[Problem], name: str
) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    Problem(
                        name, line, dotted((*path, key)), f"重复的键（第 {seen[key]} 行已出现）"
                    )
                )
            seen[key] = line
            _walk(value_node, (*path, key), lines, problems, name)
            lines[(*path, key)] = line
    elif isinstance(node, yaml.SequenceNode):
        for index, child in enumerate(node.value):
            _walk(child, (*path, index), lines, problems, name)


def yaml_files(paths: list[Path]) -> Iterator[Path]:
    """Expand folders to the YAML files inside them, in a stable order."""
    for path in paths:
        if path.is_dir():
            yield from sorted(
                p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
            )
        else:
            yield path
