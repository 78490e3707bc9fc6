"""How long `fenliu simulate` takes on a synthetic day: 100,000 conversations, 100 agents.

    .venv/bin/python bench/simulate_day.py                 # the figures in docs/simulation.md
    .venv/bin/python bench/simulate_day.py --conversations 20000 --agents 40

Measures, on the same generated day: reading and checking the trace, one policy in process
(wall and CPU time, decisions per second), each shipped policy in process the same way, and
`fenliu simulate` with two policies side by side on two worker processes, as a user runs it.
CPU time is given beside wall time because on a shared machine the wall time measures the
neighbours too. Prints a Markdown table and writes bench/results/simulate_day.json.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fenliu.engine import load_policy  # noqa: E402
from fenliu.engine.simulation import SimulationOptions, read_roster, read_trace, run_simulation  # noqa: E402
from fenliu.engine.simulation.generator import TeamSpec, TrafficSpec, write_day  # noqa: E402
from fenliu.engine.simulation.roster import Roster  # noqa: E402
from fenliu.engine.simulation.trace import Arrival  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--agents", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--policy", default=str(ROOT / "rules" / "kuaishou.yaml"))
    parser.add_argument("--other", default=str(ROOT / "rules" / "douyin.yaml"), help="second policy of the CLI run")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        trace_path, roster_path = Path(folder) / "day.jsonl", Path(folder) / "roster.json"
        started = time.perf_counter()
        write_day(TrafficSpec(conversations=args.conversations, seed=args.seed),
                  TeamSpec(agents=args.agents, seed=args.seed), trace_path, roster_path)
        generated = time.perf_counter() - started

        started = time.perf_counter()
        arrivals, team = read_trace(trace_path), read_roster(roster_path)
        read = time.perf_counter() - started

        wall, cpu, kpis = _one_policy(Path(args.policy), arrivals, team, args.seed)
        decisions = sum(kpis["decisions"].values())
        shipped = {}
        for path in sorted((ROOT / "rules").glob("*.yaml")):
            if path.name.endswith(".test.yaml"):
                continue
            if path.resolve() == Path(args.policy).resolve():
                each = wall, cpu, kpis
            else:
                each = _one_policy(path, arrivals, team, args.seed)
            shipped[path.stem] = {"wall_seconds": round(each[0], 1), "cpu_seconds": round(each[1], 1),
                                  "decisions": sum(each[2]["decisions"].values()),
                                  "shop_reply_rate": each[2]["reply_rate"]["shop"]}

        command = [str(ROOT / ".venv" / "bin" / "fenliu"), "simulate", str(trace_path), str(roster_path), args.policy,
                   args.other, "--workers", "2", "--no-progress", "--json", str(Path(folder) / "two.json")]
        started, children = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        two = time.perf_counter() - started
        two_cpu = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - children

    figures = {
        "conversations": args.conversations, "agents": args.agents, "seed": args.seed,
        "generate_seconds": round(generated, 2), "read_seconds": round(read, 2),
        "one_policy_wall_seconds": round(wall, 1), "one_policy_cpu_seconds": round(cpu, 1),
        "decisions": decisions, "decisions_per_second": round(decisions / wall),
        "decisions_by_event": kpis["decisions"], "shop_reply_rate": kpis["reply_rate"]["shop"],
        "policy": Path(args.policy).stem, "shipped_policies": shipped,
        "two_policies_cli_wall_seconds": round(two, 1), "two_policies_cli_cpu_seconds": round(two_cpu, 1),
        "machine": {"cpus": os.cpu_count(), "load_average": [round(x, 2) for x in os.getloadavg()],
                    "python": platform.python_version(), "platform": platform.platform()},
    }
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "simulate_day.json").write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    print(f"| {args.conversations:,} conversations, {args.agents} agents | |")
    print("|---|---|")
    print(f"| generate and write the day | {generated:.1f} s |")
    print(f"| read and check the trace and roster | {read:.1f} s |")
    print(f"| one policy (`{Path(args.policy).stem}`), in process | {wall:.1f} s wall, {cpu:.1f} s CPU |")
    print(f"| decisions through `Policy.decide` | {decisions:,} ({decisions / wall:,.0f}/s) |")
    for name, each in shipped.items():
        print(f"| shipped `{name}`, in process | {each['wall_seconds']:.1f} s wall, {each['cpu_seconds']:.1f} s CPU, "
              f"{each['decisions']:,} decisions |")
    print(f"| `fenliu simulate` with two policies, 2 workers | {two:.1f} s wall, {two_cpu:.1f} s CPU in all |")
    print(f"| load average while measuring | {', '.join(f'{x:.1f}' for x in os.getloadavg())} |")


def _one_policy(path: Path, arrivals: list[Arrival], team: Roster, seed: int) -> tuple[float, float, dict[str, Any]]:
    """Wall and CPU seconds of one policy's run over the day, and its KPIs."""
    policy = load_policy(path)
    wall, cpu = time.perf_counter(), time.process_time()
    result = run_simulation(arrivals, team, [policy], SimulationOptions(seed=seed))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    policy.close()
    return wall, cpu, result["runs"][0]["kpis"]


if __name__ == "__main__":
    main()
