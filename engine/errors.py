"""Every error a user can cause, carrying where it happened, a message written for that user and,
when there is one, the fix on its own (a did-you-mean) for an editor or a client to offer."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypedDict


@dataclass(frozen=True, order=True)
class Location:
    """Where an issue is: a position in a file (`file`, `line`, `column`, counted from 1), a field of
    a request (`path`: `agents[0].status`), or a field of a line of a data file (`file`, `line`, `path`).
    A 0 or an empty string is unknown or not applicable."""

    file: str = ""
    line: int = 0
    column: int = 0
    path: str = ""

    @property
    def in_text(self) -> bool:
        """A position an editor can jump to (a policy or test file), rather than a field's path."""
        return bool(self.file and self.column)

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "") + (f":{self.column}" if self.column else "")
        return ": ".join(part for part in (where, self.path) if part) or "(request)"

    def as_dict(self) -> dict[str, str | int]:
        """The fields that apply: file, line and column of a position; path of a field (with the file
        and line of a data file)."""
        fields: dict[str, str | int] = {}
        if self.file:
            fields.update(file=self.file, line=self.line)
        if self.in_text:
            fields["column"] = self.column
        else:
            fields["path"] = self.path
        return fields


@dataclass(frozen=True, order=True)
class Issue:
    """One problem: where, what (the whole sentence, did-you-mean included), and the fix on its own."""

    location: Location
    message: str
    suggestion: str | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def as_dict(self) -> dict[str, str | int | None]:
        return {**self.location.as_dict(), "message": self.message, "suggestion": self.suggestion}


def file_issue(file: str, line: int, column: int, message: str, suggestion: str | None = None) -> Issue:
    """An issue at a position in a policy or test file."""
    return Issue(Location(file, line, column), message, suggestion)


def field_issue(path: str, message: str, suggestion: str | None = None) -> Issue:
    """An issue with a field of a request (`agents[0].status`; empty: the request as a whole)."""
    return Issue(Location(path=path), message, suggestion)


def data_issue(file: str, line: int, path: str, message: str, suggestion: str | None = None) -> Issue:
    """An issue with a field of a line of a data file (a trace, a roster; line 0 when unknown)."""
    return Issue(Location(file, line, 0, path), message, suggestion)


class Detail(TypedDict, total=False):
    """One entry of an HTTP error's `details` (and of a simulation job's error)."""

    path: str
    message: str
    suggestion: str | None
    file: str
    line: int
    column: int


def details(issues: Iterable[Issue]) -> list[Detail]:
    """Issues as the `details` of an error answer, the only place that shape is made: `path` says
    where in one string (`agents[0].status`, `rules/x.yaml:3:5`, `trace.12.at`), `suggestion` is the
    fix or null, and a position in a file keeps its `file`, `line` and `column`."""
    return [_detail(issue) for issue in issues]


def _detail(issue: Issue) -> Detail:
    where = issue.location
    detail = Detail(message=issue.message, suggestion=issue.suggestion)
    if where.in_text:
        detail["path"] = str(where)
        detail["file"], detail["line"], detail["column"] = where.file, where.line, where.column
    else:
        detail["path"] = ".".join(part for part in (where.file, str(where.line) if where.line else "", where.path) if part)
    return detail


class FenliuError(Exception):
    """Base of every error Fenliu raises on purpose: `except FenliuError` catches each of them."""


class IssuesError(FenliuError):
    """An error made of issues, every one found rather than only the first; `.errors` as plain dicts."""

    def __init__(self, issues: Iterable[Issue], separator: str = "\n") -> None:
        self.issues = list(issues)
        super().__init__(separator.join(str(issue) for issue in self.issues))

    @property
    def errors(self) -> list[dict[str, str | int | None]]:
        return [issue.as_dict() for issue in self.issues]


class PolicyError(IssuesError):
    """A policy file that cannot be loaded; `.issues` lists every problem found, `.warnings` the rest."""

    def __init__(self, issues: list[Issue], warnings: list[Issue] | None = None) -> None:
        super().__init__(sorted(issues))
        self.warnings = sorted(warnings or [])


class RequestError(IssuesError):
    """An evaluate request that does not follow the contract; `.errors` names each bad field."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(issues, "; ")


class MalformedBody(RequestError):
    """A request body that is not JSON at all; the one issue says where and why."""


class EngineError(FenliuError):
    """The rule engine refused a ruleset or a fact, or failed while deciding: a fault of Fenliu or of
    durable_rules, never of the request."""
