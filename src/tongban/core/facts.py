"""Facts about an applicant that decision rules may use (智能秒办): a name, a type and a provider.

Apps that own the data register providers (``facts.register``); the catalog validates rules
against the names and types registered; the case engine asks the providers when it decides. A
provider returns ``None`` when it does not know — the rule is then *unknown* and the case goes to
a person, never decided on a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tongban.core.plugins import Registry


@dataclass(frozen=True)
class Fact:
    name: str  # e.g. "fact.commitment_barred"
    answer_type: str  # yes_no | number | date | text
    label: str
    provider: Callable[[Any], Any]  # the case → value or None


facts: Registry[Fact] = Registry("fact")


def register(name: str, answer_type: str, label: str) -> Callable[[Callable[[Any], Any]], Fact]:
    def decorator(provider: Callable[[Any], Any]) -> Fact:
        fact = Fact(name, answer_type, label, provider)
        facts.register(name)(fact)
        return fact

    return decorator
