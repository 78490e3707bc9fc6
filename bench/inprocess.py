"""In-process cost of one route decision: Fenliu against the hand-written floor and zen-engine.

Every request is checked for agreement first. Then, in each repeat, every contender decides
every request once, each call timed on its own; the order of contenders rotates between repeats
so that noise from the shared machine falls on all of them alike. A repeat yields a median and a
p99 per contender and the ratio of each median to the floor's in that same repeat; the report
gives the median of those over repeats with their spread.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from time import perf_counter_ns
from typing import Callable

from fenliu.engine import load_policy
from fenliu.engine.simulation.kpis import percentile

from .script import arguments, write_results
from . import floor
from .agreement import Disagreement, assert_agree
from .floor import FloorDecision
from .requests_gen import generate
from .stages import STAGES, staged_route
from .stats import Spread
from .zen_peer import ZenPeer

ROOT = Path(__file__).resolve().parent.parent
AGENT_COUNTS = (10, 50, 200, 1000)
REQUESTS = {10: 1000, 50: 500, 200: 200, 1000: 80}


def time_each(decide: Callable[[dict], object], requests: list[dict]) -> list[float]:
    """Microseconds per call, one sample per request."""
    samples = []
    for request in requests:
        start = perf_counter_ns()
        decide(request)
        samples.append((perf_counter_ns() - start) / 1000)
    return samples


def bench_size(agents: int, repeats: int, scale: float) -> dict:
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    zen = ZenPeer()
    requests = generate(agents, max(50, int(REQUESTS.get(agents, 300) * scale))).requests
    assert_agree(policy, floor.KUAISHOU, requests, {"zen": zen.decide})
    for request in requests:
        outcome, expected = staged_route(policy, request)[0], FloorDecision.of_envelope(policy.evaluate(request))
        if outcome != expected:
            raise Disagreement(f"the staged copy of evaluate decides {outcome}, Policy.evaluate {expected}\n"
                               f"request: {json.dumps(request, ensure_ascii=False)}")

    # Bytes to bytes, as a service sees a decision: the floor reads with json.loads and writes
    # with json.dumps; Fenliu decodes, validates, decides and encodes its whole envelope.
    bodies = [json.dumps(request, ensure_ascii=False).encode("utf-8") for request in requests]
    for body, request in zip(bodies, requests):
        if FloorDecision.of_envelope(json.loads(policy.evaluate_json(body))) != floor.decide(floor.KUAISHOU, request):
            raise Disagreement(f"evaluate_json disagrees with the floor\nrequest: {body.decode('utf-8')}")

    contenders: dict[str, Callable[[dict], object]] = {
        "floor": lambda request: floor.decide(floor.KUAISHOU, request),
        "zen": zen.decide,
        "fenliu": policy.evaluate,
        "floor_bytes": floor.bytes_to_bytes(floor.KUAISHOU),
        "fenliu_bytes": policy.evaluate_json,
    }
    inputs = {name: bodies if name.endswith("_bytes") else requests for name in contenders}
    names = list(contenders)
    for name in names:  # warm-up: caches, branch predictors, lazily built tables
        time_each(contenders[name], inputs[name][:50])
    medians: dict[str, list[float]] = {name: [] for name in names}
    p99s: dict[str, list[float]] = {name: [] for name in names}
    ratios: dict[str, list[float]] = {name: [] for name in names}
    stages: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
    for repeat in range(repeats):
        order = names[repeat % len(names):] + names[:repeat % len(names)]
        for name in order:
            samples = time_each(contenders[name], inputs[name])
            medians[name].append(statistics.median(samples))
            p99s[name].append(percentile(samples, 99))
        for name in names:
            baseline = "floor_bytes" if name.endswith("_bytes") else "floor"
            ratios[name].append(medians[name][-1] / medians[baseline][-1])
        per_stage: dict[str, list[float]] = {stage: [] for stage in (*STAGES, "total")}
        for request in requests:
            _, times = staged_route(policy, request)
            for stage in STAGES:
                per_stage[stage].append(times.of(stage) / 1000)
            per_stage["total"].append(times.total / 1000)
        # Medians, not means: on shared cores a few preempted calls would otherwise swamp the small stages.
        for stage, samples in per_stage.items():
            stages[stage].append(statistics.median(samples))
    policy.close()
    return {
        "agents": agents,
        "requests": len(requests),
        "repeats": repeats,
        "median_us": {name: Spread.of(values).as_dict() for name, values in medians.items()},
        "p99_us": {name: Spread.of(values).as_dict() for name, values in p99s.items()},
        "ratio_to_floor": {name: Spread.of(values).as_dict() for name, values in ratios.items()},
        "stage_median_us": {stage: Spread.of(values).as_dict() for stage, values in stages.items()},
    }


def main() -> None:
    args = arguments(__doc__, repeats=7, scale=1.0)
    results = [bench_size(agents, args.repeats, args.scale) for agents in AGENT_COUNTS]
    write_results(args.out, {"sizes": results})
    for size in results:
        line = ", ".join(f"{name} {Spread(**s).show()} µs" for name, s in size["median_us"].items())
        print(f"{size['agents']} agents: {line}")


if __name__ == "__main__":
    main()
