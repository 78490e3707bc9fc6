"""Every error a user can cause, carrying where it happened and a message written for that user."""
from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True, order=True)
class PolicyIssue:
    """One problem in a policy file, pointing at the line and column an editor can jump to."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class RequestIssue:
    """One bad field of an evaluate request, named by its path (`agents[0].status`)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(request)'}: {self.message}"

    def as_dict(self) -> dict:
        return asdict(self)


class FenliuError(Exception):
    """Base of every error Fenliu raises on purpose."""


class PolicyError(FenliuError):
    """A policy file that cannot be loaded; `.errors` lists every problem found, not just the first."""

    def __init__(self, issues: list[PolicyIssue], warnings: list[PolicyIssue] | None = None) -> None:
        self.issues = sorted(issues)
        self.warnings = sorted(warnings or [])
        super().__init__("\n".join(str(issue) for issue in self.issues))

    @property
    def errors(self) -> list[dict]:
        return [issue.as_dict() for issue in self.issues]


class RequestError(FenliuError):
    """An evaluate request that does not follow the contract; `.errors` names each bad field."""

    def __init__(self, issues: list[RequestIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(str(issue) for issue in issues))

    @property
    def errors(self) -> list[dict]:
        return [issue.as_dict() for issue in self.issues]


class EvaluationError(FenliuError):
    """The engine failed while deciding: a fault of Fenliu or its rule engine, never of the request."""
