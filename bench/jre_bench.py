"""The Node peer: the Kuaishou route policy on json-rules-engine (`bench/node/jre_peer.js`).

Node times its own decisions (a JavaScript engine cannot be called in-process from Python); the
same generated requests go to it, every decision it returns must agree with Fenliu's, and the
Python floor is timed on the same requests in the same run for the ratio. json-rules-engine is
installed with npm into `bench/results/node` (ignored by git) on first use.
"""
from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from fenliu.engine import load_policy
from fenliu.engine.simulation.kpis import percentile

from .script import arguments, write_results
from . import floor
from .agreement import Disagreement
from .floor import FloorDecision
from .inprocess import AGENT_COUNTS, REQUESTS, time_each
from .requests_gen import generate
from .stats import Spread

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "bench" / "node" / "jre_peer.js"
PACKAGE = "json-rules-engine@7.3.1"
MODULES = ROOT / "bench" / "results" / "node"


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def ensure_installed() -> None:
    if not (MODULES / "node_modules" / "json-rules-engine" / "package.json").exists():
        MODULES.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(MODULES), "--no-audit", "--no-fund", "--silent", PACKAGE],
                       check=True)


def run_node(requests: list[dict], repeats: int) -> dict:
    with tempfile.TemporaryDirectory(prefix="fenliu-bench-") as directory:
        source, out = Path(directory) / "requests.json", Path(directory) / "out.json"
        source.write_text(json.dumps(requests))
        subprocess.run(["node", str(PEER), str(source), str(repeats), str(out)], check=True,
                       env={"NODE_PATH": str(MODULES / "node_modules"), "PATH": "/usr/bin:/bin:/usr/local/bin"})
        return json.loads(out.read_text())


def bench_size(agents: int, repeats: int, scale: float) -> dict:
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    requests = generate(agents, max(50, int(REQUESTS.get(agents, 300) * scale))).requests
    floor_medians = [statistics.median(time_each(lambda r: floor.decide(floor.KUAISHOU, r), requests))
                     for _ in range(repeats)]
    node = run_node(requests, repeats)
    for request, answer in zip(requests, node["decisions"], strict=True):
        expected = FloorDecision.of_envelope(policy.evaluate(request))
        if FloorDecision(answer["action"], answer["agent_id"], answer["queue"]) != expected:
            raise Disagreement(f"json-rules-engine disagrees with Fenliu: {answer}, Fenliu {expected}\n"
                               f"request: {json.dumps(request, ensure_ascii=False)}")
    policy.close()
    medians = [statistics.median(samples) for samples in node["repeats"]]
    return {
        "agents": agents, "requests": len(requests), "repeats": repeats, "node": node["node"],
        "median_us": Spread.of(medians).as_dict(),
        "p99_us": Spread.of(percentile(samples, 99) for samples in node["repeats"]).as_dict(),
        "floor_median_us": Spread.of(floor_medians).as_dict(),
        "ratio_to_floor": Spread.of(n / f for n, f in zip(medians, floor_medians)).as_dict(),
    }


def main() -> None:
    args = arguments(__doc__, repeats=7, scale=1.0)
    if not node_available():
        write_results(args.out, {"skipped": "node or npm not found"})
        print("json-rules-engine: skipped, node or npm not found")
        return
    ensure_installed()
    sizes = [bench_size(agents, args.repeats, args.scale) for agents in AGENT_COUNTS]
    write_results(args.out, {"package": PACKAGE, "sizes": sizes})
    for size in sizes:
        print(f"{size['agents']} agents: json-rules-engine {Spread(**size['median_us']).show()} µs, "
              f"{Spread(**size['ratio_to_floor']).show_range()} × floor")


if __name__ == "__main__":
    main()
