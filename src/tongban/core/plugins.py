"""One small registry pattern for every kind of plugin (数源 connectors, SMS gateways, signers,
identity providers, benchmarks).

A ``Registry`` maps a stable key to a plugin class or callable; plugins register themselves with
a decorator at import, and the owning app imports its plugin modules in ``AppConfig.ready``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, key: str) -> Callable[[T], T]:
        def decorator(plugin: T) -> T:
            if key in self._entries:
                raise ValueError(f"{self.kind} plugin {key!r} is registered twice")
            self._entries[key] = plugin
            return plugin

        return decorator

    def get(self, key: str) -> T:
        try:
            return self._entries[key]
        except KeyError:
            known = ", ".join(sorted(self._entries)) or "none"
            raise KeyError(f"unknown {self.kind} plugin {key!r} (known: {known})") from None

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def items(self) -> list[tuple[str, T]]:
        return sorted(self._entries.items())
