"""The running service fuzzed from its own OpenAPI document (schemathesis): no 5xx, every answer
in the documented status codes, content type and JSON shape, and the server still up after."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from server_process import RunningServer, copy_of_shipped_rules

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES = int(os.environ.get("FENLIU_FUZZ_EXAMPLES", "25"))


def fuzz_command(base_url: str, examples: int) -> list[str]:
    return [str(SCHEMATHESIS), "run", f"{base_url}/openapi.json", "--max-examples", str(examples),
            "--checks", CHECKS, "--phases", "examples,coverage,fuzzing", "--workers", "2",
            "--seed", "20261123", "--suppress-health-check", "all"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = RunningServer(copy_of_shipped_rules(tmp_path_factory.mktemp("fuzz")), tmp_path_factory.mktemp("log") / "server.log")
    yield running
    running.stop()


def test_fuzzing_every_endpoint_finds_no_server_error_and_no_undocumented_answer(server, tmp_path):
    result = subprocess.run(fuzz_command(server.base, EXAMPLES), capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-6000:]
    print(result.stdout[-1200:])
    assert requests.get(server.url("/healthz"), timeout=5).status_code == 200
    assert "Traceback" not in server.log()
