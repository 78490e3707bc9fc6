"""pytest collects `*.test.yaml` files: one test item per case, failing with the same report as `fenliu test`.

Registered as the `fenliu` pytest11 entry point, so any project with Fenliu installed runs its
policy tests alongside its other tests.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import pytest

if TYPE_CHECKING:
    from _pytest._code.code import TerminalRepr, TracebackStyle

from ..errors import PolicyError
from .cases import Case, load_suite
from ..files import is_test_file
from .runner import CaseResult, Policies, failure_report, run_case

_POLICIES = pytest.StashKey[Policies]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_POLICIES] = Policies()


def pytest_unconfigure(config: pytest.Config) -> None:
    config.stash[_POLICIES].close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_test_file(file_path.name):
        return PolicyTestFile.from_parent(parent, path=file_path)
    return None


class CaseFailed(Exception):
    def __init__(self, outcome: CaseResult) -> None:
        super().__init__(outcome.problems)
        self.outcome = outcome


class PolicyTestFile(pytest.File):
    def collect(self) -> Iterator["PolicyCase"]:
        suite = load_suite(self.path)
        for case in suite.cases:
            yield PolicyCase.from_parent(self, name=case.name, case=case, policy_path=suite.policy)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, PolicyError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)


class PolicyCase(pytest.Item):
    def __init__(self, *, case: Case, policy_path: Path, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.policy_path = policy_path

    def runtest(self) -> None:
        policy = self.config.stash[_POLICIES].get(self.policy_path)
        outcome = run_case(policy, self.policy_path, self.case)
        if not outcome.passed:
            raise CaseFailed(outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: TracebackStyle | None = None) -> str | TerminalRepr:
        if isinstance(excinfo.value, CaseFailed):
            return failure_report(excinfo.value.outcome)
        if isinstance(excinfo.value, PolicyError):
            return f"policy {self.policy_path} cannot be loaded:\n{excinfo.value}"
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"policy case: {self.case.name}"
