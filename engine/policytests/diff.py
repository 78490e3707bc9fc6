"""The behavioural effect of a policy edit: the cases whose decision differs between two versions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable

from ..policy import Policy
from .cases import Case
from .expect import show
from .runner import CaseError, evaluate


@dataclass(frozen=True)
class Change:
    case: Case
    before: dict[str, Any]
    after: dict[str, Any]

    def describe(self) -> str:
        lines = [f"{self.case.location}: {self.case.name}"]
        for key in [*self.before, *(key for key in self.after if key not in self.before)]:
            old, new = self.before.get(key), self.after.get(key)
            if old != new:
                lines.append(f"    {key}: {show(old)} → {show(new)}")
        return "\n".join(lines)


def outcome(policy: Policy, case: Case) -> dict[str, Any]:
    """What a decision does, for comparing: every decision field but the prose reason, and the warning codes."""
    try:
        envelope = evaluate(policy, case)
    except CaseError as error:
        return {"error": "; ".join(error.problems)}
    decision = {key: value for key, value in envelope["decision"].items() if key != "reason"}
    decision["warnings"] = [warning.get("code") for warning in envelope["warnings"]]
    return decision


def changes(old: Policy, new: Policy, cases: Iterable[Case]) -> list[Change]:
    found = []
    for case in cases:
        before, after = outcome(old, case), outcome(new, case)
        if before != after:
            found.append(Change(case, before, after))
    return found
