"""Messages that say what is wrong and show the fix: each is the one an operator needs at that point."""
from __future__ import annotations

import shutil
import socket
import textwrap

import pytest
from click.testing import CliRunner

from conftest import ROOT
from fenliu.api.app import create_app
from fenliu.api.settings import Settings
from fenliu.cli import main
from fenliu.engine.errors import PolicyError, RequestError, data_issue, details, field_issue, file_issue
from fenliu.engine.loader import parse_policy
from fenliu.engine.policy import load_policy


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def messages(text: str) -> list[str]:
    with pytest.raises(PolicyError) as raised:
        parse_policy(textwrap.dedent(text), "p.yaml")
    return [issue.message for issue in raised.value.issues]


def test_an_action_written_without_its_options_shows_them():
    assert messages("name: p\nplatform: custom\nrules:\n  - {id: a, then: assign}\n") == [
        "`assign` needs its options: write `assign: {among: shop}`"]


def test_if_is_taken_for_when():
    assert messages("name: p\nplatform: custom\nrules:\n  - {id: a, if: {fact: shop.online, gt: 0}, then: none}\n") == [
        "unknown key `if`; did you mean `when`?"]


@pytest.mark.parametrize("written, meant", [("lte", "le"), ("gte", "ge"), ("neq", "ne"), ("nin", "not_in"),
                                             ("greaterThanInclusive", "ge"), ("lessThan", "lt")])
def test_another_rule_language_s_operator_is_taken_for_fenliu_s(written, meant):
    """`lte` is as near to `lt` as to `le` by spelling: the meaning decides."""
    text = f"name: p\nplatform: custom\nrules:\n  - {{id: a, when: {{fact: queue.length, {written}: 3}}, then: none}}\n"
    assert messages(text) == [f"unknown key `{written}`; did you mean `{meant}`?"]


def test_a_mistyped_fact_of_another_event_names_that_event():
    text = "name: p\nplatform: custom\nrules:\n  - {id: a, when: {fact: queue.lenght, le: 3}, then: none}\n"
    assert messages(text) == ["unknown fact `queue.lenght` for `route` events; `queue.length` is a fact of "
                              "`dequeue` events (docs/facts.md)"]


def test_a_mistyped_status_in_a_request_is_named_with_its_fix():
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    try:
        with pytest.raises(RequestError) as raised:
            policy.evaluate({"event": "route", "now": "2026-12-04T10:00:00Z", "agents": [{"id": "a1", "status": "onlin"}]})
    finally:
        policy.close()
    (issue,) = raised.value.issues
    assert issue.as_dict() == {**issue.location.as_dict(), "suggestion": "did you mean `online`?",
                               "message": "must be one of online, invisible, break, offline, not 'onlin'; did you mean `online`?"}
    assert issue.location.path == "agents[0].status"


def test_a_rule_the_schema_refuses_still_has_its_condition_checked_in_the_same_run():
    text = ("name: p\nplatform: custom\nrules:\n"
            "  - {id: a, when: {fact: shop.onlin, gt: 0}, then: {assign: {amoung: shop}}}\n"
            "  - {id: b, event: dequeue, when: {fact: queue.lenght, gt: 0}}\n")
    assert messages(text) == ["unknown fact `shop.onlin` for `route` events; did you mean `shop.online`?",
                              "unknown key `amoung`; did you mean `among`?",
                              "missing required key `then`",
                              "unknown fact `queue.lenght` for `dequeue` events; did you mean `queue.length`?"]


def test_a_bad_rule_id_says_what_an_id_may_hold_not_a_regular_expression():
    (message,) = messages("name: p\nplatform: custom\nrules:\n  - {id: Bad Id, then: none}\n")
    assert "lower-case letters, digits" in message and "^[" not in message


def test_an_out_of_range_count_states_the_limit():
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    with pytest.raises(RequestError) as raised:
        policy.evaluate({"event": "route", "now": "2026-11-23T10:00:00Z",
                         "agents": [{"id": "a1", "status": "online", "max_sessions": 5, "active": 1e308}]})
    policy.close()
    assert "up to 999999999" in str(raised.value)


def test_a_date_without_a_time_says_it_needs_a_time_too():
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    with pytest.raises(RequestError) as raised:
        policy.evaluate({"event": "route", "now": "2026-11-23", "agents": []})
    policy.close()
    assert "needs a time and a time zone" in str(raised.value)


CASES = """\
policy: {policy}
clock: 2026-11-23T10:00:00+08:00
cases:
  - name: bad word
    request: {{event: route, agents: {{a1: onlien max=20}}}}
    expect: {{decision.action: assign}}
  - name: spelled unit
    request: {{event: route, customer: {{last_agent: {{id: a1, at: -47hours}}}}, agents: {{a1: online max=20}}}}
    expect: {{decision.action: assign}}
  - name: mistyped path
    request: {{event: route, agents: {{a1: online max=20}}}}
    expect: {{decision.agentid: a1}}
  - name: good
    request: {{event: route, agents: {{a1: online max=20}}}}
    expect: {{decision.agent_id: a1}}
"""


def test_test_file_problems_fail_their_own_case_and_say_how_to_write_it(tmp_path):
    suite = tmp_path / "k.test.yaml"
    suite.write_text(CASES.format(policy=ROOT / "rules" / "kuaishou.yaml"), encoding="utf-8")
    result = run("test", str(suite))
    assert result.exit_code == 1
    assert "1 passed, 3 failed" in result.output
    assert "unknown word `onlien`; did you mean `online`?" in result.output
    assert "write `-47h`" in result.output
    assert "did you mean `decision.agent_id`?" in result.output


def test_fmt_check_shows_the_diff(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("platform: custom\nname: p\nrules:\n  - {id: a, then: none}\n", encoding="utf-8")
    result = run("fmt", "--check", str(path))
    assert result.exit_code == 1
    assert "+name: p\n platform: custom\n-name: p\n" in result.output


def test_diff_finds_the_cases_of_the_policy_not_of_the_file_name(tmp_path):
    draft = tmp_path / "draft.yaml"
    shutil.copy(ROOT / "rules" / "taobao.yaml", draft)
    shutil.copy(ROOT / "rules" / "taobao.yaml", tmp_path / "taobao.yaml")
    shutil.copy(ROOT / "rules" / "taobao.test.yaml", tmp_path / "taobao.test.yaml")
    result = run("diff", str(tmp_path / "taobao.yaml"), str(draft))
    assert result.exit_code == 0, result.output
    assert "0 of" in result.output


def test_a_port_in_use_names_the_port_flag(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("serve", "--rules", str(ROOT / "rules"), "--port", str(port))
    assert result.exit_code != 0 and "--port" in result.output and "already in use" in result.output


def test_404_and_405_bodies_are_fenliu_s_own(tmp_path):
    shutil.copy(ROOT / "rules" / "taobao.yaml", tmp_path / "taobao.yaml")
    app = create_app(Settings(rules_dir=tmp_path), watch=False)
    client = app.test_client()
    missing = client.get("/v1/nothing").get_json()["error"]
    assert missing["code"] == "not_found" and "/openapi.json" in missing["message"]
    wrong = client.delete("/v1/reload").get_json()["error"]
    assert wrong["code"] == "method_not_allowed" and "use POST" in wrong["message"]
    app.extensions["fenliu"].registry.close()


def test_every_details_entry_is_made_one_way_whatever_the_issue_is_about():
    assert details([field_issue("agents[0].max_session", "unknown field; did you mean `max_sessions`?",
                                "did you mean `max_sessions`?")]) == [
        {"path": "agents[0].max_session", "message": "unknown field; did you mean `max_sessions`?",
         "suggestion": "did you mean `max_sessions`?"}]
    assert details([file_issue("rules/x.yaml", 3, 5, "unknown group `vip`")]) == [
        {"path": "rules/x.yaml:3:5", "file": "rules/x.yaml", "line": 3, "column": 5,
         "message": "unknown group `vip`", "suggestion": None}]
    assert details([data_issue("trace", 12, "at", "needs a time zone")]) == [
        {"path": "trace.12.at", "message": "needs a time zone", "suggestion": None}]
