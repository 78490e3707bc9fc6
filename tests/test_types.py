"""mypy over the package as it is installed: strict on the engine (`pyproject.toml` lists each module
not strict yet), the default checks on the service and the command line."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The repository keeps a folder per concern and setuptools' package-dir maps them onto `fenliu.*`;
# mypy cannot follow that mapping, so it reads a tree laid out as the installed package.
PACKAGES = {"engine": "engine", "api": "api", "schemas": "schemas", "rules": "rules"}


def _package_tree(into: Path) -> Path:
    package = into / "fenliu"
    package.mkdir()
    for module in (ROOT / "fenliu").glob("*.py"):
        (package / module.name).symlink_to(module)
    for name, folder in PACKAGES.items():
        (package / name).symlink_to(ROOT / folder, target_is_directory=True)
    return into


def _mypy(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                           "--no-incremental", "--follow-imports=silent", *args],
                          cwd=tree, capture_output=True, text=True, check=False)


def test_the_engine_type_checks_strictly(tmp_path):
    result = _mypy(_package_tree(tmp_path), "--strict", "-p", "fenliu.engine")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_service_and_the_commands_type_check(tmp_path):
    result = _mypy(_package_tree(tmp_path), "-p", "fenliu.api", "-m", "fenliu.cli")
    assert result.returncode == 0, result.stdout + result.stderr
