"""Service KPIs of one simulated run (B19), computed from the loop's final state.

- Shop 3-minute reply rate: conversations whose first human reply came within the policy's
  `reply_sla_seconds` of the buyer's first message, queue time included, over conversations
  routed to the shop's agents (internal and diverted ones are not the shop's to answer).
- Per-agent rate: the same, with the clock started when the conversation entered that agent's
  list. A conversation transferred away before its clock ran out counts for neither agent.
- A conversation still unanswered when the run ends counts as late once its clock has passed the
  limit, and not at all before (it could still make it).
- A buyer who gave up in the queue was never answered: late for the shop. `abandoned` gives
  their share of the conversations routed to agents, and the shop rate had they not been counted
  (what giving up costs the rate, over what the queue itself costs).
- Queue waits are those of the queue pool (B12), from routing to entering an agent's list;
  waits in the offline queue and for the main account (B6, B13) are reported apart, because a
  night's offline backlog would otherwise swamp the day's queueing. The queue waits of
  buyers tagged `vip` are also reported alone, whatever priority the policy gave them (issue 17).
- Percentiles are nearest-rank: p95 of 20 waits is the 19th smallest.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from .shop import OFFLINE, DayRecord

TARGET = 0.70   # Kuaishou's minimum shop rate (B19)
HEALTHY = 0.80  # the norm for a healthy shop (B19)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _rate(on_time: int, counted: int) -> float | None:
    return round(on_time / counted, 4) if counted else None


def summarise(outcome: DayRecord) -> dict[str, Any]:
    end, sla = outcome.end, outcome.sla
    midnight = datetime.combine(outcome.start.date(), datetime.min.time(), outcome.zone)
    offset = (outcome.start - midnight).total_seconds()
    hours: dict[int, list[int]] = {}
    routes = {"assign": 0, "queue": 0, "offline_queue": 0, "cache": 0, "hold": 0, "divert": 0, "none": 0}
    counted = on_time = 0
    waits: list[float] = []
    offline_waits: list[float] = []
    vip_waits: list[float] = []
    returning = back_to_last = 0
    skill_asked = skill_met = 0
    closes = {"manual": 0, "auto": 0}
    states: dict[str, int] = {}
    young: dict[str, int] = {}
    for conversation in outcome.conversations:
        routes[conversation.routed] = routes.get(conversation.routed, 0) + 1
        states[conversation.state] = states.get(conversation.state, 0) + 1
        if conversation.closed_by:
            closes[conversation.closed_by] += 1
        if conversation.waited is not None:
            waiting_offline = conversation.queue == OFFLINE or conversation.routed == "hold"
            (offline_waits if waiting_offline else waits).append(conversation.waited)
            if not waiting_offline and "vip" in conversation.arrival.tags:
                vip_waits.append(conversation.waited)
        if conversation.skilled is not None:
            skill_asked += 1
            skill_met += conversation.skilled
        if conversation.returning_to is not None and conversation.routed not in ("divert", "none"):
            returning += 1
            back_to_last += conversation.first_agent == conversation.returning_to
        agent = conversation.agent
        if (conversation.state == "open" and agent is not None and not conversation.answered_here
                and end - conversation.entered_at < sla):
            young[agent.id] = young.get(agent.id, 0) + 1
        if conversation.routed in ("divert", "none"):
            continue
        first = conversation.first_reply_at
        if first is None and end - conversation.t0 < sla and conversation.state != "abandoned":
            continue
        hit = first is not None and first - conversation.t0 <= sla
        counted += 1
        on_time += hit
        bucket = hours.setdefault(int((conversation.t0 + offset) // 3600), [0, 0])
        bucket[0] += 1
        bucket[1] += hit

    shop_rate = _rate(on_time, counted)
    agents = []
    for agent in outcome.agents:
        entries = agent.entered - young.get(agent.id, 0)
        rate = _rate(agent.on_time, entries)
        agents.append({"id": agent.id, "conversations": entries, "on_time": agent.on_time, "reply_rate": rate,
                       "peak_active": agent.peak_active, "below_target": rate is not None and rate < TARGET})
    by_hour = [{"hour": (midnight + timedelta(hours=hour)).isoformat(), "label": _hour_label(hour),
                "conversations": bucket[0],
                "on_time": bucket[1], "reply_rate": _rate(bucket[1], bucket[0])}
               for hour, bucket in sorted(hours.items())]
    served = sum(1 for c in outcome.conversations if c.first_agent is not None)
    routed = len(outcome.conversations) - routes["divert"] - routes["none"]
    return {
        "conversations": {
            "arrived": len(outcome.conversations), "routed_to_agents": routed, "assigned_at_once": routes["assign"],
            "queued": routes["queue"], "offline_queued": routes["offline_queue"], "cached": routes["cache"],
            "held": routes["hold"],
            "diverted": routes["divert"], "not_routed": routes["none"], "served": served,
            "waiting_at_end": sum(states.get(state, 0) for state in ("queued", "offline", "held", "cached")),
            "open_at_end": states.get("open", 0),
            "queue_free_share": _rate(routes["assign"], routed),
        },
        "reply_rate": {
            "sla_seconds": sla, "shop": shop_rate, "on_time": on_time, "counted": counted,
            "target": TARGET, "healthy": HEALTHY,
            "meets_target": shop_rate is not None and shop_rate >= TARGET,
            "meets_healthy": shop_rate is not None and shop_rate >= HEALTHY,
            "by_hour": by_hour,
            "agents_below_target": sum(1 for agent in agents if agent["below_target"]),
        },
        "agents": agents,
        "queue_wait_seconds": _waits(waits),
        "offline_wait_seconds": _waits(offline_waits),
        "vip_wait_seconds": _waits(vip_waits),
        "queue_length": {
            "max_pool": max((s[1] for s in outcome.samples), default=0),
            "max_offline": max((s[2] for s in outcome.samples), default=0),
            "series": [{"at": _at(outcome, s[0]), "pool": s[1], "offline": s[2], "held": s[3]}
                       for s in outcome.samples],
        },
        "saturation": {
            "agents": [agent.id for agent in outcome.agents],
            "at": [_at(outcome, s[0]) for s in outcome.samples],
            "values": [[None if v is None else round(v, 3) for v in s[4]] for s in outcome.samples],
        },
        "closed": {**closes, "manual_refused": outcome.refused_closes,
                   "auto_replies": outcome.auto_replies},
        "skills": {"required": skill_asked, "met": skill_met, "share": _rate(skill_met, skill_asked)},
        "returning_customers": {"conversations": returning, "served_by_last_agent": back_to_last,
                                "share": _rate(back_to_last, returning)},
        "offline_messages": {"queued": routes["offline_queue"], "expired": outcome.expired},
        "abandoned": {"count": outcome.abandoned, "share": _rate(outcome.abandoned, routed),
                      "shop_rate_without": _rate(on_time, counted - outcome.abandoned)},
        "transfers": outcome.transfers,
        "buyer_messages_after_close": outcome.after_close,
        "decisions": dict(outcome.decisions),
        "settings": {"warnings": dict(sorted(outcome.warnings.items())), "rejected": outcome.rejected_settings},
        "ended_at": _at(outcome, end),
    }


def _waits(waits: list[float]) -> dict[str, Any]:
    return {"count": len(waits), "p50": _round(percentile(waits, 50)), "p95": _round(percentile(waits, 95)),
            "max": _round(max(waits, default=None)), "mean": _round(sum(waits) / len(waits) if waits else None)}


def _hour_label(hour: int) -> str:
    day = hour // 24
    return f"{hour % 24:02d}:00" + (f" +{day}d" if day else "")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _at(outcome: DayRecord, seconds: float) -> str:
    return (outcome.start + timedelta(seconds=seconds)).isoformat(timespec="seconds")
