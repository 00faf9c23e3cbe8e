"""Refreshing 一人一档/一企一档 profiles from the 数源 connectors.

Each profile is refreshed on its own: the sources are asked first, outside any transaction
(``sharing.services.lookup_subject``, each lookup logged with the purpose and legal basis
below), then the answers are written in one transaction with the profile row locked. Only
attributes a source really holds are filled — persons: ``alive`` (死亡登记 found → not alive;
no death record while 户籍 holds the person → alive), ``disability_grade`` (残疾人证 level),
``graduate_school`` (学籍学历); enterprises: ``registered_on`` and ``industry_code`` (企业登记).
A source that is down, refused or answers something unusable leaves its attributes as they
were and is named in the report; "no record" changes nothing either, except for the death
registry, whose silence is what says a registered person is alive.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from django.db import transaction
from django.db.models import Model

from tongban.policies.models import EnterpriseProfile, PersonProfile, TargetKind
from tongban.sharing.models import LookupResult
from tongban.sharing.services import LookupOutcome, lookup_subject

PURPOSE: Final = "惠企惠民政策兑现：一人一档/一企一档更新"
LEGAL_BASIS: Final = (
    "《个人信息保护法》第十三条第一款第三项（履行法定职责所必需）；"
    "惠企惠民政策“免申即享”兑现（示例依据）"
)
PERSON_SOURCES: Final = ("hukou", "death_registry", "disability", "education")
ENTERPRISE_SOURCES: Final = ("enterprise_registry",)
_LEVELS: Final = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}


@dataclass
class RefreshReport:
    kind: str
    profiles: int = 0
    updated: int = 0
    lookups: int = 0
    changes: dict[str, list[str]] = field(default_factory=dict)  # profile key → attributes
    problems: list[str] = field(default_factory=list)  # "key: source: result detail"


Asked = dict[str, LookupOutcome]


def _found(asked: Asked, code: str) -> dict[str, Any] | None:
    outcome = asked.get(code)
    return outcome.record or {} if outcome and outcome.result == LookupResult.FOUND else None


def _answered(asked: Asked, code: str) -> bool:
    outcome = asked.get(code)
    return outcome is not None and outcome.result in (LookupResult.FOUND, LookupResult.NOT_FOUND)


def _person_values(asked: Asked, problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if _found(asked, "death_registry") is not None:
        values["alive"] = False
    elif _answered(asked, "death_registry") and _found(asked, "hukou") is not None:
        values["alive"] = True
    disability = _found(asked, "disability")
    if disability is not None:
        level = _LEVELS.get(str(disability.get("disability_level", "")))
        if level is None:
            problems.append(f"disability: 残疾等级无法识别（{disability.get('disability_level')}）")
        else:
            values["disability_grade"] = level
    education = _found(asked, "education")
    if education is not None and education.get("school_name"):
        values["graduate_school"] = str(education["school_name"])[:128]
    return values


def _enterprise_values(asked: Asked, problems: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    registry = _found(asked, "enterprise_registry")
    if registry is None:
        return values
    raw_day = registry.get("registered_on")
    if raw_day:
        try:
            values["registered_on"] = dt.date.fromisoformat(str(raw_day))
        except ValueError:
            problems.append(f"enterprise_registry: 成立日期无法识别（{raw_day}）")
    industry = str(registry.get("industry_code") or "")
    if industry:
        if len(industry) <= 5:
            values["industry_code"] = industry
        else:
            problems.append(f"enterprise_registry: 行业代码无法识别（{industry}）")
    return values


_KINDS: Final[
    dict[str, tuple[type[Model], str, tuple[str, ...], Callable[..., dict[str, Any]]]]
] = {
    TargetKind.PERSON: (PersonProfile, "id_number", PERSON_SOURCES, _person_values),
    TargetKind.ENTERPRISE: (EnterpriseProfile, "uscc", ENTERPRISE_SOURCES, _enterprise_values),
}


def refresh_profiles(
    requester: Any, kind: str, ids: Iterable[int] | None = None, *, limit: int | None = None
) -> RefreshReport:
    """Refresh profiles of ``kind`` (the given ids, else the least recently refreshed first,
    at most ``limit``). ``requester`` is checked by the caller (``None``: the platform's job)."""
    model, key_field, codes, values_of = _KINDS[kind]
    profiles = model._default_manager.order_by("refreshed_at", "id")
    if ids is not None:
        profiles = profiles.filter(pk__in=list(ids))
    if limit is not None:
        profiles = profiles[:limit]
    report = RefreshReport(kind)
    subject_arg = "subject_person" if kind == TargetKind.PERSON else "subject_enterprise"
    for profile_id, key in list(profiles.values_list("pk", key_field)):
        report.profiles += 1
        asked: Asked = {}
        for code in codes:
            outcome = lookup_subject(
                requester, code=code, purpose=PURPOSE, legal_basis=LEGAL_BASIS, **{subject_arg: key}
            )
            report.lookups += 1
            asked[code] = outcome
            if outcome.result not in (LookupResult.FOUND, LookupResult.NOT_FOUND):
                report.problems.append(f"{profile_id}: {code}: {outcome.result} {outcome.reason}")
        problems: list[str] = []
        values = values_of(asked, problems)
        report.problems += [f"{profile_id}: {p}" for p in problems]
        changed = _store(model, profile_id, values)
        if changed:
            report.updated += 1
            report.changes[str(profile_id)] = changed
    return report


@transaction.atomic
def _store(model: type[Model], profile_id: int, values: dict[str, Any]) -> list[str]:
    """Write one profile's refreshed attributes (row locked); returns what changed."""
    profile = model._default_manager.select_for_update().filter(pk=profile_id).first()
    if profile is None:  # deleted meanwhile
        return []
    changed = [name for name, value in values.items() if getattr(profile, name) != value]
    for name in changed:
        setattr(profile, name, values[name])
    profile.save(update_fields=[*changed, "refreshed_at"])
    return changed
