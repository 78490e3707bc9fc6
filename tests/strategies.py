"""Hypothesis strategies for schema-valid evaluate requests."""
from __future__ import annotations

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
