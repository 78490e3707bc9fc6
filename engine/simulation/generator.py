"""Synthetic traffic and teams: a day of buyers with realistic peaks, and a team in shifts.

Seeded and reproducible: the same spec gives the same lines, byte for byte.

- Arrivals follow an hourly profile (quiet nights, a morning peak, a lunch dip, the evening
  peak of Chinese e-commerce) and are spread uniformly within each hour.
- A share of arrivals are returning customers (B7): about `before_trace_share` of them were
  served by one of the team in the 72 hours before the day began (`last_agent` in the line),
  the rest are buyers who already wrote earlier the same day.
- Entry points, VIP tags, private contacts, messages to the main account and internal messages
  come in the given proportions; buyers write back a geometric number of times.
"""
from __future__ import annotations

import json
import math
import random
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

# Relative arrivals per hour of the day, local time.
DEFAULT_PROFILE = (1.2, 0.7, 0.4, 0.3, 0.2, 0.3, 0.6, 1.5, 3.5, 5.5, 6.5, 6.0,
                   4.5, 5.0, 5.8, 5.8, 5.5, 5.0, 4.8, 5.5, 7.0, 7.5, 6.5, 3.5)
DEFAULT_ENTRIES = (("product_page", 0.45), ("order_page", 0.20), ("after_sales_page", 0.12), ("direct", 0.12),
                   ("live", 0.08), ("fan_group", 0.03))
SAME_DAY_GAP = 600.0  # a same-day returning buyer wrote at least this many seconds earlier


@dataclass(frozen=True)
class TrafficSpec:
    conversations: int = 2000
    date: str = "2026-11-23"
    timezone: str = "+08:00"
    seed: int = 1
    hourly_profile: tuple[float, ...] = DEFAULT_PROFILE
    entries: tuple[tuple[str, float], ...] = DEFAULT_ENTRIES
    returning_share: float = 0.25
    before_trace_share: float = 0.4
    vip_share: float = 0.05
    private_share: float = 0.01
    to_main_share: float = 0.02
    internal_share: float = 0.005
    follow_ups_mean: float = 1.2
    follow_up_median_seconds: float = 40.0


# Daily shifts: (share of the team, start, end, earliest break); breaks last 45 minutes and are
# staggered by half hours across the team so that a shift never leaves all at once.
SHIFTS = (
    (0.22, "07:30", "16:30", "11:30"),
    (0.24, "10:00", "19:00", "13:00"),
    (0.42, "15:00", "00:00", "18:00"),
    (0.12, "23:30", "08:30", "03:00"),
)
BREAK_MINUTES = 45
BREAK_SLOTS = 4
DEFAULT_MAXIMA = ((30, 0.4), (50, 0.4), (100, 0.2))


@dataclass(frozen=True)
class TeamSpec:
    agents: int = 20
    seed: int = 1
    timezone: str = "+08:00"
    maxima: tuple[tuple[int | None, float], ...] = DEFAULT_MAXIMA
    aftersale_share: float = 0.3


def generate_roster(spec: TeamSpec) -> dict[str, Any]:
    """A team: one main account (`a001`, day shift), the rest in early, day, late and night shifts; with
    groups `presale` and `aftersale` as the Douyin policy names them (B9).

    Skills (issue 17) come from a random stream of their own, so a roster of a given seed is what it
    always was apart from them: after-sales agents know `refund` at level 2 to 8 (some still in
    training), about half the pre-sales agents at level 1 to 4 (what `rules/enterprise.yaml` asks of after-sales conversations)."""
    rng, skill_rng = random.Random(spec.seed), random.Random(f"skills-{spec.seed}")
    agents = []
    on_shift: dict[str, int] = {}
    for n in range(spec.agents):
        start, end, first_break = _pick(rng, [(shift[1:], shift[0]) for shift in SHIFTS]) if n else SHIFTS[1][1:]
        place = on_shift[start] = on_shift.get(start, -1) + 1
        pause = _minutes(first_break) + 30 * (place % BREAK_SLOTS)
        schedule = [(start, "online"), (_clock(pause), "break"), (_clock(pause + BREAK_MINUTES), "online"),
                    (end, "offline")]
        groups = ["aftersale"] if rng.random() < spec.aftersale_share else ["presale"]
        aftersale = groups == ["aftersale"]
        refund = skill_rng.randint(2, 8) if aftersale else skill_rng.randint(1, 4)
        skills = {"refund": refund} if aftersale or skill_rng.random() < 0.5 else {}
        agents.append({"id": f"a{n + 1:03d}", "role": "main" if n == 0 else "sub", "groups": groups,
                       **({"skills": skills} if skills else {}),
                       "max_sessions": _pick(rng, list(spec.maxima)),
                       "schedule": [{"at": at, "status": status} for at, status in schedule]})
    return {"timezone": spec.timezone, "agents": agents}


def _minutes(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def _clock(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def generate_trace(spec: TrafficSpec, agent_ids: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Trace lines for one day; returning buyers from before the day need `agent_ids` to name their agent."""
    rng = random.Random(spec.seed)
    midnight = datetime.fromisoformat(f"{spec.date}T00:00:00{spec.timezone}")
    hours = _cumulative(spec.hourly_profile)
    seconds = sorted(3600 * bisect_right(hours, rng.random() * hours[-1]) + rng.random() * 3600
                     for _ in range(spec.conversations))
    entries = list(spec.entries)
    stop = 1 / (1 + spec.follow_ups_mean)
    lines: list[dict[str, Any]] = []
    earlier: list[tuple[float, str]] = []
    for n, at in enumerate(seconds, start=1):
        line: dict[str, Any] = {"at": (midnight + timedelta(seconds=int(at))).isoformat(), "conversation": f"c{n:06d}"}
        if rng.random() < spec.returning_share:
            line.update(_returning(rng, spec, at, midnight, earlier, agent_ids, n))
        else:
            line["customer"] = f"b{n:06d}"
        line["entry"] = _pick(rng, entries)
        if rng.random() < spec.vip_share:
            line["tags"] = ["vip"]
        for key, share in (("private_contact", spec.private_share), ("to_main", spec.to_main_share),
                           ("internal", spec.internal_share)):
            if rng.random() < share:
                line[key] = True
        follow_ups: list[float] = []
        while rng.random() > stop and len(follow_ups) < 10:
            follow_ups.append(round(rng.lognormvariate(math.log(spec.follow_up_median_seconds), 0.8), 1))
        if follow_ups:
            line["follow_ups"] = follow_ups
        earlier.append((at, line["customer"]))
        lines.append(line)
    return lines


def write_day(traffic: TrafficSpec, team: TeamSpec, trace_path: str | Path, roster_path: str | Path) -> int:
    """Generate a day and its team and write them as `fenliu simulate` reads them: the trace as JSON
    Lines, the roster as JSON. Returns how many conversations the day has."""
    roster = generate_roster(team)
    lines = generate_trace(traffic, tuple(agent["id"] for agent in roster["agents"]))
    with open(trace_path, "w", encoding="utf-8") as out:
        for line in lines:
            out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
    Path(roster_path).write_text(json.dumps(roster, indent=1) + "\n", encoding="utf-8")
    return len(lines)


def _returning(rng: random.Random, spec: TrafficSpec, at: float, midnight: datetime,
               earlier: list[tuple[float, str]], agent_ids: tuple[str, ...], n: int) -> dict[str, Any]:
    seen = bisect_right(earlier, (at - SAME_DAY_GAP, "\uffff"))
    if agent_ids and (seen == 0 or rng.random() < spec.before_trace_share):
        served = midnight - timedelta(minutes=rng.randrange(30, 71 * 60 + 30))
        return {"customer": f"p{n:06d}", "last_agent": {"id": rng.choice(agent_ids), "at": served.isoformat()}}
    if seen == 0:
        return {"customer": f"b{n:06d}"}
    return {"customer": earlier[rng.randrange(seen)][1]}


def _cumulative(weights: tuple[float, ...]) -> list[float]:
    total, result = 0.0, []
    for weight in weights:
        total += weight
        result.append(total)
    return result


def _pick(rng: random.Random, weighted: list[tuple[T, float]]) -> T:
    point = rng.random() * sum(weight for _, weight in weighted)
    for value, weight in weighted:
        point -= weight
        if point < 0:
            return value
    return weighted[-1][0]


def poisson_trace(hourly_rates: tuple[float, ...], start: str, seed: int = 1) -> list[dict[str, Any]]:
    """New buyers only, one message each, arriving as a Poisson stream of `hourly_rates[h]` per hour
    in hour h from `start` (ISO 8601): the textbook queue's traffic (docs/simulation.md, "Validation")."""
    rng = random.Random(seed)
    origin = datetime.fromisoformat(start)
    lines: list[dict[str, Any]] = []
    for hour, rate in enumerate(hourly_rates):
        at = 3600.0 * hour
        while rate > 0:
            at += rng.expovariate(rate / 3600)
            if at >= 3600.0 * (hour + 1):
                break
            n = len(lines) + 1
            lines.append({"at": (origin + timedelta(seconds=at)).isoformat(), "customer": f"b{n:06d}",
                          "conversation": f"c{n:06d}"})
    return lines
