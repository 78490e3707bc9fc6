"""What an event's actions work from and give back: the situation of a request, a decision or a fall-through.

Plain slotted dataclasses, not frozen ones: one of each is made for every decision, and a frozen
dataclass costs three times as much to make."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class Decision:
    """The `decision` object of the envelope, less the rule that made it (the engine adds it)."""

    fields: dict[str, Any]
    warnings: tuple[dict[str, Any], ...] = ()


@dataclass(slots=True)
class FallThrough:
    """An action that could not be carried out; the next matching rule is tried (the reason goes in the trace)."""

    reason: str


@dataclass(slots=True)
class Situation:
    """A parsed request with the facts derived from it; `extra` holds what actions need beyond the facts."""

    request: Any
    facts: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

