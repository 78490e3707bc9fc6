"""Policy test cases kept next to policies (`rules/<name>.test.yaml`): loading, running, rule
coverage, and the tools built on them (`fenliu test`, `fenliu fmt`, `fenliu diff`, the pytest plugin)."""
from .cases import Case, Suite, load_suite
from .runner import Outcome, Policies, find_test_files, run_files

__all__ = ["Case", "Outcome", "Policies", "Suite", "find_test_files", "load_suite", "run_files"]
