"""`dequeue` (B14, B15, B20): capacity freed up or an agent came online; hand queued conversations out.

First each agent's own message cache (B20, `cached_at`): its conversations open in order in that
agent's free windows and never go to anyone else. Then the shared pools, oldest first, one per
free slot, only to agents that may take them: a group's queue to that group's members, offline
messages (which belong to the whole shop) to any idle online agent, returning customers to their
last agent where the rule says so. An unlimited agent has no ceiling, so it takes the whole
backlog (the flood Kuaishou's page warns of; the answer warns too). When the policy sets
`offline_message_ttl_days`, offline messages older than it are listed as expired and never
assigned; exactly the TTL old is still assigned.

Issue 17: `order: priority` hands out the best score first, the conversation's `priority` plus
`ageing_per_minute` for each minute waited, so a low priority still rises with its wait and
nobody starves (FIFO stays the default); `overflow` steps widen a group's queue to other groups
once a conversation has waited long enough. Both look at each conversation once: cost stays
linear in the queue's length (and the sort).
"""
from __future__ import annotations

import heapq
from bisect import bisect_right
from collections.abc import Collection, Iterable, Iterator
from datetime import datetime, timedelta
from operator import attrgetter
from typing import Annotated, Any

import msgspec
from msgspec.structs import replace

from ..facts import FactSpec, counter_names, counter_specs, put_counters, specs
from ..eligibility import Capacity, choose
from ..model import Action, PolicyDocument
from ..overflow import OverflowStep, reach, serves
from ..request import (
    MAX_AGENTS, ROUTABLE, Agent, BaseConversation, Customer, Id, Moment, Priority, Reader, first_duplicate, read_agents,
    read_conversation, read_customer, settle_all, within_skew,
)
from ..shop_time import shop_local
from ..skills import SkillRequirement, in_force, minimums, qualifies, skill_names
from .base import Decision, FallThrough, Situation

NAME = "dequeue"
ACTIONS = ("assign_many",)
MAX_QUEUE = 10_000

FACTS: dict[str, FactSpec] = {
    **specs(
        ("queue.length", "number", "conversations waiting, offline ones included"),
        ("queue.offline", "number", "offline messages waiting (B13, B15)"),
        ("queue.expired", "number", "offline messages older than params.offline_message_ttl_days, when it is set (B15)"),
        ("queue.cached", "number", "conversations waiting in agents' own message caches (B20)"),
        ("queue.oldest_minutes", "number", "how long the oldest conversation has waited, in minutes"),
        ("shop.free_slots", "number", "free slots of eligible agents; an unlimited agent counts the whole queue (B2)"),
        ("shop.open", "bool", "`now` falls in the policy's `hours`, on the shop's clock (issue 17); only with `hours`"),
    ),
    **counter_specs("shop", "whole shop"),
}

FALLBACK = {"action": "assign_many", "assignments": [], "expired": []}


class QueuedConversation(BaseConversation, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A queued conversation names itself: the answer hands it out by its id."""

    id: Id


class Queued(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One waiting conversation of the request's `queue`."""

    conversation: QueuedConversation
    enqueued_at: Moment
    customer: Customer = msgspec.field(default_factory=Customer)
    offline: bool = False
    queue: Id = "shop"
    cached_at: Id | None = None
    priority: Priority = 0.0


class DequeueRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="event", tag=NAME):
    now: Moment
    agents: Annotated[tuple[Agent, ...], msgspec.Meta(max_length=MAX_AGENTS)]
    queue: Annotated[tuple[Queued, ...], msgspec.Meta(max_length=MAX_QUEUE)] = ()


REQUEST = DequeueRequest


def checked(request: DequeueRequest) -> DequeueRequest | None:
    """What msgspec cannot check of a decoded request: agent ids and queued conversation ids unique,
    no time in the future. None sends the request to the careful reader, which names the problem."""
    if first_duplicate(request.agents) is not None or \
            len({item.conversation.id for item in request.queue}) < len(request.queue):
        return None
    queue = settle_all(request.queue, lambda item: _settled(item, request.now))
    if queue is None:
        return None
    return request if queue is request.queue else replace(request, queue=queue)


def _settled(item: Queued, now: datetime) -> Queued | None:
    """The item with its times within clock skew of `now` taken as `now`; None when one lies beyond."""
    enqueued_at = within_skew(item.enqueued_at, now)
    last = item.customer.last_agent
    at = within_skew(last.at, now) if last is not None else None
    if enqueued_at is None or (last is not None and at is None):
        return None
    if enqueued_at is item.enqueued_at and (last is None or at is last.at):
        return item
    customer = item.customer if last is None else replace(item.customer, last_agent=replace(last, at=at))
    return replace(item, enqueued_at=enqueued_at, customer=customer)



def read_carefully(data: dict[str, Any]) -> DequeueRequest:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "agents", "queue"), "")
    now = reader.now(data)
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
    return DequeueRequest(now=now, agents=agents, queue=tuple(items))



def situate(request: DequeueRequest, policy: PolicyDocument) -> Situation:
    """The facts of a checked request."""
    now, agents, items = request.now, request.agents, request.queue
    capacity = Capacity(policy.params.capacity.max)
    ttl = offline_ttl(policy)
    offline = [item for item in items if item.offline]
    expired = [item for item in offline if has_expired(item, now, ttl)]
    facts: dict[str, Any] = {
        "queue.length": len(items),
        "queue.offline": len(offline),
        "queue.expired": len(expired),
        "queue.cached": len([item for item in items if item.cached_at is not None]),
    }
    # Facts that take a pass over every agent, derived only for a policy whose rules test them.
    if policy.tests(NAME, ("shop.free_slots",)):
        facts["shop.free_slots"] = sum(free_slots(agent, capacity, len(items)) for agent in capacity.eligible_among(agents))
    if items:
        facts["queue.oldest_minutes"] = (now - min([item.enqueued_at for item in items])).total_seconds() / 60
    if policy.tests(NAME, counter_names("shop")):
        put_counters(facts, "shop", agents, capacity)
    if policy.hours is not None:
        facts["shop.open"] = policy.hours.is_open(shop_local(now, policy.timezone))
    return Situation(request, facts, {"now": now, "agents": agents, "items": items, "ttl": ttl, "capacity": capacity,
                                      "expiring": len(expired)})


def _read_item(reader: Reader, raw: Any, path: str, now: datetime | None) -> Queued:
    data = reader.obj(raw, path)
    reader.unknown_keys(data, ("conversation", "customer", "enqueued_at", "offline", "queue", "cached_at", "priority"),
                        path)
    conversation = read_conversation(reader, data.get("conversation", {}), f"{path}.conversation")
    if conversation.id is None:
        reader.fail(f"{path}.conversation.id", "is required")
    return Queued(
        conversation=QueuedConversation(**msgspec.structs.asdict(conversation)),
        customer=read_customer(reader, data.get("customer", {}), now, f"{path}.customer"),
        enqueued_at=reader.required(data, "enqueued_at", path, reader.before(now), None),
        offline=reader.field(data, "offline", path, reader.boolean, False),
        queue=reader.field(data, "queue", path, reader.string, "shop"),
        cached_at=reader.field(data, "cached_at", path, reader.string, None),
        priority=reader.field(data, "priority", path, reader.priority, 0.0),
    )


def free_slots(agent: Agent, capacity: Capacity, backlog: int) -> int:
    """How many queued conversations an agent has room for: none unless online; an unlimited agent
    has no ceiling, so it has room for the whole backlog (B2)."""
    if agent.status not in ROUTABLE:  # `agent.online`, written out: it runs for every agent of every dequeue
        return 0
    if agent.max_sessions is None:
        return backlog
    return capacity.free_slots(agent)


def offline_ttl(policy: PolicyDocument) -> timedelta | None:
    """How long an offline message waits before it expires (B15); None: it never does."""
    days = policy.params.offline_message_ttl_days
    return timedelta(days=days) if days is not None else None


def has_expired(item: Queued, now: datetime, ttl: timedelta | None) -> bool:
    return item.offline and item.cached_at is None and ttl is not None and now - item.enqueued_at > ttl


def may_take(agent: Agent, item: Queued, groups: frozenset[str] | None) -> bool:
    """Whether an agent may be given a queued conversation meant for `groups` (None: the whole
    shop): its own cache whatever its state (B20), otherwise not while suspended (B10)."""
    if item.cached_at is not None:
        return agent.id == item.cached_at
    return not agent.suspended and serves(agent.groups, groups)


def first_groups(item: Queued) -> frozenset[str] | None:
    """The groups a queued conversation is meant for before any overflow step: its queue's group;
    the whole shop for the shop's queue and for offline messages, which belong to no group."""
    return None if item.offline else reach(item.queue, 0.0, ())


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    extra = situation.extra
    now, capacity, ttl = extra["now"], extra["capacity"], extra["ttl"]
    returning = action.options.get("returning", {})
    prefer_last = returning.get("to_last_agent", True)
    wait_for_last = returning.get("wait", False)
    waive_suspension = returning.get("ignore_suspension", True)
    assign_offline = action.options.get("offline_messages", True)
    window = returning_window(policy)

    backlog = len(extra["items"])
    slots = {agent.id: free_slots(agent, capacity, backlog) for agent in extra["agents"]}
    agents = {agent.id: agent for agent in extra["agents"]}
    order = _order(extra["items"], action.options, now)
    cached = _order([item for item in extra["items"] if item.cached_at is not None], action.options, now)
    takers = Takers(action.options, policy, agents, slots)
    assignments: list[dict[str, Any]] = []
    expired: list[str] = []

    free = [sum(slots.values())]

    def give(item: Queued, agent: Agent) -> None:
        assignments.append({"conversation_id": item.conversation.id, "agent_id": agent.id})
        takers.took(agent.id)
        free[0] -= 1
        agents[agent.id] = replace(agent, active=agent.active + 1)

    # B20: an agent's own cache comes first and is never re-shunted; suspension stops shunting, not windows.
    for item in cached:
        if item.cached_at in agents and slots[item.cached_at] > 0:
            give(item, agents[item.cached_at])
    expiring = extra["expiring"]
    for item in order:
        if free[0] == 0 and len(expired) == expiring:
            break  # no free slot and nothing left to list as expired: the rest of the queue waits
        if item.cached_at is not None:
            continue
        if len(expired) < expiring and has_expired(item, now, ttl):
            expired.append(item.conversation.id)
            continue
        if (item.offline and not assign_offline) or free[0] == 0:
            continue  # with no free slot left, only expiry is still to list: skip the per-agent work
        returns = prefer_last and item.customer.last_agent is not None
        last = returning_agent(item, agents, now, window) if returns else None
        if last is not None and slots[last.id] > 0 and (waive_suspension or not last.suspended):
            chosen: Agent | None = last
        elif last is not None and wait_for_last and last.logged_in:
            continue
        else:
            candidates, skills = takers.of(item, (now - item.enqueued_at).total_seconds())
            if not candidates:
                continue  # the usual case behind a full group: nobody left who may take it
            chosen = choose([agents[agent_id] for agent_id in candidates], action.strategy, capacity, skills)
        if chosen is not None:
            give(item, chosen)

    waiting = len(extra["items"]) - len(assignments) - len(expired)
    warnings = _backlog_warnings(extra["agents"], assignments)
    return Decision({"action": "assign_many", "assignments": assignments, "expired": expired,
                     "reason": action.reason or f"{len(assignments)} assigned, own caches first then "
                                                 f"{'best score' if action.options.get('order') == 'priority' else 'oldest'} first, "
                                                 f"{len(expired)} expired, {waiting} still waiting (B14, B15, B20)"},
                    tuple(warnings))


def skill_requirements(options: dict[str, Any], policy: PolicyDocument) -> list[SkillRequirement]:
    """The skill requirements a dequeue action applies (issue 17): every group's and its own."""
    return [*(group.require for group in policy.groups if group.require is not None),
            *in_force(options.get("require"))]


def widening_waits(options: dict[str, Any], policy: PolicyDocument) -> set[float]:
    """The waits at which more agents may take a queued conversation under a dequeue action (issue 17):
    an overflow step widens its pool, a relax step lowers the skills it needs."""
    return ({step.after_seconds for step in options.get("overflow", ())}
            | {step.after_seconds for requirement in skill_requirements(options, policy) for step in requirement.relax})


class Takers:
    """Who may take a queued conversation: it depends only on its queue, whether it is an offline
    message and which overflow and relax steps its wait has passed, so it is worked out once per such
    kind of conversation, not once per conversation (issue 17: cost linear in the queue's length).

    A dequeue only ever uses slots up, so a kind's agents are pruned only after one of them has run
    out, and a kind nobody is left to take costs nothing more per conversation: a long queue with one
    free slot is a pass over the queue, not a search of the agents for each of its conversations."""

    def __init__(self, options: dict[str, Any], policy: PolicyDocument, agents: dict[str, Agent], slots: dict[str, int]) -> None:
        # Who may take a kind does not change as slots are used, so only those with a free slot at the start are asked.
        self.free = [agent for agent in agents.values() if slots[agent.id] > 0]
        self.slots = slots
        self.steps: tuple[OverflowStep, ...] = options.get("overflow", ())
        self.rule_requires: SkillRequirement | None = options.get("require")
        # Issue 17: the skills a group's queue asks for, whoever takes it (offline messages belong to no group).
        self.required = {group.name: group.require for group in policy.groups if group.require is not None}
        self.thresholds = sorted(widening_waits(options, policy))
        # Per kind: the ids of its agents with a free slot, the skills it names, and `run_out` when they were listed.
        self.kinds: dict[tuple[str, bool, int], tuple[list[str], tuple[str, ...], int]] = {}
        self.run_out = 0  # how many agents have had their last free slot taken

    def room(self, queue: Iterable[Queued], now: datetime) -> int:
        """The free slots of the agents who may take the oldest conversation of one queue. An older
        one may go to every agent a younger one of its queue may (overflow only widens a queue with
        the wait, and the loader lets a relax step only lower a level), so at 0 nobody free may take
        any of them, whatever their order or priority."""
        first = oldest(queue)
        return sum(self.slots[agent_id] for agent_id in self.of(first, (now - first.enqueued_at).total_seconds())[0])

    def took(self, agent_id: str) -> None:
        self.slots[agent_id] -= 1
        if self.slots[agent_id] == 0:
            self.run_out += 1

    def of(self, item: Queued, waited: float) -> tuple[list[str], tuple[str, ...]]:
        """The ids of the agents with a free slot who may take `item`, and the skills its requirements
        name, which `most_proficient` ranks them by."""
        key = (item.queue, item.offline, bisect_right(self.thresholds, waited))
        found = self.kinds.get(key)
        if found is None:
            reached = None if item.offline else reach(item.queue, waited, self.steps)
            requirements = in_force(None if item.offline else self.required.get(item.queue), self.rule_requires)
            need = minimums(requirements, waited)
            ids = [agent.id for agent in self.free
                   if self.slots[agent.id] > 0 and may_take(agent, item, reached) and (not need or qualifies(agent.skills, need))]
            found = self.kinds[key] = (ids, skill_names(requirements), self.run_out)
        elif found[2] != self.run_out:
            found = self.kinds[key] = ([agent_id for agent_id in found[0] if self.slots[agent_id] > 0], found[1], self.run_out)
        return found[0], found[1]


def _order(items: Iterable[Queued], options: dict[str, Any], now: datetime) -> Iterator[Queued]:
    """Oldest first; under `order: priority`, best score first (priority + ageing per minute waited).

    Lazily: under either order the conversations of one priority come oldest first (ageing is never
    negative, and ties go to the oldest), so each priority's are sorted by age and merged by score.
    A score is then worked out only for the conversations a decision reaches, and a freed slot
    usually reaches the first few of a long queue."""
    oldest_first = sorted(items, key=_age)
    if options.get("order", "fifo") != "priority":
        return iter(oldest_first)
    priorities = {item.priority for item in oldest_first}
    if len(priorities) < 2:
        return iter(oldest_first)
    ageing = options.get("ageing_per_minute", 1)
    return heapq.merge(*([item for item in oldest_first if item.priority == priority] for priority in priorities),
                       key=lambda item: (-(item.priority + ageing * (now - item.enqueued_at).total_seconds() / 60),
                                         item.enqueued_at, item.conversation.id))


_age = attrgetter("enqueued_at", "conversation.id")
_waiting_since = attrgetter("enqueued_at")


def oldest(items: Iterable[Queued]) -> Queued:
    """The conversation that has waited longest."""
    return min(items, key=_waiting_since)


def hands_out_in_turn(options: dict[str, Any]) -> bool:
    """Whether a dequeue action hands out every conversation it comes to while a free agent may take
    it, so that `in_turn` may shorten its queues: not when it waits for a returning buyer's last
    agent or keeps offline messages back."""
    return not options.get("returning", {}).get("wait", False) and options.get("offline_messages", True)


def in_turn(queues: Iterable[Collection[Queued]], free: int, returning: Iterable[Queued], now: datetime,
            ttl: timedelta | None) -> list[Queued]:
    """What of whole queues a dequeue whose actions hand out in turn (`hands_out_in_turn`) can hand
    out or list as expired, given the free slots and the waiting conversations whose buyer's last
    agent has one (a superset will do): its decision on them is its decision on the whole queues.

    Of one queue's conversations of one priority, which it comes to oldest first, only the first
    `free` can go to anyone but the buyer's last agent: a younger one may go to nobody an older one
    may not (`Takers.room`), so each one before it was handed out; an agent's own cache goes the same
    way, to that agent alone. A queue of mixed priorities and one with an expired offline message
    stay whole; so does a queue no longer than the free slots. `queues` are the caller's, one per
    queue, cache and offline queue."""
    offered: list[Queued] = []
    for queue in queues:
        if len(queue) > free > 0 and len({item.priority for item in queue}) == 1:
            in_order = sorted(queue, key=_waiting_since)  # in C, on a queue that comes nearly in order
            if not has_expired(in_order[0], now, ttl):
                # The rules break a tie in the wait by id: whoever waited as long as the last one kept is kept too.
                offered.extend(in_order[:bisect_right(in_order, in_order[free - 1].enqueued_at, lo=free, key=_waiting_since)])
                continue
        offered.extend(queue)
    listed = set(map(id, offered))
    offered.extend(item for item in returning if id(item) not in listed)
    return offered


def returning_window(policy: PolicyDocument) -> timedelta:
    return timedelta(hours=policy.params.returning_window_hours)


def returning_agent(item: Queued, agents: dict[str, Agent], now: datetime, window: timedelta) -> Agent | None:
    """The buyer's last agent, when it is listed and served the buyer within the window (B7)."""
    last = item.customer.last_agent
    if last is None or now - last.at > window:
        return None
    return agents.get(last.agent_id)


def _backlog_warnings(agents: tuple[Agent, ...], assignments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An unlimited agent handed more than one queued conversation at once: the flood Kuaishou's page warns of."""
    given: dict[str, int] = {}
    for assignment in assignments:
        given[assignment["agent_id"]] = given.get(assignment["agent_id"], 0) + 1
    return [
        {"code": "unlimited_backlog", "agent_id": agent.id,
         "message": f"{agent.id} has unlimited capacity and took {given[agent.id]} queued conversations at once: "
                    "an unlimited agent takes the whole backlog and its 3-minute reply rate suffers; set a maximum (B2)."}
        for agent in agents if agent.max_sessions is None and given.get(agent.id, 0) > 1
    ]
