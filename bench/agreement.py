"""Fenliu, the floor and zen must reach the same decision on every benchmark request, or nothing is timed."""
from __future__ import annotations

import json
from typing import Callable, Iterable

from fenliu.engine import Policy

from .floor import FloorPolicy, FloorDecision, decide


class Disagreement(AssertionError):
    pass


def assert_agree(policy: Policy, floor_policy: FloorPolicy, requests: Iterable[dict],
                 peers: dict[str, Callable[[dict], FloorDecision]] | None = None) -> int:
    """Checks every request; returns how many were checked. Stops at the first disagreement, printing it."""
    checked = 0
    for request in requests:
        expected = FloorDecision.of_envelope(policy.evaluate(request))
        answers = {"floor": decide(floor_policy, request)}
        for name, peer in (peers or {}).items():
            answers[name] = peer(request)
        for name, answer in answers.items():
            if answer != expected:
                raise Disagreement(
                    f"{name} disagrees with Fenliu ({policy.name}): {name} {answer}, Fenliu {expected}\n"
                    f"request: {json.dumps(request, ensure_ascii=False)}"
                )
        checked += 1
    return checked
