"""How decision cost grows with the shop's agents (10 → 1,000) and with the policy's rules (10 → 500).

Agents: the shipped Kuaishou policy, Fenliu against the floor and zen at each size. Rules:
generated policies (`policy_gen.py`) on 50-agent requests, with the rule engine's share (the
`match` stage) shown apart. Each point is the median over repeats of a repeat's median; the
growth is summarised by the slope of log(cost) against log(size), the exponent k in O(n^k), over
all sizes and, for agents, over the upper sizes alone.
"""
from __future__ import annotations

import math
import statistics
import tempfile
from pathlib import Path

from fenliu.engine import load_policy

from .script import arguments, write_results
from . import floor
from .agreement import assert_agree
from .inprocess import time_each
from .policy_gen import write_policy
from .requests_gen import generate
from .stages import staged_route
from .stats import Spread
from .zen_peer import ZenPeer

ROOT = Path(__file__).resolve().parent.parent
AGENT_COUNTS = (10, 25, 50, 100, 200, 500, 1000)
RULE_COUNTS = (10, 25, 50, 100, 200, 500)
TAIL_FROM_AGENTS = 100


def loglog_slope(sizes: list[float], costs: list[float]) -> float:
    xs = [math.log(size) for size in sizes]
    ys = [math.log(cost) for cost in costs]
    mean_x, mean_y = statistics.mean(xs), statistics.mean(ys)
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sum((x - mean_x) ** 2 for x in xs)


def by_agents(repeats: int, budget: int) -> dict:
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    zen = ZenPeer()
    contenders = {"floor": lambda request: floor.decide(floor.KUAISHOU, request), "zen": zen.decide,
                  "fenliu": policy.evaluate}
    points = []
    for agents in AGENT_COUNTS:
        requests = generate(agents, max(40, budget // agents), seed=11).requests
        assert_agree(policy, floor.KUAISHOU, requests, {"zen": zen.decide})
        medians: dict[str, list[float]] = {name: [] for name in contenders}
        for repeat in range(repeats):
            names = list(contenders)
            for name in names[repeat % 3:] + names[:repeat % 3]:
                medians[name].append(statistics.median(time_each(contenders[name], requests)))
        points.append({"agents": agents, "requests": len(requests),
                       "median_us": {name: Spread.of(values).as_dict() for name, values in medians.items()}})
        print(f"{agents} agents: fenliu {statistics.median(medians['fenliu']):.0f} µs")
    policy.close()
    # The upper sizes show the asymptotic growth; at the small end a fixed cost per call still weighs.
    tail = [p for p in points if p["agents"] >= TAIL_FROM_AGENTS]
    slopes = {name: loglog_slope([p["agents"] for p in points], [p["median_us"][name]["median"] for p in points])
              for name in contenders}
    tail_slopes = {name: loglog_slope([p["agents"] for p in tail], [p["median_us"][name]["median"] for p in tail])
                   for name in contenders}
    return {"points": points, "slope": slopes, "tail_slope": tail_slopes, "tail_from": TAIL_FROM_AGENTS}


def by_rules(repeats: int, request_count: int) -> dict:
    requests = generate(50, request_count, seed=13).requests
    points = []
    with tempfile.TemporaryDirectory(prefix="fenliu-bench-") as directory:
        for rules in RULE_COUNTS:
            policy = load_policy(write_policy(Path(directory), rules))
            totals, matches = [], []
            for _ in range(repeats):
                totals.append(statistics.median(time_each(policy.evaluate, requests)))
                matches.append(statistics.median(staged_route(policy, request)[1].match / 1000 for request in requests))
            policy.close()
            points.append({"rules": rules, "median_us": Spread.of(totals).as_dict(),
                           "match_us": Spread.of(matches).as_dict()})
            print(f"{rules} rules: fenliu {statistics.median(totals):.0f} µs, match {statistics.median(matches):.0f} µs")
    sizes = [p["rules"] for p in points]
    return {"points": points, "agents": 50, "requests": request_count,
            "slope": {"fenliu": loglog_slope(sizes, [p["median_us"]["median"] for p in points]),
                      "match": loglog_slope(sizes, [p["match_us"]["median"] for p in points])}}


def main() -> None:
    args = arguments(__doc__, repeats=3, agent_budget=25_000, rule_requests=200)
    results = {"repeats": args.repeats, "agents": by_agents(args.repeats, args.agent_budget),
               "rules": by_rules(args.repeats, args.rule_requests)}
    write_results(args.out, results)


if __name__ == "__main__":
    main()
