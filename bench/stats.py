"""Medians with their spread, over repeated runs: the only way figures are reported here."""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass
from typing import Iterable


@dataclass(frozen=True)
class Spread:
    """A median over repeated runs, with its interquartile range and extremes."""

    median: float
    q1: float
    q3: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Iterable[float]) -> "Spread":
        ordered = sorted(values)
        if len(ordered) == 1:
            only = ordered[0]
            return cls(only, only, only, only, only, 1)
        q1, _, q3 = statistics.quantiles(ordered, n=4, method="inclusive")
        return cls(statistics.median(ordered), q1, q3, ordered[0], ordered[-1], len(ordered))

    def show(self, digits: int = 1) -> str:
        """`median [q1–q3]`: the form every table cell uses."""
        return f"{self.median:.{digits}f} [{self.q1:.{digits}f}–{self.q3:.{digits}f}]"

    def show_range(self, digits: int = 2) -> str:
        """`median (min–max)`: for ratios, where the extremes say more than quartiles."""
        return f"{self.median:.{digits}f} ({self.low:.{digits}f}–{self.high:.{digits}f})"

    def as_dict(self) -> dict:
        return asdict(self)
