"""Test files (`*.test.yaml`) → checked, expanded cases, or a PolicyError naming every problem at file:line:column."""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import Issue, PolicyError, file_issue
from ..schema_errors import schema_issues
from ..yaml_source import Findings, NodePath, YamlDocument, parse_yaml
from .shorthand import expand, parse_clock
from .variables import fill

SCHEMA = "policy-test.schema.json"
_INDEX = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


@dataclass(frozen=True, eq=False)
class Case:
    """One request and the part of its envelope it must produce."""

    name: str
    file: str
    line: int
    request: dict[str, Any]
    expect: dict[str, Any]
    source: YamlDocument
    at: NodePath
    agent_keys: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # its request could not be written out: the case fails, the others still run

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def issue(self, request_path: str, message: str) -> Issue:
        """A problem with a field of the expanded request, placed where that field was written."""
        steps = tuple(name if name else int(index) for name, index in _INDEX.findall(request_path))
        return self.source.issue(self.at + ("request",) + written(steps, self.agent_keys),
                                 f"{request_path or '(request)'}: {message}")


def written(steps: NodePath, agent_keys: tuple[str, ...]) -> NodePath:
    """Where a field of the expanded request was written: `agents[1]` of a mapping of agents is its second key."""
    if len(steps) >= 2 and steps[0] == "agents" and isinstance(steps[1], int) and steps[1] < len(agent_keys):
        return ("agents", agent_keys[steps[1]]) + steps[2:]
    return steps


@dataclass(frozen=True)
class Suite:
    file: Path
    policy: Path
    cases: tuple[Case, ...]
    source: YamlDocument


def load_suite(path: Path) -> Suite:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PolicyError([file_issue(str(path), 1, 1, f"cannot read: {error.strerror or error}")]) from None
    document = parse_yaml(data, str(path))
    if not isinstance(document.data, dict):
        raise PolicyError([document.issue((), "a test file must be a mapping with `policy` and `cases`")])
    issues = schema_issues(document, SCHEMA)
    if issues:
        raise PolicyError(issues)
    reader = Findings(document)
    clock = _clock(reader)
    cases = [case for index, raw in enumerate(document.data["cases"])
             for case in _expand_case(reader, raw, ("cases", index), clock)]
    _check_names(reader, cases)
    if reader.issues:
        raise PolicyError(reader.issues)
    return Suite(path, path.parent / document.data["policy"], tuple(cases), document)


def _clock(reader: Findings) -> datetime | None:
    text = reader.document.data.get("clock")
    if text is None:
        return None
    clock = parse_clock(str(text))
    if clock is None:
        reader.error(("clock",), f"`{text}` is not a date-time with a time zone, such as 2026-11-23T10:00:00Z")
    return clock


def _expand_case(reader: Findings, raw: dict[str, Any], at: NodePath, clock: datetime | None) -> list[Case]:
    rows = raw.get("rows")
    table = rows if rows is not None else [{}]
    cases, used = [], set()
    for number, row in enumerate(table):
        name, request, expect = (fill(raw[part], row, at + (part,)) for part in ("name", "request", "expect"))
        for filled in (name, request, expect):
            used |= filled.used
            for where, variable in filled.missing:
                reader.error(where, _missing(variable, rows is not None, at + ("rows", number)))
        expanded = expand(request.value, clock)
        problems = tuple(str(reader.document.issue(at + ("request",) + written(where, expanded.agent_keys), message))
                         for where, message in expanded.errors)
        line = reader.document.position(at + ("rows", number) if rows is not None else at)[0]
        cases.append(Case(name=name.value, file=reader.document.file, line=line, request=expanded.request,
                          expect=expect.value, source=reader.document, at=at, agent_keys=expanded.agent_keys,
                          problems=problems))
    if not raw["expect"]:
        reader.error(at + ("expect",), "`expect` is empty: name at least one part of the answer, e.g. decision.action")
    for number, row in enumerate(rows or []):
        for variable in row:
            if variable not in used:
                reader.error(at + ("rows", number, variable), f"`{variable}` is used by no `${variable}` of the case",
                             key=True)
    if rows is not None and len({case.name for case in cases}) < len(cases):
        cases = [replace(case, name=f"{case.name} (row {number + 1})") for number, case in enumerate(cases)]
    return cases


def _missing(variable: str, has_rows: bool, row: NodePath) -> str:
    if not has_rows:
        return f"`${variable}` is a variable but the case has no `rows` (write `$$` for a literal $)"
    return f"`${variable}` is not set by row {int(row[-1]) + 1}"


def _check_names(reader: Findings, cases: list[Case]) -> None:
    first: dict[str, Case] = {}
    for case in cases:
        if case.name in first:
            reader.issues.append(file_issue(case.file, case.line, 1, f"duplicate case name `{case.name}` "
                                                                       f"(first on line {first[case.name].line})"))
        first.setdefault(case.name, case)
