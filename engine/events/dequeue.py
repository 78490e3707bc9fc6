"""`dequeue` (B14, B15): capacity freed up or an agent came online; hand queued conversations out.

Oldest first, one per free slot, only to agents that may take them: a group's queue to that
group's members, offline messages (which belong to the whole shop) to any idle online agent,
returning customers to their last agent where the rule says so. Offline messages older than the
TTL are listed as expired and never assigned; exactly the TTL old is still assigned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from msgspec.structs import replace

from ..facts import FactSpec, counter_specs, put_counters, specs
from ..model import Action, PolicyDocument
from ..request import Agent, Conversation, Customer, Reader, read_agents, read_conversation, read_customer
from ..roster import Capacity, ranking
from .base import Decision, FallThrough, Situation

NAME = "dequeue"
ACTIONS = ("assign_many",)
MAX_QUEUE = 10_000

FACTS: dict[str, FactSpec] = {
    **specs(
        ("queue.length", "number", "conversations waiting, offline ones included"),
        ("queue.offline", "number", "offline messages waiting (B13, B15)"),
        ("queue.expired", "number", "offline messages older than params.offline_message_ttl_days (B15)"),
        ("queue.oldest_minutes", "number", "how long the oldest conversation has waited, in minutes"),
        ("shop.free_slots", "number", "free slots of eligible agents; an unlimited agent counts params.dequeue_cap_unlimited"),
    ),
    **counter_specs("shop", "whole shop"),
}

FALLBACK = {"action": "assign_many", "assignments": [], "expired": []}


@dataclass(frozen=True)
class Queued:
    conversation: Conversation
    customer: Customer
    enqueued_at: datetime
    offline: bool
    queue: str


def fact_spec(name: str, policy_groups: tuple) -> FactSpec | None:
    return FACTS.get(name)


def read(data: dict, policy: PolicyDocument) -> Situation:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "agents", "queue"), "")
    now = reader.required(data, "now", "", reader.timestamp, None)
    agents = read_agents(reader, data)
    items = [_read_item(reader, raw, f"queue[{index}]", now)
             for index, raw in enumerate(reader.items(data.get("queue", []), "queue", MAX_QUEUE))]
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.conversation.id in seen:
            reader.fail(f"queue[{index}].conversation.id",
                        f"duplicates queue[{seen[item.conversation.id]}]: a conversation waits once")
        seen.setdefault(item.conversation.id, index)
    reader.raise_if_failed()

    capacity = Capacity(policy.params.capacity.max)
    ttl = timedelta(days=policy.params.offline_message_ttl_days)
    expired = [item for item in items if item.offline and now - item.enqueued_at > ttl]
    facts: dict[str, Any] = {
        "queue.length": len(items),
        "queue.offline": sum(item.offline for item in items),
        "queue.expired": len(expired),
        "shop.free_slots": sum(_slots(agent, capacity, policy) for agent in agents if capacity.eligible(agent)),
    }
    if items:
        facts["queue.oldest_minutes"] = max((now - item.enqueued_at).total_seconds() / 60 for item in items)
    put_counters(facts, "shop", list(agents), capacity)
    return Situation(data, facts, {"now": now, "agents": agents, "items": items, "ttl": ttl, "capacity": capacity})


def _read_item(reader: Reader, raw: Any, path: str, now: datetime | None) -> Queued:
    data = reader.obj(raw, path)
    reader.unknown_keys(data, ("conversation", "customer", "enqueued_at", "offline", "queue"), path)
    conversation = read_conversation(reader, data.get("conversation", {}), f"{path}.conversation")
    if conversation.id is None:
        reader.fail(f"{path}.conversation.id", "is required")
    return Queued(
        conversation=conversation,
        customer=read_customer(reader, data.get("customer", {}), now, f"{path}.customer"),
        enqueued_at=reader.required(data, "enqueued_at", path, reader.before(now), None),
        offline=reader.field(data, "offline", path, reader.boolean, False),
        queue=reader.field(data, "queue", path, reader.string, "shop"),
    )


def _slots(agent: Agent, capacity: Capacity, policy: PolicyDocument) -> int:
    if agent.max_sessions is None:
        return policy.params.dequeue_cap_unlimited
    return capacity.free_slots(agent)


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    extra = situation.extra
    now, capacity, ttl = extra["now"], extra["capacity"], extra["ttl"]
    returning = action.options.get("returning", {})
    prefer_last = returning.get("to_last_agent", True)
    wait_for_last = returning.get("wait", False)
    waive_suspension = returning.get("ignore_suspension", True)
    window = timedelta(hours=policy.params.returning_window_hours)

    slots = {agent.id: _slots(agent, capacity, policy) if agent.online else 0 for agent in extra["agents"]}
    agents = {agent.id: agent for agent in extra["agents"]}
    order = sorted(extra["items"], key=lambda item: (item.enqueued_at, item.conversation.id))
    rank = ranking(action.strategy, capacity)
    assignments: list[dict] = []
    expired: list[str] = []
    for item in order:
        if item.offline and now - item.enqueued_at > ttl:
            expired.append(item.conversation.id)
            continue
        last = _returning_agent(item, agents, now, window) if prefer_last else None
        if last is not None and slots[last.id] > 0 and (waive_suspension or not last.suspended):
            chosen: Agent | None = last
        elif last is not None and wait_for_last and last.logged_in:
            continue
        else:
            pool = [agent for agent in agents.values()
                    if slots[agent.id] > 0 and not agent.suspended
                    and (item.offline or item.queue == "shop" or item.queue in agent.groups)]
            chosen = min(pool, key=rank, default=None)
        if chosen is None:
            continue
        assignments.append({"conversation_id": item.conversation.id, "agent_id": chosen.id})
        slots[chosen.id] -= 1
        agents[chosen.id] = replace(chosen, active=chosen.active + 1)

    warnings = _backlog_warnings(extra["agents"], assignments, len(order) - len(assignments) - len(expired), policy)
    return Decision({"action": "assign_many", "assignments": assignments, "expired": expired,
                     "reason": action.reason or f"{len(assignments)} assigned oldest first, {len(expired)} expired, "
                                                 f"{len(order) - len(assignments) - len(expired)} still waiting (B14, B15)"},
                    tuple(warnings))


def _returning_agent(item: Queued, agents: dict[str, Agent], now: datetime, window: timedelta) -> Agent | None:
    last = item.customer.last_agent
    if last is None or now - last.at > window:
        return None
    return agents.get(last.agent_id)


def _backlog_warnings(agents: tuple[Agent, ...], assignments: list[dict], waiting: int,
                      policy: PolicyDocument) -> list[dict]:
    cap = policy.params.dequeue_cap_unlimited
    given: dict[str, int] = {}
    for assignment in assignments:
        given[assignment["agent_id"]] = given.get(assignment["agent_id"], 0) + 1
    return [
        {"code": "unlimited_backlog", "agent_id": agent.id,
         "message": f"{agent.id} has unlimited capacity and took the per-dequeue cap of {cap}; {waiting} still wait. "
                    "An unlimited agent takes the whole backlog and its 3-minute reply rate suffers: set a maximum (B2)."}
        for agent in agents if agent.max_sessions is None and given.get(agent.id, 0) >= cap and waiting > 0
    ]
