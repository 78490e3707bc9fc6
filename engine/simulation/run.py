"""`run_simulation`: the pure entry point behind `fenliu simulate` and `POST /v1/simulate`."""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import data_issue
from ..policy import Policy
from .agents import Behaviour, behaviour_from_dict, draw_luck
from .errors import SimulationInputError, SimulationLimitError
from .kpis import summarise
from .roster import Roster, roster_from_dict
from .shop import Shop
from .trace import Arrival, trace_from_dicts

FORMAT = "fenliu-simulation/1"


@dataclass(frozen=True)
class SimulationOptions:
    """How to run. The `max_*` and `time_limit_seconds` bounds are for whoever calls on behalf of
    someone else (the HTTP service): they are never read from a request's options object."""

    seed: int = 1
    behaviour: Behaviour = field(default_factory=Behaviour)
    sample_minutes: float = 15.0
    drain_hours: float = 24.0
    max_conversations: int | None = None
    max_agents: int | None = None
    max_policies: int | None = None
    time_limit_seconds: float | None = None


def options_from_dict(data: Any, source: str = "options") -> SimulationOptions:
    """Run parameters from JSON: seed, sample_minutes (1–1440), drain_hours (0–240), behaviour."""
    if not isinstance(data, dict):
        raise SimulationInputError([data_issue(source, 0, "", "must be an object")])
    issues = [data_issue(source, 0, key, "unknown option") for key in data
              if key not in ("seed", "sample_minutes", "drain_hours", "behaviour")]
    seed = data.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        issues.append(data_issue(source, 0, "seed", "must be a whole number"))
    for key, low, high in (("sample_minutes", 1, 1440), ("drain_hours", 0, 240)):
        value = data.get(key, low)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            issues.append(data_issue(source, 0, key, f"must be a number from {low} to {high}"))
    if issues:
        raise SimulationInputError(issues)
    behaviour = behaviour_from_dict(data.get("behaviour", {}), f"{source}.behaviour")
    return SimulationOptions(seed=seed, behaviour=behaviour, sample_minutes=float(data.get("sample_minutes", 15)),
                             drain_hours=float(data.get("drain_hours", 24)))


def run_simulation(trace: Sequence[Arrival] | list[dict[str, Any]], roster: Roster | dict[str, Any],
                   policies: Sequence[Policy] | Mapping[str, Policy],
                   options: SimulationOptions | dict[str, Any] | None = None, *,
                   progress: Callable[[str, float], None] | None = None) -> dict[str, Any]:
    """Replay `trace` through a shop staffed by `roster` under each policy; return the JSON result.

    Arguments:
    - `trace`: `Arrival`s (`read_trace`), or trace lines as decoded JSON objects, validated here
      against `schemas/simulation-trace.schema.json` (errors name the item's 1-based index).
    - `roster`: a `Roster` (`read_roster`), or a decoded object validated against
      `schemas/simulation-roster.schema.json`.
    - `policies`: loaded `Policy` objects, labelled by name (a mapping gives its own labels). The
      first is the baseline the others are compared with. They are evaluated, never closed here.
    - `options`: `SimulationOptions`, or a decoded object of run parameters (`options_from_dict`:
      seed, sample_minutes, drain_hours, behaviour); limits come only from a SimulationOptions.
    - `progress(label, fraction)`: called now and then while a policy runs.

    Returns a JSON-ready dict (format `fenliu-simulation/1`): `trace` and `roster` summaries, the
    run parameters, one entry of `runs` per policy with its `kpis`, and `differences`: headline
    KPIs side by side with each run's change from the baseline. The same inputs and seed give the
    same result, byte for byte; nothing in it depends on the clock.

    Raises `SimulationInputError` (`.errors`: file, line, path, message, suggestion) for bad input,
    `SimulationLimitError` when a `max_*` bound is exceeded or the run outlasts
    `time_limit_seconds`, `RequestError`/`EngineError` only on a fault of the engine itself.
    Runs in the calling thread; the CLI spreads several policies over processes itself. Cost, to
    size the bounds: about half a millisecond of CPU per conversation and policy for a shop with
    some 50 agents logged in (docs/simulation.md, "Simulation").
    """
    if isinstance(options, dict):
        options = options_from_dict(options)
    options = options or SimulationOptions()
    if isinstance(trace, (list, tuple)) and options.max_conversations is not None and len(trace) > options.max_conversations:
        raise SimulationLimitError(f"{len(trace)} conversations, over the limit of {options.max_conversations}")
    if isinstance(trace, (list, tuple)) and trace and isinstance(trace[0], Arrival):
        arrivals = list(trace)
    else:
        arrivals = trace_from_dicts(trace)  # checked there, whatever it is
    team = roster if isinstance(roster, Roster) else roster_from_dict(roster)
    labelled = _labelled(policies)
    _check_limits(arrivals, team, labelled, options)
    deadline = time.monotonic() + options.time_limit_seconds if options.time_limit_seconds else None
    luck = draw_luck(arrivals, options.behaviour, options.seed)
    runs = []
    for label, policy in labelled:
        report = (lambda fraction, label=label: progress(label, fraction)) if progress else None
        shop = Shop(arrivals, luck, team, policy, options.behaviour, sample_seconds=options.sample_minutes * 60,
                    drain_seconds=options.drain_hours * 3600, deadline=deadline, progress=report)
        runs.append({"label": label, "policy": {"name": policy.name, "version": policy.version, "sha256": policy.sha256},
                     "kpis": summarise(shop.run())})
    return assemble(arrivals, team, options, runs)


def assemble(arrivals: Sequence[Arrival], roster: Roster, options: SimulationOptions, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The result document around finished runs (also used by the CLI after parallel runs)."""
    return {
        "format": FORMAT,
        "trace": {"conversations": len(arrivals), "customers": len({a.customer for a in arrivals}),
                  "first_arrival": arrivals[0].at.isoformat(), "last_arrival": arrivals[-1].at.isoformat()},
        "roster": {"agents": len(roster.agents),
                   "main": next((agent.id for agent in roster.agents if agent.role == "main"), None)},
        "parameters": {"seed": options.seed, "sample_minutes": options.sample_minutes,
                       "drain_hours": options.drain_hours, "behaviour": asdict(options.behaviour)},
        "runs": runs,
        "differences": differences(runs),
    }


# (key path, title, which way is better: "higher", "lower" or None when it depends)
HEADLINES: tuple[tuple[str, str, str | None], ...] = (
    ("reply_rate.shop", "Shop 3-minute reply rate", "higher"),
    ("reply_rate.agents_below_target", "Agents below 70%", "lower"),
    ("conversations.queue_free_share", "Assigned without queueing", "higher"),
    ("queue_wait_seconds.p50", "Queue wait p50 (s)", "lower"),
    ("queue_wait_seconds.p95", "Queue wait p95 (s)", "lower"),
    ("queue_wait_seconds.max", "Queue wait max (s)", "lower"),
    ("vip_wait_seconds.p95", "VIP queue wait p95 (s)", "lower"),
    ("queue_length.max_pool", "Longest queue", "lower"),
    ("offline_wait_seconds.p95", "Offline / held wait p95 (s)", "lower"),
    ("returning_customers.share", "Returning customers to their last agent", "higher"),
    ("closed.auto", "Auto-closed conversations", None),
    ("closed.manual_refused", "Manual closes refused", "lower"),
    ("offline_messages.expired", "Offline messages expired", "lower"),
    ("abandoned.share", "Buyers who gave up in the queue", "lower"),
    ("conversations.waiting_at_end", "Still waiting at the end", "lower"),
    ("transfers", "Transfers on log-out", None),
)


def differences(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for path, title, better in HEADLINES:
        values = [_lookup(run["kpis"], path) for run in runs]
        base = values[0]
        deltas = [None if v is None or base is None else round(v - base, 4) for v in values]
        rows.append({"kpi": path, "title": title, "better": better, "values": values, "deltas": deltas,
                     "differs": any(v != base for v in values)})
    return rows


def _lookup(data: dict[str, Any], path: str) -> Any:
    for key in path.split("."):
        data = data[key]
    return data


def _labelled(policies: Sequence[Policy] | Mapping[str, Policy]) -> list[tuple[str, Policy]]:
    if isinstance(policies, Mapping):
        return list(policies.items())
    labelled: list[tuple[str, Policy]] = []
    for policy in policies:
        label, n = policy.name, 2
        while any(label == existing for existing, _ in labelled):
            label, n = f"{policy.name}#{n}", n + 1
        labelled.append((label, policy))
    return labelled


def _check_limits(arrivals: Sequence[Arrival], roster: Roster, policies: list[Any], options: SimulationOptions) -> None:
    if not policies:
        raise SimulationInputError([data_issue("policies", 0, "", "give at least one policy")])
    for count, limit, what in ((len(arrivals), options.max_conversations, "conversations"),
                               (len(roster.agents), options.max_agents, "agents"),
                               (len(policies), options.max_policies, "policies")):
        if limit is not None and count > limit:
            raise SimulationLimitError(f"{count} {what}, over the limit of {limit}")
