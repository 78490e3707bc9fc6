"""Timed overflow (issue 17): after waiting N seconds for one group, a conversation is also offered
to another group or the whole shop (Twilio TaskRouter targets with `timeout`, Genesys bullseye rings).

Stateless: the caller sends when each conversation was queued; the pool a conversation may go to
is worked out from its wait alone, at the cost of one pass over the steps per conversation.
"""
from __future__ import annotations

from dataclasses import dataclass

SHOP = "shop"


@dataclass(frozen=True)
class OverflowStep:
    after_seconds: float
    to: str                   # a group name, or `shop` for every agent
    source: str | None = None  # only conversations waiting for this group (`from:`); None: any group


def reach(base: str, waited_seconds: float, steps: tuple[OverflowStep, ...]) -> frozenset[str] | None:
    """The groups a conversation waiting `waited_seconds` for `base` may be given to; None: the whole shop."""
    if base == SHOP:
        return None
    groups = {base}
    for step in steps:
        if waited_seconds >= step.after_seconds and step.source in (None, base):
            if step.to == SHOP:
                return None
            groups.add(step.to)
    return frozenset(groups)


def serves(agent_groups: tuple[str, ...], groups: frozenset[str] | None) -> bool:
    return groups is None or not groups.isdisjoint(agent_groups)  # in C: it runs for every agent of a pool
