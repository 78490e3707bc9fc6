"""What a policy's conditions can test: the fact catalogue's building blocks.

Each event declares its facts (name, type, meaning). The loader checks every condition against
them, the compiler maps them to short engine fields, and `docs/facts.md` is generated from them.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .model import Group
from .eligibility import Capacity, counts
from .request import Agent

OPERATORS_BY_TYPE = {
    "bool": ("eq", "ne", "exists"),
    "number": ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "exists"),
    "string": ("eq", "ne", "in", "not_in", "exists"),
    "list": ("contains", "exists"),
}


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: str
    description: str
    values: tuple[str, ...] = ()
    span: tuple[float, float | None] | None = None  # the least and greatest value a number fact takes

    def never_holds(self, op: str, value: float) -> bool:
        """Whether comparing this fact with `value` can never be true, as `time.hour gt 25`."""
        if self.span is None:
            return False
        low, high = self.span
        above = high is not None and value > high
        return {"eq": value < low or above, "in": value < low or above, "lt": value <= low, "le": value < low,
                "gt": high is not None and value >= high, "ge": above}.get(op, False)


def specs(*rows: tuple[Any, ...]) -> dict[str, FactSpec]:
    return {row[0]: FactSpec(*row) for row in rows}


COUNTERS = {
    "agents": "agents listed",
    "logged_in": "agents not offline (online, invisible or on break)",
    "online": "agents online or invisible (B1: invisible counts as online)",
    "on_break": "agents on break",
    "eligible": "agents eligible for a new conversation (B10: online, not suspended, below maximum; never full when unlimited)",
    "suspended": "online agents that are suspended",
}

AGENT_FIELDS = {
    "present": ("bool", "this agent is in the request's `agents`"),
    "status": ("string", "online | invisible | break | offline"),
    "suspended": ("bool", "suspended: receives no new shunted conversations (B2)"),
    "active": ("number", "conversations it holds now"),
    "saturation": ("number", "active / maximum; unlimited counts as params.capacity.max (B19)"),
    "at_capacity": ("bool", "active has reached its maximum (B3); never when unlimited (B2)"),
    "unlimited": ("bool", "its maximum is unlimited (never auto-suspend)"),
    "eligible": ("bool", "online or invisible, not suspended, below its maximum; unlimited is never full (B2, B10)"),
}


COUNT = (0, None)  # head counts and minutes are never negative


def counter_specs(prefix: str, whose: str) -> dict[str, FactSpec]:
    return {
        f"{prefix}.{key}": FactSpec(f"{prefix}.{key}", "number", f"{whose}: {text}", (), COUNT)
        for key, text in COUNTERS.items()
    }


def agent_specs(prefix: str, whose: str) -> dict[str, FactSpec]:
    return {
        f"{prefix}.{key}": FactSpec(
            f"{prefix}.{key}", kind, f"{whose}: {text}", ("online", "invisible", "break", "offline") if key == "status" else (),
            COUNT if key in ("active", "saturation") else None,
        )
        for key, (kind, text) in AGENT_FIELDS.items()
    }


def group_fact_spec(name: str, groups: tuple[Group, ...]) -> FactSpec | None:
    """`groups.<group>.<counter>`: head counts of one named group, for overflow conditions (B9)."""
    parts = name.split(".")
    if len(parts) != 3 or parts[0] != "groups" or parts[2] not in COUNTERS:
        return None
    if not any(group.name == parts[1] for group in groups):
        return None
    return FactSpec(name, "number", f"group {parts[1]}: {COUNTERS[parts[2]]}", (), COUNT)


def counter_names(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}.{key}" for key in COUNTERS)


@lru_cache(maxsize=None)
def _named(prefix: str) -> dict[str, str]:
    """`key` → `prefix.key` for every counter and agent field: built once, not on every request."""
    return {key: f"{prefix}.{key}" for key in (*COUNTERS, *AGENT_FIELDS)}


def put_counters(facts: dict[str, Any], prefix: str, agents: Sequence[Agent], capacity: Capacity,
                 wanted: Collection[str] = ()) -> None:
    """`prefix.<counter>` for every head count, or at least for those `wanted` (their keys)."""
    named = _named(prefix)
    for key, value in counts(agents, wanted).items():
        facts[named[key]] = value


def put_agent(facts: dict[str, Any], prefix: str, agent: Agent | None, capacity: Capacity) -> None:
    named = _named(prefix)
    facts[named["present"]] = agent is not None
    if agent is None:
        return
    facts[named["status"]] = agent.status
    facts[named["suspended"]] = agent.suspended
    facts[named["active"]] = agent.active
    facts[named["saturation"]] = capacity.saturation(agent)
    facts[named["at_capacity"]] = capacity.at_capacity(agent)
    facts[named["unlimited"]] = agent.max_sessions is None
    facts[named["eligible"]] = capacity.eligible(agent)
