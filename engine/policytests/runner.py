"""Run test cases against their policies and describe what failed, with the decision's trace."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ..errors import FenliuError, PolicyError, RequestError
from ..policy import Envelope, Policy, load_policy
from .cases import Case, Suite, load_suite
from .expect import mismatches


class Policies:
    """Each policy file loaded and compiled once per run, however many suites name it; closed at the end."""

    def __init__(self) -> None:
        self._loaded: dict[Path, Policy] = {}

    def get(self, path: Path) -> Policy:
        key = path.resolve()
        if key not in self._loaded:
            self._loaded[key] = load_policy(path)
        return self._loaded[key]

    def items(self) -> Iterable[tuple[Path, Policy]]:
        return self._loaded.items()

    def close(self) -> None:
        for policy in self._loaded.values():
            policy.close()
        self._loaded.clear()

    def __enter__(self) -> "Policies":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass(frozen=True)
class CaseResult:
    case: Case
    policy: Path
    envelope: Envelope | None
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems

    @property
    def rule(self) -> str | None:
        return self.envelope["decision"]["rule"] if self.envelope else None


def evaluate(policy: Policy, case: Case) -> Envelope:
    """The case's envelope with trace; raises RequestError with each issue placed in the test file."""
    try:
        # evaluate() must not see the case's own dicts: a case runs under several policies in `fenliu diff`.
        return policy.evaluate(copy.deepcopy(case.request), explain=True)
    except RequestError as error:
        placed = (case.issue(issue.location.path, issue.message) for issue in error.issues)
        raise CaseError([f"request rejected: {issue.message} (line {issue.location.line}, column {issue.location.column})"
                         for issue in placed]) from None
    except FenliuError as error:
        raise CaseError([f"the engine failed: {error}"]) from None


class CaseError(FenliuError):
    """A case that could not be decided: its request was rejected, or the engine failed on it."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def run_case(policy: Policy, policy_path: Path, case: Case) -> CaseResult:
    if case.problems:
        return CaseResult(case, policy_path, None, case.problems)
    try:
        envelope = evaluate(policy, case)
    except CaseError as error:
        return CaseResult(case, policy_path, None, tuple(error.problems))
    return CaseResult(case, policy_path, envelope, tuple(str(m) for m in mismatches(case.expect, envelope)))


def failure_report(outcome: CaseResult) -> str:
    """One line with where, what and expected-versus-actual; then the trace of the decision."""
    case = outcome.case
    lines = [f"{case.location}: FAILED {case.name}: {'; '.join(outcome.problems)}"]
    if outcome.envelope is not None:
        decision = outcome.envelope["decision"]
        lines.append(f"    decision: {decision['action']} by rule {decision['rule']} ({decision.get('reason')})")
        lines.append("    trace:")
        lines.extend(f"      {step['rule']} (priority {step['priority']}): {step['outcome']}"
                     for step in outcome.envelope.get("trace", []))
    return "\n".join(lines)


@dataclass
class Report:
    outcomes: list[CaseResult] = field(default_factory=list)
    broken: dict[Path, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> int:
        return sum(outcome.passed for outcome in self.outcomes)

    @property
    def failed(self) -> int:
        """Failing cases, and each file that could not be run at all."""
        return len(self.outcomes) - self.passed + len(self.broken)

    @property
    def summary(self) -> str:
        return f"{self.passed} passed, {self.failed} failed"


def load_for_run(file: Path, policies: Policies) -> tuple[Suite, Policy]:
    """The suite of a test file and its compiled policy; PolicyError when either cannot be loaded."""
    suite = load_suite(file)
    try:
        return suite, policies.get(suite.policy)
    except PolicyError as error:
        where = suite.source.issue(("policy",), f"policy `{suite.policy}` cannot be loaded")
        raise PolicyError([where, *error.issues]) from None


def run_files(files: Iterable[Path], policies: Policies) -> Report:
    report = Report()
    for file in files:
        try:
            suite, policy = load_for_run(file, policies)
        except PolicyError as error:
            report.broken[file] = [str(issue) for issue in error.issues]
            continue
        report.outcomes.extend(run_case(policy, suite.policy, case) for case in suite.cases)
    return report
