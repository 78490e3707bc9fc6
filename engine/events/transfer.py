"""`transfer` (B16): whom an agent may hand a conversation to. Never offline agents, never the sender;
online (invisible counts) before break, then least saturated. Full and suspended agents stay
candidates: a manual transfer may exceed a maximum (B3). With `candidates: {mark_transferred: true}`
(Douyin) the answer says the conversation arrives marked as transferred: the receiving agent is told
so, and it does not count in that agent's "received today" (今日已接待)."""
from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ..facts import FactSpec, agent_specs, counter_specs, put_agent, put_counters
from ..model import Action, PolicyDocument
from ..request import (
    MAX_AGENTS, Agent, BaseConversation, Id, Moment, Reader, checked_agents_unique, read_agents, read_conversation,
)
from ..eligibility import Capacity
from .base import Decision, FallThrough, Situation

NAME = "transfer"
ACTIONS = ("candidates",)
FACTS: dict[str, FactSpec] = {**agent_specs("from_agent", "the agent handing over"), **counter_specs("shop", "whole shop")}
FALLBACK = {"action": "candidates", "candidates": [], "transferred": False}


class TransferRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="event", tag=NAME):
    now: Moment
    from_agent: Id
    agents: Annotated[tuple[Agent, ...], msgspec.Meta(max_length=MAX_AGENTS)]
    conversation: BaseConversation = msgspec.field(default_factory=BaseConversation)


REQUEST = TransferRequest


checked = checked_agents_unique


def read_carefully(data: dict[str, Any]) -> TransferRequest:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "conversation", "from_agent", "agents"), "")
    now = reader.now(data)
    conversation = read_conversation(reader, data.get("conversation", {}))
    sender = reader.required(data, "from_agent", "", reader.string, "")
    agents = read_agents(reader, data)
    reader.raise_if_failed()
    return TransferRequest(now=now, from_agent=sender, agents=agents, conversation=conversation)



def situate(request: TransferRequest, policy: PolicyDocument) -> Situation:
    """The facts of a checked request."""
    agents, sender = request.agents, request.from_agent
    capacity = Capacity(policy.params.capacity.max)
    facts: dict[str, Any] = {}
    put_agent(facts, "from_agent", next((a for a in agents if a.id == sender), None), capacity)
    put_counters(facts, "shop", agents, capacity)
    return Situation(request, facts, {"agents": agents, "sender": sender, "capacity": capacity})


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    capacity: Capacity = situation.extra["capacity"]
    include_break = action.options.get("include_break", True)
    allowed = ("online", "invisible", "break") if include_break else ("online", "invisible")
    candidates = sorted(
        (agent for agent in situation.extra["agents"]
         if agent.status in allowed and agent.id != situation.extra["sender"]),
        key=lambda agent: (not agent.online, capacity.saturation(agent), agent.active, agent.id),
    )
    marked = bool(action.options.get("mark_transferred", False))
    shown = "; it arrives marked as transferred" if marked else ""
    return Decision({"action": "candidates", "candidates": [agent.id for agent in candidates], "transferred": marked,
                     "reason": action.reason or f"{len(candidates)} candidates: online before break, "
                                                 f"least saturated first{shown} (B16)"})
