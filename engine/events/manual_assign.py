"""`manual_assign` (B3): the main account, an admin or another agent gives a chosen conversation to
a chosen agent by hand. The rules allow or deny it; an allowed assignment may take the agent past
its maximum or while it is suspended, because the ceiling only stops automatic assignment."""
from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ..facts import FactSpec, agent_specs, counter_specs, put_agent, put_counters, specs
from ..model import Action, PolicyDocument
from ..request import MAX_AGENTS, Agent, Id, Moment, Reader, checked_agents_unique, read_agents
from ..eligibility import Capacity
from .base import Decision, FallThrough, Situation

NAME = "manual_assign"
ACTIONS = ("allow", "deny")
ROLES = ("main", "admin", "agent")
FACTS: dict[str, FactSpec] = {
    **specs(("by.role", "string", "who assigns: main (主账号) | admin (客服管理员) | agent (another agent)", ROLES)),
    **agent_specs("to_agent", "the agent chosen"),
    **counter_specs("shop", "whole shop"),
}
FALLBACK = {"action": "deny", "agent_id": None, "conversation_id": None}


class Assigner(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Who assigns by hand."""

    role: Literal[ROLES]  # type: ignore[valid-type]
    id: Id | None = None


class AssignedConversation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Id


class ManualAssignRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="event", tag=NAME):
    now: Moment
    by: Assigner
    conversation: AssignedConversation
    to_agent: Id
    agents: Annotated[tuple[Agent, ...], msgspec.Meta(max_length=MAX_AGENTS)]


REQUEST = ManualAssignRequest


checked = checked_agents_unique


def read_carefully(data: dict[str, Any]) -> ManualAssignRequest:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "by", "conversation", "to_agent", "agents"), "")
    now = reader.now(data)
    by = reader.obj(data.get("by"), "by")
    reader.unknown_keys(by, ("id", "role"), "by")
    by_id = reader.field(by, "id", "by", reader.string, None)
    role = reader.required(by, "role", "by", reader.choice(ROLES), "agent")
    conversation = reader.obj(data.get("conversation"), "conversation")
    reader.unknown_keys(conversation, ("id",), "conversation")
    conversation_id = reader.required(conversation, "id", "conversation", reader.string, "")
    chosen = reader.required(data, "to_agent", "", reader.string, "")
    agents = read_agents(reader, data)
    reader.raise_if_failed()
    return ManualAssignRequest(now=now, by=Assigner(role=role, id=by_id),
                               conversation=AssignedConversation(id=conversation_id), to_agent=chosen, agents=agents)



def situate(request: ManualAssignRequest, policy: PolicyDocument) -> Situation:
    """The facts of a checked request."""
    agents, chosen, role = request.agents, request.to_agent, request.by.role
    capacity = Capacity(policy.params.capacity.max)
    target = next((agent for agent in agents if agent.id == chosen), None)
    facts: dict[str, Any] = {"by.role": role}
    put_agent(facts, "to_agent", target, capacity)
    put_counters(facts, "shop", agents, capacity)
    return Situation(request, facts, {"target": target, "chosen": chosen, "conversation_id": request.conversation.id,
                                      "role": role, "capacity": capacity})


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    extra = situation.extra
    target, capacity = extra["target"], extra["capacity"]
    fields = {"agent_id": extra["chosen"], "conversation_id": extra["conversation_id"]}
    if action.kind == "deny":
        return Decision({"action": "deny", **fields,
                         "reason": action.reason or f"{extra['role']} may not assign it to {extra['chosen']}"})
    if target is None:
        return FallThrough(f"agent {extra['chosen']} is not in `agents`")
    past = " past its maximum" if capacity.at_capacity(target) else ""
    return Decision({"action": "allow", **fields, "reason": action.reason or (
        f"{extra['role']} assigns it by hand to {target.id} ({target.status}, {target.active} of "
        f"{capacity.maximum(target)}){past}; the maximum only stops automatic assignment (B3)")})
