"""A shop's opening hours (issue 17): weekly hours and dated exceptions, on the shop's own clock.

`shop.open` is read from them. An exception replaces the whole day it names (a holiday with no
hours is closed; 11.11 may run 00:00–24:00). Intervals are half-open, [start, end), so 09:00–18:00
is open at 17:59 and closed at 18:00.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

Interval = tuple[int, int]  # minutes after local midnight: start inclusive, end exclusive


@dataclass(frozen=True)
class BusinessHours:
    weekly: tuple[tuple[Interval, ...], ...]          # one entry per day, Monday first
    exceptions: dict[date, tuple[Interval, ...]]

    def is_open(self, local: datetime) -> bool:
        """Whether the shop is open at `local`, a moment already on the shop's clock."""
        day = local.date()
        intervals = self.exceptions.get(day)
        if intervals is None:
            intervals = self.weekly[local.weekday()]
        minute = local.hour * 60 + local.minute
        return any(start <= minute < end for start, end in intervals)


def parse_interval(text: str) -> Interval | None:
    """`09:00-18:00` → (540, 1080); None when it is not a forward interval within one day (24:00 ends one)."""
    try:
        start_text, end_text = text.split("-")
        start, end = _minutes(start_text), _minutes(end_text)
    except ValueError:
        return None
    if start is None or end is None or not start < end:
        return None
    return start, end


def _minutes(clock: str) -> int | None:
    hours, minutes = (int(part) for part in clock.strip().split(":"))
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        return None
    return hours * 60 + minutes
