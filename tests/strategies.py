"""Hypothesis strategies for evaluate requests: schema-valid ones of every event, and hostile variations of them."""
from __future__ import annotations

import copy
from datetime import datetime, timedelta

from hypothesis import strategies as st

from conftest import NOW
from fenliu.engine.request import CLOCK_SKEW, ENTRIES

BASE = datetime.fromisoformat(NOW)
ids = st.sampled_from(["a1", "a2", "a3", "a4", "a5", "a6", "小王", "m"])
groups = st.lists(st.sampled_from(["presale", "aftersale", "vip"]), max_size=2, unique=True)


def moments(max_hours: float = 24 * 10) -> st.SearchStrategy[str]:
    """Past moments, down to a few minutes ahead of `now`: the clock skew a request may carry."""
    skew_hours = CLOCK_SKEW.total_seconds() / 3600
    return st.floats(min_value=-skew_hours, max_value=max_hours, allow_nan=False).map(
        lambda hours: (BASE - timedelta(hours=hours)).isoformat())


@st.composite
def agents(draw, max_size: int = 7) -> list[dict]:
    chosen = draw(st.lists(ids, max_size=max_size, unique=True))
    roster = []
    for index, agent_id in enumerate(chosen):
        roster.append({
            "id": agent_id,
            "role": "main" if index == 0 and draw(st.booleans()) else "sub",
            "status": draw(st.sampled_from(["online", "invisible", "break", "offline"])),
            "suspended": draw(st.booleans()),
            "max_sessions": draw(st.one_of(st.none(), st.integers(0, 30))),
            "active": draw(st.integers(0, 40)),
            "groups": draw(groups),
            "last_assigned_at": draw(st.one_of(st.none(), moments(5))),
            "skills": draw(st.dictionaries(st.sampled_from(["refund", "billing", "退款"]), st.integers(1, 10),
                                           max_size=2)),
        })
    return roster


@st.composite
def route_requests(draw) -> dict:
    customer = {"id": "b1", "private_contact": draw(st.booleans()),
                "tags": draw(st.lists(st.sampled_from(["vip", "new", "会员"]), max_size=2, unique=True))}
    if draw(st.booleans()):
        customer["last_agent"] = {"id": draw(ids), "at": draw(moments(100))}
    return {
        "event": "route", "now": NOW,
        "conversation": {"id": "c1", "entry": draw(st.sampled_from(ENTRIES)), "to_main": draw(st.booleans()),
                         "internal": draw(st.integers(0, 9)) == 0},
        "customer": customer,
        "agents": draw(agents()),
    }


@st.composite
def dequeue_requests(draw) -> dict:
    count = draw(st.integers(0, 12))
    queue = []
    for index in range(count):
        item = {"conversation": {"id": f"q{index}"}, "enqueued_at": draw(moments(24 * 9)),
                "offline": draw(st.booleans()), "queue": draw(st.sampled_from(["shop", "presale", "aftersale"]))}
        if draw(st.booleans()):
            item["customer"] = {"id": f"b{index}", "last_agent": {"id": draw(ids), "at": draw(moments(100))}}
        if draw(st.integers(0, 3)) == 0:
            item["cached_at"] = draw(ids)  # B20: waits in that agent's own cache
        queue.append(item)
    return {"event": "dequeue", "now": NOW, "agents": draw(agents()), "queue": queue}


senders = st.sampled_from(["customer", "agent", "system"])


@st.composite
def transfer_requests(draw) -> dict:
    request = {"event": "transfer", "now": NOW, "from_agent": draw(ids), "agents": draw(agents())}
    if draw(st.booleans()):
        request["conversation"] = {"id": "c1", "entry": draw(st.sampled_from(ENTRIES))}
    return request


@st.composite
def close_requests(draw) -> dict:
    return {"event": "close", "now": NOW, "manual": draw(st.booleans()),
            "conversation": {"id": "c1", "last_message": {"from": draw(senders), "at": draw(moments(2))}}}


@st.composite
def agent_settings_requests(draw) -> dict:
    agent = {"id": draw(ids), "status": draw(st.sampled_from(["online", "invisible", "break", "offline"]))}
    if draw(st.booleans()):
        agent["max_sessions"] = draw(st.one_of(st.none(), st.just("suspended"), st.integers(-5, 600)))
    return {"event": "agent_settings", "now": NOW, "agent": agent}


@st.composite
def order_requests(draw) -> dict:
    conversations = []
    for index in range(draw(st.integers(0, 8))):
        at = draw(st.floats(min_value=-CLOCK_SKEW.total_seconds() / 3600, max_value=5, allow_nan=False))
        item = {"id": f"c{index}", "last_message": {"from": draw(senders), "at": (BASE - timedelta(hours=at)).isoformat()}}
        if draw(st.booleans()):  # B18: became unanswered at or before its last message
            earlier = at + draw(st.floats(min_value=0, max_value=3, allow_nan=False))
            item["unanswered_since"] = (BASE - timedelta(hours=earlier)).isoformat()
        conversations.append(item)
    return {"event": "order", "now": NOW, "conversations": conversations}


@st.composite
def login_requests(draw) -> dict:
    agent = {"id": draw(ids)}
    if draw(st.booleans()):
        agent["last_status"] = draw(st.sampled_from(["online", "invisible", "break"]))
    return {"event": "login", "now": NOW, "agent": agent}


@st.composite
def manual_assign_requests(draw) -> dict:
    by = {"role": draw(st.sampled_from(["main", "admin", "agent"]))}
    if draw(st.booleans()):
        by["id"] = draw(ids)
    return {"event": "manual_assign", "now": NOW, "by": by, "conversation": {"id": "c1"}, "to_agent": draw(ids),
            "agents": draw(agents())}


# Valid requests of every event, by event name.
REQUESTS = {"route": route_requests(), "dequeue": dequeue_requests(), "transfer": transfer_requests(),
            "close": close_requests(), "agent_settings": agent_settings_requests(), "order": order_requests(),
            "login": login_requests(), "manual_assign": manual_assign_requests()}

# Values a client may wrongly send anywhere: wrong types, out of range, too long, moments without a
# time zone, after `now` (within and beyond the clock skew), names of the wrong kind.
HOSTILE_VALUES = st.one_of(
    st.none(), st.booleans(), st.sampled_from([-1, 0, 2, 2.0, 1.5, 10**9, -10**9 - 1, 10_001]),
    st.sampled_from(["", "a1", "c1", "online", "break", "main", "admin", "customer", "system", "suspended", "shop",
                     "vip", "direct", "x" * 257, NOW, "2026-11-23T10:03:00Z", "2026-11-23T10:30:00Z",
                     "2026-11-20T08:00:00+08:00", "2026-11-23", "2026-11-23T10:00:00", "yesterday"]),
    st.builds(dict), st.lists(st.sampled_from(["vip", "", 3]), max_size=2))


def _containers(value):
    """Every object and list of a body, the body first."""
    if isinstance(value, (dict, list)):
        yield value
        for item in (value.values() if isinstance(value, dict) else value):
            yield from _containers(item)


@st.composite
def hostile_requests(draw, event: str, keys: tuple[str, ...]) -> dict:
    """A valid request of `event` with up to three faults: a field of `keys` (or an unknown one) set to
    a hostile value or dropped, a list item replaced or repeated (ids must be unique). `event` stays."""
    body = copy.deepcopy(draw(REQUESTS[event]))
    for _ in range(draw(st.integers(0, 3))):
        target = draw(st.sampled_from(list(_containers(body))))
        if isinstance(target, dict):
            key = draw(st.sampled_from(sorted({*target, *keys, "colour"} - ({"event"} if target is body else set()))))
            if key in target and draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(HOSTILE_VALUES)
        elif target:
            index = draw(st.integers(0, len(target) - 1))
            if draw(st.booleans()):
                target.append(copy.deepcopy(target[index]))
            else:
                target[index] = draw(HOSTILE_VALUES)
    return body
