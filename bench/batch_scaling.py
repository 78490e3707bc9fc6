"""How `fenliu simulate batch` scales with cores: the same shop-days on 1, 2, … local processes.

    .venv/bin/python bench/batch_scaling.py                       # 200 shop-days, as in BENCHMARKS.md
    .venv/bin/python bench/batch_scaling.py --shops 40 --conversations 500

Each shop-day is a generated day (its own seed) of a small team under the Kuaishou policy. Every
process count runs the very same tasks through `run_tasks`, the function the CLI calls; the
speed-up is against one process in the same run. Prints a Markdown table and writes
bench/results/batch_scaling.json.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fenliu.engine.simulation import SimulationOptions  # noqa: E402
from fenliu.engine.simulation.batch import Shop, run_tasks, tasks_for  # noqa: E402
from fenliu.engine.simulation.generator import TeamSpec, TrafficSpec, write_day  # noqa: E402


def write_shops(folder: Path, shops: int, conversations: int, agents: int) -> list[Shop]:
    found = []
    for n in range(shops):
        trace, team = folder / f"shop{n:03d}.jsonl", folder / f"shop{n:03d}.roster.json"
        write_day(TrafficSpec(conversations=conversations, seed=n + 1), TeamSpec(agents=agents, seed=n + 1), trace, team)
        found.append(Shop(f"shop{n:03d}", str(trace), str(team)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--conversations", type=int, default=1000, help="per shop-day")
    parser.add_argument("--agents", type=int, default=10, help="per shop")
    parser.add_argument("--policy", default=str(ROOT / "rules" / "kuaishou.yaml"))
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    counts = sorted({1, *(n for n in (2, 4, 8) if n <= cores), cores})

    runs = []
    with tempfile.TemporaryDirectory() as folder:
        shops = write_shops(Path(folder), args.shops, args.conversations, args.agents)
        tasks = tasks_for(shops, {"kuaishou": args.policy}, SimulationOptions(seed=1))
        reference = None
        for workers in counts:
            started = time.perf_counter()
            rows = run_tasks(tasks, workers=workers)
            seconds = time.perf_counter() - started
            rates = [(row["shop"], row["shop_rate"]) for row in rows]
            if reference is None:
                reference = rates
            elif rates != reference:
                raise SystemExit(f"{workers} processes gave other results than one process")
            runs.append({"workers": workers, "seconds": round(seconds, 2),
                         "shop_days_per_minute": round(len(tasks) / seconds * 60, 1)})
    for run in runs:
        run["speedup"] = round(runs[0]["seconds"] / run["seconds"], 2)
        run["efficiency"] = round(run["speedup"] / run["workers"], 2)

    figures = {"shop_days": len(tasks), "conversations": args.conversations, "agents": args.agents,
               "cores": cores, "load_average": [round(x, 2) for x in os.getloadavg()], "runs": runs}
    out = ROOT / "bench" / "results" / "batch_scaling.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print("| processes | seconds | shop-days per minute | speed-up | per process |")
    print("|---:|---:|---:|---:|---:|")
    for run in runs:
        print(f"| {run['workers']} | {run['seconds']:.1f} | {run['shop_days_per_minute']:,} | "
              f"{run['speedup']:.2f}x | {run['efficiency']:.0%} |")


if __name__ == "__main__":
    main()
