"""BENCHMARKS.md from the results JSON of one `make bench` run: the targets worked out here, the
words and tables in `BENCHMARKS.md.j2`."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2

from fenliu.api import app, bodies, decision_log, endpoints, metrics
from fenliu.engine import durable, eligibility, events, facts, jsonio, loader, memo, policy, schema_errors, yaml_source
from fenliu.engine.events import EventKind, route

from .stats import Spread
from .where import nested, where_of

FLAT_MIB = 2.0  # growth after warm-up that still counts as flat: allocator noise, not a leak

STAGE_MEANING = {
    "read": "checking the request and reading it into typed structs (`EventKind.read_request`)",
    "derive": "fact derivation: counters, last agent, main, groups (the rest of `events/route.py:situate`)",
    "post_build": "the facts the rules test, under their short keys (`CompiledEvent.post`)",
    "match": "which rules hold: the memo, durable_rules on a miss (`CompiledEvent.matching`)",
    "carry_out": "action execution in priority order, with fall-through (`Policy.carry_out`)",
    "envelope": "the envelope and its decision id (`Policy.envelope`)",
}

# The functions each profile's table follows, by the function itself (see bench/where.py), and
# what each stands for; the label is its profile name.
FOLLOWED: dict[str, list[tuple[Callable[..., Any] | CodeType, str]]] = {
    "evaluate_50_agents": [
        (route.situate, "facts of a checked request"),
        (EventKind.read_request, "checking and reading"),
        (eligibility.counts, "eligibility per agent, per counter set"),
        (facts.put_counters, "head counts"),
        (route.carry_out, "actions"),
        (memo.MatchMemo.matching, "which rules hold"),
        (durable.RuleMatcher.matching, "rule engine, on a memo miss"),
    ],
    "http_app_50_agents": [
        (endpoints.evaluate, "whole handler"),
        (policy.Policy.evaluate_typed, "typed decoding and the decision"),
        (events.decode_typed, "decoding and checking the body"),
        (jsonio.encode, "encoding the answer"),
        (decision_log.write, "one log line per decision"),
        (metrics.decision_made, "decision metrics"),
        (nested(app._finish_answers, "finish"), "request metrics and headers"),
    ],
    "http_app_batch_100": [
        (endpoints._evaluate_batch, "the batch loop"),
        (bodies.batch_items, "splitting the batch"),
        (policy.Policy.evaluate_body, "each request, decoded once"),
        (jsonio.encode, "encoding the answer"),
        (decision_log.write, "one log line per decision"),
    ],
    "reload_200_rules": [
        (loader.parse_policy, "validation"),
        (yaml_source.parse_yaml, "YAML with positions"),
        (schema_errors.schema_problems, "JSON Schema validation"),
        (policy.Policy._compile, "compiling onto durable_rules"),
    ],
}


def _followed(name: str) -> dict[str, str]:
    """Label → profile name of the functions the profile `name` follows."""
    found = {}
    for function, meaning in FOLLOWED.get(name, []):
        key = where_of(function)
        found[f"`{key}` ({meaning})" if meaning else f"`{key}`"] = key
    return found


# Past results are data, not code: each round's first run and the fixes its profiles called for.
HISTORY = json.loads((Path(__file__).with_name("history.json")).read_text(encoding="utf-8"))
TEMPLATE = Path(__file__).with_name("BENCHMARKS.md.j2")
CONTENDERS = ("floor", "zen", "fenliu", "floor_bytes", "fenliu_bytes")
PROFILE_TITLES = {"evaluate_50_agents": "Policy.evaluate, 50 agents", "http_app_50_agents": "HTTP app, 50 agents",
                  "http_app_batch_100": "HTTP app, batches of 100 requests of 50 agents",
                  "reload_200_rules": "reload, 200 rules"}


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool


def _growth(slope: float) -> str:
    if slope < 0.3:
        return "nearly flat"
    if slope < 0.8:
        return "sublinear here"
    if slope <= 1.2:
        return "linear"
    return "superlinear"


def _s(data: dict) -> Spread:
    return Spread(**data)


def _growth_after_warmup(curve: list[list[float]]) -> tuple[float, float, float]:
    end_x = curve[-1][0]
    warm = next(point for point in curve if point[0] >= end_x / 10)
    return warm[1], curve[-1][1], curve[-1][1] - warm[1]


def _at_least(name: str, ratio: dict, goal: float) -> Target:
    spread = _s(ratio)
    return Target(name, f"≥ {goal:g}×", f"{spread.show_range()}×", spread.median >= goal)


def targets(results: dict) -> list[Target]:
    """The targets of the typed decision path (issue 13) and the standing ones (reload, memory)."""
    found: list[Target] = []
    for size in results["inprocess"]["sizes"]:
        if size["agents"] >= 50 and "fenliu_bytes" in size["ratio_to_floor"]:
            ratio = _s(size["ratio_to_floor"]["fenliu_bytes"])
            found.append(Target(f"in process, bytes to bytes, {size['agents']} agents, vs the floor", "≤ 1.5×",
                                f"{ratio.show_range()}×", ratio.median <= 1.5))
    http = results.get("http")
    if http:
        found.append(_at_least("HTTP /evaluate calls/s vs bare Flask", http["single"]["ratio_fenliu_to_bare"], 0.9))
        found.append(_at_least("HTTP batch of 100, decisions/s vs the bare batch endpoint",
                               http["batch"]["ratio_fenliu_to_bare"], 0.9))
        if "single_enterprise" in http:
            found.append(_at_least("HTTP /evaluate calls/s vs bare Flask, enterprise policy",
                                   http["single_enterprise"]["ratio_fenliu_to_bare"], 0.9))
    enterprise = results.get("enterprise")
    if enterprise and "route_ratio_to_floor" in enterprise:
        ratio = _s(enterprise["route_ratio_to_floor"])
        found.append(Target(f"in process, bytes to bytes, {enterprise['agents']} agents, enterprise policy, vs the floor",
                            "≤ 1.5×", f"{ratio.show_range()}×", ratio.median <= 1.5))
    day = results.get("simulation")
    if day:
        # The goal holds per policy: each shipped one where measured, else the one policy timed.
        each = day.get("shipped_policies") or {day.get("policy", "one policy"): {"cpu_seconds": day["one_policy_cpu_seconds"]}}
        for name, run in each.items():
            found.append(Target(f"simulated day, {day['conversations']:,} conversations, {day['agents']} agents, {name}",
                                "≤ 10 s CPU", f"{run['cpu_seconds']:.1f} s", run["cpu_seconds"] <= 10))
    reload = _s(results["reload"]["timings_ms"]["200"]["total"])
    found.append(Target("reload of a 200-rule policy", "< 100 ms", f"{reload.show()} ms", reload.median < 100))
    _, _, reload_growth = _growth_after_warmup(results["reload"]["rss_curve"])
    found.append(Target(f"memory over {results['reload']['reloads']:,} reloads", f"flat (≤ {FLAT_MIB:g} MiB after warm-up)",
                        f"{reload_growth:+.1f} MiB", reload_growth <= FLAT_MIB))
    memory = results["memory"]
    found.append(Target(f"memory over {memory['decisions']:,} decisions", f"flat (≤ {FLAT_MIB:g} MiB after warm-up)",
                        f"{memory['growth_after_warmup_mib']:+.1f} MiB",
                        memory["growth_after_warmup_mib"] <= FLAT_MIB))
    return found


def _profiles(profiles: dict) -> list[dict[str, Any]]:
    shown = []
    for name, summary in profiles.items():
        shares = summary["inclusive_share"]
        followed = sorted(((shares[key], label) for label, key in _followed(name).items() if key in shares), reverse=True)
        shown.append({"title": PROFILE_TITLES.get(name, name), "seconds": summary["seconds"], "followed": followed,
                      "self": summary["self"][:10]})
    return shown


def _largest(scaling: dict) -> dict[str, Any]:
    point = scaling["agents"]["points"][-1]
    return {"agents": point["agents"],
            "per_agent": {name: point["median_us"][name]["median"] / point["agents"] for name in ("floor", "zen", "fenliu")}}


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), undefined=jinja2.StrictUndefined,
                                     trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True, autoescape=False)
    environment.filters.update({
        "show": lambda spread, digits=1: _s(spread).show(digits),
        "show_range": lambda spread, digits=2: _s(spread).show_range(digits),
        "pct": lambda share: f"{share:.0%}",
        "thousands": lambda number: f"{number:,}",
        "growth": _growth,
    })
    return environment


def render(results: dict, machine: dict, commands: list[str], seconds: float) -> str:
    """BENCHMARKS.md: the template filled from one run's results; the prose lives in the template."""
    found = targets(results)
    missed = [target for target in found if not target.met]
    inprocess = results["inprocess"]
    warm, end, growth = _growth_after_warmup(results["reload"]["rss_curve"])
    return _environment().get_template(TEMPLATE.name).render(
        machine=machine, commands=commands, seconds=seconds, targets=found, missed=missed,
        inprocess=inprocess, contenders=CONTENDERS, stage_meaning={**STAGE_MEANING, "total": "all stages of one decision"},
        zen_slow_tail=all(_s(size["p99_us"]["zen"]).median > 5 * _s(size["median_us"]["zen"]).median
                          for size in inprocess["sizes"]),
        jre=results.get("jre", {}), http=results.get("http"), reload=results["reload"],
        reload_memory={"warm": warm, "end": end, "growth": growth}, scaling=results["scaling"],
        largest=_largest(results["scaling"]), memory=results["memory"],
        profiles=_profiles(results["profiles"]) if missed and results.get("profiles") else [],
        enterprise=results.get("enterprise"), simulation=results.get("simulation"),
        batch_scaling=results.get("batch_scaling"), history=HISTORY["eras"],
    )
