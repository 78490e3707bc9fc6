"""Policies that cannot silently go wrong: a rule key every YAML tool reads alike, the platforms'
built-in answers for left-out events, the shop's time zone, `check` saying what the server says,
and unlimited agents that are never full."""
from __future__ import annotations

import textwrap

import jsonschema
import pytest
import yaml
from click.testing import CliRunner

from conftest import ROOT
from fenliu.cli import main
from fenliu.engine.errors import PolicyError
from fenliu.engine.events import EVENTS
from fenliu.engine.loader import parse_policy
from fenliu.engine.policy import Policy, load_policy
from fenliu.engine.policytests.cases import load_suite
from fenliu.engine.policytests.formatting import format_policy
from fenliu.engine.policytests.runner import Policies, run_files
from fenliu.engine.profiles import platform_names, profile
from fenliu.schemas import load_schema

SHIPPED = sorted(path for path in (ROOT / "rules").glob("*.yaml") if not path.name.endswith(".test.yaml"))


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def policy_of(text: str, file: str = "p.yaml") -> Policy:
    document, warnings = parse_policy(textwrap.dedent(text), file)
    return Policy(document, warnings)


# ---- event: reads the same in YAML 1.1 and 1.2 --------------------------------------------------

def test_every_shipped_policy_round_trips_through_pyyaml_and_plain_jsonschema_with_the_same_decisions(tmp_path):
    """PyYAML reads YAML 1.1, where `on` is true: the language's keys must survive safe_load/safe_dump."""
    validator = jsonschema.Draft202012Validator(load_schema("policy.schema.json"))
    for path in SHIPPED:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert list(validator.iter_errors(data)) == [], path
        copy = tmp_path / path.name
        copy.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        suite = ROOT / "rules" / f"{path.stem}.test.yaml"
        with Policies() as policies:
            original, round_tripped = policies.get(path), policies.get(copy)
            for case in load_suite(suite).cases:
                before = original.evaluate(case.request)["decision"]
                after = round_tripped.evaluate(case.request)["decision"]
                assert before == after, (path.name, case.name)


OLD_SPELLING = """\
name: old
platform: custom
rules:
  - id: keep-open
    on: close       # B17
    then: keep
  - {id: anything, then: none}
"""


def test_on_is_still_read_with_a_deprecation_warning_at_its_line_and_strict_check_fails(tmp_path):
    policy = policy_of(OLD_SPELLING)
    assert policy.document.rules[0].event == "close"
    (warning,) = [w for w in policy.warnings if "deprecated" in w.message]
    assert (warning.location.line, warning.location.column) == (5, 5) and "write `event:`" in warning.message
    policy.close()
    path = tmp_path / "old.yaml"
    path.write_text(OLD_SPELLING, encoding="utf-8")
    assert run("check", str(path)).exit_code == 0
    strict = run("check", "--strict", str(path))
    assert strict.exit_code == 1 and "`on:` is deprecated" in strict.output


def test_fmt_rewrites_on_to_event_in_place_keeping_its_comment():
    assert format_policy(OLD_SPELLING) == OLD_SPELLING.replace("    on: close       # B17",
                                                               "    event: close    # B17")


def test_on_and_event_together_is_an_error():
    with pytest.raises(PolicyError, match="write only `event`"):
        parse_policy("name: p\nplatform: custom\nrules:\n  - {id: a, event: close, on: close, then: keep}\n", "p.yaml")


# ---- built-in answers for left-out events --------------------------------------------------------

def test_the_schema_offers_exactly_the_platforms_that_have_a_profile():
    assert sorted(load_schema("policy.schema.json")["properties"]["platform"]["enum"]) == list(platform_names())


@pytest.mark.parametrize("platform", platform_names())
@pytest.mark.parametrize("event", list(EVENTS))
def test_an_event_the_policy_leaves_out_gets_the_platforms_built_in_answer(tmp_path, platform, event):
    """The answers (and their cases) are the profile's: engine/platforms/<platform>.yaml."""
    other = "order" if event != "order" else "close"
    policy_file = tmp_path / "p.yaml"
    policy_file.write_text(f"name: p\nplatform: {platform}\nrules:\n  - {{id: only, event: {other}, "
                           f"then: {EVENTS[other].actions[0]}}}\n", encoding="utf-8")
    answer = profile(platform).answers[event]
    cases = [{**case, "expect": {**case["expect"], "decision.rule": answer.rule_id}} for case in answer.cases]
    assert cases, f"{platform} has no case for its {event} answer"
    suite = tmp_path / "p.test.yaml"
    suite.write_text(yaml.safe_dump({"policy": "p.yaml", "clock": "2026-11-23T10:00:00+08:00",
                                     "cases": [{key: case[key] for key in ("name", "request", "expect")}
                                               for case in cases]}, allow_unicode=True), encoding="utf-8")
    with Policies() as policies:
        report = run_files([suite], policies)
    assert not report.broken and report.failed == 0, [o for o in report.outcomes if not o.passed]


def test_check_warns_for_each_event_without_rules_and_strict_fails(tmp_path):
    path = tmp_path / "routes.yaml"
    path.write_text("name: routes\nplatform: kuaishou\nrules:\n  - {id: shunt, then: {assign: {among: shop}}}\n",
                    encoding="utf-8")
    result = run("check", str(path))
    assert result.exit_code == 0
    for event, name in (("dequeue", "oldest-first"), ("order", "platform-order"),
                        ("agent_settings", "platform-range"), ("close", "platform-timers")):
        assert f"no rule answers `{event}` events, so the built-in answer `builtin.{name}`" in result.output
    assert run("check", "--strict", str(path)).exit_code == 1


def test_a_route_only_policy_serves_the_queue_accepts_settings_and_orders():
    """The dequeue, settings and order answers of a route-only policy are the platform's, not nothing."""
    policy = policy_of("name: p\nplatform: kuaishou\nrules:\n  - {id: shunt, then: {assign: {among: shop}}}\n")
    now = "2026-11-23T10:00:00+08:00"
    dequeue = policy.evaluate({"event": "dequeue", "now": now,
                               "agents": [{"id": "a1", "status": "online", "max_sessions": 5, "active": 0}],
                               "queue": [{"conversation": {"id": "q1"}, "enqueued_at": now}]})["decision"]
    assert dequeue["assignments"] == [{"conversation_id": "q1", "agent_id": "a1"}]
    assert dequeue["rule"] == "builtin.oldest-first"
    settings = policy.evaluate({"event": "agent_settings", "now": now,
                                "agent": {"id": "a1", "status": "online", "max_sessions": 50}})["decision"]
    assert (settings["action"], settings["rule"]) == ("accept", "builtin.platform-range")
    policy.close()


def test_b17_douyin_closes_after_the_shops_own_buyer_and_agent_timeouts_when_set():
    """seeds/003_d48e31acd12bfba1.txt: 可根据用户会话超时时间及客服会话超时时间来自定义会话关闭时间."""
    policy = policy_of("name: p\nplatform: douyin\nparams: {buyer_timeout_minutes: 30, agent_timeout_minutes: 60}\n"
                       "rules:\n  - {id: shunt, then: {assign: {among: shop}}}\n")
    def close(sender: str, at: str) -> dict:
        return policy.evaluate({"event": "close", "now": "2026-11-23T11:00:00+08:00", "manual": False,
                                "conversation": {"id": "c", "last_message": {"from": sender, "at": at}}})["decision"]
    assert close("agent", "2026-11-23T10:30:00+08:00")["action"] == "close"
    assert close("agent", "2026-11-23T10:31:00+08:00")["action"] == "keep"
    assert close("customer", "2026-11-23T10:00:00+08:00")["action"] == "close"
    assert close("customer", "2026-11-23T10:01:00+08:00")["rule"] == "builtin.platform-timers"
    policy.close()


def test_a_rule_id_may_not_claim_a_built_in_name():
    with pytest.raises(PolicyError, match="built-in answers"):
        parse_policy("name: p\nplatform: custom\nrules:\n  - {id: builtin.mine, then: none}\n", "p.yaml")


@pytest.mark.parametrize("platform", platform_names())
def test_fenliu_new_writes_a_complete_policy_and_its_tests_that_pass_strict_check_and_test(tmp_path, platform):
    assert run("new", "shop", "--platform", platform, "--dir", str(tmp_path)).exit_code == 0
    assert run("check", "--strict", str(tmp_path / "shop.yaml")).exit_code == 0
    tested = run("test", str(tmp_path / "shop.test.yaml"), "--coverage", "--fail-under", "100")
    assert tested.exit_code == 0, tested.output
    assert run("fmt", "--check", str(tmp_path / "shop.yaml")).exit_code == 0
    events = {rule.event for rule in load_policy(tmp_path / "shop.yaml").document.rules}
    assert events == set(EVENTS)
    again = CliRunner().invoke(main, ["new", "shop", "--platform", platform, "--dir", str(tmp_path)])
    assert again.exit_code != 0 and "already exists" in again.output


# ---- the shop's time zone ------------------------------------------------------------------------

NIGHT = """\
name: night
platform: custom
timezone: {zone}
rules:
  - {{id: night, when: {{fact: time.hour, ge: 23}}, then: {{divert: {{to: night-bot}}}}}}
  - {{id: day, then: none}}
"""


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "+08:00"])
def test_the_same_instant_falls_in_the_same_shop_hour_whatever_offset_now_carries(zone):
    policy = policy_of(NIGHT.format(zone=zone))
    for now in ("2026-11-23T23:30:00+08:00", "2026-11-23T15:30:00Z"):
        assert policy.evaluate({"event": "route", "now": now, "agents": []})["decision"]["rule"] == "night", now
    policy.close()


def test_the_platforms_time_zone_is_the_default():
    policy = policy_of(NIGHT.format(zone="UTC").replace("timezone: UTC\n", "").replace("custom", "kuaishou"))
    assert policy.evaluate({"event": "route", "now": "2026-11-23T15:30:00Z", "agents": []})["decision"]["rule"] == "night"
    policy.close()


def test_an_unknown_time_zone_is_reported_at_its_line_with_a_did_you_mean():
    with pytest.raises(PolicyError) as raised:
        parse_policy(NIGHT.format(zone="Asia/Shangai"), "night.yaml")
    (issue,) = raised.value.issues
    assert issue.location.line == 3 and "did you mean `Asia/Shanghai`" in issue.message
    assert issue.suggestion == "did you mean `Asia/Shanghai`?"


# ---- check is the server ----------------------------------------------------------------------------

def test_check_reports_a_name_that_differs_from_the_file_name_at_the_name_line(tmp_path):
    path = tmp_path / "shop.yaml"
    path.write_text("platform: custom\nname: other\nrules:\n  - {id: a, then: none}\n", encoding="utf-8")
    result = run("check", str(path))
    assert result.exit_code == 1
    assert f"{path}:2:7: name `other` differs from the file name `shop.yaml`" in result.output


def test_schema_errors_do_not_hide_meaning_errors():
    text = ("name: p\nplatform: custom\nrules:\n  - {id: a, priority: forty, then: none}\n"
            "  - {id: b, when: {fact: shop.onlin, gt: 0}, then: none}\n")
    with pytest.raises(PolicyError) as raised:
        parse_policy(text, "p.yaml")
    messages = [issue.message for issue in raised.value.issues]
    assert any("forty" in message for message in messages)
    assert any("unknown fact `shop.onlin`" in message and "shop.online" in message for message in messages)


def test_check_on_a_test_file_says_to_use_fenliu_test():
    result = run("check", str(ROOT / "rules" / "kuaishou.test.yaml"))
    assert result.exit_code == 1 and "a test file: use `fenliu test" in result.output


def test_a_comparison_a_fact_never_satisfies_is_an_error():
    with pytest.raises(PolicyError, match=r"`time.hour` is always 0–23, so `gt 25` never holds"):
        parse_policy("name: p\nplatform: custom\nrules:\n  - {id: a, when: {fact: time.hour, gt: 25}, then: none}\n",
                     "p.yaml")


def test_a_fact_of_another_event_suggests_the_event_key():
    with pytest.raises(PolicyError, match=r"`last_message.from` is a fact of `close` events.*add `event: close`"):
        parse_policy("name: p\nplatform: custom\nrules:\n"
                     "  - {id: a, when: {fact: last_message.from, eq: agent}, then: none}\n", "p.yaml")


# ---- unlimited means unlimited (B2, B10) -----------------------------------------------------------

def test_b2_b10_an_unlimited_agent_holding_the_platform_maximum_still_gets_conversations():
    """seeds/000_542c9a2c417400de.txt, 不自动挂起: 是指系统持续向客服分配会话. Saturation still counts 500 (B19)."""
    policy = load_policy(ROOT / "rules" / "kuaishou.yaml")
    agents = [{"id": "unlimited", "status": "online", "max_sessions": None, "active": 600},
              {"id": "full", "status": "online", "max_sessions": 20, "active": 20}]
    envelope = policy.evaluate({"event": "route", "now": "2026-11-23T10:00:00+08:00", "agents": agents}, explain=True)
    assert envelope["decision"]["agent_id"] == "unlimited"
    assert "saturation 1.20" in envelope["decision"]["reason"]  # 600 / 500
    policy.close()


def test_b10_head_counts_count_an_unlimited_agent_past_the_maximum_as_eligible():
    """seeds/000_542c9a2c417400de.txt: 不自动挂起 … 只有要买家发起新会话,就会持续向客服分配新会话."""
    policy = policy_of("name: p\nplatform: kuaishou\nrules:\n"
                       "  - {id: open, when: {fact: shop.eligible, gt: 0}, then: {assign: {among: shop}}}\n"
                       "  - {id: closed, then: offline_queue}\n")
    agents = [{"id": "a1", "status": "online", "max_sessions": None, "active": 500}]
    decision = policy.evaluate({"event": "route", "now": "2026-11-23T10:00:00+08:00", "agents": agents})["decision"]
    assert (decision["rule"], decision["agent_id"]) == ("open", "a1")
    policy.close()


# ---- editor help ---------------------------------------------------------------------------------

def test_the_published_schemas_carry_the_current_fact_catalogue_and_request_fields():
    """Regenerate with `python -m fenliu.engine.schema_help`."""
    from fenliu.engine.schema_help import current_policy_schema, current_test_schema, render

    assert (ROOT / "schemas" / "policy.schema.json").read_text(encoding="utf-8") == render(current_policy_schema())
    assert (ROOT / "schemas" / "policy-test.schema.json").read_text(encoding="utf-8") == render(current_test_schema())


def test_the_policy_schema_completes_every_fact_with_its_meaning_and_the_group_counters():
    fact = load_schema("policy.schema.json")["$defs"]["condition"]["oneOf"][0]["properties"]["fact"]
    offered = dict(zip(fact["anyOf"][0]["enum"], fact["anyOf"][0]["markdownEnumDescriptions"]))
    for kind in EVENTS.values():
        for spec in kind.facts.values():
            assert kind.name in offered[spec.name] and spec.description in offered[spec.name]
    assert "groups.${1:name}.eligible" in [snippet["body"] for snippet in fact["defaultSnippets"]]


def test_the_test_file_schema_describes_every_request_field():
    fields = load_schema("policy-test.schema.json")["$defs"]["request"]["properties"]
    request = load_schema("request.schema.json")["$defs"]
    for event in EVENTS:
        for name in request[event]["properties"]:
            assert fields[name].get("description"), name
