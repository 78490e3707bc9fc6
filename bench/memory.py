"""Memory over many decisions in one process: RSS sampled as `Policy.evaluate` runs on and on.

Runs the shipped Kuaishou policy on 10-agent requests (a pool of 1,000 distinct generated ones,
cycled) up to a decision count, or until a time cap so that `make bench` stays within its
budget; the report states the count that actually ran. Flat means the RSS after warm-up (the
first tenth) does not keep growing.
"""
from __future__ import annotations

from pathlib import Path
from time import perf_counter

from fenliu.engine import load_policy

from .script import arguments, write_results
from .requests_gen import generate
from .rss import rss_mib

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    args = arguments(__doc__, decisions=1_000_000, agents=10, max_seconds=110.0, every=10_000)
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    requests = generate(args.agents, 1000, seed=17).requests
    curve = [(0, rss_mib())]
    started = perf_counter()
    done = 0
    while done < args.decisions and perf_counter() - started < args.max_seconds:
        for request in requests[: min(len(requests), args.decisions - done)]:
            policy.evaluate(request)
        done += min(len(requests), args.decisions - done)
        if done % args.every == 0 or done == args.decisions:
            curve.append((done, rss_mib()))
    seconds = perf_counter() - started
    if curve[-1][0] != done:
        curve.append((done, rss_mib()))
    policy.close()
    warm = next((point for point in curve if point[0] >= done / 10), curve[-1])
    result = {"target": args.decisions, "decisions": done, "agents": args.agents, "seconds": seconds,
              "capped": done < args.decisions, "rss_curve": curve, "rss_after_warmup_mib": warm[1],
              "rss_end_mib": curve[-1][1], "growth_after_warmup_mib": curve[-1][1] - warm[1]}
    write_results(args.out, result)
    print(f"{done:,} decisions in {seconds:.0f} s: RSS {warm[1]:.1f} MiB after warm-up, {curve[-1][1]:.1f} MiB at the end")


if __name__ == "__main__":
    main()
