"""Policies of any number of route rules, built from the shapes of the shipped rules.

Rule i takes shape i mod 6 (returning customer, entry and tag, hour and head count, category,
to-main, queue pool) with literals that vary with i, so the rule engine holds N distinct rules,
as an operator's long policy would; the last rule is the shipped unconditional offline queue.
Literals stay within the loader's limits (distinct values per fact, facts per policy) at 500 rules.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from fenliu.engine.request import ENTRIES

TAGS = ("vip", "new", "wholesale", "repeat")

HEADER = {
    "name": "generated",
    "platform": "kuaishou",
    "version": "bench",
    "params": {
        "capacity": {"min": 1, "max": 500, "presets": [20, 50, 100, 200], "low_warning": 5},
        "returning_window_hours": 72,
        "auto_close_minutes": 20,
        "offline_message_ttl_days": 7,
        "reply_sla_seconds": 180,
    },
}


def _rule(i: int) -> dict:
    shape = i % 6
    if shape == 0:
        when = {"fact": "customer.hours_since_last_agent", "le": 1 + i % 72}
        then: object = {"assign": {"to": "last_agent", "ignore_capacity": True, "ignore_suspension": True}}
    elif shape == 1:
        when = {"all": [{"fact": "conversation.entry", "eq": ENTRIES[i % len(ENTRIES)]},
                        {"fact": "customer.tags", "contains": TAGS[i % len(TAGS)]}]}
        then = {"assign": {"among": "shop", "strategy": "fewest_active"}}
    elif shape == 2:
        when = {"all": [{"fact": "time.hour", "eq": i % 24}, {"fact": "shop.online", "lt": 1 + i % 50}]}
        then = {"divert": {"to": f"team-{i}"}}
    elif shape == 3:
        when = {"fact": "conversation.category", "eq": f"category-{i}"}
        then = {"queue": {"in": "shop"}}
    elif shape == 4:
        when = {"all": [{"fact": "conversation.to_main", "eq": True}, {"fact": "shop.eligible", "ge": i % 40}]}
        then = {"assign": {"to": "main"}}
    else:
        when = {"any": [{"fact": "shop.logged_in", "gt": i % 30}, {"fact": "time.weekday", "eq": 1 + i % 7}]}
        then = {"queue": {"in": "shop"}}
    return {"id": f"rule-{i}", "priority": 10 + i, "when": when, "then": then}


def policy_text(rule_count: int) -> str:
    rules = [_rule(i) for i in range(rule_count - 1)]
    rules.append({"id": "offline-queue", "priority": 60000, "then": "offline_queue"})
    return yaml.safe_dump({**HEADER, "name": f"generated-{rule_count}", "rules": rules}, sort_keys=False)


def write_policy(directory: Path, rule_count: int) -> Path:
    path = directory / f"generated-{rule_count}.yaml"
    path.write_text(policy_text(rule_count))
    return path
