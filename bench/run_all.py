"""`make bench`: every benchmark, each in its own process, then plots and BENCHMARKS.md.

Each part runs as `python -m bench.<part>` so that memory figures start from a clean process and
one part's rule-engine state cannot touch another's. Any failure, a disagreement between Fenliu
and a peer above all, stops the run with that part's output.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from time import perf_counter

from . import plots
from .report import render

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DOCS = ROOT / "docs"
PACKAGES = ("durable_rules", "zen-engine", "Flask", "Werkzeug", "gunicorn", "PyYAML", "jsonschema",
            "prometheus-client", "matplotlib", "pyinstrument")

# part → arguments for a full run, and for `--quick` (a smoke run of the whole pipeline).
PARTS: dict[str, tuple[list[str], list[str]]] = {
    "inprocess": ([], ["--repeats", "3", "--scale", "0.2"]),
    "jre_bench": ([], ["--repeats", "2", "--scale", "0.2"]),
    "reload_bench": ([], ["--repeats", "3", "--reloads", "100"]),
    "scaling": ([], ["--repeats", "2", "--agent-budget", "4000", "--rule-requests", "40"]),
    "memory": ([], ["--decisions", "20000", "--max-seconds", "20"]),
    "http_bench": ([], ["--repeats", "1", "--seconds", "1"]),
    "profiles": ([], []),
    "enterprise": ([], ["--repeats", "2", "--scale", "0.2"]),
}
RESULT_NAMES = {"reload_bench": "reload", "http_bench": "http", "jre_bench": "jre"}


def _run(part: str, arguments: list[str]) -> None:
    out = RESULTS / f"{RESULT_NAMES.get(part, part)}.json"
    command = [sys.executable, "-m", f"bench.{part}", "--out", str(out), *arguments]
    print(f"\n== {part}: {' '.join(command[1:])}", flush=True)
    started = perf_counter()
    # stderr goes to a file: the service under test logs one line per decision there.
    errors = RESULTS / f"{RESULT_NAMES.get(part, part)}.stderr"
    with errors.open("w") as stream:
        completed = subprocess.run(command, cwd=ROOT, stderr=stream)
    if completed.returncode != 0:
        print("".join(errors.read_text().splitlines(keepends=True)[-60:]), file=sys.stderr)
        raise SystemExit(f"bench.{part} failed (exit {completed.returncode}); nothing written to BENCHMARKS.md")
    print(f"== {part}: {perf_counter() - started:.0f} s", flush=True)


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> dict:
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit.stdout.strip() or "unknown",
        "cpu": _cpu_model(),
        "nproc": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "packages": {name: _package_version(name) for name in PACKAGES},
        "load_before": _load(),
    }


def draw(results: dict) -> None:
    plots.stages(results["inprocess"]["sizes"], DOCS / "bench-stages.png")
    plots.scaling_agents(results["scaling"]["agents"], DOCS / "bench-scaling-agents.png")
    plots.scaling_rules(results["scaling"]["rules"], DOCS / "bench-scaling-rules.png")
    plots.rss_curve(results["reload"]["rss_curve"], DOCS / "bench-reload-rss.png", xlabel="reloads (load + close)",
                    title="RSS over reloads of the shipped Kuaishou policy")
    plots.rss_curve(results["memory"]["rss_curve"], DOCS / "bench-memory-rss.png", xlabel="decisions",
                    title=f"RSS over {results['memory']['decisions']:,} route decisions")


def _render(run: dict, output: Path) -> None:
    results = {name: json.loads((RESULTS / f"{name}.json").read_text())
               for name in (RESULT_NAMES.get(part, part) for part in PARTS)}
    for key, name in (("simulation", "simulate_day.json"), ("batch_scaling", "batch_scaling.json")):
        if (RESULTS / name).is_file():
            results[key] = json.loads((RESULTS / name).read_text())
    draw(results)
    output.write_text(render(results, run["machine"], run["commands"], run["seconds"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny counts: checks the pipeline, numbers mean little")
    parser.add_argument("--render-only", action="store_true",
                        help="redraw the plots and rewrite the report from the last run's results, measuring nothing")
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    if args.render_only:
        _render(json.loads((RESULTS / "run.json").read_text()), args.output)
        print(f"wrote {args.output} from the results of the last run")
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = perf_counter()
    about = machine()
    commands = []
    for part, (full, quick) in PARTS.items():
        arguments = quick if args.quick else full
        _run(part, arguments)
        commands.append(" ".join([".venv/bin/python -m", f"bench.{part}", "--out",
                                  f"bench/results/{RESULT_NAMES.get(part, part)}.json", *arguments]))
    about["load_after"] = _load()
    run = {"machine": about, "commands": commands, "seconds": perf_counter() - started}
    (RESULTS / "run.json").write_text(json.dumps(run, indent=1))
    _render(run, args.output)
    print(f"\nwrote {args.output} in {(perf_counter() - started) / 60:.1f} min")


if __name__ == "__main__":
    main()
