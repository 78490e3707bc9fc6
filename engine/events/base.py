"""What every event supplies to the engine: its request reader, its facts and how it carries out actions."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from ..facts import FactSpec
from ..model import Action, Group, PolicyDocument


@dataclass(frozen=True)
class Decision:
    """The `decision` object of the envelope, less the rule that made it (the engine adds it)."""

    fields: dict[str, Any]
    warnings: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class FallThrough:
    """An action that could not be carried out; the next matching rule is tried (the reason goes in the trace)."""

    reason: str


@dataclass(frozen=True)
class Situation:
    """A parsed request with the facts derived from it; `extra` holds what actions need beyond the facts."""

    request: Any
    facts: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)


class Event(Protocol):
    name: str
    actions: tuple[str, ...]
    facts: dict[str, FactSpec]
    fallback: dict[str, Any]

    def fact_spec(self, name: str, policy_groups: tuple[Group, ...]) -> FactSpec | None: ...

    def read(self, data: dict[str, Any], policy: PolicyDocument) -> Situation: ...

    def carry_out(self, action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough: ...
