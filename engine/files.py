"""Which files in a rules directory are policies and which are their tests: one definition for all."""
from __future__ import annotations

from collections.abc import Callable, Iterable
import os
from pathlib import Path

POLICY_SUFFIX = ".yaml"
TEST_SUFFIX = ".test.yaml"


def default_rules_dir() -> str:
    """Where commands look when given no path: `FENLIU_RULES_DIR`, else `rules/` here."""
    return os.environ.get("FENLIU_RULES_DIR") or "rules"


def is_policy_file(name: str) -> bool:
    """A policy file: `NAME.yaml`, not a test file and not hidden (editors' swap and temp files)."""
    return name.endswith(POLICY_SUFFIX) and not name.endswith(TEST_SUFFIX) and not name.startswith(".")


def is_test_file(name: str) -> bool:
    return name.endswith(TEST_SUFFIX) and not name.startswith(".")


def policy_name(path: Path) -> str:
    """The policy a file serves: its name without `.yaml`."""
    return path.name[: -len(POLICY_SUFFIX)]


def _named_or_found(paths: Iterable[str | Path], wanted: Callable[[str], bool]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(entry for entry in path.iterdir() if wanted(entry.name)))
        else:
            found.append(path)
    return found


def policy_files(paths: Iterable[str | Path]) -> list[Path]:
    """Policy files named directly, or found in directories (not their subdirectories)."""
    return _named_or_found(paths, is_policy_file)


def test_files(paths: Iterable[str | Path]) -> list[Path]:
    """Test files named directly, or every `*.test.yaml` in directories (not their subdirectories)."""
    return _named_or_found(paths, is_test_file)


def copy_examples(destination: Path) -> list[Path]:
    """Copy the shipped policies and their test files (package `fenliu.rules`) into `destination`."""
    from importlib.resources import files

    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for source in sorted(files("fenliu.rules").iterdir(), key=lambda entry: entry.name):
        if is_policy_file(source.name) or is_test_file(source.name):
            target = destination / source.name
            target.write_bytes(source.read_bytes())
            copied.append(target)
    return copied
