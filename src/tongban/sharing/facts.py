"""Facts from shared data that 秒办 rules may use, e.g. ``fact.credit_dishonest`` (列入严重失信
主体名单, from the 公共信用信息 source).

Each shared fact names its data source and the record field it reads. ``check_fill_draft``
asks the source for the facts the item's rules use — before submission, outside the submit's
locks, logged like every lookup — and keeps the answer as a ``SharedItem`` (target ``fact``).
The provider registered in ``tongban.core.facts`` only reads that answer, so a rule decides on
what was obtained; when nothing was (source down or refused, a record without the field), the
provider says it does not know and the case goes to a person.

A fact read from a list — 严重失信主体名单, 失信被执行人名单 — has a definite answer when the
source holds no record of the subject: the subject is not on the list (``when_not_found``). That
"no record" is an answer, kept as obtained with the lookup that gave it; a source that could not
be asked is not, and stays unknown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from tongban.core.facts import register
from tongban.sharing.models import SharedItem, SharedStatus, SharedTarget


@dataclass(frozen=True)
class SharedFact:
    name: str  # fact.<name>, as rules refer to it
    source: str  # the data source code (``tongban.sharing.sources``)
    field: str  # the field of the source's record
    answer_type: str  # yes_no | number | date | text
    label: str
    when_not_found: Any = None  # a list's answer when it holds no record (None: unknown)

    def value_of(self, record: Mapping[str, Any]) -> Any:
        """The fact in ``record``; ``None`` when the record does not hold it in its type."""
        raw = record.get(self.field)
        if self.answer_type == "yes_no":
            return raw if isinstance(raw, bool) else None
        if self.answer_type == "number":
            return raw if isinstance(raw, int | float) and not isinstance(raw, bool) else None
        return str(raw) if raw not in (None, "") else None


SHARED_FACTS: dict[str, SharedFact] = {
    f.name: f
    for f in (
        SharedFact(
            "fact.credit_dishonest",
            "credit",
            "dishonest",
            "yes_no",
            "申请人被列入严重失信主体名单（公共信用信息）",
            when_not_found=False,  # not on the list
        ),
    )
}


def _provider(fact: SharedFact) -> Any:
    def provide(case: Any) -> Any:
        return (
            SharedItem.objects.filter(
                case_id=case.pk,
                target=SharedTarget.FACT,
                key=fact.name,
                status=SharedStatus.OBTAINED,
            )
            .values_list("value", flat=True)
            .first()
        )

    return provide


for _fact in SHARED_FACTS.values():
    register(_fact.name, _fact.answer_type, _fact.label)(_provider(_fact))


def facts_used(names: Iterable[str]) -> list[SharedFact]:
    """The shared facts among ``names`` (those 秒办 rules refer to), in name order."""
    return [SHARED_FACTS[name] for name in sorted(set(names) & SHARED_FACTS.keys())]


def missing_reason(fact: SharedFact, source_label: str) -> str:
    return _("%(source)s的记录中没有“%(label)s”") % {"source": source_label, "label": fact.label}


def not_found_summary(source_label: str) -> str:
    """What a "no record" answer of a list said (a fact with ``when_not_found``)."""
    return _("%(source)s中没有该申请人的记录（未列入名单）") % {"source": source_label}
