"""Many simulations at once: every (trace × roster × policy variant) run of a platform-wide change,
on a local process pool or on a Dask distributed cluster (docs/simulation.md, "Batches").

Each run is independent of the others, so they are spread as they come: the runner hands out
`Task`s and gathers one compact `row` per run. A worker process reads each trace, roster and
policy once and keeps them for the runs that follow.
"""
from __future__ import annotations

import math
import multiprocessing
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..policy import Policy, load_policy
from ..errors import data_issue
from .errors import SimulationInputError
from .kpis import TARGET, percentile
from .roster import Roster, read_roster, roster_from_dict
from .run import SimulationOptions, run_simulation
from .trace import Arrival, read_trace

WORST = 10


@dataclass(frozen=True)
class Shop:
    """One shop-day: its trace file and its roster (a file, a decoded object or a Roster)."""

    name: str
    trace: str
    roster: str | dict[str, Any] | Roster


@dataclass(frozen=True)
class Task:
    shop: Shop
    label: str
    policy: str
    options: SimulationOptions
    arrivals: int | None = None  # only the trace's first ones (the advisor's hours so far)


def read_shops(path: str | Path) -> list[Shop]:
    """A manifest (YAML or JSON): `shops: [{name, trace, roster}]`, paths relative to the manifest."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise SimulationInputError([data_issue(str(path), 0, "", f"cannot read: {error}")]) from None
    shops = data.get("shops") if isinstance(data, dict) else None
    if not isinstance(shops, list) or not shops:
        raise SimulationInputError([data_issue(str(path), 0, "shops", "give a list of {name, trace, roster}")])
    issues, found, names = [], [], set()
    for index, item in enumerate(shops):
        where = f"shops.{index}"
        if not isinstance(item, dict) or set(item) != {"name", "trace", "roster"} \
                or not all(isinstance(value, str) for value in item.values()):
            issues.append(data_issue(str(path), 0, where, "must be {name, trace, roster}, each a string"))
            continue
        if item["name"] in names:
            issues.append(data_issue(str(path), 0, f"{where}.name", f"`{item['name']}` is named twice"))
        names.add(item["name"])
        for key in ("trace", "roster"):
            if not (path.parent / item[key]).is_file():
                issues.append(data_issue(str(path), 0, f"{where}.{key}", f"no file {item[key]}"))
        found.append(Shop(item["name"], str(path.parent / item["trace"]), str(path.parent / item["roster"])))
    if issues:
        raise SimulationInputError(issues)
    return found


def tasks_for(shops: Iterable[Shop], policies: dict[str, str], options: SimulationOptions) -> list[Task]:
    return [Task(shop, label, policy, options) for shop in shops for label, policy in policies.items()]


Runner = Callable[[list[Task], "Callable[[int, int], None] | None"], list[dict[str, Any]]]


def run_tasks(tasks: list[Task], *, scheduler: str | None = None, workers: int | None = None,
              progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Every task's row, in the tasks' order: on `workers` local processes, or on the Dask
    cluster whose scheduler is at `scheduler` (tcp://host:port)."""
    with runner(scheduler=scheduler, workers=workers or len(tasks)) as run:
        return run(tasks, progress)


@contextmanager
def runner(*, scheduler: str | None = None, workers: int | None = None) -> Iterator[Runner]:
    """A `run(tasks, progress)` for several rounds of tasks on one pool or one cluster client."""
    with (_on_dask(scheduler) if scheduler else _on_pool(workers)) as spread:
        def run(tasks: list[Task], progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
            rows: list[dict[str, Any] | None] = [None] * len(tasks)
            for done, (index, row) in enumerate(spread(tasks), start=1):
                rows[index] = row
                if progress is not None:
                    progress(done, len(tasks))
            return [row for row in rows if row is not None]

        yield run


@contextmanager
def _on_pool(workers: int | None) -> Iterator[Callable[[list[Task]], Iterator[tuple[int, dict[str, Any]]]]]:
    count = max(1, min(workers or os.cpu_count() or 1, os.cpu_count() or 1))
    # Fresh interpreters: the rule engine's native state is never forked.
    with ProcessPoolExecutor(count, mp_context=multiprocessing.get_context("spawn")) as pool:
        def spread(tasks: list[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
            futures = {pool.submit(run_task, task): index for index, task in enumerate(tasks)}
            for future in as_completed(futures):
                yield futures[future], future.result()

        yield spread


@contextmanager
def _on_dask(scheduler: str) -> Iterator[Callable[[list[Task]], Iterator[tuple[int, dict[str, Any]]]]]:
    from distributed import Client, as_completed as completed

    with Client(scheduler) as client:
        def spread(tasks: list[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
            futures = client.map(run_task, tasks, pure=False)
            where = {future.key: index for index, future in enumerate(futures)}
            for future in completed(futures):
                yield where[future.key], future.result()

        yield spread


def run_task(task: Task) -> dict[str, Any]:
    """One run, as one compact row of the batch report."""
    started = time.process_time()
    roster = task.shop.roster
    if not isinstance(roster, Roster):
        roster = _roster(roster) if isinstance(roster, str) else roster_from_dict(roster)
    result = run_simulation(_trace(task.shop.trace)[:task.arrivals], roster, {task.label: _policy(task.policy)}, task.options)
    kpis = result["runs"][0]["kpis"]
    rate = kpis["reply_rate"]
    return {"shop": task.shop.name, "label": task.label, "conversations": result["trace"]["conversations"],
            "shop_rate": rate["shop"], "by_hour": [{key: hour[key] for key in ("hour", "label", "reply_rate")} for hour in rate["by_hour"]],
            "queue_wait_p95": kpis["queue_wait_seconds"]["p95"], "abandoned_share": kpis["abandoned"]["share"],
            "cpu_seconds": round(time.process_time() - started, 3)}


@lru_cache(maxsize=8)
def _trace(path: str) -> list[Arrival]:
    return read_trace(path)


@lru_cache(maxsize=8)
def _roster(path: str) -> Roster:
    return read_roster(path)


@lru_cache(maxsize=16)
def _policy(path: str) -> Policy:
    return load_policy(path)  # kept for this process's later runs


def batch_report(rows: list[dict[str, Any]], labels: list[str], seconds: float) -> dict[str, Any]:
    """Per-shop table, the distribution of each variant's change in the shop rate from the
    baseline (the first label), the shops that lose most, and the throughput."""
    by_shop: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_shop.setdefault(row["shop"], {})[row["label"]] = row
    baseline = labels[0]
    shops = []
    for name, runs in by_shop.items():
        base = runs[baseline]["shop_rate"]
        shops.append({"shop": name, "conversations": runs[baseline]["conversations"],
                      "rates": {label: runs[label]["shop_rate"] for label in labels},
                      "changes": {label: _change(base, runs[label]["shop_rate"]) for label in labels[1:]},
                      "hours_below_target": {label: [hour["label"] for hour in runs[label]["by_hour"]
                                                     if hour["reply_rate"] is not None and hour["reply_rate"] < TARGET]
                                              for label in labels}})
    variants = {}
    for label in labels[1:]:
        changes = [shop["changes"][label] for shop in shops if shop["changes"][label] is not None]
        worst = sorted((shop for shop in shops if shop["changes"][label] is not None),
                       key=lambda shop: (shop["changes"][label], shop["shop"]))[:WORST]
        variants[label] = {
            "change": {"min": min(changes, default=None), "p5": percentile(changes, 5), "p25": percentile(changes, 25),
                       "median": percentile(changes, 50), "p75": percentile(changes, 75),
                       "p95": percentile(changes, 95), "max": max(changes, default=None),
                       "histogram": _histogram(changes)},
            "shops_worse": sum(1 for change in changes if change < 0),
            "shops_better": sum(1 for change in changes if change > 0),
            "shops_below_target": sum(1 for shop in shops
                                      if shop["rates"][label] is not None and shop["rates"][label] < TARGET),
            "worst": [{"shop": shop["shop"], "change": shop["changes"][label], "baseline": shop["rates"][baseline],
                       "rate": shop["rates"][label]} for shop in worst],
        }
    return {"format": "fenliu-simulation-batch/1", "policies": labels, "baseline": baseline, "shops": shops,
            "variants": variants, "runs": len(rows), "seconds": round(seconds, 2),
            "shop_days_per_minute": round(len(rows) / seconds * 60, 1) if seconds > 0 else None,
            "cpu_seconds": round(sum(row["cpu_seconds"] for row in rows), 1)}


def _change(base: float | None, rate: float | None) -> float | None:
    return None if base is None or rate is None else round(rate - base, 4)


def _histogram(changes: list[float]) -> list[dict[str, Any]]:
    """Counts per whole percentage point of change: [-3 pt, -2 pt) and so on."""
    counts: dict[int, int] = {}
    for change in changes:
        point = math.floor(round(change * 100, 6))
        counts[point] = counts.get(point, 0) + 1
    return [{"from_pt": point, "to_pt": point + 1, "shops": count} for point, count in sorted(counts.items())]


def render_batch(report: dict[str, Any]) -> str:
    labels, baseline = report["policies"], report["baseline"]
    width = max(12, *(len(label) + 2 for label in labels))
    name_width = max(8, *(len(shop["shop"]) + 2 for shop in report["shops"]))
    lines = [f"{report['runs']} runs of {len(report['shops'])} shop-days under {len(labels)} policies in "
             f"{report['seconds']:.1f} s: {report['shop_days_per_minute']} shop-days per minute", ""]
    lines.append(f"{'shop':<{name_width}}" + "".join(f"{label:>{width}}" for label in labels)
                 + "".join(f"{'Δ ' + label:>{width + 2}}" for label in labels[1:]))
    for shop in report["shops"]:
        cells = "".join(f"{_percent(shop['rates'][label]):>{width}}" for label in labels)
        deltas = "".join(f"{_points(shop['changes'][label]):>{width + 2}}" for label in labels[1:])
        lines.append(f"{shop['shop']:<{name_width}}" + cells + deltas)
    for label, variant in report["variants"].items():
        change = variant["change"]
        lines += ["", f"{label} against {baseline}: {variant['shops_worse']} shops worse, {variant['shops_better']} better, "
                      f"{variant['shops_below_target']} below {TARGET:.0%}",
                  "  change in shop rate: " + ", ".join(f"{key} {_points(change[key])}" for key in
                                                         ("min", "p5", "p25", "median", "p75", "p95", "max"))]
        peak = max((bucket["shops"] for bucket in change["histogram"]), default=1)
        for bucket in change["histogram"]:
            lines.append(f"  {bucket['from_pt']:+4d} to {bucket['to_pt']:+4d} pt  {'#' * max(1, round(30 * bucket['shops'] / peak))} "
                         f"{bucket['shops']}")
        lines.append("  worst shops: " + ", ".join(f"{item['shop']} {_points(item['change'])}" for item in variant["worst"]))
    return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:+.1f} pt"

