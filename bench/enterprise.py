"""The enterprise policy (issue 17): route decisions as the in-process bench makes them, bytes to
bytes against the floor timed on the same bodies in the same run, and dequeue decisions under
score order with overflow, as the queue grows, to show the cost stays linear in it.

Dequeue: one request per queue length, 50 agents, a mix of after-sales and pre-sales conversations
waiting from seconds to an hour, a fifth of them VIPs with priority 10. The figure that must stay
flat is microseconds per queued conversation.
"""
from __future__ import annotations

import json
import random
import statistics
from datetime import timedelta
from pathlib import Path

from fenliu.engine import load_policy

from . import floor
from .script import arguments, write_results
from .inprocess import time_each
from .requests_gen import NOW, _iso, generate
from .stats import Spread

ROOT = Path(__file__).resolve().parent.parent
QUEUE_LENGTHS = (100, 1000, 10000)
AGENTS = 50


def dequeue_request(length: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    agents = [{"id": f"a{n}", "status": "online", "max_sessions": 20, "active": rng.randint(15, 20),
               "groups": ["aftersale" if n % 3 == 0 else "presale"]} for n in range(AGENTS)]
    queue = []
    for n in range(length):
        item = {"conversation": {"id": f"q{n}"}, "queue": rng.choice(("aftersale", "presale")),
                "enqueued_at": _iso(NOW - timedelta(seconds=rng.uniform(1, 3600)))}
        if rng.random() < 0.2:
            item["priority"] = 10
        queue.append(item)
    return {"event": "dequeue", "now": _iso(NOW), "agents": agents, "queue": queue}


def main() -> None:
    args = arguments(__doc__, repeats=5, scale=1.0)
    policy = load_policy(ROOT / "rules" / "enterprise.yaml")
    routes = [json.dumps(request).encode() for request in generate(AGENTS, max(50, int(500 * args.scale))).requests]
    floor_bytes = floor.bytes_to_bytes(floor.KUAISHOU)
    for decide in (policy.evaluate_json, floor_bytes):  # warm-up
        time_each(decide, routes[:50])
    route_medians, floor_medians = [], []
    for _ in range(args.repeats):  # interleaved, so that the machine's neighbours fall on both
        route_medians.append(statistics.median(time_each(policy.evaluate_json, routes)))
        floor_medians.append(statistics.median(time_each(floor_bytes, routes)))
    dequeue = {}
    for length in QUEUE_LENGTHS:
        request = dequeue_request(length)
        calls = max(3, int(30 * args.scale * 1000 / length))
        body = json.dumps(request).encode()
        medians = [statistics.median(time_each(policy.evaluate_json, [body] * calls)) for _ in range(args.repeats)]
        dequeue[str(length)] = {"median_us": Spread.of(medians).as_dict(),
                                "per_conversation_us": Spread.of(m / length for m in medians).as_dict()}
    policy.close()
    results = {"agents": AGENTS, "repeats": args.repeats, "route_requests": len(routes),
               "route_median_us": Spread.of(route_medians).as_dict(),
               "floor_median_us": Spread.of(floor_medians).as_dict(),
               "route_ratio_to_floor": Spread.of(r / f for r, f in zip(route_medians, floor_medians)).as_dict(),
               "dequeue": dequeue}
    write_results(args.out, results)
    print(f"route {Spread.of(route_medians).show()} µs bytes to bytes, "
          f"{Spread(**results['route_ratio_to_floor']).show_range()}x the floor; dequeue per queued conversation: " + ", ".join(
        f"{length}: {Spread(**data['per_conversation_us']).show(2)} µs" for length, data in dequeue.items()))


if __name__ == "__main__":
    main()
