"""`login` (B1): an agent logs in; which status it starts in. Douyin: a new agent's first login is
online, and a re-login restores the status it had when it last logged in. The platform keeps that
status, so the caller supplies it (`agent.last_status`); without one this is a first login."""
from __future__ import annotations

from typing import Any, Literal

import msgspec

from ..facts import FactSpec, specs
from ..model import Action, PolicyDocument
from ..request import Id, Moment, Reader, checked_by_decoding, read_agent_event
from .base import Decision, FallThrough, Situation

NAME = "login"
ACTIONS = ("set_status",)
# A status an agent can have been in while logged in: what a re-login may restore.
LOGGED_IN_STATUSES = ("online", "invisible", "break")
TARGETS = (*LOGGED_IN_STATUSES, "last")
FACTS: dict[str, FactSpec] = specs(
    ("login.first", "bool", "no earlier status on record: the agent's first login (B1)"),
    ("login.last_status", "string", "the status of its last login, which a re-login may restore (B1)",
     LOGGED_IN_STATUSES),
)
FALLBACK = {"action": "set_status", "agent_id": None, "status": None}


class LoggingIn(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The agent logging in, and the status of its last login as the platform kept it."""

    id: Id
    last_status: Literal[LOGGED_IN_STATUSES] | None = None  # type: ignore[valid-type]


class LoginRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="event", tag=NAME):
    now: Moment
    agent: LoggingIn


REQUEST = LoginRequest


checked = checked_by_decoding



def read_carefully(data: dict[str, Any]) -> LoginRequest:
    reader = Reader()
    now, agent, agent_id = read_agent_event(reader, data, ("last_status",))
    last = reader.field(agent, "last_status", "agent", reader.choice(LOGGED_IN_STATUSES), None)
    reader.raise_if_failed()
    return LoginRequest(now=now, agent=LoggingIn(id=agent_id, last_status=last))



def situate(request: LoginRequest, policy: PolicyDocument) -> Situation:
    """The facts of a checked request."""
    last = request.agent.last_status
    facts: dict[str, Any] = {"login.first": last is None}
    if last is not None:
        facts["login.last_status"] = last
    return Situation(request, facts, {"agent_id": request.agent.id, "last": last})


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    agent_id, last = situation.extra["agent_id"], situation.extra["last"]
    target = action.options.get("status", "online")
    if target == "last":
        if last is None:
            return FallThrough("no last status on record: a first login")
        reason = f"{agent_id} logs in again as {last}, its last status (B1)"
        return Decision({"action": "set_status", "agent_id": agent_id, "status": last,
                         "reason": action.reason or reason})
    first = "first login" if last is None else f"login (last status {last})"
    return Decision({"action": "set_status", "agent_id": agent_id, "status": target,
                     "reason": action.reason or f"{agent_id} starts {target}: {first} (B1)"})
