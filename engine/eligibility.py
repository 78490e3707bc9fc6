"""The shop's agents as routing sees them: eligibility (B10), saturation (B19) and how to rank them (B11)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Collection, Iterable, Sequence

from .request import ROUTABLE, Agent
from .skills import proficiency

_NEVER = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


@dataclass(frozen=True)
class Capacity:
    """How full agents are. An unlimited agent is never full (B2: the system keeps assigning), but
    counts as having the platform's largest maximum for saturation, so 999 active conversations
    never look "empty" to least-busy routing (B19)."""

    unlimited_as: int

    def maximum(self, agent: Agent) -> int:
        return self.unlimited_as if agent.max_sessions is None else agent.max_sessions

    def saturation(self, agent: Agent) -> float:
        return self.saturations((agent,))[0]

    def saturations(self, agents: Sequence[Agent]) -> list[float]:
        """Each agent's active conversations over its maximum; 1.0 when its maximum is 0. Written
        out in one comprehension: ranking takes it over every eligible agent of a decision."""
        unlimited = self.unlimited_as
        return [agent.active / maximum if (maximum := unlimited if agent.max_sessions is None else agent.max_sessions) > 0
                else 1.0 for agent in agents]

    def at_capacity(self, agent: Agent) -> bool:
        return agent.max_sessions is not None and agent.active >= agent.max_sessions

    def free_slots(self, agent: Agent) -> int:
        maximum = self.unlimited_as if agent.max_sessions is None else agent.max_sessions  # `maximum`, per agent
        return max(0, maximum - agent.active)

    def eligible_among(self, agents: Iterable[Agent], *, ignore_capacity: bool = False,
                       ignore_suspension: bool = False) -> list[Agent]:
        """B10: online or invisible, not suspended, below its maximum; B7 rules may waive the last two.

        One pass with every test written out: it runs over every agent of every route decision,
        where a call per agent and per test was a third of the decision."""
        return [
            agent for agent in agents
            if agent.status in ROUTABLE
            and (ignore_suspension or not agent.suspended)
            and (ignore_capacity or agent.max_sessions is None or agent.active < agent.max_sessions)
        ]

    def eligible(self, agent: Agent, *, ignore_capacity: bool = False, ignore_suspension: bool = False) -> bool:
        return bool(self.eligible_among((agent,), ignore_capacity=ignore_capacity, ignore_suspension=ignore_suspension))


def ranking_columns(strategy: str, capacity: Capacity,
                    skills: tuple[str, ...] = ()) -> tuple[Callable[[Sequence[Agent]], list[Any]], ...]:
    """A B11 strategy's sort key, column by column: each column gives its value for every agent of a
    list. The last is the agent id, so ties break the same way every time.

    `most_proficient` (issue 17) ranks by the summed levels of `skills`, the skills the
    conversation's requirements name, highest first; ties as least_busy."""
    saturation = capacity.saturations
    if strategy == "most_proficient":
        return (lambda agents: [-proficiency(agent.skills, skills) for agent in agents], saturation, _active, _ids)
    if strategy == "fewest_active":
        return (_active, saturation, _ids)
    if strategy == "round_robin":
        # Stateless so every worker process agrees: the agent assigned longest ago (or never) goes first.
        return (lambda agents: [agent.last_assigned_at or _NEVER for agent in agents], saturation, _active, _ids)
    return (saturation, _active, _ids)


def _active(agents: Sequence[Agent]) -> list[int]:
    return [agent.active for agent in agents]


def _ids(agents: Sequence[Agent]) -> list[str]:
    return [agent.id for agent in agents]


def choose(agents: Sequence[Agent], strategy: str, capacity: Capacity, skills: tuple[str, ...] = ()) -> Agent | None:
    """The first agent by its strategy's ranking: the smallest key, found column by column. A column
    is taken only over the agents tied on the ones before it, and seldom more than one is needed:
    comparing whole key tuples was most of a decision among many agents."""
    tied = agents
    if len(tied) > 1:
        for column in ranking_columns(strategy, capacity, skills):
            values = column(tied)
            lowest = min(values)
            if values.count(lowest) == 1:  # the usual case, found in C
                return tied[values.index(lowest)]
            tied = [agent for agent, value in zip(tied, values) if value == lowest]
    return tied[0] if tied else None


# The head counts that need only each agent's status: two counts over a list of statuses, in C.
BY_STATUS = frozenset({"agents", "logged_in", "online", "on_break"})


def counts(agents: Sequence[Agent], wanted: Collection[str] = ()) -> dict[str, int]:
    """Head counts a policy can test: how many agents are listed, logged in, online, on break, eligible.

    Every count, unless the ones `wanted` need only statuses. Otherwise one pass without helper
    calls: it runs over every agent of every request, once per counter set (shop, each group), and
    was a fifth of a decision's time.
    """
    if wanted and BY_STATUS.issuperset(wanted):
        statuses = [agent.status for agent in agents]
        listed, on_break = len(statuses), statuses.count("break")
        logged_in = listed - statuses.count("offline")
        return {"agents": listed, "logged_in": logged_in, "online": logged_in - on_break, "on_break": on_break}
    logged_in = online = on_break = eligible = suspended = 0
    for agent in agents:
        status = agent.status
        if status == "offline":
            continue
        logged_in += 1
        if status == "break":
            on_break += 1
            continue
        online += 1
        if agent.suspended:
            suspended += 1
        elif agent.max_sessions is None or agent.active < agent.max_sessions:
            eligible += 1
    return {"agents": len(agents), "logged_in": logged_in, "online": online, "on_break": on_break,
            "eligible": eligible, "suspended": suspended}
