"""Errors a simulation's caller can cause: bad input files, or a run past the limits it was given."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import FenliuError


@dataclass(frozen=True, order=True)
class InputIssue:
    """One problem in a trace or roster: the file, the line (0 when unknown) and the field's path."""

    file: str
    line: int
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"

    def as_dict(self) -> dict:
        return asdict(self)


class SimulationInputError(FenliuError):
    """A trace or roster that does not follow its schema; `.issues` lists every problem found (up to a cap)."""

    def __init__(self, issues: list[InputIssue]) -> None:
        self.issues = sorted(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))

    @property
    def errors(self) -> list[dict]:
        return [issue.as_dict() for issue in self.issues]


class SimulationLimitError(FenliuError):
    """The run would exceed a bound set in SimulationOptions (size or wall-clock time)."""


class SimulationTimeout(SimulationLimitError):
    """The run outlasted `time_limit_seconds`."""


def issue_path(issue: dict) -> str:
    """Where an input issue is, as one dotted path: `trace.12.at`, `roster.agents.0.id`."""
    return ".".join(part for part in (issue["file"], str(issue["line"]) if issue["line"] else "", issue["path"]) if part)
