"""Did-you-mean hints for mistyped names: `customer.last_agnet` → `customer.last_agent`."""
from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Hint:
    """The known name closest to a mistyped one, when one is close. In a message it reads as the
    suffix `; did you mean `x`?`; an issue keeps `.suggestion` apart, for an editor or client to offer."""

    name: str | None = None

    @property
    def suggestion(self) -> str | None:
        return f"did you mean `{self.name}`?" if self.name is not None else None

    def __str__(self) -> str:
        return f"; {self.suggestion}" if self.name is not None else ""


def did_you_mean(name: str, known: Iterable[str]) -> Hint:
    """The hint naming the closest known name, or an empty hint when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return Hint(close[0] if close else None)
