"""Erlang C, the call-centre formula for a queue served by `servers` agents (M/M/c): buyers arrive
as a Poisson stream of `arrival_rate` per second, each holds an agent for an exponential time of
mean `mean_service` seconds, and waits in one first-come first-served queue while all are busy.

The simulator is checked against it (docs/simulation.md, "Validation") and the staffing advisor is
cross-checked with `staffing`. Pure functions of numbers; times in seconds.
"""
from __future__ import annotations

import math


def probability_of_waiting(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Erlang C: the share of buyers who find every agent busy (1 when the queue grows without end)."""
    load = arrival_rate * mean_service
    if servers <= load:
        return 1.0
    # Erlang B by its stable recursion, then C from B.
    blocking = 1.0
    for k in range(1, servers + 1):
        blocking = load * blocking / (k + load * blocking)
    return servers * blocking / (servers - load * (1 - blocking))


def mean_wait(servers: int, arrival_rate: float, mean_service: float) -> float:
    """Mean time in the queue over all buyers, those served at once included."""
    spare = servers / mean_service - arrival_rate
    if spare <= 0:
        return math.inf
    return probability_of_waiting(servers, arrival_rate, mean_service) / spare


def service_level(servers: int, arrival_rate: float, mean_service: float, within: float) -> float:
    """The share of buyers whose wait in the queue is at most `within` seconds."""
    spare = servers / mean_service - arrival_rate
    if spare <= 0:
        return 0.0
    return 1 - probability_of_waiting(servers, arrival_rate, mean_service) * math.exp(-spare * max(within, 0.0))


def staffing(arrival_rate: float, mean_service: float, target: float, within: float) -> int:
    """The fewest agents for which at least `target` of the buyers wait at most `within` seconds."""
    if not 0 <= target < 1:
        raise ValueError(f"target must be from 0 up to (not including) 1, got {target}")
    servers = max(1, math.floor(arrival_rate * mean_service) + 1)
    while service_level(servers, arrival_rate, mean_service, within) < target:
        servers += 1
    return servers
