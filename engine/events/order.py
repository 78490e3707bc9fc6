"""`order` (B18): the order of an agent's current conversations. Unanswered first, the longest
waiting on top; then answered ones, most recent message first. How long a conversation has waited
is counted from its last message, or — `ordered: {unanswered_by: since}`, Douyin's order — from
the moment it became unanswered (`unanswered_since`: the buyer's first message not yet answered)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from msgspec.structs import replace

from ..facts import FactSpec, specs
from ..model import Action, PolicyDocument
from ..request import Id, LastMessage, Moment, Reader, read_last_message, settle_all, within_skew
from .base import Decision, FallThrough, Situation

NAME = "order"
ACTIONS = ("ordered",)
MAX_CONVERSATIONS = 10_000
FACTS: dict[str, FactSpec] = specs(
    ("conversations.count", "number", "conversations to order"),
    ("conversations.unanswered", "number", "conversations whose last message is the buyer's"),
)
FALLBACK = {"action": "ordered", "order": []}


class OrderedConversation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One of the agent's current conversations; `unanswered_since`, when given, is not after its last message."""

    id: Id
    last_message: LastMessage
    unanswered_since: Moment | None = None


class OrderRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True, tag_field="event", tag=NAME):
    now: Moment
    conversations: Annotated[tuple[OrderedConversation, ...], msgspec.Meta(max_length=MAX_CONVERSATIONS)] = ()


REQUEST = OrderRequest


def checked(request: OrderRequest) -> OrderRequest | None:
    """What msgspec cannot check of a decoded request: no time in the future, none unanswered after
    its last message. None sends the request to the careful reader, which names the problem."""
    conversations = settle_all(request.conversations, lambda item: _settled(item, request.now))
    if conversations is None:
        return None
    return request if conversations is request.conversations else replace(request, conversations=conversations)


def _settled(item: OrderedConversation, now: datetime) -> OrderedConversation | None:
    """The conversation with its times within clock skew of `now` taken as `now`; None when one lies
    beyond, or it became unanswered after its last message."""
    last = item.last_message
    at = within_skew(last.at, now)
    since = within_skew(item.unanswered_since, now) if item.unanswered_since is not None else None
    if at is None or (item.unanswered_since is not None and (since is None or since > at)):
        return None
    if at is last.at and since is item.unanswered_since:
        return item
    return replace(item, last_message=replace(last, at=at), unanswered_since=since)



def read_carefully(data: dict[str, Any]) -> OrderRequest:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "conversations"), "")
    now = reader.now(data)
    conversations: list[OrderedConversation] = []
    for index, raw in enumerate(reader.items(data.get("conversations", []), "conversations", MAX_CONVERSATIONS)):
        path = f"conversations[{index}]"
        item = reader.obj(raw, path)
        reader.unknown_keys(item, ("id", "last_message", "unanswered_since"), path)
        conversation_id = reader.required(item, "id", path, reader.string, "")
        last = read_last_message(reader, item.get("last_message"), f"{path}.last_message", now)
        since = reader.field(item, "unanswered_since", path, reader.before(now), None)
        if since is not None and last is not None and since > last.at:
            reader.fail(f"{path}.unanswered_since", "is after the last message: a conversation becomes unanswered "
                                                    "at or before the buyer's latest message")
        if last is not None:
            conversations.append(OrderedConversation(id=conversation_id, last_message=last, unanswered_since=since))
    reader.raise_if_failed()
    return OrderRequest(now=now, conversations=tuple(conversations))



def situate(request: OrderRequest, policy: PolicyDocument) -> Situation:
    """The facts of a checked request."""
    rows = [(item.id, item.last_message.sender, item.last_message.at, item.unanswered_since or item.last_message.at)
            for item in request.conversations]
    facts = {"conversations.count": len(rows), "conversations.unanswered": sum(row[1] == "customer" for row in rows)}
    return Situation(request, facts, {"rows": rows})


def carry_out(action: Action, situation: Situation, policy: PolicyDocument) -> Decision | FallThrough:
    unanswered_from = set(action.options.get("unanswered_when_last_from", ["customer"]))
    waited_from = 3 if action.options.get("unanswered_by", "last_message") == "since" else 2
    rows = situation.extra["rows"]
    waiting = sorted((row for row in rows if row[1] in unanswered_from), key=lambda row: (row[waited_from], row[0]))
    answered = sorted((row for row in rows if row[1] not in unanswered_from), key=lambda row: (-row[2].timestamp(), row[0]))
    return Decision({"action": "ordered", "order": [row[0] for row in waiting + answered],
                     "reason": action.reason or f"{len(waiting)} unanswered first, longest "
                                                 f"{'unanswered' if waited_from == 3 else 'waiting'} on top; "
                                                 f"then {len(answered)} answered, most recent first (B18)"})
