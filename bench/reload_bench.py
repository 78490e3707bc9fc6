"""Reload: how long validating, compiling and swapping in a policy takes, by rule count, and
whether memory stays flat over 1,000 reloads (load + close) in one process.

A reload is what the service does when a policy file changes: read and check the file
(`parse_policy`), compile it onto the rule engine (`Policy(...)`), and close the policy it
replaces. Each stage is timed on its own; their sum is the reload.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from time import perf_counter

from fenliu.engine import Policy, load_policy
from fenliu.engine.loader import parse_policy

from .script import arguments, write_results
from .policy_gen import write_policy
from .rss import rss_mib
from .stats import Spread

ROOT = Path(__file__).resolve().parent.parent
RULE_COUNTS = (10, 50, 200)


def time_reloads(path: Path, repeats: int) -> dict:
    data = path.read_bytes()
    current = load_policy(path)
    stages: dict[str, list[float]] = {"validate": [], "compile": [], "swap": [], "total": []}
    for _ in range(repeats):
        t0 = perf_counter()
        document, warnings = parse_policy(data, str(path))
        t1 = perf_counter()
        fresh = Policy(document, warnings)
        t2 = perf_counter()
        current, old = fresh, current
        old.close()
        t3 = perf_counter()
        for stage, seconds in (("validate", t1 - t0), ("compile", t2 - t1), ("swap", t3 - t2), ("total", t3 - t0)):
            stages[stage].append(seconds * 1000)
    current.close()
    return {stage: Spread.of(values).as_dict() for stage, values in stages.items()}


def reload_memory(path: Path, reloads: int, every: int) -> list[tuple[int, float]]:
    """RSS after every `every` reloads of the same file, each a full load followed by close()."""
    curve = [(0, rss_mib())]
    for done in range(1, reloads + 1):
        load_policy(path).close()
        if done % every == 0:
            curve.append((done, rss_mib()))
    return curve


def main() -> None:
    args = arguments(__doc__, repeats=11, reloads=1000)
    timings = {}
    with tempfile.TemporaryDirectory(prefix="fenliu-bench-") as directory:
        for count in RULE_COUNTS:
            timings[str(count)] = time_reloads(write_policy(Path(directory), count), args.repeats)
            print(f"{count} rules: reload {Spread(**timings[str(count)]['total']).show()} ms")
    shipped = ROOT / "rules" / "kuaishou.yaml"
    probe = load_policy(shipped)
    shipped_rules = len(probe.document.rules)
    probe.close()
    timings[f"shipped kuaishou ({shipped_rules} rules)"] = time_reloads(shipped, args.repeats)
    curve = reload_memory(shipped, args.reloads, every=10)
    print(f"RSS over {args.reloads} reloads: {curve[1][1]:.1f} → {curve[-1][1]:.1f} MiB")
    write_results(args.out, {"repeats": args.repeats, "timings_ms": timings, "reloads": args.reloads,
                             "rss_curve": curve})


if __name__ == "__main__":
    main()
