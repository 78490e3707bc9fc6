"""How simulated agents behave: how fast they answer, and how they finish conversations.

- **Reply time.** An agent answers a buyer's message after
  `reply_median_seconds × (1 + reply_load_factor × (active − 1)) × reply_speed × luck`, where
  `active` is how many conversations the agent holds when the message lands in its list,
  `reply_speed` is the agent's own multiplier from the roster, and `luck` is lognormal with
  median 1 and spread `reply_sigma`. A fuller list means slower answers: this is how a flood of
  conversations wrecks an agent's 3-minute reply rate (B2, B19).
- **Finishing.** A share `manual_close_share` of conversations is closed by hand (ESC) a wrap-up
  time after each of the agent's replies (lognormal, median `wrap_up_median_seconds`); if the
  buyer wrote again meanwhile the close is refused (B17) and the agent tries again after its next
  reply. The rest are left to the policy's automatic close after the buyer's silence.
- **Breaks and log-outs.** On break an agent keeps answering the conversations it holds but gets
  no new ones (B1). Logging out, it hands every unanswered conversation over to the first
  candidate the policy's `transfer` rules name (B16), when `transfer_on_logout`; answered ones
  stay and close by themselves. Messages for an agent who is offline wait for its return.

All luck is drawn up front from `random.Random(seed)`, per conversation in trace order, so every
policy of a comparison meets the same buyers with the same luck and only the policy differs.
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields
from typing import Any, Callable, Sequence

from ..errors import data_issue
from .errors import SimulationInputError
from .trace import Arrival


@dataclass(frozen=True)
class Behaviour:
    reply_median_seconds: float = 30.0
    reply_load_factor: float = 0.08
    reply_sigma: float = 0.7
    manual_close_share: float = 0.6
    wrap_up_median_seconds: float = 45.0
    wrap_up_sigma: float = 0.9
    transfer_on_logout: bool = True
    wrap_up_distribution: str = "lognormal"
    patience_median_seconds: float | None = None
    patience_distribution: str = "exponential"
    patience_sigma: float = 1.0
    auto_reply_seconds: float | None = None

    def reply_delay(self, active: int, speed: float, luck: float) -> float:
        return self.reply_median_seconds * (1 + self.reply_load_factor * max(0, active - 1)) * speed * luck

    def wrap_up(self, luck: float) -> float:
        return self.wrap_up_median_seconds * luck


_LIMITS = {
    "reply_median_seconds": (0.0, 3600.0), "reply_load_factor": (0.0, 10.0), "reply_sigma": (0.0, 3.0),
    "manual_close_share": (0.0, 1.0), "wrap_up_median_seconds": (0.0, 3600.0), "wrap_up_sigma": (0.0, 3.0),
    "patience_median_seconds": (1.0, 86400.0), "patience_sigma": (0.0, 3.0),
    "auto_reply_seconds": (0.0, 3600.0),
}
DISTRIBUTIONS = ("lognormal", "exponential")


def behaviour_from_dict(data: Any, source: str = "behaviour") -> Behaviour:
    """Behaviour parameters from JSON; every field optional, each checked against a sane range."""
    if not isinstance(data, dict):
        raise SimulationInputError([data_issue(source, 0, "", "must be an object")])
    known = {field.name for field in fields(Behaviour)}
    issues = [data_issue(source, 0, key, "unknown parameter") for key in data if key not in known]
    for key, (low, high) in _LIMITS.items():
        value = data.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not low <= value <= high):
            issues.append(data_issue(source, 0, key, f"must be a number from {low:g} to {high:g}"))
    if not isinstance(data.get("transfer_on_logout", True), bool):
        issues.append(data_issue(source, 0, "transfer_on_logout", "must be true or false"))
    for key in ("wrap_up_distribution", "patience_distribution"):
        if data.get(key, DISTRIBUTIONS[0]) not in DISTRIBUTIONS:
            issues.append(data_issue(source, 0, key, f"must be one of {', '.join(DISTRIBUTIONS)}"))
    if issues:
        raise SimulationInputError(issues)
    return Behaviour(**data)


@dataclass(frozen=True, slots=True)
class Luck:
    """One conversation's draws: closed by hand or not, a factor for each reply and wrap-up, and
    how many seconds the buyer would wait in the queue pool before giving up."""

    manual: bool
    reply: tuple[float, ...]
    wrap_up: tuple[float, ...]
    patience: float = math.inf


def draw_luck(trace: Sequence[Arrival], behaviour: Behaviour, seed: int) -> list[Luck]:
    """Draws in a fixed order; a parameter left at its default draws nothing, so adding one never
    changes the luck of runs that do not use it."""
    rng = random.Random(seed)
    wrap_up = _factor(rng, behaviour.wrap_up_distribution, behaviour.wrap_up_sigma)
    patience = _factor(rng, behaviour.patience_distribution, behaviour.patience_sigma)
    median_patience = behaviour.patience_median_seconds
    # Read once, drawn in list comprehensions: this runs for every conversation of the day.
    draw, lognormal = rng.random, rng.lognormvariate
    reply_sigma, manual_share = behaviour.reply_sigma, behaviour.manual_close_share
    luck = []
    for arrival in trace:
        replies = range(1 + len(arrival.follow_ups))
        luck.append(Luck(
            manual=draw() < manual_share,
            reply=tuple([lognormal(0.0, reply_sigma) for _ in replies]),
            wrap_up=tuple([wrap_up() for _ in replies]),
            patience=math.inf if median_patience is None else median_patience * patience(),
        ))
    return luck


def _factor(rng: random.Random, distribution: str, sigma: float) -> Callable[[], float]:
    """A random factor of median 1: lognormal of spread `sigma`, or exponential."""
    if distribution == "exponential":
        return lambda: rng.expovariate(math.log(2))
    return lambda: rng.lognormvariate(0.0, sigma)
