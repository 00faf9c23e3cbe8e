"""The English catalog: every placeholder of a message is kept in its translation, so switching
to English never raises while formatting a message."""

from __future__ import annotations

import re
from pathlib import Path

import polib

CATALOG = Path(__file__).resolve().parent.parent / "src/tongban/locale/en/LC_MESSAGES/django.po"
PLACEHOLDER = re.compile(r"%(?:\([a-z_]+\))?[-#0 +]?\d*(?:\.\d+)?[sdifr]|\{[a-z_]*\}")


def test_placeholders_survive_translation() -> None:
    broken = []
    for entry in polib.pofile(str(CATALOG)):
        if not entry.msgstr:
            continue
        if sorted(PLACEHOLDER.findall(entry.msgid)) != sorted(PLACEHOLDER.findall(entry.msgstr)):
            broken.append(f"{entry.linenum}: {entry.msgid!r} → {entry.msgstr!r}")
    assert not broken, "\n".join(broken)


def test_no_message_is_listed_twice() -> None:
    seen: dict[tuple[str, str], int] = {}
    for entry in polib.pofile(str(CATALOG)):
        key = (entry.msgctxt or "", entry.msgid)
        assert key not in seen, f"{entry.msgid!r} at lines {seen[key]} and {entry.linenum}"
        seen[key] = entry.linenum
