"""Domain errors raised by services; the API and pages translate them to HTTP answers.

A service never returns an error value: it raises one of these with a message for people
and, where a field is at fault, the field's path (``materials[2].source``).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    path: str
    message: str


@dataclass
class DomainError(Exception):
    """Base class. ``code`` is a stable machine-readable name."""

    message: str
    code: str = "error"
    errors: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


class ValidationFailed(DomainError):
    """Input is not acceptable (HTTP 422)."""


class NotFound(DomainError):
    """The thing asked for does not exist or is not visible to the actor (HTTP 404)."""


class PermissionDenied(DomainError):
    """The actor may not do this (HTTP 403)."""


class Conflict(DomainError):
    """The thing is not in a state that allows this action (HTTP 409)."""
