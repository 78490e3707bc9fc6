"""`route`: who gets a new conversation (B5–B13). The rules decide which action applies; this module
derives the facts they test and carries out the chosen action against the roster."""
from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ..facts import (
    COUNT, COUNTERS, FactSpec, agent_specs, counter_specs, group_fact_spec, put_agent, put_counters, specs,
)
from ..eligibility import Capacity, choose
from ..model import Action, Group, PolicyDocument
from ..overflow import reach, serves
from ..request import (
    ENTRIES, MAX_AGENTS, Agent, Conversation, Customer, Moment, Reader, first_duplicate, read_agents,
    read_customer, read_waiting_conversation, within_skew,
)
from ..shop_time import shop_local
from ..skills import describe, in_force, minimums, qualifies, skill_names
from .base import Decision, FallThrough, Situation

NAME = "route"
ACTIONS = ("assign", "queue", "offline_queue", "divert", "hold", "none")
SHOP_COUNTERS = frozenset({*COUNTERS, "all_suspended"})  # the `shop.` facts that need a pass over every agent
# `assign: {when_full: cache}` (B20, Taobao): capacity caps an agent's open windows, not who it is given;
# past the cap the conversation waits in that agent's own message cache and is never re-shunted.
WHEN_FULL = ("skip", "cache")

FACTS: dict[str, FactSpec] = {
    **specs(
        ("conversation.entry", "string", "where the buyer came in: " + " | ".join(ENTRIES), ENTRIES),
        ("conversation.category", "string", "product category of the conversation, when known"),
        ("conversation.to_main", "bool", "the buyer addressed the main account (B8)"),
        ("conversation.internal", "bool", "a message between team members (B5)"),
        ("conversation.group", "string", "the first of the policy's `groups` that serves this conversation (B9)"),
        ("customer.private_contact", "bool", "a private contact of the main account (B6)"),
        ("customer.tags", "list", "buyer tags such as vip; test with `contains`"),
        ("customer.returning", "bool", "the buyer has a last human agent on record"),
        ("shop.all_suspended", "bool", "agents are online and every one of them is suspended (B11, Taobao)"),
        ("customer.hours_since_last_agent", "number", "hours since a human agent last served the buyer (B7)"),
        ("time.hour", "number", "hour of `now` (0–23) in the shop's time zone (the policy's `timezone`)", (), (0, 23)),
        ("time.weekday", "number", "day of `now` in the shop's time zone: 1 = Monday … 7 = Sunday", (), (1, 7)),
        ("conversation.wait_seconds", "number",
         "seconds since `conversation.enqueued_at`, for a conversation routed again while it waits (issue 17)", (), COUNT),
        ("shop.open", "bool", "`now` falls in the policy's `hours`, on the shop's clock (issue 17); only with `hours`"),
    ),
    **agent_specs("last_agent", "the buyer's last agent"),
    **agent_specs("main", "the main account"),
    **counter_specs("shop", "whole shop"),
    **counter_specs("group", "the conversation's group"),
}

# A group's head counts, `groups.<group>.<counter>`: facts named by the policy's groups (B9).
POLICY_FACTS = group_fact_spec


class RouteRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="event", tag=NAME):
    now: Moment
    agents: Annotated[tuple[Agent, ...], msgspec.Meta(max_length=MAX_AGENTS)]
    conversation: Conversation = msgspec.field(default_factory=Conversation)
    customer: Customer = msgspec.field(default_factory=Customer)


REQUEST = RouteRequest


def checked(request: RouteRequest) -> RouteRequest | None:
    """What msgspec cannot check of a decoded request: agent ids unique, the last contact and the
    time queued not in the future. None sends the request to the careful reader, which names the problem."""
    if first_duplicate(request.agents) is not None:
        return None
    customer, conversation = request.customer, request.conversation
    last, queued = customer.last_agent, conversation.enqueued_at
    if last is not None and last.at > request.now:
        at = within_skew(last.at, request.now)
        if at is None:
            return None
        customer = msgspec.structs.replace(customer, last_agent=msgspec.structs.replace(last, at=at))
    if queued is not None and queued > request.now:
        if within_skew(queued, request.now) is None:
            return None
        conversation = msgspec.structs.replace(conversation, enqueued_at=request.now)
    if customer is request.customer and conversation is request.conversation:
        return request
    return msgspec.structs.replace(request, customer=customer, conversation=conversation)



def read_carefully(data: dict[str, Any]) -> RouteRequest:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "conversation", "customer", "agents"), "")
    now = reader.now(data)
    conversation = read_waiting_conversation(reader, data.get("conversation", {}), now)
    customer = read_customer(reader, data.get("customer", {}), now)
    agents = read_agents(reader, data)
    reader.raise_if_failed()
    return RouteRequest(now=now, agents=agents, conversation=conversation, customer=customer)



def situate(request: RouteRequest, policy: PolicyDocument) -> Situation:
    """The facts of a checked request."""
    now, conversation, customer, agents = request.now, request.conversation, request.customer, request.agents
    capacity = Capacity(policy.params.capacity.max)
    last_agent = None
    if customer.last_agent is not None:  # a scan that stops at the agent, not a dict of every agent
        wanted = customer.last_agent.agent_id
        last_agent = next((agent for agent in agents if agent.id == wanted), None)
    main = next((agent for agent in agents if agent.role == "main"), None)
    group = policy.group_serving(conversation.entry, conversation.category, customer.tags)

    local = shop_local(now, policy.timezone)
    facts: dict[str, Any] = {
        "conversation.entry": conversation.entry,
        "conversation.to_main": conversation.to_main,
        "conversation.internal": conversation.internal,
        "customer.private_contact": customer.private_contact,
        "customer.tags": customer.tags,
        "customer.returning": customer.last_agent is not None,
        "time.hour": local.hour,
        "time.weekday": local.isoweekday(),
    }
    if conversation.category is not None:
        facts["conversation.category"] = conversation.category
    waited = 0.0
    if conversation.enqueued_at is not None:
        waited = max(0.0, (now - conversation.enqueued_at).total_seconds())
        facts["conversation.wait_seconds"] = waited
    if policy.hours is not None:
        facts["shop.open"] = policy.hours.is_open(local)
    if customer.last_agent is not None:
        facts["customer.hours_since_last_agent"] = (now - customer.last_agent.at).total_seconds() / 3600
    if policy.tests(NAME, ("last_agent.",)):
        put_agent(facts, "last_agent", last_agent, capacity)
    if policy.tests(NAME, ("main.",)):
        put_agent(facts, "main", main, capacity)
    # Head counts take a pass over every agent: only the tested ones are derived, and counts that
    # need only statuses are cheaper still.
    shop_counts = policy.tested_under(NAME, "shop") & SHOP_COUNTERS
    if shop_counts:
        put_counters(facts, "shop", agents, capacity, shop_counts)
        if "all_suspended" in shop_counts:
            facts["shop.all_suspended"] = facts["shop.online"] > 0 and facts["shop.suspended"] == facts["shop.online"]
    if group is not None:
        facts["conversation.group"] = group.name
    if policy.tests(NAME, ("groups.", "group.")):
        own = policy.tested_under(NAME, "group") if group is not None else frozenset()
        for g in policy.groups:
            counted = policy.tested_under(NAME, f"groups.{g.name}") | (own if g is group else frozenset())
            if counted:
                put_counters(facts, f"groups.{g.name}", [a for a in agents if g.name in a.groups], capacity, counted)
        for key in own:
            facts[f"group.{key}"] = facts[f"groups.{group.name}.{key}"]

    return Situation(
        request=request,
        facts=facts,
        extra={"agents": agents, "last_agent": last_agent, "main": main, "group": group,
               "capacity": capacity, "customer": customer, "now": now,
               "waited": waited},
    )


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    extra = situation.extra
    if action.kind == "assign":
        return _assign(action, situation, policy)
    if action.kind == "hold":
        agent = extra[action.agent or "main"]
        if agent is None:
            return FallThrough(f"no {_who(action.agent)} in `agents`")
        return _decide("hold", action, agent_id=agent.id,
                       reason=f"held for {_who(action.agent)} {agent.id} ({agent.status})")
    if action.kind == "queue":
        queue = _queue_name(action.queue or "shop", extra["group"])
        if queue is None:
            return FallThrough("the conversation has no group to queue for")
        decision = _decide("queue", action, queue=queue, reason=f"no eligible agent; waits in the {queue} queue (B12)")
        if "priority" in action.options:  # issue 17: the caller sends it back with the queued conversation
            decision.fields["priority"] = action.options["priority"]
        return decision
    if action.kind == "offline_queue":
        return _decide("offline_queue", action, queue="offline",
                       reason="no agent online; waits in the offline queue (B13)")
    if action.kind == "divert":
        return _decide("divert", action, target=action.target, reason=f"diverted to {action.target} (B13)")
    return _decide("none", action, reason="not routed")


def _assign(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    extra = situation.extra
    capacity: Capacity = extra["capacity"]
    cache = action.options.get("when_full", "skip") == "cache"
    waive = {"ignore_capacity": action.ignore_capacity or cache, "ignore_suspension": action.ignore_suspension}
    if action.agent:
        agent: Agent | None = extra[action.agent]
        if agent is None:
            return FallThrough(f"no {_who(action.agent)} in `agents`")
        if not capacity.eligible(agent, **waive):
            return FallThrough(f"{_who(action.agent)} {agent.id} cannot take it: {_why_not(agent, capacity, action)}")
        return _given(action, agent, capacity, cache, _assign_reason(action, agent, situation, policy))

    pool_name = _queue_name(action.among or "shop", extra["group"])
    if pool_name is None:
        return FallThrough("the conversation has no group")
    groups = reach(pool_name, extra["waited"], action.options.get("overflow", ()))
    group = policy.group(pool_name)
    requirements = in_force(group.require if group is not None else None, action.options.get("require"))
    need = minimums(requirements, extra["waited"]) if requirements else {}  # issue 17: relaxed by the same wait as overflow
    pool = capacity.eligible_among(extra["agents"], **waive)
    if groups is not None:
        pool = [agent for agent in pool if serves(agent.groups, groups)]
    if action.exclude_main:
        pool = [agent for agent in pool if agent.role != "main"]
    if need:
        pool = [agent for agent in pool if qualifies(agent.skills, need)]
    chosen = choose(pool, action.strategy, capacity, skill_names(requirements) if requirements else ())
    label = _pool_label(pool_name, groups) + (f" with {describe(need)}" if need else "")
    if chosen is None:
        return FallThrough(f"no eligible agent in {label}")
    return _given(action, chosen, capacity, cache, (
        f"{action.strategy.replace('_', ' ')} of {len(pool)} eligible in {label}: "
        f"{chosen.id} ({chosen.active} active, saturation {capacity.saturation(chosen):.2f})"
    ))


def _given(action: Action, agent: Agent, capacity: Capacity, cache: bool, reason: str) -> Decision:
    """Assigned, or — past the agent's window cap under `when_full: cache` — cached at that agent (B20)."""
    if cache and not action.ignore_capacity and capacity.at_capacity(agent):
        return _decide("cache", action, agent_id=agent.id, queue=f"cache:{agent.id}", reason=(
            f"cached at {agent.id}: {agent.active} of {capacity.maximum(agent)} windows open; "
            f"it opens when a window closes and is never re-shunted (B20)"))
    return _decide("assign", action, agent_id=agent.id, reason=reason)


def _assign_reason(action: Action, agent: Agent, situation: Situation, policy: PolicyDocument) -> str:
    if action.agent == "last_agent":
        hours = situation.facts["customer.hours_since_last_agent"]
        return f"served by {agent.id} {hours:.0f} h ago (window {policy.params.returning_window_hours:g} h)"
    return f"main account {agent.id} ({agent.status}, {agent.active} active)"


def _why_not(agent: Agent, capacity: Capacity, action: Action) -> str:
    if not agent.online:
        return f"status {agent.status}"
    if agent.suspended and not action.ignore_suspension:
        return "suspended"
    return f"at capacity ({agent.active}/{capacity.maximum(agent)})"


def _queue_name(name: str, group: Group | None) -> str | None:
    if name == "group":
        return group.name if group is not None else None
    return name


def _pool_label(name: str, reached: frozenset[str] | None) -> str:
    if name == "shop":
        return "the shop"
    if reached is None:
        return f"the shop (overflow from group {name})"
    wider = sorted(reached - {name})
    return f"group {name}" + (f" (overflow to {', '.join(wider)})" if wider else "")


def _who(agent: str | None) -> str:
    return "last agent" if agent == "last_agent" else "main account"


def _decide(kind: str, action: Action, *, agent_id: str | None = None, queue: str | None = None,
            target: str | None = None, reason: str) -> Decision:
    return Decision({"action": kind, "agent_id": agent_id, "queue": queue, "target": target,
                     "reason": action.reason or reason})


FALLBACK = {"action": "none", "agent_id": None, "queue": None, "target": None}
