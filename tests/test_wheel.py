"""The built wheel works on its own: installed into a fresh virtualenv and run from a directory
outside the checkout, every command finds its schemas and examples as package data."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import requests

from server_process import free_port

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"


def _run(command: list[str | Path], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "FENLIU_RULES_DIR")}
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600, **kwargs)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    built = _run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", dist, ROOT], cwd=dist)
    assert built.returncode == 0, built.stderr
    return next(dist.glob("fenliu-*.whl"))


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> tuple[Path, Path]:
    """(the fresh virtualenv's bin directory, a working directory outside the checkout)."""
    base = tmp_path_factory.mktemp("wheel")
    venv = base / "venv"
    assert _run([sys.executable, "-m", "venv", venv], cwd=base).returncode == 0
    bin_dir = venv / "bin"
    for args in (["--require-hashes", "--no-deps", "-r", LOCK], ["--no-deps", wheel]):
        result = _run([bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
                      cwd=base)
        assert result.returncode == 0, result.stderr
    work = base / "elsewhere"
    work.mkdir()
    return bin_dir, work


def test_the_wheel_holds_one_namespace_and_its_data(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith((".dist-info", ".data"))}
    assert top_level == {"fenliu"}
    assert "fenliu/schemas/policy.schema.json" in names
    assert "fenliu/rules/kuaishou.yaml" in names and "fenliu/rules/kuaishou.test.yaml" in names


def test_every_command_works_from_the_installed_wheel(installed):
    bin_dir, work = installed
    fenliu = bin_dir / "fenliu"
    version = _run([fenliu, "--version"], cwd=work)
    assert version.returncode == 0 and "fenliu" in version.stdout
    assert _run([bin_dir / "python", "-m", "fenliu", "--version"], cwd=work).stdout == version.stdout

    assert _run([fenliu, "examples", "rules"], cwd=work).returncode == 0
    checked = _run([fenliu, "check", "rules"], cwd=work)
    assert checked.returncode == 0, checked.stderr
    assert checked.stdout.count(": ok") == 4

    shutil.copy(ROOT / "docs" / "examples" / "route.json", work)
    evaluated = _run([fenliu, "eval", "rules/kuaishou.yaml", "route.json"], cwd=work)
    assert evaluated.returncode == 0, evaluated.stderr
    assert json.loads(evaluated.stdout)["decision"]["action"]

    tested = _run([fenliu, "test", "rules"], cwd=work)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    assert " 0 failed" in tested.stdout

    for name in ("trace.jsonl", "roster.json"):
        shutil.copy(ROOT / "docs" / "examples" / "simulation" / name, work)
    simulated = _run([fenliu, "simulate", "trace.jsonl", "roster.json", "rules/kuaishou.yaml",
                      "--json", "result.json"], cwd=work)
    assert simulated.returncode == 0, simulated.stderr
    assert json.loads((work / "result.json").read_text(encoding="utf-8"))


def test_the_installed_service_becomes_ready(installed):
    bin_dir, work = installed
    rules = work / "served"
    assert _run([bin_dir / "fenliu", "examples", rules], cwd=work).returncode == 0
    port = free_port()
    log = open(work / "serve.log", "wb")
    server = subprocess.Popen([bin_dir / "fenliu", "serve", "--rules", rules, "--port", str(port), "--workers", "1"],
                              cwd=work, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail("the installed service did not become ready:\n"
                        + (work / "serve.log").read_text(encoding="utf-8", errors="replace"))
        policies = requests.get(f"http://127.0.0.1:{port}/v1/policies", timeout=5).json()
        assert {"kuaishou", "taobao", "douyin"} <= {entry["name"] for entry in policies["policies"]}
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
