"""Errors a simulation's caller can cause: bad input files, or a run past the limits it was given."""
from __future__ import annotations

from ..errors import FenliuError, Issue, IssuesError


class SimulationInputError(IssuesError):
    """A trace or roster that does not follow its schema; `.issues` lists every problem found (up to a cap)."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(sorted(issues))


class SimulationLimitError(FenliuError):
    """The run would exceed a bound set in SimulationOptions (size or wall-clock time)."""


class SimulationTimeout(SimulationLimitError):
    """The run outlasted `time_limit_seconds`."""
