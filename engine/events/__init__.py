"""The events a policy answers. Each module supplies its facts, how to read its request and how to
carry out its actions; which action applies is always the policy's rules' choice."""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable

from ..facts import FactSpec
from ..model import Group
from . import agent_settings, close, dequeue, login, manual_assign, order, route, transfer
from .base import Decision, FallThrough, Situation


@dataclass(frozen=True)
class EventKind:
    name: str
    actions: tuple[str, ...]
    facts: dict[str, FactSpec]
    fallback: dict[str, Any]
    fact_spec: Callable[[str, tuple[Group, ...]], FactSpec | None]
    read: Callable[..., Situation]
    carry_out: Callable[..., Decision | FallThrough]

    @classmethod
    def of(cls, module: ModuleType) -> "EventKind":
        return cls(module.NAME, module.ACTIONS, module.FACTS, module.FALLBACK, module.fact_spec,
                   module.read, module.carry_out)


EVENTS: dict[str, EventKind] = {kind.name: kind for kind in map(EventKind.of, [
    route, dequeue, transfer, close, agent_settings, order, login, manual_assign])}

__all__ = ["EVENTS", "EventKind", "Decision", "FallThrough", "Situation"]
