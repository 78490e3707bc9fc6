"""`close` (B17): a manual close (ESC) or the automatic-close check. The rules say when to close,
refuse ("please reply first") or keep; this module supplies the facts about the last message."""
from __future__ import annotations

from typing import Any

from ..facts import FactSpec, specs
from ..model import Action, Group, PolicyDocument
from ..request import Reader
from .base import Decision, FallThrough, Situation

NAME = "close"
ACTIONS = ("close", "refuse", "keep")
SENDERS = ("customer", "agent", "system")
FACTS: dict[str, FactSpec] = specs(
    ("close.manual", "bool", "an agent asked to close (ESC); false: the periodic automatic-close check"),
    ("last_message.from", "string", "who sent the last message: customer | agent | system (auto-reply)", SENDERS),
    ("last_message.minutes_ago", "number", "minutes since the last message: the buyer's silence when it was not theirs"),
)
FALLBACK = {"action": "keep"}


def fact_spec(name: str, policy_groups: tuple[Group, ...]) -> FactSpec | None:
    return FACTS.get(name)


def read(data: dict[str, Any], policy: PolicyDocument) -> Situation:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "manual", "conversation"), "")
    now = reader.required(data, "now", "", reader.timestamp, None)
    manual = reader.required(data, "manual", "", reader.boolean, False)
    conversation = reader.obj(data.get("conversation"), "conversation")
    reader.unknown_keys(conversation, ("id", "last_message"), "conversation")
    reader.required(conversation, "id", "conversation", reader.string, "")
    last = reader.obj(conversation.get("last_message"), "conversation.last_message")
    reader.unknown_keys(last, ("from", "at"), "conversation.last_message")
    sender = reader.required(last, "from", "conversation.last_message", reader.choice(SENDERS), "customer")
    at = reader.required(last, "at", "conversation.last_message", reader.before(now), None)
    reader.raise_if_failed()
    facts = {"close.manual": manual, "last_message.from": sender,
             "last_message.minutes_ago": (now - at).total_seconds() / 60}
    return Situation(data, facts)


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    return Decision({"action": action.kind, "reason": action.reason or _reason(action.kind, situation.facts)})


def _reason(kind: str, facts: dict[str, Any]) -> str:
    """Says what the decision rests on: who spoke last, and how long ago."""
    sender, minutes = facts["last_message.from"], facts["last_message.minutes_ago"]
    last = f"last message from the {'buyer' if sender == 'customer' else sender} {minutes:.0f} min ago"
    if kind == "refuse":
        return f"please reply first: {last}"
    if kind == "close":
        return f"closed by the agent; {last}" if facts["close.manual"] else f"closed after buyer silence: {last}"
    return f"kept open: {last}"
