"""The floor: the shipped route policies' decisions written by hand in plain Python.

No validation, no rule engine, no envelope: the least work that reaches the same decision. It
trusts its input, so it only ever sees requests that Fenliu has accepted. `tests/test_bench_smoke.py`
keeps it in agreement with the shipped policies as they change.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fenliu.engine.loader import parse_policy

RULES = Path(__file__).resolve().parent.parent / "rules"

ONLINE = ("online", "invisible")


@dataclass(frozen=True)
class FloorPolicy:
    """What the floor needs to know of a shipped policy."""

    name: str
    unlimited_as: int          # params.capacity.max: an unlimited agent's maximum for saturation
    returning_window_hours: float | None  # None: no returning-customer rule (Douyin's page has none)
    groups: tuple[tuple[str, frozenset[str]], ...] = ()  # (group, entries); a group with no entries is the default
    queue_needs_online: bool = False  # Douyin: with nobody online (on break counts), an offline message
    shop_after_group: bool = False  # Douyin: a group with nobody eligible passes the buyer to the shop
    group_queues: bool = False  # a buyer waits in its group's queue, not the shop's


def floor_policy(file: str, *, queue_needs_online: bool = False) -> FloorPolicy:
    """The floor's view of a shipped policy, read from its file so the two cannot drift apart.
    What the floor hard-codes is only the shape of its if-chain: which rules exist, not their numbers."""
    document, _ = parse_policy((RULES / file).read_bytes(), file)
    routes = [rule.then for rule in document.rules if rule.event == "route"]
    returns = any(action.agent == "last_agent" for action in routes)
    return FloorPolicy(document.name, unlimited_as=document.params.capacity.max,
                       returning_window_hours=float(document.params.returning_window_hours) if returns else None,
                       groups=tuple((group.name, frozenset(group.entries)) for group in document.groups),
                       queue_needs_online=queue_needs_online,
                       shop_after_group=any(action.kind == "assign" and action.among == "group" for action in routes)
                       and any(action.kind == "assign" and action.among == "shop" for action in routes),
                       group_queues=any(action.kind == "queue" and action.queue == "group" for action in routes))


KUAISHOU = floor_policy("kuaishou.yaml")
DOUYIN = floor_policy("douyin.yaml", queue_needs_online=True)


@dataclass(frozen=True)
class FloorDecision:
    action: str
    agent_id: str | None = None
    queue: str | None = None

    @classmethod
    def of_envelope(cls, envelope: dict) -> "FloorDecision":
        decision = envelope["decision"]
        return cls(decision["action"], decision["agent_id"], decision["queue"])


def _group_of(policy: FloorPolicy, entry: str) -> str | None:
    for name, entries in policy.groups:
        if not entries or entry in entries:
            return name
    return None


def decide(policy: FloorPolicy, request: dict) -> FloorDecision:
    conversation = request["conversation"]
    if conversation.get("internal"):
        return FloorDecision("none")
    agents = request["agents"]
    unlimited_as = policy.unlimited_as

    last = request["customer"].get("last_agent")
    if last is not None and policy.returning_window_hours is not None:
        now = datetime.fromisoformat(request["now"])
        hours = (now - datetime.fromisoformat(last["at"])).total_seconds() / 3600
        if hours <= policy.returning_window_hours:
            for agent in agents:
                if agent["id"] == last["id"]:
                    if agent["status"] in ONLINE:
                        return FloorDecision("assign", agent["id"])
                    break

    # The group's least busy agent, else (Douyin) the shop's: a group that is full passes the buyer on.
    group = _group_of(policy, conversation.get("entry", "other")) if policy.groups else None
    best: tuple | None = None
    best_in_shop: tuple | None = None
    present = False
    for agent in agents:
        status = agent["status"]
        if status == "offline" or (policy.queue_needs_online and status not in ONLINE):
            continue
        present = True
        if status not in ONLINE or agent.get("suspended"):
            continue
        maximum = agent.get("max_sessions")
        if maximum is None:
            maximum = unlimited_as
        active = agent.get("active", 0)
        if active >= maximum:
            continue
        key = (active / maximum, active, agent["id"])
        if best_in_shop is None or key < best_in_shop:
            best_in_shop = key
        if group is not None and group not in agent.get("groups", ()):
            continue
        if best is None or key < best:
            best = key
    if best is not None:
        return FloorDecision("assign", best[2])
    if best_in_shop is not None and policy.shop_after_group:
        return FloorDecision("assign", best_in_shop[2])
    if present:
        return FloorDecision("queue", queue=group if policy.group_queues and group else "shop")
    return FloorDecision("offline_queue", queue="offline")


def bytes_to_bytes(policy: FloorPolicy) -> Callable[[bytes], str]:
    """The floor as a service would run it: `json.loads` of the body, the decision, `json.dumps`."""
    return lambda body: json.dumps(decide(policy, json.loads(body)).__dict__)
