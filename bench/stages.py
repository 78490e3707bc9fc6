"""Fenliu's route decision cut into its stages, each timed on its own.

This walks the same internal functions `Policy.evaluate` calls, in the same order, with a clock
read between them; the engine itself carries no timing code. Reading and deriving are one function
in the engine (`events.route.read`), so reading is timed alone by calling the request readers it
starts with, and derivation is the rest of `read`. The decision reached here is checked against
`Policy.evaluate`'s by the caller.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from time import perf_counter_ns

from fenliu.engine import Policy
from fenliu.engine.events import EVENTS, FallThrough
from fenliu.engine.request import Reader, read_agents, read_conversation, read_customer

from .floor import FloorDecision

STAGES = ("read", "derive", "post_build", "match", "carry_out", "envelope")
ROUTE = EVENTS["route"]


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


def _read_only(request: dict) -> None:
    # The request readers `events.route.read` starts with, before it derives any fact.
    reader = Reader()
    reader.unknown_keys(request, ("event", "now", "conversation", "customer", "agents"), "")
    now = reader.required(request, "now", "", reader.timestamp, None)
    read_conversation(reader, request.get("conversation", {}))
    read_customer(reader, request.get("customer", {}), now)
    read_agents(reader, request)
    reader.raise_if_failed()


def staged_route(policy: Policy, request: dict) -> tuple[FloorDecision, StageTimes]:
    document = policy.document
    compiled = policy.compiled("route")
    assert compiled is not None, f"{policy.name} has no route rules"

    t0 = perf_counter_ns()
    _read_only(request)
    t1 = perf_counter_ns()
    situation = ROUTE.read(request, document)
    t2 = perf_counter_ns()
    posted = compiled.table.post(situation.facts)
    t3 = perf_counter_ns()
    matched = set(compiled.memo.matching(posted))
    t4 = perf_counter_ns()
    decision, rule_id = None, "default"
    for rank, rule in enumerate(compiled.rules):
        if rank not in matched:
            continue
        outcome = ROUTE.carry_out(rule.then, situation, document)
        if isinstance(outcome, FallThrough):
            continue
        decision, rule_id = outcome, rule.id
        break
    t5 = perf_counter_ns()
    fields = dict(decision.fields) if decision else {**ROUTE.fallback, "reason": "no rule decided"}
    fields["rule"] = rule_id
    envelope = {
        "decision": fields,
        "warnings": list(decision.warnings) if decision else [],
        "policy": {"name": policy.name, "version": policy.version, "sha256": policy.sha256},
        "decision_id": uuid.uuid4().hex,
    }
    t6 = perf_counter_ns()
    read_alone = t1 - t0
    return FloorDecision.of_envelope(envelope), StageTimes(
        read=read_alone, derive=max(0, (t2 - t1) - read_alone), post_build=t3 - t2, match=t4 - t3,
        carry_out=t5 - t4, envelope=t6 - t5,
    )
