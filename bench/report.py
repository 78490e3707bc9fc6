"""BENCHMARKS.md from the results JSON of one `make bench` run: tables, targets, profiles, plots."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

from fenliu.api import app, bodies, decision_log, endpoints
from fenliu.engine import durable, eligibility, facts, loader, policy, request, schema_errors, yaml_source
from fenliu.engine.events import route

from .stages import STAGES
from .stats import Spread
from .where import nested, where_of

FLAT_MIB = 2.0  # growth after warm-up that still counts as flat: allocator noise, not a leak

STAGE_MEANING = {
    "read": "request validation and reading into dataclasses (`engine/request.py`)",
    "derive": "fact derivation: counters, last agent, main, groups (rest of `events/route.py:read`)",
    "post_build": "the flat dict of short fields to post (`FieldTable.post`)",
    "match": "the durable_rules post: JSON, assert, fired rules, delete state (`RuleMatcher.matching`)",
    "carry_out": "action execution in priority order, with fall-through (`events/route.py:carry_out`)",
    "envelope": "envelope dict and `uuid4` decision id",
}

# The functions each profile's table follows, by the function itself (see bench/where.py), and
# what each stands for; the label is its profile name.
FOLLOWED: dict[str, list[tuple[Callable[..., Any] | CodeType, str]]] = {
    "evaluate_50_agents": [
        (route.read, "reading + derivation"),
        (request.read_agents, "reading the agents"),
        (request.read_agent, "careful reader, per field"),
        (eligibility.counts, "eligibility per agent, per counter set"),
        (facts.put_counters, "head counts"),
        (route.carry_out, "actions"),
        (durable.RuleMatcher.matching, "rule engine"),
    ],
    "http_app_50_agents": [
        (endpoints.evaluate, "whole handler"),
        (policy.Policy.evaluate, ""),
        (request.read_agents, ""),
        (bodies.json_body, "reading and parsing the body"),
        (json.loads, "parsing proper"),
        (json.dumps, "encoding answers and log lines"),
        (decision_log.write, "one log line per decision"),
        (nested(app._measure_requests, "count"), "request metrics"),
    ],
    "http_app_batch_100": [
        (endpoints._evaluate_batch, "the batch loop"),
        (policy.Policy.evaluate, ""),
        (bodies.json_body, "reading and parsing the body"),
        (json.loads, "parsing proper"),
        (json.dumps, "encoding answers and log lines"),
        (decision_log.write, "one log line per decision"),
    ],
    "reload_200_rules": [
        (loader.parse_policy, "validation"),
        (yaml_source.parse_yaml, "YAML with positions"),
        (schema_errors.schema_issues, "JSON Schema validation"),
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


# Past results are data, not code: the first full run and the fixes its profiles called for.
HISTORY = json.loads((Path(__file__).with_name("history.json")).read_text(encoding="utf-8"))


def _batch_scaling(batch: dict | None) -> list[str]:
    lines = ["## 8. Batch scaling", ""]
    if not batch:
        return lines + ["Not measured: run `.venv/bin/python bench/batch_scaling.py` (part of `make bench`).", ""]
    load = ", ".join(f"{value:.1f}" for value in batch["load_average"])
    return lines + [
        f"`bench/batch_scaling.py`: {batch['shop_days']} generated shop-days ({batch['conversations']:,} conversations, "
        f"{batch['agents']} agents each) through `run_tasks`, as `fenliu simulate batch` runs them, on 1 to "
        f"{batch['cores']} local processes; identical results checked; load average {load} when it ended. "
        "Goal: near-linear in cores.",
        "",
        "| processes | seconds | shop-days per minute | speed-up | per process |",
        "|---:|---:|---:|---:|---:|",
        *(f"| {run['workers']} | {run['seconds']:.1f} | {run['shop_days_per_minute']:,} | {run['speedup']:.2f}x | "
          f"{run['efficiency']:.0%} |" for run in batch["runs"]),
        "",
    ]


def _enterprise(results: dict) -> list[str]:
    """Issue 17's policy: its route cost, and dequeue cost per queued conversation as the queue grows."""
    lengths = list(results["dequeue"])
    return [
        "## The enterprise policy (queue priority, overflow, opening hours)",
        "",
        f"`bench/enterprise.py`: `rules/enterprise.yaml` deciding the in-process bench's route requests at "
        f"{results['agents']} agents: {_s(results['route_median_us']).show()} µs median. Dequeue under "
        "`order: priority` with overflow steps, one request per queue length, µs median over "
        f"{results['repeats']} repeats [IQR]; the cost per queued conversation must not grow with the queue.",
        "",
        "| queued conversations | " + " | ".join(f"{int(length):,}" for length in lengths) + " |",
        "|---|" + "---:|" * len(lengths),
        "| per decision (µs) | " + " | ".join(_s(results["dequeue"][n]["median_us"]).show(0) for n in lengths) + " |",
        "| per queued conversation (µs) | " + " | ".join(
            _s(results["dequeue"][n]["per_conversation_us"]).show(2) for n in lengths) + " |",
        "",
    ]


def _simulation(day: dict | None) -> list[str]:
    lines = ["## 7. Simulation speed", ""]
    if not day:
        return lines + ["Not measured: run `.venv/bin/python bench/simulate_day.py` (part of `make bench`).", ""]
    load = ", ".join(f"{value:.1f}" for value in day["machine"]["load_average"])
    return lines + [
        f"`bench/simulate_day.py`: a generated day of {day['conversations']:,} conversations and {day['agents']} agents "
        f"(seed {day['seed']}), every decision through `Policy.evaluate`; load average {load} when it ended. "
        "Goal: under 60 s. Details and the model: `docs/simulation.md`.",
        "",
        "| step | wall s | CPU s |",
        "|---|---:|---:|",
        f"| generate the day | {day['generate_seconds']:.1f} | |",
        f"| read and check trace and roster | {day['read_seconds']:.1f} | |",
        f"| one policy, in process ({day['decisions']:,} decisions, {day['decisions_per_second']:,}/s) | "
        f"{day['one_policy_wall_seconds']:.1f} | {day['one_policy_cpu_seconds']:.1f} |",
        f"| `fenliu simulate` with two policies on two processes | {day['two_policies_cli_wall_seconds']:.1f} | "
        f"{day['two_policies_cli_cpu_seconds']:.1f} |",
        "",
    ]


def _before_after(found: list[Target]) -> list[str]:
    before = HISTORY["before"]
    lines = ["## Before and after the profile-driven fixes", "",
             f"| target | before (commit {HISTORY['commit']}) | after (this run) |", "|---|---|---|"]
    lines += [f"| {t.name} | {before[t.name]} | {t.measured} |" for t in found if t.name in before]
    lines += ["", "What the profiles showed, and what changed:", ""]
    lines += [f"- {fix}" for fix in HISTORY["fixes"]]
    return lines + [""]


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


def _mark(met: bool) -> str:
    return "met" if met else "**missed**"


def _growth_after_warmup(curve: list[list[float]]) -> tuple[float, float, float]:
    end_x = curve[-1][0]
    warm = next(point for point in curve if point[0] >= end_x / 10)
    return warm[1], curve[-1][1], curve[-1][1] - warm[1]


def targets(results: dict) -> list[Target]:
    found: list[Target] = []
    http = results.get("http")
    if http:
        ratio = _s(http["single"]["ratio_fenliu_to_bare"])
        found.append(Target("HTTP throughput, /evaluate vs bare Flask", "≥ 0.80×",
                            f"{ratio.show_range()}×", ratio.median >= 0.8))
    size50 = next(size for size in results["inprocess"]["sizes"] if size["agents"] == 50)
    median = _s(size50["median_us"]["fenliu"])
    found.append(Target("in-process route decision, 50 agents", "median ≤ 50 µs", f"{median.show()} µs",
                        median.median <= 50))
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


def _inprocess(results: dict) -> list[str]:
    lines = [
        "## 1. In-process decision cost",
        "",
        "`Policy.evaluate` on the shipped Kuaishou policy against two peers reaching the same decisions:",
        "",
        "- **floor**: `bench/floor.py`, the policy's decisions written by hand in plain Python (no validation, no",
        "  rule engine, no envelope);",
        "- **zen**: zen-engine with `bench/zen_model.json`. Inside zen: fact derivation from the raw request",
        "  (hours since the last agent, whether it is online, eligibility with unlimited counted as 500), the",
        "  ranking of eligible agents by saturation then active count, and the five rules as a `first`-hit",
        "  decision table with Fenliu's fall-through conditions as columns. In Python (`bench/zen_peer.py`):",
        "  the binding's conversion of the request dict, and the last tie-break by agent id (ZEN expressions",
        "  cannot order strings).",
        "",
        "Every benchmark request is first decided by all three and must agree on (action, agent_id, queue);",
        "a disagreement stops the run and prints the request. Requests: `bench/requests_gen.py`, seeded, a",
        "mix of returning customers (inside and outside the 72 h window, their agent online, full,",
        "suspended, offline or gone), shunting with entries, agent groups and VIP tags, shops where everyone",
        "online is full or suspended (queue pool), everyone on break or offline (queue or offline queue), and",
        "internal messages.",
        "",
        "Each call is timed on its own; a repeat gives each contender's median and p99 over all requests,",
        "and the ratio of its median to the floor's in the same repeat. Cells: median over repeats",
        "[interquartile range]; ratios: median (min–max).",
        "",
        "`floor_bytes` and `fenliu_bytes` time a decision as a service sees it, request bytes to answer",
        "bytes: the floor reads with `json.loads` and writes with `json.dumps`, Fenliu runs",
        "`Policy.evaluate_json` (typed decoding, validation, the decision and its whole envelope).",
        "Their ratio is to `floor_bytes`, the others' to `floor`.",
        "",
        "| agents | requests × repeats | contender | median µs | p99 µs | × floor |",
        "|---:|---:|---|---:|---:|---:|",
    ]
    for size in results["sizes"]:
        for name in [name for name in ("floor", "zen", "fenliu", "floor_bytes", "fenliu_bytes") if name in size["median_us"]]:
            lines.append(
                f"| {size['agents']} | {size['requests']} × {size['repeats']} | {name} | "
                f"{_s(size['median_us'][name]).show()} | {_s(size['p99_us'][name]).show()} | "
                f"{_s(size['ratio_to_floor'][name]).show_range()} |")
    if all(_s(size["p99_us"]["zen"]).median > 5 * _s(size["median_us"]["zen"]).median for size in results["sizes"]):
        lines += [
            "",
            "zen's p99 stays in milliseconds at every size while its median does not: about one call in a",
            "hundred waits several milliseconds, at every request size, which is consistent with its binding",
            "handing each evaluation to a worker thread that must then be scheduled on the busy cores.",
        ]
    lines += [
        "",
        "### Where Fenliu's time goes",
        "",
        "The stages of `Policy.evaluate`, each timed separately by calling the engine's internal functions",
        "in the same order (`bench/stages.py`; the engine carries no timing code). Per stage: the median µs",
        "over a repeat's requests, then the median over repeats [IQR], and its share of the median staged",
        "total (medians need not add up exactly to the total's median).",
        "",
        "| stage | what | " + " | ".join(f"{size['agents']} agents" for size in results["sizes"]) + " |",
        "|---|---|" + "---:|" * len(results["sizes"]),
    ]
    for stage in (*STAGES, "total"):
        cells = []
        for size in results["sizes"]:
            spread = _s(size["stage_median_us"][stage])
            share = spread.median / size["stage_median_us"]["total"]["median"]
            cells.append(f"{spread.show()} ({share:.0%})" if stage != "total" else spread.show())
        meaning = STAGE_MEANING.get(stage, "all stages of one decision")
        lines.append(f"| {stage} | {meaning} | " + " | ".join(cells) + " |")
    lines += ["", "![stages](docs/bench-stages.png)", ""]
    return lines


def _jre(results: dict) -> list[str]:
    lines = ["### json-rules-engine on Node", ""]
    if "sizes" not in results:
        return lines + [f"Not run: {results.get('skipped', 'no results')}.", ""]
    node = results["sizes"][0]["node"]
    lines += [
        f"`bench/node/jre_peer.js`, {results['package']} on Node {node}. Inside the rules engine: the five",
        "rules in priority order, first hit, over facts it computes lazily from the raw request (hours since",
        "the last agent, last agent online, eligible count, anyone logged in). In JavaScript around it: those",
        "fact functions and the least-busy choice once the rules chose to shunt. Node times its own calls",
        "(`process.hrtime`) on the same requests; every decision it returns must agree with Fenliu's. The",
        "ratio is to the Python floor timed on those requests in the same run: it sets a JIT-compiled runtime",
        "against CPython, so it says what another runtime reaches, not what a rule engine costs.",
        "",
        "| agents | requests × repeats | median µs | p99 µs | × Python floor |",
        "|---:|---:|---:|---:|---:|",
    ]
    for size in results["sizes"]:
        lines.append(f"| {size['agents']} | {size['requests']} × {size['repeats']} | {_s(size['median_us']).show()} | "
                     f"{_s(size['p99_us']).show()} | {_s(size['ratio_to_floor']).show_range()} |")
    return lines + [""]


def _http(results: dict) -> list[str]:
    single = results["single"]
    lines = [
        "## 2. HTTP",
        "",
        "`POST /v1/policies/kuaishou/evaluate` with 50-agent route requests under `fenliu serve --rules rules",
        "--workers 2` against `bench/bare_app.py` (Flask: parse the JSON body, answer a fixed envelope of the",
        "same shape) under `.venv/bin/gunicorn` with the same settings (2 workers, gthread, 4 threads,",
        "keep-alive 5 s). Load: `bench/loadgen.py`, closed loop, "
        f"{single['connections']} keep-alive connections (threads), {single['seconds']:g} s per run, loopback only;",
        f"the two servers alternate, {single['repeats']} runs each, and each ratio compares the runs of one",
        "repeat. The load generator shares the 2 cores with the servers, equally for both.",
        "",
        "| body | server | calls/s | decisions/s | p50 ms | p99 ms | response bytes |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for kind, label in (("single", "1 request"), ("batch", f"batch of {results['batch']['decisions_per_call']}")):
        for name, server in results[kind]["servers"].items():
            lines.append(
                f"| {label} | {name} | {_s(server['calls_per_s']).show(0)} | {_s(server['decisions_per_s']).show(0)} | "
                f"{_s(server['p50_ms']).show(2)} | {_s(server['p99_ms']).show(2)} | {server['response_bytes']['median']:.0f} |")
    lines += [
        "",
        f"Fenliu ÷ bare, calls per second: single {_s(single['ratio_fenliu_to_bare']).show_range()}, "
        f"batch {_s(results['batch']['ratio_fenliu_to_bare']).show_range()}. "
        f"Mean request body: single {single['request_bytes'] / 1024:.1f} KiB, "
        f"batch {results['batch']['request_bytes'] / 1024:.0f} KiB.",
        "",
    ]
    return lines


def _reload(results: dict) -> list[str]:
    lines = [
        "## 3. Reload",
        "",
        "What the service does when a policy file changes: validate (`parse_policy`: YAML with positions,",
        "JSON Schema, semantic checks), compile (`Policy(...)`: conditions onto a durable_rules ruleset) and",
        "swap (close the policy replaced). Policies of N route rules generated from the shipped rule shapes",
        f"(`bench/policy_gen.py`). ms, median over {results['repeats']} reloads [IQR].",
        "",
        "| policy | validate | compile | swap | total |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, timing in results["timings_ms"].items():
        label = f"{name} rules (generated)" if name.isdigit() else name
        lines.append(f"| {label} | " + " | ".join(_s(timing[stage]).show(2) for stage in ("validate", "compile", "swap", "total"))
                     + " |")
    warm, end, growth = _growth_after_warmup(results["rss_curve"])
    lines += [
        "",
        f"Memory: {results['reloads']:,} reloads of the shipped Kuaishou policy (`load_policy` then `close`) in one",
        f"process: RSS {results['rss_curve'][0][1]:.1f} MiB before, {warm:.1f} MiB after the first tenth,",
        f"{end:.1f} MiB at the end ({growth:+.1f} MiB after warm-up).",
        "",
        "![RSS over reloads](docs/bench-reload-rss.png)",
        "",
    ]
    return lines


def _scaling(results: dict) -> list[str]:
    agents, rules = results["agents"], results["rules"]
    lines = [
        "## 4. Scaling",
        "",
        "Cost per decision as the request's agents grow (shipped Kuaishou policy, all three contenders, agreement",
        "checked at every size) and as the policy's route rules grow (generated policies, 50-agent requests).",
        "The slope of log(cost) against log(size) is the exponent k of O(n^k) over the range measured.",
        "",
        "| agents | " + " | ".join(f"{name} µs" for name in ("floor", "zen", "fenliu")) + " |",
        "|---:|---:|---:|---:|",
    ]
    for point in agents["points"]:
        lines.append(f"| {point['agents']} | " + " | ".join(_s(point["median_us"][name]).show()
                                                           for name in ("floor", "zen", "fenliu")) + " |")
    slopes = agents["slope"]
    largest = agents["points"][-1]
    per_agent = {name: largest["median_us"][name]["median"] / largest["agents"] for name in ("floor", "zen", "fenliu")}
    lines += [
        "",
        "Slopes over all sizes: " + ", ".join(f"{name} {slopes[name]:.2f}" for name in ("floor", "zen", "fenliu"))
        + f"; from {agents['tail_from']} agents up: "
        + ", ".join(f"{name} {agents['tail_slope'][name]:.2f} ({_growth(agents['tail_slope'][name])})"
                    for name in ("floor", "zen", "fenliu"))
        + ". Each contender reads, counts and ranks every agent once: linear work by construction. A slope",
        "under 1 means a fixed cost per call still weighs at these sizes; one above 1 comes from the machine",
        "(noise, caches, the garbage collector over larger requests), not from the algorithm. Cost per agent",
        "at the largest size:",
        f"floor {per_agent['floor']:.2f} µs, zen {per_agent['zen']:.2f} µs, Fenliu {per_agent['fenliu']:.2f} µs "
        f"({largest['agents']} agents): Fenliu's is {per_agent['fenliu'] / per_agent['floor']:.0f}× the floor's;"
        " section 6 shows where it goes.",
        "",
        "![cost by agents](docs/bench-scaling-agents.png)",
        "",
        "| route rules | Policy.evaluate µs | of which match µs |",
        "|---:|---:|---:|",
    ]
    for point in rules["points"]:
        lines.append(f"| {point['rules']} | {_s(point['median_us']).show()} | {_s(point['match_us']).show()} |")
    lines += [
        "",
        f"Slopes: Policy.evaluate {rules['slope']['fenliu']:.2f} ({_growth(rules['slope']['fenliu'])}), durable_rules match "
        f"stage {rules['slope']['match']:.2f} ({_growth(rules['slope']['match'])}).",
        "The rule count only reaches the rule engine's post (every rule's condition is tested on the posted",
        "fact, and every rule that holds fires and is read back) and the walk over matched rules; the request",
        "reading, which dominates at 50 agents, does not depend on it, hence the flatter overall curve.",
        "",
        "![cost by rules](docs/bench-scaling-rules.png)",
        "",
    ]
    return lines


def _memory(results: dict) -> list[str]:
    capped = (f" The run stopped at its time cap before the target of {results['target']:,}, to keep `make bench`"
              " within 10 minutes: the count above is what ran. The full count, on its own (about 3 minutes):"
              " `.venv/bin/python -m bench.memory --out bench/results/memory-1m.json --max-seconds 900`."
              if results["capped"] else "")
    return [
        "## 5. Memory over many decisions",
        "",
        f"{results['decisions']:,} decisions on {results['agents']}-agent route requests (a pool of 1,000 generated",
        f"requests, cycled) in one process, in {results['seconds']:.0f} s, RSS sampled every 10,000 decisions:",
        f"{results['rss_curve'][0][1]:.1f} MiB at the start, {results['rss_after_warmup_mib']:.1f} MiB after the first",
        f"tenth, {results['rss_end_mib']:.1f} MiB at the end ({results['growth_after_warmup_mib']:+.1f} MiB after",
        f"warm-up).{capped}",
        "",
        "![RSS over decisions](docs/bench-memory-rss.png)",
        "",
    ]


def _share(summary: dict, key: str) -> float:
    return summary["inclusive_share"].get(key, 0.0)


def _readings(everything: dict) -> dict[str, list[str]]:
    """What each profile says, in numbers of this run, next to the tables it reads from."""
    profiles = everything["profiles"]
    size50 = next(size for size in everything["inprocess"]["sizes"] if size["agents"] == 50)
    stage = {name: size50["stage_median_us"][name]["median"] for name in (*STAGES, "total")}
    floor_us = size50["median_us"]["floor"]["median"]
    left = 50 - stage["match"] - stage["envelope"]
    readings = {"evaluate_50_agents": [
        f"Reading, against the target: the durable_rules post alone takes {stage['match']:.0f} µs and the envelope",
        f"{stage['envelope']:.0f} µs at 50 agents, leaving {max(0.0, left):.0f} µs to read, count and choose among",
        f"50 agents; the floor does all of that in {floor_us:.0f} µs, in one pass over the raw agent dicts that",
        "checks, counts and ranks at once, without an object per agent."
        + (" Even that would not fit beside today's post, so the target also needs a cheaper post"
           " (`engine/durable.py:matching`: JSON encoding, a fresh session and its deletion on every call)."
           if left < floor_us else " That shape would fit."),
    ]}
    http = everything.get("http")
    if http:
        bare = http["single"]["servers"]["bare"]["calls_per_s"]["median"]
        readings["http_app_50_agents"] = [
            f"Reading: at {bare:.0f} calls/s on 2 workers the bare app spends about {2 / bare * 1e6:.0f} µs of a worker per",
            f"call (load generator included); 0.8× its throughput allows about {2 / bare * 0.25 * 1e6:.0f} µs more",
            f"per call, and the in-process decision alone is {stage['total']:.0f} µs.",
        ]
        if "http_app_batch_100" in profiles:
            readings["http_app_batch_100"] = [
                f"Reading: a batch of 100 ({http['batch']['request_bytes'] / 1024:.0f} KiB) saves the per-request HTTP",
                "overhead and nothing of the decisions themselves, so it gains least where the decisions dominate.",
            ]
    reload = profiles["reload_200_rules"]
    readings["reload_200_rules"] = [
        f"Reading: jsonschema's `oneOf` ({_share(reload, 'jsonschema/_keywords.py:oneOf'):.0%}) validates every branch",
        "of each rule's condition and action to prove that exactly one matches.",
    ]
    return readings


def _profiles(everything: dict, missed: list[Target]) -> list[str]:
    results = everything["profiles"]
    readings = _readings(everything)
    lines = [
        "## 6. Profiles (pyinstrument)",
        "",
        "Profiled because targets were missed: " + ", ".join(target.name for target in missed) + ".",
        "Workloads (`bench/profiles.py`): `Policy.evaluate` on 50-agent requests; the service's Flask app",
        "answering the same requests through Flask's test client (a worker's share of a request, without",
        "gunicorn's sockets), one per call and in batches of 100; `load_policy` of the 200-rule policy.",
        "Shares are of the profiled time;",
        "*inclusive* counts what a function calls, *self* only its own code.",
        "",
    ]
    titles = {"evaluate_50_agents": "Policy.evaluate, 50 agents", "http_app_50_agents": "HTTP app, 50 agents",
              "http_app_batch_100": "HTTP app, batches of 100 requests of 50 agents",
              "reload_200_rules": "reload, 200 rules"}
    for name, summary in results.items():
        shares = summary["inclusive_share"]
        lines += [f"### {titles.get(name, name)} ({summary['seconds']:.1f} s profiled)", "",
                  "| inclusive share | function |", "|---:|---|"]
        named = [(shares[key], label) for label, key in _followed(name).items() if key in shares]
        for share, label in sorted(named, reverse=True):
            lines.append(f"| {share:.0%} | {label} |")
        lines += ["", "Top self time:", "", "| self share | file:function |", "|---:|---|"]
        for spot in summary["self"][:10]:
            lines.append(f"| {spot['share']:.1%} | `{spot['where']}` |")
        lines.append("")
        if name in readings:
            lines += [*readings[name], ""]
    return lines


def render(results: dict, machine: dict, commands: list[str], seconds: float) -> str:
    found = targets(results)
    missed = [target for target in found if not target.met]
    lines = [
        "# Benchmarks",
        "",
        f"Numbers of the last `make bench` run ({machine['date']}, commit `{machine['commit']}`, "
        f"{seconds / 60:.1f} min).",
        "Every figure is a median over repeated runs with its spread; every comparison is a ratio measured",
        "within the same run. The machine has 2 cores shared with other work (load average",
        f"{machine['load_before']} before the run, {machine['load_after']} after): absolute figures move",
        "between runs by tens of percent, ratios much less.",
        "",
        "## Targets",
        "",
        "| target | goal | measured | |",
        "|---|---|---|---|",
    ]
    lines += [f"| {t.name} | {t.goal} | {t.measured} | {_mark(t.met)} |" for t in found]
    lines.append("")
    lines += _inprocess(results["inprocess"])
    lines += _jre(results.get("jre", {}))
    if results.get("http"):
        lines += _http(results["http"])
    else:
        lines += ["## 2. HTTP", "", "Not measured in this run.", ""]
    lines += _reload(results["reload"])
    lines += _scaling(results["scaling"])
    lines += _memory(results["memory"])
    if missed and results.get("profiles"):
        lines += _profiles(results, missed)
    if results.get("enterprise"):
        lines += _enterprise(results["enterprise"])
    lines += _simulation(results.get("simulation"))
    lines += _batch_scaling(results.get("batch_scaling"))
    lines += _before_after(found)
    lines += [
        "## Machine",
        "",
        f"- CPU: {machine['cpu']}, `nproc` = {machine['nproc']}",
        f"- OS: {machine['os']}",
        f"- Python {machine['python']}",
        "- Packages: " + ", ".join(f"{name} {version}" for name, version in machine["packages"].items()),
        "",
        "## Reproduce",
        "",
        "```sh",
        "make bench          # installs the bench extra into .venv, runs everything, rewrites this file",
        "```",
        "",
        "One part at a time (raw results land in `bench/results/`, which git ignores):",
        "",
        "```sh",
        *commands,
        ".venv/bin/python bench/simulate_day.py     # writes bench/results/simulate_day.json",
        ".venv/bin/python bench/batch_scaling.py    # writes bench/results/batch_scaling.json",
        ".venv/bin/python -m bench.run_all --render-only",
        "```",
        "",
    ]
    return "\n".join(lines)
