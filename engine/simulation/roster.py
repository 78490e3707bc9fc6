"""The shop's team for a simulation: agents, roles, groups, maxima and shifts
(`schemas/simulation-roster.schema.json`).

A shift is a list of changes. `at: "HH:MM"` repeats every day in the roster's time zone; a full
date-time happens once. A change sets a status (online, invisible, break, offline), a maximum
(a whole number, or null for unlimited) or suspension, in any combination.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any, Callable

from ..errors import Issue, PolicyError, data_issue
from ..schema_errors import validator
from ..suggestions import Hint, did_you_mean
from ..yaml_source import NodePath, YamlDocument, YamlLimits, parse_yaml
from .errors import SimulationInputError

SCHEMA = "simulation-roster.schema.json"
_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")


@dataclass(frozen=True)
class Change:
    """One scheduled change; `daily` is seconds after local midnight, `once` an absolute moment."""

    daily: float | None
    once: datetime | None
    status: str | None = None
    sets_max: bool = False
    max_sessions: int | None = None
    suspended: bool | None = None


@dataclass(frozen=True)
class RosterAgent:
    id: str
    role: str = "sub"
    groups: tuple[str, ...] = ()
    skills: dict[str, int] = field(default_factory=dict)  # skill → level 1–10 (issue 17)
    max_sessions: int | None = None
    suspended: bool = False
    status: str | None = None
    reply_speed: float = 1.0
    schedule: tuple[Change, ...] = ()

    @property
    def initial_status(self) -> str:
        """Given, or offline before the first shift when it has one, or online all along."""
        if self.status is not None:
            return self.status
        return "offline" if any(change.status for change in self.schedule) else "online"


@dataclass(frozen=True)
class Roster:
    agents: tuple[RosterAgent, ...]
    timezone: tzinfo | None = None


@dataclass(frozen=True)
class Setting:
    status: str
    max_sessions: int | None
    suspended: bool

    def changed_by(self, change: Change) -> "Setting":
        return Setting(
            status=change.status or self.status,
            max_sessions=change.max_sessions if change.sets_max else self.max_sessions,
            suspended=self.suspended if change.suspended is None else change.suspended,
        )


def read_roster(path: str | Path) -> Roster:
    """A roster file (JSON, or YAML for hand-written ones) → Roster; errors name file and line."""
    file = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise SimulationInputError([data_issue(file, 0, "", f"cannot read: {error.strerror or error}")]) from None
    try:
        document = parse_yaml(data, file, YamlLimits(max_bytes=16 << 20, max_nodes=2_000_000))
    except PolicyError as error:
        raise SimulationInputError([data_issue(i.location.file, i.location.line, "", i.message) for i in error.issues]) from None
    return _build(document)


def roster_from_dict(data: Any, source: str = "roster") -> Roster:
    """A roster already decoded (an HTTP body's object); errors carry paths but no lines."""
    return _build(YamlDocument(source, data))


def _build(document: YamlDocument) -> Roster:
    issues: list[Issue] = []

    def fail(path: NodePath, message: str, hint: Hint = Hint()) -> None:
        line = document.position(path)[0] if document.value_marks else 0
        issues.append(data_issue(document.file, line, _dotted(path), message, hint.suggestion))

    for error in validator(SCHEMA).iter_errors(document.data):
        path = tuple(error.absolute_path)
        if error.validator == "additionalProperties":
            known = list(error.schema.get("properties", {}))
            for key in sorted(set(error.instance) - set(known)):
                hint = did_you_mean(key, known)
                fail(path + (key,), f"unknown field{hint}", hint)
        else:
            fail(path, error.message.replace("'", "`"))
    if issues:
        raise SimulationInputError(issues)
    data = document.data

    zone = _zone(data.get("timezone"))
    agents: list[RosterAgent] = []
    seen: set[str] = set()
    for index, raw in enumerate(data["agents"]):
        if raw["id"] in seen:
            fail(("agents", index, "id"), f"duplicate agent id `{raw['id']}`")
        seen.add(raw["id"])
        schedule = tuple(_change(item, ("agents", index, "schedule", n), fail)
                         for n, item in enumerate(raw.get("schedule", [])))
        agents.append(RosterAgent(
            id=raw["id"], role=raw.get("role", "sub"), groups=tuple(raw.get("groups", [])),
            skills=dict(raw.get("skills", {})),
            max_sessions=raw.get("max_sessions"), suspended=raw.get("suspended", False), status=raw.get("status"),
            reply_speed=float(raw.get("reply_speed", 1.0)), schedule=schedule,
        ))
    mains = [agent.id for agent in agents if agent.role == "main"]
    if len(mains) > 1:
        fail(("agents",), f"a shop has one main account; {', '.join(mains)} are all `main`")
    if issues:
        raise SimulationInputError(issues)
    return Roster(tuple(agents), zone)


def _change(item: dict[str, Any], path: NodePath, fail: Callable[[NodePath, str], None]) -> Change:
    at = item["at"]
    clock = _CLOCK.match(at)
    daily, once = None, None
    if clock:
        daily = int(clock.group(1)) * 3600 + int(clock.group(2)) * 60
    else:
        try:
            once = datetime.fromisoformat(at)
        except ValueError:
            once = None
        if once is None or once.tzinfo is None:
            fail(path + ("at",), f"`{at}` is neither HH:MM (daily) nor a date-time with a time zone (once)")
    return Change(daily, once, item.get("status"), "max_sessions" in item, item.get("max_sessions"),
                  item.get("suspended"))


def _zone(value: str | None) -> tzinfo | None:
    if value is None:
        return None
    match = _OFFSET.match(value)
    if match is None:  # the schema's pattern already refused it
        return None
    sign = -1 if match.group(1) == "-" else 1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _dotted(path: NodePath) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def timeline(roster: Roster, start: datetime, end: datetime, zone: tzinfo
             ) -> tuple[dict[str, Setting], list[tuple[datetime, str, Change]]]:
    """Every agent's setting at `start`, and the changes after it up to `end`, in time order.

    Daily changes are laid out from the day before `start` so that a shift begun yesterday (a
    night shift, or a break over midnight) is in force at the start.
    """
    initial: dict[str, Setting] = {}
    later: list[tuple[datetime, int, str, Change]] = []
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    days = (end.astimezone(zone).date() - first_day).days + 1
    order = 0
    for agent in roster.agents:
        setting = Setting(agent.initial_status, agent.max_sessions, agent.suspended)
        moments: list[tuple[datetime, int, Change]] = []
        for change in agent.schedule:
            if change.once is not None:
                moments.append((change.once, order, change))
                order += 1
                continue
            assert change.daily is not None  # a change happens once or daily (_change)
            for day in range(days):
                midnight = datetime.combine(first_day + timedelta(days=day), datetime.min.time(), zone)
                moments.append((midnight + timedelta(seconds=change.daily), order, change))
                order += 1
        for moment, rank, change in sorted(moments, key=lambda item: (item[0], item[1])):
            if moment <= start:
                setting = setting.changed_by(change)
            elif moment <= end:
                later.append((moment, rank, agent.id, change))
        initial[agent.id] = setting
    later.sort(key=lambda item: (item[0], item[1]))
    return initial, [(moment, agent_id, change) for moment, _, agent_id, change in later]
