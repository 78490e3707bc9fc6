"""The staffing advisor: the fewest agents on duty in each hour that keep the shop's 3-minute
reply rate (B19) at or above a target in every hour, found with the simulator itself.

The roster names who can work, in the order they are called in: with n agents in an hour, the
first n of the roster are online for that hour and the others offline (they keep their maxima,
groups and speeds). Hour by hour, in time order, the search narrows the range between a count
known to miss the target and one known to meet it: each round simulates a few counts of that
hour in parallel, the hours before it at their chosen counts and those after it at the whole
roster. In time order, because a backlog only carries forward: an hour is judged with the past
it will really have. The result is simulated once more, and any hour still short gets one agent
more until none is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from .batch import Shop, Task, runner
from .kpis import HEALTHY
from .roster import Change, Roster
from .run import SimulationOptions
from .trace import Arrival

PARALLEL = 3  # staffings tried per round


@dataclass(frozen=True)
class Advice:
    hours: list[str]          # each hour's start, ISO 8601
    agents: list[int]         # recommended agents on duty, per hour
    rates: list[float | None]  # the simulated shop rate per hour with them
    shop_rate: float | None
    unreachable: list[str]    # hours short of the target even with the whole roster
    simulations: int
    given_rates: list[float | None]  # the same, with the roster as given
    given_shop_rate: float | None

    def as_dict(self, target: float) -> dict[str, Any]:
        return {"target": target, "hours": [{"hour": hour, "agents": agents, "reply_rate": rate}
                                            for hour, agents, rate in zip(self.hours, self.agents, self.rates)],
                "agent_hours": sum(self.agents), "shop_rate": self.shop_rate, "unreachable": self.unreachable,
                "simulations": self.simulations,
                "as_given": {"shop_rate": self.given_shop_rate, "hours_below_target": [
                    hour for hour, rate in zip(self.hours, self.given_rates) if rate is not None and rate < target]}}


def staffed(roster: Roster, first_hour: datetime, agents: list[int]) -> Roster:
    """The roster with the first `agents[h]` agents online in hour h and the rest offline; the last
    hour's staffing stays on after it, so the day's conversations can finish."""
    people = []
    for position, agent in enumerate(roster.agents):
        schedule = tuple(Change(daily=None, once=first_hour + timedelta(hours=hour),
                                status="online" if position < count else "offline")
                         for hour, count in enumerate(agents))
        people.append(replace(agent, status="offline", schedule=schedule))
    return replace(roster, agents=tuple(people))


def advise(trace_path: str, arrivals: list[Arrival], roster: Roster, policy_path: str,
           options: SimulationOptions, *, target: float = HEALTHY, scheduler: str | None = None,
           workers: int | None = None) -> Advice:
    """The fewest agents per hour keeping every hour's shop rate ≥ `target` (see the module)."""
    zone = roster.timezone or arrivals[0].at.tzinfo
    first = arrivals[0].at.astimezone(zone).replace(minute=0, second=0, microsecond=0)
    count = math.floor((arrivals[-1].at - first).total_seconds() / 3600) + 1
    hours = [(first + timedelta(hours=hour)).isoformat() for hour in range(count)]
    most = len(roster.agents)
    # Arrivals up to the end of each hour: an hour is judged without the traffic after it, which
    # under oldest-first queueing cannot delay it.
    ends = [sum(1 for arrival in arrivals if arrival.at < first + timedelta(hours=hour + 1)) for hour in range(count)]
    runs = 0

    def meets(rate: float | None) -> bool:
        return rate is None or rate >= target

    with runner(scheduler=scheduler, workers=workers) as run:

        def simulate(staffings: list[Any], through: int | None = None) -> list[tuple[list[float | None], float | None]]:
            nonlocal runs
            runs += len(staffings)
            tasks = [Task(Shop(f"staffing-{n}", trace_path,
                               agents if isinstance(agents, Roster) else staffed(roster, first, agents)),
                          "advice", policy_path, options, None if through is None else ends[through])
                     for n, agents in enumerate(staffings)]
            return [(_hourly(row, hours), row["shop_rate"]) for row in run(tasks, None)]

        (everyone, _), (given, given_rate) = simulate([[most] * count, roster])
        unreachable = [hour for hour, rate in zip(hours, everyone) if not meets(rate)]
        agents = [most] * count
        for h in range(count):
            low, high = -1, most  # low misses (or is below any count), high meets or is the whole roster
            while high - low > 1:
                points = sorted({_point(low, high, k) for k in range(1, PARALLEL + 1)})
                tries = [agents[:h] + [point] + agents[h + 1:] for point in points]
                for point, (rates, _) in zip(points, simulate(tries, through=h)):
                    if meets(rates[h]):
                        high = min(high, point)
                low = max([low] + [point for point in points if point < high])
            agents[h] = high
        while True:
            (rates, shop_rate), = simulate([agents])
            short = [h for h in range(count) if not meets(rates[h]) and agents[h] < most]
            if not short:
                return Advice(hours, agents, rates, shop_rate, unreachable, runs, given, given_rate)
            agents = [agents[h] + (h in short) for h in range(count)]


def _point(low: int, high: int, k: int) -> int:
    """The k-th of PARALLEL points splitting (low, high) evenly; equal points when it is narrow."""
    return min(high - 1, max(low + 1, low + round((high - low) * k / (PARALLEL + 1))))


def _hourly(row: dict[str, Any], hours: list[str]) -> list[float | None]:
    rates = {datetime.fromisoformat(hour["hour"]).timestamp(): hour["reply_rate"] for hour in row["by_hour"]}
    return [rates.get(datetime.fromisoformat(hour).timestamp()) for hour in hours]
