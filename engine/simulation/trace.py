"""Traffic traces: one buyer conversation per JSON line (`schemas/simulation-trace.schema.json`).

Lines are checked by hand rather than through jsonschema because a day's trace has 100,000 of
them; tests hold this reader and the published schema in agreement.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import Issue, data_issue
from ..request import ENTRIES, Reader
from ..suggestions import Hint
from .errors import SimulationInputError

FIELDS = ("at", "conversation", "customer", "entry", "category", "tags", "private_contact", "to_main", "internal",
          "follow_ups", "last_agent")
MAX_FOLLOW_UPS = 50
MAX_FOLLOW_UP_SECONDS = 86_400
MAX_ISSUES = 50


@dataclass(frozen=True, slots=True)
class Arrival:
    """A buyer's first message, and how long the buyer takes to write back after each agent reply."""

    at: datetime
    conversation: str
    customer: str
    entry: str = "other"
    category: str | None = None
    tags: tuple[str, ...] = ()
    private_contact: bool = False
    to_main: bool = False
    internal: bool = False
    follow_ups: tuple[float, ...] = ()
    last_agent: tuple[str, datetime] | None = None  # a contact from before the trace began (B7)


class _LineReader(Reader):
    """The request reader's checks, with each problem placed at a line of the trace file."""

    def __init__(self, file: str, line: int, issues: list[Issue]) -> None:
        self.file, self.line, self.issues = file, line, issues

    def fail(self, path: str, message: str, hint: Hint = Hint()) -> None:
        self.issues.append(data_issue(self.file, self.line, path, message, hint.suggestion))


def read_line(data: Any, file: str, line: int, issues: list[Issue]) -> Arrival | None:
    """One trace line (already JSON-decoded) → an Arrival, or None with the problems added to `issues`."""
    reader = _LineReader(file, line, issues)
    if not isinstance(data, dict):
        reader.fail("", "each line must be a JSON object")
        return None
    before = len(issues)
    reader.unknown_keys(data, FIELDS, "")
    arrival = Arrival(
        at=reader.required(data, "at", "", reader.timestamp, None),  # type: ignore[arg-type]  # None only with an issue
        conversation=reader.field(data, "conversation", "", reader.string, f"c{line}"),
        customer=reader.required(data, "customer", "", reader.string, ""),
        entry=reader.field(data, "entry", "", reader.choice(ENTRIES), "other"),
        category=reader.field(data, "category", "", reader.string, None),
        tags=reader.field(data, "tags", "", reader.strings, ()),
        private_contact=reader.field(data, "private_contact", "", reader.boolean, False),
        to_main=reader.field(data, "to_main", "", reader.boolean, False),
        internal=reader.field(data, "internal", "", reader.boolean, False),
        follow_ups=_follow_ups(reader, data.get("follow_ups", [])),
        last_agent=_last_agent(reader, data.get("last_agent")),
    )
    return arrival if len(issues) == before else None


def _follow_ups(reader: _LineReader, value: Any) -> tuple[float, ...]:
    if (isinstance(value, list) and len(value) <= MAX_FOLLOW_UPS
            and all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= MAX_FOLLOW_UP_SECONDS
                    for v in value)):
        return tuple(float(v) for v in value)
    reader.fail("follow_ups", f"must be a list of at most {MAX_FOLLOW_UPS} numbers of seconds, "
                              f"each from 0 to {MAX_FOLLOW_UP_SECONDS}")
    return ()


def _last_agent(reader: _LineReader, value: Any) -> tuple[str, datetime] | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) != {"id", "at"}:
        reader.fail("last_agent", "must be an object with exactly `id` and `at`")
        return None
    agent = value["id"]
    if not isinstance(agent, str) or not 0 < len(agent) <= 256:
        reader.fail("last_agent.id", "must be a string of 1 to 256 characters")
        return None
    return agent, reader.timestamp(value["at"], "last_agent.at")


def parse_trace(items: Iterable[tuple[int, Any]], file: str) -> list[Arrival]:
    """(line number, decoded JSON) pairs → arrivals sorted by time (stable); raises with every problem found."""
    issues: list[Issue] = []
    arrivals: list[Arrival] = []
    seen: dict[str, int] = {}
    for line, data in items:
        arrival = read_line(data, file, line, issues)
        if arrival is not None:
            if arrival.conversation in seen:
                issues.append(data_issue(file, line, "conversation",
                                         f"`{arrival.conversation}` already used on line {seen[arrival.conversation]}"))
            seen.setdefault(arrival.conversation, line)
            arrivals.append(arrival)
        if len(issues) >= MAX_ISSUES:
            issues.append(data_issue(file, line, "", f"stopped after {MAX_ISSUES} problems"))
            break
    if not issues and not arrivals:
        issues.append(data_issue(file, 0, "", "the trace has no conversations"))
    if issues:
        raise SimulationInputError(issues)
    arrivals.sort(key=lambda arrival: arrival.at)
    return arrivals


def read_trace(path: str | Path) -> list[Arrival]:
    """A JSON Lines trace file → arrivals; blank lines are skipped, errors name file and line."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise SimulationInputError([data_issue(file, 0, "", f"cannot read: {error}")]) from None
    return parse_trace(_decoded(text.splitlines(), file), file)


def trace_from_dicts(items: Any, source: str = "trace") -> list[Arrival]:
    """Trace lines already decoded (an HTTP body's list); `line` in errors is the item's 1-based index."""
    if not isinstance(items, list):
        raise SimulationInputError([data_issue(source, 0, "", "must be a list of trace lines")])
    return parse_trace(enumerate(items, start=1), source)


def _decoded(lines: list[str], file: str) -> Iterable[tuple[int, Any]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            yield number, json.loads(text)
        except ValueError as error:
            raise SimulationInputError([data_issue(file, number, "", f"not valid JSON: {error}")]) from None
