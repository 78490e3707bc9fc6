"""`order` (B18): the order of an agent's current conversations. Unanswered first, the longest
waiting on top; then answered ones, most recent message first. How long a conversation has waited
is counted from its last message, or — `ordered: {unanswered_by: since}`, Douyin's order — from
the moment it became unanswered (`unanswered_since`: the buyer's first message not yet answered)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from ..facts import FactSpec, specs
from ..model import Action, Group, PolicyDocument
from ..request import Reader
from .base import Decision, FallThrough, Situation

NAME = "order"
ACTIONS = ("ordered",)
SENDERS = ("customer", "agent", "system")
MAX_CONVERSATIONS = 10_000
FACTS: dict[str, FactSpec] = specs(
    ("conversations.count", "number", "conversations to order"),
    ("conversations.unanswered", "number", "conversations whose last message is the buyer's"),
)
FALLBACK = {"action": "ordered", "order": []}


def fact_spec(name: str, policy_groups: tuple[Group, ...]) -> FactSpec | None:
    return FACTS.get(name)


def read(data: dict[str, Any], policy: PolicyDocument) -> Situation:
    reader = Reader()
    reader.unknown_keys(data, ("event", "now", "conversations"), "")
    now = reader.required(data, "now", "", reader.timestamp, None)
    rows: list[tuple[str, str, datetime, datetime]] = []
    for index, raw in enumerate(reader.items(data.get("conversations", []), "conversations", MAX_CONVERSATIONS)):
        path = f"conversations[{index}]"
        item = reader.obj(raw, path)
        reader.unknown_keys(item, ("id", "last_message", "unanswered_since"), path)
        conversation_id = reader.required(item, "id", path, reader.string, "")
        last = reader.obj(item.get("last_message"), f"{path}.last_message")
        reader.unknown_keys(last, ("from", "at"), f"{path}.last_message")
        sender = reader.required(last, "from", f"{path}.last_message", reader.choice(SENDERS), "customer")
        at = reader.required(last, "at", f"{path}.last_message", reader.before(now), None)
        since = reader.field(item, "unanswered_since", path, reader.before(now), None)
        if since is not None and at is not None and since > at:
            reader.fail(f"{path}.unanswered_since", "is after the last message: a conversation becomes unanswered "
                                                    "at or before the buyer's latest message")
        rows.append((conversation_id, sender, at, since or at))
    reader.raise_if_failed()
    facts = {"conversations.count": len(rows), "conversations.unanswered": sum(row[1] == "customer" for row in rows)}
    return Situation(data, facts, {"rows": rows})


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
