"""`fenliu check` and `fenliu eval`: exit codes CI pipelines rely on, and readable output."""
from __future__ import annotations

import json

from click.testing import CliRunner

from conftest import ROOT
from fenliu.cli import main

BROKEN = ROOT / "tests" / "policies" / "broken"


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_check_passes_on_the_shipped_policies():
    result = run("check", str(ROOT / "rules"))
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 4


def test_check_fails_with_file_line_column_on_a_broken_policy():
    result = run("check", str(BROKEN / "semantic_errors.yaml"))
    assert result.exit_code == 1
    assert "semantic_errors.yaml:12:18: unknown fact `customer.hours_since_last_agnet`" in result.output


def test_check_strict_fails_on_warnings(tmp_path):
    path = tmp_path / "ties.yaml"
    path.write_text("name: ties\nplatform: custom\nrules:\n"
                    "  - {id: a, priority: 5, when: {fact: conversation.internal, eq: true}, then: none}\n"
                    "  - {id: b, priority: 5, then: offline_queue}\n", encoding="utf-8")
    assert run("check", str(path)).exit_code == 0
    strict = run("check", "--strict", str(path))
    assert strict.exit_code == 1 and "(warning)" in strict.output


def test_eval_prints_the_envelope_with_trace_for_every_event():
    for example in sorted((ROOT / "docs" / "examples").glob("*.json")):
        name = "douyin" if example.stem == "login" else "kuaishou"  # only Douyin's page describes logins
        result = run("eval", str(ROOT / "rules" / f"{name}.yaml"), str(example), "--explain")
        assert result.exit_code == 0, result.output
        envelope = json.loads(result.output)
        assert envelope["policy"]["name"] == name and envelope["trace"]


def test_eval_reports_bad_requests_with_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"event": "route", "now": "2026-11-23T10:00:00Z", "agents": [{"id": 1}]}))
    result = run("eval", str(ROOT / "rules" / "kuaishou.yaml"), str(bad))
    assert result.exit_code == 2
    assert "agents[0].id: must be a string" in result.output


def test_facts_reference_is_current():
    assert run("facts").output == (ROOT / "docs" / "facts.md").read_text(encoding="utf-8")
