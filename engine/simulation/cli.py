"""`fenliu simulate`: replay a trace under one or more policies (`run`, the default), or write a
synthetic trace and roster (`generate`)."""
from __future__ import annotations

import json
import multiprocessing
import os
import queue
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import click

from ..errors import FenliuError
from ..policy import load_policy
from .advise import advise
from .batch import batch_report, read_shops, render_batch, run_tasks, tasks_for
from .generator import TeamSpec, TrafficSpec, write_day
from .kpis import HEALTHY
from .report_html import render_html
from .roster import Roster, read_roster
from .run import SimulationOptions, assemble, options_from_dict, run_simulation
from .summary import render_summary
from .trace import Arrival, read_trace


class _RunByDefault(click.Group):
    """`fenliu simulate TRACE ROSTER POLICY...` means `fenliu simulate run ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_RunByDefault)
def simulate() -> None:
    """What-if simulation of the 3-minute reply rate (B19) and other service KPIs.

    \b
    fenliu simulate TRACE ROSTER POLICY... [--json FILE] [--html FILE]
    fenliu simulate generate --trace FILE --roster FILE [--conversations N --agents N]
    fenliu simulate batch SHOPS POLICY... [--scheduler tcp://HOST:PORT] [--json FILE]
    fenliu simulate advise TRACE ROSTER POLICY [--target 0.8] [--scheduler tcp://HOST:PORT]
    """


@simulate.command("run")
@click.argument("trace_path", metavar="TRACE")
@click.argument("roster_path", metavar="ROSTER")
@click.argument("policy_paths", metavar="POLICY...", nargs=-1, required=True)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the agents' behaviour.")
@click.option("--behaviour", "behaviour_path", help="JSON file of behaviour parameters (docs/simulation.md).")
@click.option("--sample-minutes", type=float, default=15, show_default=True,
              help="How often queue length and saturation are sampled.")
@click.option("--drain-hours", type=float, default=24, show_default=True,
              help="How long after the last arrival the run may go on to finish open conversations.")
@click.option("--json", "json_path", help="Write the full result as JSON.")
@click.option("--html", "html_path", help="Write a self-contained HTML report.")
@click.option("--workers", type=int, help="Processes to run policies in parallel (default: one per policy, up to the CPUs).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal).")
def run_command(trace_path: str, roster_path: str, policy_paths: tuple[str, ...], seed: int,
                behaviour_path: str | None, sample_minutes: float, drain_hours: float, json_path: str | None,
                html_path: str | None, workers: int | None, progress: bool | None) -> None:
    """Replay TRACE (JSON Lines) with the team in ROSTER under each POLICY; the first is the baseline."""
    try:
        options = options_from_dict({"seed": seed, "sample_minutes": sample_minutes, "drain_hours": drain_hours,
                                     "behaviour": _behaviour(behaviour_path)})
        arrivals = read_trace(trace_path)
        roster = read_roster(roster_path)
        labels = _labels(policy_paths)
    except FenliuError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    show = sys.stderr.isatty() if progress is None else progress
    bar = _ProgressBar(list(labels)) if show else None
    count = workers or min(len(labels), os.cpu_count() or 1)
    if count > 1 and len(labels) > 1:
        result = _in_parallel(arrivals, roster, labels, options, count, bar)
    else:
        result = _in_process(arrivals, roster, labels, options, bar)
    if bar:
        bar.finish()
    click.echo(render_summary(result, color=sys.stdout.isatty()), nl=False)
    if json_path:
        Path(json_path).write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
        click.echo(f"wrote {json_path}")
    if html_path:
        Path(html_path).write_text(render_html(result), encoding="utf-8")
        click.echo(f"wrote {html_path}")


def _behaviour(path: str | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        options: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
        return options
    except (OSError, ValueError) as error:
        raise click.ClickException(f"{path}: {error}") from None


def _labels(paths: tuple[str, ...]) -> dict[str, str]:
    """Label → policy file. Policies are labelled by name; variants sharing a name, by file name."""
    names: list[str] = []
    for path in paths:
        policy = load_policy(path)
        names.append(policy.name)
        policy.close()
    labels: dict[str, str] = {}
    for path, name in zip(paths, names):
        label = name if names.count(name) == 1 else Path(path).stem
        base, n = label, 2
        while label in labels:
            label, n = f"{base}#{n}", n + 1
        labels[label] = path
    return labels


def _in_process(arrivals: list[Arrival], roster: Roster, labels: dict[str, str], options: SimulationOptions,
                bar: "_ProgressBar | None") -> dict[str, Any]:
    policies = {label: load_policy(path) for label, path in labels.items()}
    try:
        return run_simulation(arrivals, roster, policies, options, progress=bar.update if bar else None)
    finally:
        for policy in policies.values():
            policy.close()


def _in_parallel(arrivals: list[Arrival], roster: Roster, labels: dict[str, str], options: SimulationOptions,
                 workers: int, bar: "_ProgressBar | None") -> dict[str, Any]:
    # A fresh interpreter per worker: the rule engine's native state is never forked.
    context = multiprocessing.get_context("spawn")
    updates = context.Queue() if bar else None
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_worker_init, initargs=(updates,)) as pool:
        futures = [pool.submit(_worker_run, arrivals, roster, label, path, options) for label, path in labels.items()]
        pending = set(futures)
        while pending:
            _, pending = wait(pending, timeout=0.2)
            while updates is not None and bar is not None:
                try:
                    bar.update(*updates.get_nowait())
                except queue.Empty:
                    break
        runs = [future.result() for future in futures]
    return assemble(arrivals, roster, options, runs)


_updates: Any = None


def _worker_init(updates: Any) -> None:
    global _updates
    _updates = updates


def _worker_run(arrivals: list[Arrival], roster: Roster, label: str, path: str, options: SimulationOptions) -> dict[str, Any]:
    policy = load_policy(path)
    report: Callable[[str, float], None] | None = (lambda name, done: _updates.put((name, done))) if _updates else None
    try:
        run: dict[str, Any] = run_simulation(arrivals, roster, {label: policy}, options, progress=report)["runs"][0]
        return run
    finally:
        policy.close()


class _ProgressBar:
    WIDTH = 24

    def __init__(self, labels: list[str]) -> None:
        self.done = dict.fromkeys(labels, 0.0)

    def update(self, label: str, fraction: float) -> None:
        if int(fraction * 100) == int(self.done[label] * 100):
            return
        self.done[label] = fraction
        parts = []
        for name, done in self.done.items():
            filled = int(done * self.WIDTH)
            parts.append(f"{name} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:4.0%}")
        sys.stderr.write("\r" + "  ".join(parts))
        sys.stderr.flush()

    def finish(self) -> None:
        sys.stderr.write("\n")


@simulate.command("batch")
@click.argument("shops_path", metavar="SHOPS")
@click.argument("policy_paths", metavar="POLICY...", nargs=-1, required=True)
@click.option("--scheduler", help="Address of a Dask distributed scheduler (tcp://host:8786); default: local processes.")
@click.option("--workers", type=click.IntRange(1), help="Local processes (default: one per CPU).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the agents' behaviour.")
@click.option("--behaviour", "behaviour_path", help="JSON file of behaviour parameters (docs/simulation.md).")
@click.option("--json", "json_path", help="Write the batch report as JSON.")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: when stderr is a terminal).")
def batch_command(shops_path: str, policy_paths: tuple[str, ...], scheduler: str | None, workers: int | None, seed: int,
                  behaviour_path: str | None, json_path: str | None, progress: bool | None) -> None:
    """Replay every shop-day of SHOPS (a manifest: shops: [{name, trace, roster}]) under each POLICY;
    the first is the baseline. One report: per-shop rates, the distribution of the change, the worst shops."""
    try:
        options = options_from_dict({"seed": seed, "behaviour": _behaviour(behaviour_path)})
        shops = read_shops(shops_path)
        labels = _labels(policy_paths)
    except FenliuError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    tasks = tasks_for(shops, labels, options)
    show = sys.stderr.isatty() if progress is None else progress
    bar = _ProgressBar(["runs"]) if show else None
    started = time.monotonic()
    try:
        rows = run_tasks(tasks, scheduler=scheduler, workers=workers,
                         progress=(lambda done, total: bar.update("runs", done / total)) if bar else None)
    except FenliuError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    if bar:
        bar.finish()
    report = batch_report(rows, list(labels), time.monotonic() - started)
    click.echo(render_batch(report), nl=False)
    if json_path:
        Path(json_path).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        click.echo(f"wrote {json_path}")


@simulate.command("advise")
@click.argument("trace_path", metavar="TRACE")
@click.argument("roster_path", metavar="ROSTER")
@click.argument("policy_path", metavar="POLICY")
@click.option("--target", type=click.FloatRange(0, 1, max_open=True), default=HEALTHY, show_default=True,
              help="The shop rate every hour must reach.")
@click.option("--scheduler", help="Address of a Dask distributed scheduler (tcp://host:8786); default: local processes.")
@click.option("--workers", type=click.IntRange(1), help="Local processes (default: one per CPU).")
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the agents' behaviour.")
@click.option("--behaviour", "behaviour_path", help="JSON file of behaviour parameters (docs/simulation.md).")
@click.option("--json", "json_path", help="Write the advice as JSON.")
def advise_command(trace_path: str, roster_path: str, policy_path: str, target: float, scheduler: str | None,
                   workers: int | None, seed: int, behaviour_path: str | None, json_path: str | None) -> None:
    """The fewest agents on duty per hour (the roster's first ones) keeping every hour's shop rate at
    or above TARGET under POLICY, searched with the simulator in parallel."""
    try:
        options = options_from_dict({"seed": seed, "behaviour": _behaviour(behaviour_path)})
        arrivals = read_trace(trace_path)
        roster = read_roster(roster_path)
        load_policy(policy_path).close()
        advice = advise(trace_path, arrivals, roster, policy_path, options, target=target, scheduler=scheduler,
                        workers=workers)
    except FenliuError as error:
        click.echo(str(error), err=True)
        sys.exit(2)
    report = advice.as_dict(target)
    click.echo(render_advice(report, len(roster.agents)), nl=False)
    if json_path:
        Path(json_path).write_text(json.dumps(report, ensure_ascii=False, indent=1), encoding="utf-8")
        click.echo(f"wrote {json_path}")


def render_advice(report: dict[str, Any], roster_size: int) -> str:
    lines = [f"{'hour':<27}{'agents':>7}{'rate':>9}"]
    for hour in report["hours"]:
        rate = "–" if hour["reply_rate"] is None else f"{hour['reply_rate']:.1%}"
        lines.append(f"{hour['hour']:<27}{hour['agents']:>7}{rate:>9}")
    given = report["as_given"]
    shop = "–" if report["shop_rate"] is None else f"{report['shop_rate']:.1%}"
    before = "–" if given["shop_rate"] is None else f"{given['shop_rate']:.1%}"
    lines += ["", f"{report['agent_hours']} agent-hours (of a roster of {roster_size}); every hour at or above "
                  f"{report['target']:.0%}: shop rate {shop} (as given: {before}, "
                  f"{len(given['hours_below_target'])} hours below), {report['simulations']} simulations"]
    if report["unreachable"]:
        lines.append("short of the target even with the whole roster: " + ", ".join(report["unreachable"]))
    return "\n".join(lines) + "\n"


@simulate.command("generate")
@click.option("--trace", "trace_path", required=True, help="Where to write the trace (JSON Lines).")
@click.option("--roster", "roster_path", required=True, help="Where to write the roster (JSON).")
@click.option("--conversations", type=click.IntRange(1, 5_000_000), default=2000, show_default=True)
@click.option("--agents", type=click.IntRange(1, 5000), default=20, show_default=True)
@click.option("--date", default="2026-11-23", show_default=True, help="The day the trace covers.")
@click.option("--timezone", default="+08:00", show_default=True, help="UTC offset of the shop.")
@click.option("--returning-share", type=click.FloatRange(0, 1), default=0.25, show_default=True,
              help="Share of arrivals from buyers served in the last 72 h (B7).")
@click.option("--seed", type=int, default=1, show_default=True)
def generate_command(trace_path: str, roster_path: str, conversations: int, agents: int, date: str, timezone: str,
                     returning_share: float, seed: int) -> None:
    """Write a synthetic day of traffic and a team in shifts, seeded and reproducible."""
    try:
        traffic = TrafficSpec(conversations=conversations, date=date, timezone=timezone,
                              returning_share=returning_share, seed=seed)
        written = write_day(traffic, TeamSpec(agents=agents, timezone=timezone, seed=seed), trace_path, roster_path)
    except ValueError as error:
        raise click.ClickException(f"--date/--timezone: {error}") from None
    click.echo(f"wrote {trace_path} ({written} conversations) and {roster_path} ({agents} agents)")

