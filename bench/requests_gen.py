"""Realistic `route` requests, generated from a seed so every run benchmarks the same traffic.

The mix covers the paths a route decision can take: returning customers (inside and outside the
window, their agent online, suspended, full or gone), plain and group-shaped shunting (entries,
agent groups, VIP tags), a shop where everyone online is full or suspended (queue pool), a shop
where everyone is on break or offline (queue or offline queue), and internal messages.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from fenliu.engine.request import ENTRIES

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
GROUPS = ("presale", "aftersale")
CAPACITIES = (None, None, 20, 50, 100, 200)

# Scenario → weight; the weights are those of a busy shop's day, with the rare paths kept visible.
SCENARIOS: dict[str, int] = {
    "returning": 30,
    "shunting": 35,
    "all_full": 15,
    "nobody_online": 8,
    "all_on_break": 7,
    "internal": 5,
}


@dataclass(frozen=True)
class RequestSet:
    agents: int
    seed: int
    requests: list[dict]


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _agent(rng: random.Random, index: int, scenario: str) -> dict:
    maximum = rng.choice(CAPACITIES) if rng.random() < 0.9 else rng.randint(1, 500)
    if scenario == "nobody_online":
        status = "offline"
    elif scenario == "all_on_break":
        status = rng.choice(("break", "offline"))
    else:
        status = rng.choices(("online", "invisible", "break", "offline"), (70, 10, 8, 12))[0]
    ceiling = maximum if maximum is not None else 120
    if scenario == "all_full":
        active = ceiling + rng.randint(0, 3) if maximum is not None else rng.randint(0, 120)
        suspended = maximum is None or rng.random() < 0.3
    else:
        active = rng.randint(0, ceiling)
        suspended = rng.random() < 0.1
    agent = {
        "id": f"a{index:04d}",
        "role": "main" if index == 0 else "sub",
        "status": status,
        "suspended": suspended,
        "max_sessions": maximum,
        "active": active,
        "groups": [rng.choice(GROUPS)] if rng.random() < 0.9 else list(GROUPS),
    }
    if rng.random() < 0.5:
        agent["last_assigned_at"] = _iso(NOW - timedelta(seconds=rng.randint(1, 7200)))
    return agent


def _customer(rng: random.Random, scenario: str, agents: list[dict]) -> dict:
    customer: dict = {"id": f"b{rng.randint(1, 10**6)}", "private_contact": rng.random() < 0.03,
                      "tags": ["vip"] if rng.random() < 0.2 else []}
    if scenario == "returning" or rng.random() < 0.1:
        # A few returning buyers' agents have left the shop, so their id is not in `agents`.
        last_id = rng.choice(agents)["id"] if rng.random() < 0.95 else "gone-agent"
        hours = rng.uniform(0, 72) if rng.random() < 0.8 else rng.uniform(72, 240)
        customer["last_agent"] = {"id": last_id, "at": _iso(NOW - timedelta(hours=hours))}
    return customer


def route_request(rng: random.Random, agent_count: int, scenario: str | None = None) -> dict:
    scenario = scenario or rng.choices(list(SCENARIOS), list(SCENARIOS.values()))[0]
    agents = [_agent(rng, index, scenario) for index in range(agent_count)]
    entry = rng.choice(ENTRIES)
    conversation: dict = {"id": f"c{rng.randint(1, 10**9)}", "entry": entry,
                          "to_main": rng.random() < 0.05, "internal": scenario == "internal"}
    if rng.random() < 0.3:
        conversation["category"] = rng.choice(("apparel", "beauty", "electronics", "food"))
    return {"event": "route", "now": _iso(NOW), "conversation": conversation,
            "customer": _customer(rng, scenario, agents), "agents": agents}


def generate(agent_count: int, count: int, seed: int = 20261123) -> RequestSet:
    rng = random.Random(f"{seed}:{agent_count}")
    return RequestSet(agent_count, seed, [route_request(rng, agent_count) for _ in range(count)])
