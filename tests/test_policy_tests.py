"""Policy test files: loading and shorthands, `fenliu test` with coverage, the pytest plugin, `fenliu fmt`, `fenliu diff`."""
from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import RULES
from fenliu.engine import load_policy
from fenliu.cli import main
from fenliu.engine.errors import PolicyError
from fenliu.engine.policytests.cases import load_suite
from fenliu.engine.policytests.expect import mismatches
from fenliu.engine.policytests.formatting import format_policy

pytest_plugins = ["pytester"]

KUAISHOU = RULES / "kuaishou.yaml"


def run(*args: str):
    return CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def suite(directory: Path, cases: str, *, policy: Path = KUAISHOU, name: str = "p.test.yaml") -> Path:
    return write(directory, name, f"policy: {policy}\nclock: 2026-11-23T10:00:00+08:00\ncases:\n"
                 + textwrap.indent(textwrap.dedent(cases).strip("\n"), "  ") + "\n")


RETURNING = """
- name: B7 back to a2
  request:
    event: route
    customer: {last_agent: {id: a2, at: -47h}}
    agents:
      a1: online max=20 active=3
      a2: {max: 20, active: 20, suspended: true}
  expect: {decision.action: assign, decision.agent_id: $agent, decision.rule: returning-customer}
  rows:
    - {agent: a2}
"""


# ---- the file format --------------------------------------------------------------------------

def test_shorthands_expand_into_a_request_of_the_contract(tmp_path):
    case = load_suite(suite(tmp_path, RETURNING)).cases[0]
    assert case.request == {
        "event": "route",
        "now": "2026-11-23T10:00:00+08:00",
        "customer": {"last_agent": {"id": "a2", "at": "2026-11-21T11:00:00+08:00"}},
        "agents": [{"id": "a1", "status": "online", "max_sessions": 20, "active": 3},
                   {"id": "a2", "status": "online", "max_sessions": 20, "active": 20, "suspended": True}],
    }
    assert case.expect["decision.agent_id"] == "a2" and case.line == 13  # the row


def test_one_line_agents_and_compound_relative_times(tmp_path):
    case = load_suite(suite(tmp_path, """
        - name: words
          request:
            event: dequeue
            now: +1d
            agents: {boss: break main unlimited suspended groups=aftersale+presale last=-7d1s active=2}
            queue: [{conversation: {id: q}, enqueued_at: -1h30m}]
          expect: {decision.action: assign_many}
    """)).cases[0]
    assert case.request["now"] == "2026-11-24T10:00:00+08:00"
    assert case.request["queue"][0]["enqueued_at"] == "2026-11-23T08:30:00+08:00"
    assert case.request["agents"] == [{"id": "boss", "status": "break", "role": "main", "max_sessions": None,
                                       "suspended": True, "groups": ["aftersale", "presale"], "active": 2,
                                       "last_assigned_at": "2026-11-16T09:59:59+08:00"}]


def test_rows_keep_value_types_and_fill_names(tmp_path):
    cases = load_suite(suite(tmp_path, """
        - name: B2 maximum $max is $action
          request: {event: agent_settings, agent: {id: a1, status: online, max_sessions: $max}}
          expect: {decision.action: $action, warnings: $codes}
          rows:
            - {max: 4, action: accept, codes: [low_capacity]}
            - {max: null, action: accept, codes: []}
    """)).cases
    assert [case.name for case in cases] == ["B2 maximum 4 is accept", "B2 maximum null is accept"]
    assert [case.request["agent"]["max_sessions"] for case in cases] == [4, None]
    assert [case.line for case in cases] == [8, 9]


@pytest.mark.parametrize("cases, error", [
    ("- nam: x\n  request: {event: route}\n  expect: {decision.action: none}",
     "p.test.yaml:4:5: unknown key `nam`; did you mean `name`?"),
    ("- name: x $who\n  request: {event: route}\n  expect: {decision.action: none}",
     "p.test.yaml:4:11: `$who` is a variable but the case has no `rows`"),
    ("- name: x\n  request: {event: route}\n  expect: {decision.action: $a}\n  rows: [{a: none, b: 1}]",
     "p.test.yaml:7:22: `b` is used by no `$b` of the case"),
    ("- name: x\n  request: {event: route, agents: {a1: online maxx=3}}\n  expect: {decision.action: none}",
     "p.test.yaml:5:42: agent `a1`: unknown word `maxx=3`; did you mean `max=`?"),
    ("- name: x\n  request: {event: route}\n  expect: {}",
     "p.test.yaml:6:13: `expect` is empty"),
])
def test_mistakes_are_reported_at_file_line_column(tmp_path, cases, error):
    """A mistake in a request's shorthand fails its own case; any other fails the file."""
    try:
        found = [problem for case in load_suite(suite(tmp_path, cases)).cases for problem in case.problems]
    except PolicyError as caught:
        found = [str(issue) for issue in caught.issues]
    assert any(problem.endswith(error) or error in problem for problem in found), found


def test_relative_times_need_a_clock(tmp_path):
    path = write(tmp_path, "p.test.yaml", f"""
        policy: {KUAISHOU}
        cases:
          - name: x
            request: {{event: close, manual: true, conversation: {{id: c, last_message: {{from: agent, at: -5m}}}}}}
            expect: {{decision.action: close}}
    """)
    (case,) = load_suite(path).cases
    assert re.search(r"p.test.yaml:4:\d+: relative time `-5m` needs a `clock`", case.problems[0])


def test_expectations_match_subsets_lists_and_warning_codes():
    envelope = {"decision": {"action": "assign", "agent_id": "a2", "rule": "r", "count": 1},
                "warnings": [{"code": "low_capacity", "message": "…", "agent_id": "a1"}]}
    assert mismatches({"decision": {"action": "assign"}, "warnings": ["low_capacity"]}, envelope) == []
    assert mismatches({"warnings": [{"code": "low_capacity", "agent_id": "a1"}]}, envelope) == []
    assert [str(m) for m in mismatches({"warnings": []}, envelope)] == ['warnings: expected [], got ["low_capacity"]']
    assert [str(m) for m in mismatches({"decision.count": True, "decision.queue": None}, envelope)] == [
        "decision.count: expected true, got 1", "decision.queue: expected null, got nothing (no such field)"]


# ---- fenliu test and coverage -----------------------------------------------------------------

def test_the_shipped_suites_pass_with_full_rule_coverage():
    result = run("test", RULES, "--coverage", "--fail-under", "100")
    assert result.exit_code == 0, result.output
    for name in ("kuaishou", "taobao", "douyin"):
        assert re.search(rf"rules/{name}\.yaml: (\d+)/\1 rules fired \(100\.0%\)", result.output), result.output
    assert "1 disabled not counted" in result.output  # Kuaishou's offline diversion, switched off
    assert result.output.splitlines()[-1].endswith(" passed, 0 failed")


def test_a_broken_case_fails_with_where_expected_actual_and_trace(tmp_path):
    path = suite(tmp_path, RETURNING.replace("{agent: a2}", "{agent: a1}"))
    result = run("test", path)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0] == f'{path}:13: FAILED B7 back to a2: decision.agent_id: expected "a1", got "a2"'
    assert "      returning-customer (priority 30): decided" in lines
    assert lines[-1] == "0 passed, 1 failed"


def test_a_rejected_request_names_the_field_where_it_was_written(tmp_path):
    path = suite(tmp_path, """
        - name: typo
          request:
            event: route
            agents:
              a1: online
              a2: {status: away}
          expect: {decision.action: assign}
    """)
    result = run("test", path)
    assert result.exit_code == 1
    assert "FAILED typo: request rejected: agents[1].status: must be one of" in result.output
    assert "(line 9, column 22)" in result.output


def test_coverage_lists_rules_no_case_fired_and_fail_under_fails(tmp_path):
    path = suite(tmp_path, RETURNING)
    result = run("test", path, "--coverage")
    assert result.exit_code == 0, result.output
    assert "1/18 rules fired (5.6%), 1 disabled not counted" in result.output
    assert "never fired: basic-shunting (route, line" in result.output
    assert "never fired: offline-diversion" not in result.output
    assert run("test", path, "--fail-under", "5").exit_code == 0
    under = run("test", path, "--fail-under", "100")
    assert under.exit_code == 1 and "rule coverage is below 100%" in under.output
    assert under.output.splitlines()[-1] == "1 passed, 0 failed"


def test_a_file_that_cannot_load_counts_as_failed(tmp_path):
    path = suite(tmp_path, RETURNING, policy=tmp_path / "missing.yaml")
    result = run("test", path)
    assert result.exit_code == 1
    assert f"{path}:1:9: policy `{tmp_path / 'missing.yaml'}` cannot be loaded" in result.output
    assert result.output.splitlines()[-1] == "0 passed, 1 failed"


def test_check_ignores_test_files_in_a_directory(tmp_path):
    write(tmp_path, "kuaishou.yaml", KUAISHOU.read_text(encoding="utf-8"))
    suite(tmp_path, RETURNING, policy=Path("kuaishou.yaml"), name="kuaishou.test.yaml")
    result = run("check", tmp_path)
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok (") == 1


# ---- the pytest plugin ------------------------------------------------------------------------

def test_pytest_collects_one_item_per_case_with_a_readable_failure(pytester, tmp_path):
    suite(pytester.path, RETURNING.replace("- {agent: a2}", "- {agent: a2}\n    - {agent: a1}"))
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(['*p.test.yaml:14: FAILED B7 back to a2 (row 2): decision.agent_id: '
                                 'expected "a1", got "a2"', "*trace:*", "*returning-customer (priority 30): decided"])


# ---- fenliu fmt ---------------------------------------------------------------------------------

MESSY = """
# header
rules:
  # about late
  - then: offline_queue   # stays on its line
    id: late
    priority: 90
  # about early
  - {then: none, id: early, priority: 10, when: {fact: conversation.internal, eq: true}}
  - id: closing
    event: close
    then: keep
platform: custom
name: messy
# the end
"""

TIDY = """
# header
name: messy
platform: custom
rules:
  # about early
  - {id: early, priority: 10, when: {fact: conversation.internal, eq: true}, then: none}
  # about late
  - id: late
    priority: 90
    then: offline_queue   # stays on its line
  - id: closing
    event: close
    then: keep
# the end
"""


def test_fmt_orders_keys_and_rules_and_keeps_comments():
    tidy = textwrap.dedent(TIDY).lstrip("\n")
    assert format_policy(textwrap.dedent(MESSY).lstrip("\n")) == tidy
    assert format_policy(tidy) == tidy


NESTED = """
name: nested
platform: custom
groups:
  # above the first group
  aftersale:
    entries: [after_sales_page]
  # above the second group
  presale: {default: true}
rules:
  - id: skilled
    priority: 40
    then:
      assign:
        among: aftersale
        require: {refund: 5}
        relax:
          - {after_seconds: 120, refund: 3}

  # introduces the rule after a flow item that ends the list before it
  - id: shop
    priority: 50
    then: {assign: {among: shop}}
"""


def test_fmt_keeps_comments_above_a_nested_first_key_and_after_a_flow_item_ending_a_list():
    """Comment lines ruamel parses onto a parent key (above a nested mapping's first key) or onto a
    list's end (after its last, flow-style item) are kept where they were written."""
    text = textwrap.dedent(NESTED).lstrip("\n")
    assert format_policy(text) == text


def test_fmt_check_lists_unformatted_files_and_fmt_fixes_them(tmp_path):
    path = write(tmp_path, "messy.yaml", MESSY)
    check = run("fmt", "--check", tmp_path)
    assert check.exit_code == 1 and f"{path}: not formatted" in check.output
    assert path.read_text(encoding="utf-8") == textwrap.dedent(MESSY).lstrip("\n")
    assert run("fmt", path).exit_code == 0
    assert run("fmt", "--check", path).exit_code == 0
    policy = load_policy(path)
    assert [rule.id for rule in policy.document.rules] == ["early", "late", "closing"]
    policy.close()


def test_the_shipped_policies_are_formatted():
    result = run("fmt", "--check", RULES)
    assert result.exit_code == 0, result.output


def test_fmt_reports_unreadable_yaml_at_its_place(tmp_path):
    path = write(tmp_path, "broken.yaml", "name: x\nrules: [\n")
    result = run("fmt", path)
    assert result.exit_code == 1 and f"{path}:3:1: YAML syntax" in result.output


# ---- fenliu diff --------------------------------------------------------------------------------

def test_diff_lists_the_cases_whose_decision_an_edit_changes(tmp_path):
    edited = write(tmp_path, "kuaishou.yaml", KUAISHOU.read_text(encoding="utf-8").replace(
        "returning_window_hours: 72", "returning_window_hours: 24"))
    cases = RULES / "kuaishou.test.yaml"
    result = run("diff", KUAISHOU, edited, "--cases", cases)
    assert result.exit_code == 0, result.output
    assert 'agent_id: "a2" → "a1"' in result.output
    assert 'rule: "returning-customer" → "basic-shunting"' in result.output
    assert "B7 B4 a buyer served 47h ago goes back to the same agent" in result.output
    assert result.output.splitlines()[-1].startswith("2 of ")
    assert run("diff", KUAISHOU, edited, "--cases", cases, "--exit-code").exit_code == 1
    same = run("diff", KUAISHOU, KUAISHOU, "--exit-code")
    assert same.exit_code == 0 and same.output.startswith("0 of ")


def test_an_engine_fault_fails_the_cases_with_a_message_not_a_traceback(monkeypatch):
    # EngineError is a FenliuError, so the runner's `except FenliuError` turns it into a failed case.
    from fenliu.engine.durable import EngineError, RuleMatcher

    def refuse(self, facts):
        raise EngineError(f"{self.name}: the rule engine failed: injected")

    monkeypatch.setattr(RuleMatcher, "matching", refuse)
    result = run("test", RULES / "kuaishou.test.yaml")
    assert result.exit_code == 1
    assert "the engine failed" in result.output and "injected" in result.output
    assert "Traceback" not in result.output
