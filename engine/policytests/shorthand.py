"""The shorthands a test request may use, turned into a request of the evaluate contract.

- `now` defaults to the file's clock, and times may be written relative to it: `-47h`, `-20m`,
  `-7d`, `+1d2h`, `-7d1s`. Relative to the clock rather than to `now`, so that one case's times
  read the same whatever its `now`.
- `agents` may be a mapping from agent id to `{status: online, max: 20, active: 3}` or to one line
  of words, `online max=20 active=3 suspended groups=aftersale+presale skills=refund:7+billing:3`
  (`+`, not a comma, so the line also fits in a flow mapping).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ..model import STATUSES
from ..request import ROLES
from ..suggestions import did_you_mean
from ..yaml_source import NodePath

TIME_KEYS = ("now", "at", "enqueued_at", "last_assigned_at", "unanswered_since")
_RELATIVE = re.compile(r"([+-])(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_FLAGS = {"suspended": ("suspended", True), "unlimited": ("max_sessions", None)}
_SETTINGS = {"max": "max_sessions", "active": "active", "groups": "groups", "last": "last_assigned_at",
             "skills": "skills"}


@dataclass
class Expanded:
    """The request as the engine reads it; `agent_keys[i]` is the id that `agents[i]` was written under."""

    request: dict[str, Any]
    agent_keys: tuple[str, ...] = ()
    errors: list[tuple[NodePath, str]] = field(default_factory=list)


def parse_clock(text: str) -> datetime | None:
    """The file's clock, or None when it is not a date-time with a time zone."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def expand(request: dict[str, Any], clock: datetime | None) -> Expanded:
    result = Expanded(dict(request))
    if isinstance(request.get("agents"), dict):
        result.agent_keys = tuple(request["agents"])
        result.request["agents"] = [_agent(key, spec, ("agents", key), result)
                                    for key, spec in request["agents"].items()]
    if clock is not None:
        result.request.setdefault("now", _stamp(clock))
    result.request = _times(result.request, clock, (), result)
    return result


def _agent(agent_id: str, spec: Any, at: NodePath, result: Expanded) -> Any:
    if isinstance(spec, str):
        return {"id": agent_id, "status": "online", **_words(agent_id, spec, at, result)}
    if not isinstance(spec, dict):
        return spec
    agent: dict[str, Any] = {"id": agent_id, "status": "online"}
    for key, value in spec.items():
        if key == "max":
            agent["max_sessions"] = None if value == "unlimited" else value
        else:
            agent[key] = value
    return agent


def _words(agent_id: str, line: str, at: NodePath, result: Expanded) -> dict[str, Any]:
    agent: dict[str, Any] = {}
    for word in line.split():
        name, _, value = word.partition("=")
        if not value and word in STATUSES:
            agent["status"] = word
        elif not value and word in ROLES:
            agent["role"] = word
        elif not value and word in _FLAGS:
            key, flag = _FLAGS[word]
            agent[key] = flag
        elif value and name in _SETTINGS:
            agent[_SETTINGS[name]] = _setting(name, value, at, result)
        else:
            known = [*STATUSES, *ROLES, *_FLAGS, *(f"{key}=" for key in _SETTINGS)]
            result.errors.append((at, f"agent `{agent_id}`: unknown word `{word}`{did_you_mean(word, known)}; "
                                      "write a status, main or sub, suspended, unlimited, max=N, active=N, "
                                      "groups=A+B, skills=SKILL:LEVEL+… or last=TIME"))
    return agent


def _setting(name: str, value: str, at: NodePath, result: Expanded) -> Any:
    if name == "groups":
        return [group for group in value.split("+") if group]
    if name == "skills":
        return _skills(value, at, result)
    if name == "last":
        return value
    if value.isdigit():
        return int(value)
    result.errors.append((at, f"`{name}={value}`: {name} must be a whole number"))
    return value


def _skills(value: str, at: NodePath, result: Expanded) -> dict[str, Any]:
    """`refund:7+billing:3` → {refund: 7, billing: 3}; the engine checks the levels, as for any request."""
    skills: dict[str, Any] = {}
    for pair in filter(None, value.split("+")):
        skill, colon, level = pair.partition(":")
        if not (skill and colon and level.isdigit()):
            result.errors.append((at, f"`skills={value}`: write each skill as NAME:LEVEL, such as skills=refund:7+billing:3"))
            continue
        skills[skill] = int(level)
    return skills


def _times(node: Any, clock: datetime | None, at: NodePath, result: Expanded) -> Any:
    if isinstance(node, list):
        return [_times(item, clock, at + (index,), result) for index, item in enumerate(node)]
    if not isinstance(node, dict):
        return node
    return {key: _time(value, clock, at + (key,), result) if key in TIME_KEYS else _times(value, clock, at + (key,), result)
            for key, value in node.items()}


def _time(value: Any, clock: datetime | None, at: NodePath, result: Expanded) -> Any:
    match = _RELATIVE.fullmatch(value) if isinstance(value, str) else None
    if match is None or not any(match.groups()[1:]):
        spelled = _SPELLED.fullmatch(value) if isinstance(value, str) else None
        if spelled is not None:
            short = f"{spelled.group(1)}{spelled.group(2)}{spelled.group(3)[0]}"
            result.errors.append((at, f"relative time `{value}`: write `{short}` (units d, h, m, s, as in -7d1s)"))
        return value
    if clock is None:
        result.errors.append((at, f"relative time `{value}` needs a `clock` at the top of the file"))
        return value
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups()[1:])
    offset = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
    return _stamp(clock + offset if match.group(1) == "+" else clock - offset)


# A relative time with its unit spelled out (`-47hours`, `+20 min`): almost right, so say how to write it.
_SPELLED = re.compile(r"([+-])\s*(\d+)\s*(days?|hours?|hrs?|minutes?|mins?|seconds?|secs?)", re.IGNORECASE)


def _stamp(moment: datetime) -> str:
    return moment.isoformat()
