"""Issue 17: queue priority with ageing, timed overflow and opening hours (`rules/enterprise.yaml`).

The shipped test file covers every rule of the example policy; these tests hold the loader's
checks, the request contract, the memo and the simulator to the same features.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import RULES, agent, route
from fenliu.engine import PolicyError, RequestError, load_policy
from fenliu.engine.loader import parse_policy
from fenliu.engine.simulation.generator import TeamSpec, TrafficSpec, generate_roster, generate_trace
from fenliu.engine.simulation.run import run_simulation

EXAMPLES = RULES.parent / "docs" / "examples" / "enterprise"
MONDAY_TEN = "2026-11-23T10:00:00+08:00"


@pytest.fixture(scope="module")
def enterprise():
    policy = load_policy(RULES / "enterprise.yaml")
    yield policy
    policy.close()


def _errors(text: str) -> list[str]:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "p.yaml")
    return [issue.message for issue in caught.value.issues]


POLICY = """
name: p
platform: custom
groups:
  aftersale: {entries: [after_sales_page]}
  presale: {default: true}
rules:
%s
"""


def test_calendar_shop_open_without_hours_is_refused_with_the_fix():
    """Calendars: `shop.open` means nothing without `hours`, so the loader refuses it rather than never holding."""
    messages = _errors(POLICY % "  - {id: closed, when: {fact: shop.open, eq: false}, then: offline_queue}")
    assert any("`shop.open` needs the policy's opening hours" in message and "hours:" in message for message in messages)


def test_calendar_unknown_day_bad_interval_and_twice_dated_day_are_named():
    """Calendars: a mistyped day gets a did-you-mean; an interval that runs backwards and a day with two exceptions are errors."""
    text = POLICY.replace("rules:", """hours:
  weekly: {mno: ["09:00-18:00"], tue: ["18:00-09:00"]}
  exceptions:
    - {date: "2026-11-11", hours: ["00:00-24:00"]}
    - {date: "2026-11-11", hours: []}
rules:""") % "  - {id: all, then: offline_queue}"
    messages = _errors(text)
    assert any("unknown day `mno`; did you mean `mon`?" in message for message in messages)
    assert any("`18:00-09:00` is not an interval of one day" in message for message in messages)
    assert any("2026-11-11 has two exceptions" in message for message in messages)


def test_overflow_unknown_groups_get_a_did_you_mean_and_steps_must_come_in_order():
    """Timed overflow: each step names a group of the policy (or `shop`), and the waits go up."""
    messages = _errors(POLICY % """  - id: deq
    event: dequeue
    then:
      assign_many:
        overflow:
          - {after_seconds: 120, from: aftersal, to: presale}
          - {after_seconds: 60, to: shops}""")
    assert any("unknown group `aftersal`; did you mean `aftersale`?" in message for message in messages)
    assert any("unknown group `shops`; did you mean `shop`?" in message for message in messages)
    assert any("after_seconds 60 does not come after the step before (120)" in message for message in messages)


def test_priority_ageing_without_score_order_is_refused():
    """Priority: `ageing_per_minute` only counts under `order: priority`; alone it would silently do nothing."""
    messages = _errors(POLICY % "  - {id: deq, event: dequeue, then: {assign_many: {ageing_per_minute: 2}}}")
    assert any("add `order: priority`" in message for message in messages)


def test_priority_out_of_range_and_a_wait_after_now_are_request_errors_at_their_paths(enterprise):
    """Priority and overflow: the new request fields are checked like every other, path and reason."""
    with pytest.raises(RequestError) as caught:
        enterprise.evaluate({"event": "dequeue", "now": MONDAY_TEN, "agents": [],
                             "queue": [{"conversation": {"id": "q"}, "enqueued_at": MONDAY_TEN, "priority": 1e9}]})
    assert [error["path"] for error in caught.value.errors] == ["queue[0].priority"]
    request = route([agent("a1", groups=("presale",))], now=MONDAY_TEN)
    request["conversation"]["enqueued_at"] = "2026-11-23T11:00:00+08:00"
    with pytest.raises(RequestError) as caught:
        enterprise.evaluate(request)
    assert [error["path"] for error in caught.value.errors] == ["conversation.enqueued_at"]


def test_priority_the_default_order_stays_oldest_first_whatever_the_priority(shipped):
    """Priority: FIFO stays the default; a shipped policy ignores a queued conversation's priority."""
    decision = shipped["kuaishou"].evaluate({
        "event": "dequeue", "now": MONDAY_TEN, "agents": [agent("a1", max=1)],
        "queue": [{"conversation": {"id": "vip"}, "enqueued_at": "2026-11-23T09:59:00+08:00", "priority": 100},
                  {"conversation": {"id": "old"}, "enqueued_at": "2026-11-23T09:50:00+08:00"}]})["decision"]
    assert decision["assignments"] == [{"conversation_id": "old", "agent_id": "a1"}]


def test_priority_a_route_decision_without_a_priority_has_no_priority_field(shipped, enterprise):
    """Priority: only a queue action that sets one adds `priority`, so the shipped policies' answers are unchanged."""
    full = [agent("a1", max=1, active=1, groups=("presale",))]
    assert "priority" not in shipped["kuaishou"].evaluate(route(full))["decision"]
    assert "priority" not in enterprise.evaluate(route(full, now=MONDAY_TEN))["decision"]
    assert enterprise.evaluate(route(full, now=MONDAY_TEN, tags=("vip",)))["decision"]["priority"] == 10


def test_calendar_open_and_closed_alternate_through_the_memo(enterprise):
    """Calendars: `shop.open` is a boolean compared with a literal, so the memo keys on it; the same
    request shape answers differently on either side of opening time, in any order."""
    agents = [agent("a1", groups=("presale",))]
    answers = [enterprise.evaluate(route(agents, now=now))["decision"]["action"]
               for now in ("2026-11-23T08:59:00+08:00", MONDAY_TEN, "2026-11-23T08:00:00+08:00", MONDAY_TEN)]
    assert answers == ["offline_queue", "assign", "offline_queue", "assign"]


@pytest.fixture(scope="module")
def day():
    """The example day of docs/enterprise.md: `fenliu simulate generate --conversations 4000 --agents 14 --seed 7`."""
    team = generate_roster(TeamSpec(agents=14, seed=7))
    ids = tuple(item["id"] for item in team["agents"])
    return generate_trace(TrafficSpec(conversations=4000, seed=7), ids), team


def _fifo_against(day, variant: str) -> tuple[dict, dict]:
    """The KPIs of the example day under the FIFO variant and under `enterprise-<variant>.yaml`."""
    trace, team = day
    policies = {name: load_policy(EXAMPLES / f"enterprise-{name}.yaml") for name in ("fifo", variant)}
    try:
        runs = run_simulation(trace, team, policies)["runs"]
    finally:
        for policy in policies.values():
            policy.close()
    without, with_ = (run["kpis"] for run in runs)
    return without, with_


def test_simulation_overflow_after_60_s_shortens_the_queue_wait_of_the_example_day(day):
    """Timed overflow in the simulator: with the same day and team, overflowing after 60 s and 180 s
    never leaves a conversation queued much past the last step, and beats waiting for the group."""
    without, with_ = _fifo_against(day, "overflow")
    assert with_["queue_wait_seconds"]["p95"] < without["queue_wait_seconds"]["p95"]
    assert with_["reply_rate"]["shop"] >= without["reply_rate"]["shop"]


def test_simulation_priority_shortens_vip_waits_and_carries_the_priority_back(day):
    """Priority in the simulator: the route decision's priority is sent back with each queued VIP, so
    under `order: priority` VIP buyers wait less than under FIFO on the same day."""
    without, with_ = _fifo_against(day, "priority")
    assert with_["vip_wait_seconds"]["count"] > 0
    assert with_["vip_wait_seconds"]["p50"] < without["vip_wait_seconds"]["p50"]


def test_the_comparison_variants_differ_from_the_shipped_policy_only_where_they_say(tmp_path: Path):
    """The documented comparison: each variant loads and names itself after its file."""
    for path in sorted(EXAMPLES.glob("*.yaml")):
        policy = load_policy(path)
        assert policy.name == path.stem
        policy.close()
