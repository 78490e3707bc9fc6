"""Fenliu's route decision cut into its stages, each timed on its own.

This calls the steps `Policy.evaluate` is made of (`situate`, `post`, `matching`, `carry_out`,
`envelope`), in the same order, with a clock read between them; the engine itself carries no
timing code. Reading and deriving are one step (`situate`), so reading is timed alone by calling
`EventKind.read_request`, which `situate` starts with, and derivation is the rest. The decision
reached here is checked against `Policy.evaluate`'s by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter_ns

from fenliu.engine import Policy
from fenliu.engine.events import EVENTS

from .floor import FloorDecision

STAGES = ("read", "derive", "post_build", "match", "carry_out", "envelope")


@dataclass(frozen=True)
class StageTimes:
    """Nanoseconds spent in each stage of one decision."""

    read: int
    derive: int
    post_build: int
    match: int
    carry_out: int
    envelope: int

    def of(self, stage: str) -> int:
        return getattr(self, stage)

    @property
    def total(self) -> int:
        return sum(self.of(stage) for stage in STAGES)


def staged_route(policy: Policy, request: dict) -> tuple[FloorDecision, StageTimes]:
    """One route decision through `Policy.evaluate`'s own steps, with a clock read between them."""
    compiled = policy.compiled("route")
    assert compiled is not None, f"{policy.name} has no route rules"

    t0 = perf_counter_ns()
    EVENTS["route"].read_request(request)
    t1 = perf_counter_ns()
    kind, situation = policy.situate(request)
    t2 = perf_counter_ns()
    posted = compiled.post(situation)
    t3 = perf_counter_ns()
    matched = compiled.matching(posted)
    t4 = perf_counter_ns()
    decision, rule_id = policy.carry_out(compiled, situation, posted, matched)
    t5 = perf_counter_ns()
    envelope = policy.envelope(kind, decision, rule_id)
    t6 = perf_counter_ns()
    read_alone = t1 - t0
    return FloorDecision.of_envelope(envelope), StageTimes(
        read=read_alone, derive=max(0, (t2 - t1) - read_alone), post_build=t3 - t2, match=t4 - t3,
        carry_out=t5 - t4, envelope=t6 - t5,
    )
