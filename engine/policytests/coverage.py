"""Rule coverage: which enabled rules of a policy some case saw decide (was the decision's `rule`).

Disabled rules are left out of the count: they cannot fire, and a suite should not have to
switch them on to reach 100%.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ..model import Rule
from ..policy import Policy
from .runner import CaseResult


@dataclass(frozen=True)
class Coverage:
    policy: Path
    rules: tuple[Rule, ...]
    fired: frozenset[str]
    disabled: int

    @property
    def missed(self) -> tuple[Rule, ...]:
        return tuple(rule for rule in self.rules if rule.id not in self.fired)

    @property
    def percent(self) -> float:
        return 100.0 if not self.rules else 100.0 * (len(self.rules) - len(self.missed)) / len(self.rules)

    def describe(self) -> str:
        covered = len(self.rules) - len(self.missed)
        line = f"{self.policy}: {covered}/{len(self.rules)} rules fired ({self.percent:.1f}%)"
        if self.disabled:
            line += f", {self.disabled} disabled not counted"
        for rule in self.missed:
            line += f"\n    never fired: {rule.id} ({rule.event}, line {rule.where.line})"
        return line


def rule_coverage(outcomes: Iterable[CaseResult], policies: Iterable[tuple[Path, Policy]]) -> list[Coverage]:
    fired: dict[Path, set[str]] = {}
    for outcome in outcomes:
        if outcome.rule is not None:
            fired.setdefault(outcome.policy.resolve(), set()).add(outcome.rule)
    result = []
    for path, policy in policies:
        rules = policy.document.rules
        result.append(Coverage(_shown(path), tuple(rule for rule in rules if rule.enabled),
                               frozenset(fired.get(path.resolve(), ())), sum(not rule.enabled for rule in rules)))
    return result


def _shown(path: Path) -> Path:
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path
