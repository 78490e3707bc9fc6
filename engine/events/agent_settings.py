"""`agent_settings` (B2): an agent changes its status or maximum. The rules accept or reject (the
platform's range is in `params.capacity`) and name the warnings to show; a maximum of 0 or less
is never accepted, whatever the rules say."""
from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from ..facts import FactSpec, specs
from ..model import STATUSES, Action, PolicyDocument
from ..request import Id, Moment, Reader, checked_by_decoding, read_agent_event
from .base import Decision, FallThrough, Situation

NAME = "agent_settings"
ACTIONS = ("accept", "reject")
FACTS: dict[str, FactSpec] = specs(
    ("settings.status", "string", "the status the agent asks for", STATUSES),
    ("settings.max_sessions", "number", "the maximum asked for; absent when unlimited or suspended"),
    ("settings.unlimited", "bool", "unlimited (never auto-suspend, 不自动挂起)"),
    ("settings.suspended", "bool", "suspended (挂起): no new shunted conversations"),
    ("settings.preset", "bool", "the maximum is one of params.capacity.presets"),
)
FALLBACK = {"action": "reject"}
# Whole numbers this large are read, though out of every platform's range: the rules refuse them with `params.capacity`.
MAX_ASKED = 1_000_000_000
WARNINGS = {
    "low_capacity": "maximum {max} is under {low}: customers may be unable to get in; confirm?",
    "unlimited_offline": "{agent} goes offline with unlimited capacity: on return the whole offline backlog floods "
                         "into it and wrecks its 3-minute reply rate; set a maximum first",
}


class AskedSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The agent and the settings it asks for: a maximum, null (unlimited) or "suspended"."""

    id: Id
    status: Literal[STATUSES]  # type: ignore[valid-type]
    max_sessions: Annotated[int, msgspec.Meta(ge=-MAX_ASKED, le=MAX_ASKED)] | Literal["suspended"] | None = None


class AgentSettingsRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="event", tag=NAME):
    now: Moment
    agent: AskedSettings


REQUEST = AgentSettingsRequest


checked = checked_by_decoding



def read_carefully(data: dict[str, Any]) -> AgentSettingsRequest:
    reader = Reader()
    now, agent, agent_id = read_agent_event(reader, data, ("status", "max_sessions"))
    status = reader.required(agent, "status", "agent", reader.choice(STATUSES), "online")
    maximum = agent.get("max_sessions")
    if maximum is not None and maximum != "suspended" and (not isinstance(maximum, int) or isinstance(maximum, bool)
                                                           or abs(maximum) > MAX_ASKED):
        reader.fail("agent.max_sessions", "must be a whole number, null (unlimited) or \"suspended\"")
    reader.raise_if_failed()
    return AgentSettingsRequest(now=now, agent=AskedSettings(id=agent_id, status=status, max_sessions=maximum))



def situate(request: AgentSettingsRequest, policy: PolicyDocument) -> Situation:
    """The facts of a checked request."""
    status, maximum = request.agent.status, request.agent.max_sessions
    facts: dict[str, Any] = {"settings.status": status, "settings.unlimited": maximum is None,
                             "settings.suspended": maximum == "suspended"}
    if isinstance(maximum, int):
        facts["settings.max_sessions"] = maximum
        facts["settings.preset"] = maximum in policy.params.capacity.presets
    return Situation(request, facts, {"agent_id": request.agent.id, "status": status, "maximum": maximum})


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    maximum = situation.extra["maximum"]
    if action.kind == "reject":
        return Decision({"action": "reject", "reason": action.reason or f"{_setting(situation)} rejected"})
    if isinstance(maximum, int) and maximum <= 0:
        return FallThrough("a maximum of 0 or less is never accepted (B2)")
    code = action.options.get("warning")
    warnings: tuple[dict[str, Any], ...] = ()
    if code:
        message = WARNINGS[code].format(max=maximum, low=policy.params.capacity.low_warning,
                                        agent=situation.extra["agent_id"])
        warnings = ({"code": code, "message": message, "agent_id": situation.extra["agent_id"]},)
    return Decision({"action": "accept", "reason": action.reason or f"{_setting(situation)} accepted"}, warnings)


def _setting(situation: Situation) -> str:
    extra = situation.extra
    maximum = extra["maximum"]
    shown = "unlimited" if maximum is None else maximum
    return f"{extra['agent_id']} {extra['status']} with maximum {shown}"
