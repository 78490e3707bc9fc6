"""The zen-engine (GoRules) peer: the Kuaishou route policy as a JDM graph, `zen_model.json`.

Inside zen: everything the decision needs except one tie-break. Its expression node derives the
facts from the raw request (hours since the last agent, whether that agent is online, whether
anyone is logged in, eligibility with unlimited counted as 500) and ranks eligible agents by
saturation then active count; its decision table (hit policy `first`) holds the five rules in
priority order, with the fall-through conditions of Fenliu's actions written as columns.
In Python: converting the request dict into zen's values and back (done by the binding) and the
last tie-break by agent id, because ZEN expressions cannot order strings.
"""
from __future__ import annotations

from pathlib import Path

import zen

from .floor import FloorDecision

MODEL = Path(__file__).with_name("zen_model.json")


class ZenPeer:
    def __init__(self, model: Path = MODEL) -> None:
        self._engine = zen.ZenEngine()
        self._decision = self._engine.create_decision(model.read_text())

    def decide(self, request: dict) -> FloorDecision:
        result = self._decision.evaluate(request)["result"]
        candidates = result.get("agents")
        return FloorDecision(result["action"], min(candidates) if candidates else None, result.get("queue"))
