"""免提交 resolution: what may stand in for a material's file, by resolvers other apps register.

A material names a licence type (``licence_type``: a valid e-licence the applicant holds
satisfies it) and/or a data source (``data_source``: a registry record satisfies it). For each
kind, resolvers registered with ``register_resolver(kind, resolver)`` are asked in priority
order; the first that says *satisfied* wins, and its summary, source and reference are kept on
the application. A resolver returns ``None`` for a material it does not handle. The licences
app registers its ``licence_type`` resolver here; the sharing app registers a ``data_source``
resolver (a lookup in the named source) and a fallback ``licence_type`` resolver for licence
types whose content a registry holds (营业执照 ← 企业登记信息).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Protocol

from tongban.sharing.sources import LICENCE_SOURCES, label_of

KINDS: Final = ("licence_type", "data_source")


@dataclass(frozen=True)
class MaterialNeed:
    key: str
    name: str
    licence_type: str
    data_source: str


@dataclass(frozen=True)
class Resolution:
    satisfied: bool
    source: str  # the data source code or licence type that answered
    source_label: str
    summary: str = ""  # what was obtained
    reference: str = ""  # record or licence number
    reason: str = ""  # why not, when not satisfied
    lookup_id: int | None = None
    needs_consent: str = ""  # a data source the applicant may consent to


class LookupOutcomeLike(Protocol):
    @property
    def result(self) -> str: ...
    @property
    def record(self) -> dict[str, Any] | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def needs_consent(self) -> str: ...
    @property
    def lookup_id(self) -> int | None: ...


class ResolveContext(Protocol):
    """What a resolver may use: the applicant, the application, and lookups in data sources
    (each source is asked at most once per fill, and every lookup is logged)."""

    actor: Any
    case: Any

    def lookup(self, code: str) -> LookupOutcomeLike: ...


Resolver = Callable[[ResolveContext, MaterialNeed], Resolution | None]
_resolvers: dict[str, dict[str, tuple[int, Resolver]]] = {kind: {} for kind in KINDS}


def register_resolver(
    kind: str, resolver: Resolver, *, name: str = "", priority: int = 100
) -> None:
    """Register ``resolver`` for materials of ``kind`` (``licence_type`` or ``data_source``);
    lower ``priority`` is asked first; registering the same name again replaces it."""
    if kind not in _resolvers:
        raise ValueError(f"unknown resolver kind {kind!r} (known: {', '.join(KINDS)})")
    _resolvers[kind][name or getattr(resolver, "__qualname__", repr(resolver))] = (
        priority,
        resolver,
    )


def unregister_resolver(kind: str, name: str) -> None:
    _resolvers.get(kind, {}).pop(name, None)


def resolvers(kind: str) -> list[tuple[str, Resolver]]:
    entries = sorted(_resolvers[kind].items(), key=lambda kv: (kv[1][0], kv[0]))
    return [(name, resolver) for name, (_priority, resolver) in entries]


def resolve(context: ResolveContext, need: MaterialNeed) -> Resolution:
    """Ask the resolvers for ``need``: the first satisfied answer, else why nothing could."""
    refusals: list[Resolution] = []
    for kind in KINDS:
        if not getattr(need, kind):
            continue
        for _name, resolver in resolvers(kind):
            answer = resolver(context, need)
            if answer is None:
                continue
            if answer.satisfied:
                return answer
            refusals.append(answer)
    wanted = need.licence_type or need.data_source
    if not refusals:
        return Resolution(
            False, wanted, wanted, reason="尚未接入可核验该材料的证照库或数源，请上传"
        )
    reasons = list(dict.fromkeys(r.reason for r in refusals if r.reason))
    consent = next((r.needs_consent for r in refusals if r.needs_consent), "")
    first = refusals[0]
    return Resolution(
        False,
        first.source,
        first.source_label,
        reason="；".join(reasons),
        lookup_id=first.lookup_id,
        needs_consent=consent,
    )


def _from_lookup(context: ResolveContext, source: str, label: str) -> Resolution:
    outcome = context.lookup(source)
    record = outcome.record or {}
    if outcome.result == "found":
        return Resolution(
            True,
            source,
            label,
            summary=str(record.get("summary") or label)[:255],
            reference=str(record.get("reference") or "")[:64],
            lookup_id=outcome.lookup_id,
        )
    return Resolution(
        False,
        source,
        label,
        reason=outcome.reason,
        lookup_id=outcome.lookup_id,
        needs_consent=outcome.needs_consent,
    )


def by_data_source(context: ResolveContext, need: MaterialNeed) -> Resolution | None:
    """A record in the material's data source satisfies it."""
    if not need.data_source:
        return None
    return _from_lookup(context, need.data_source, label_of(need.data_source))


def by_registry_for_licence(context: ResolveContext, need: MaterialNeed) -> Resolution | None:
    """Fallback for a licence type whose content a registry holds, when the material does not
    already name that registry as its data source."""
    source = LICENCE_SOURCES.get(need.licence_type)
    if source is None or source == need.data_source:
        return None
    return _from_lookup(context, source, label_of(source))


def register_default_resolvers() -> None:
    register_resolver("data_source", by_data_source, name="sharing.data_source", priority=100)
    register_resolver(
        "licence_type", by_registry_for_licence, name="sharing.registry", priority=500
    )
