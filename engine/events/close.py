"""`close` (B17): a manual close (ESC) or the automatic-close check. The rules say when to close,
refuse ("please reply first") or keep; this module supplies the facts about the last message."""
from __future__ import annotations

from typing import Any

import msgspec
from msgspec.structs import replace

from ..facts import FactSpec, specs
from ..model import Action, PolicyDocument
from ..request import SENDERS, Id, LastMessage, Moment, Reader, read_last_message, within_skew
from .base import Decision, FallThrough, Situation

NAME = "close"
ACTIONS = ("close", "refuse", "keep")
FACTS: dict[str, FactSpec] = specs(
    ("close.manual", "bool", "an agent asked to close (ESC); false: the periodic automatic-close check"),
    ("last_message.from", "string", "who sent the last message: customer | agent | system (auto-reply)", SENDERS),
    ("last_message.minutes_ago", "number", "minutes since the last message: the buyer's silence when it was not theirs"),
)
FALLBACK = {"action": "keep"}


class ClosedConversation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Id
    last_message: LastMessage


class CloseRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="event", tag=NAME):
    now: Moment
    manual: bool
    conversation: ClosedConversation


REQUEST = CloseRequest


def checked(request: CloseRequest) -> CloseRequest | None:
    """What msgspec cannot check of a decoded request: the last message not in the future. None sends
    the request to the careful reader, which names the problem."""
    last = request.conversation.last_message
    at = within_skew(last.at, request.now)
    if at is None:
        return None
    if at is last.at:
        return request
    return replace(request, conversation=replace(request.conversation, last_message=replace(last, at=at)))



def read_carefully(data: dict[str, Any]) -> CloseRequest:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "manual", "conversation"), "")
    now = reader.now(data)
    manual = reader.required(data, "manual", "", reader.boolean, False)
    conversation = reader.obj(data.get("conversation"), "conversation")
    reader.unknown_keys(conversation, ("id", "last_message"), "conversation")
    conversation_id = reader.required(conversation, "id", "conversation", reader.string, "")
    last = read_last_message(reader, conversation.get("last_message"), "conversation.last_message", now)
    reader.raise_if_failed()
    assert last is not None  # a missing `at` was named above
    return CloseRequest(now=now, manual=manual, conversation=ClosedConversation(id=conversation_id, last_message=last))



def situate(request: CloseRequest, policy: PolicyDocument) -> Situation:
    """The facts of a checked request."""
    last = request.conversation.last_message
    facts = {"close.manual": request.manual, "last_message.from": last.sender,
             "last_message.minutes_ago": (request.now - last.at).total_seconds() / 60}
    return Situation(request, facts)


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
