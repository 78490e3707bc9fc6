"""Policy test cases kept next to policies (`rules/<name>.test.yaml`): loading, running, rule
coverage, and the tools built on them (`fenliu test`, `fenliu fmt`, `fenliu diff`, the pytest plugin)."""
from .cases import Case, Suite, load_suite
from .runner import CaseResult, Policies, run_files

__all__ = ["Case", "CaseResult", "Policies", "Suite", "load_suite", "run_files"]
