"""Issue 17: queue priority with ageing, timed overflow, opening hours and skills (`rules/enterprise.yaml`).

The shipped test file covers every rule of the example policy; these tests hold the loader's
checks, the request contract, the memo and the simulator to the same features.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import RULES, agent, route
from fenliu.engine import Policy, PolicyError, RequestError, load_policy
from fenliu.engine.events import decode_typed
from fenliu.engine.eligibility import Capacity
from fenliu.engine.events.dequeue import (
    MAX_QUEUE, DequeueRequest, Queued, QueuedConversation, Takers, free_slots, hands_out_in_turn, in_turn, offline_ttl,
)
from fenliu.engine.loader import parse_policy
from fenliu.engine.request import Agent, Customer, LastContact
from fenliu.engine.simulation import Behaviour, SimulationInputError, SimulationOptions, read_roster
from fenliu.engine.simulation.generator import TeamSpec, TrafficSpec, generate_roster, generate_trace
from fenliu.engine.simulation.run import run_simulation
from fenliu.engine.simulation import shop as shop_module
from fenliu.engine.simulation.shop import Shop

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


SCORE_ORDER = """
name: scored
platform: custom
rules:
  - id: deq
    event: dequeue
    then:
      assign_many: {order: priority, ageing_per_minute: %s}
"""


@pytest.fixture(scope="module")
def scored():
    policies = {ageing: Policy(parse_policy(SCORE_ORDER % ageing, "scored.yaml")[0]) for ageing in (0, 0.5, 1, 10)}
    yield policies
    for policy in policies.values():
        policy.close()


@settings(max_examples=150, deadline=None)
@given(queue=st.lists(st.tuples(st.sampled_from([0, 30, 60, 90.5, 600, 601]), st.sampled_from([0, 0, 5, 10, -3])),
                      min_size=1, max_size=12),
       ageing=st.sampled_from([0, 0.5, 1, 10]), slots=st.integers(1, 6))
def test_priority_best_score_first_ties_to_the_oldest_then_the_id(scored, queue, ageing, slots):
    """Priority: the conversations handed out are the best scores, priority + ageing × minutes waited,
    in that order; equal scores go to the one waiting longest, then by id. Waits and priorities are
    drawn from a few values so that ties come up, between and within priorities."""
    now = datetime.fromisoformat(MONDAY_TEN)
    items = [{"conversation": {"id": f"q{index:02d}"}, "priority": priority,
              "enqueued_at": (now - timedelta(seconds=wait)).isoformat()} for index, (wait, priority) in enumerate(queue)]
    decision = scored[ageing].evaluate({"event": "dequeue", "now": MONDAY_TEN, "agents": [agent("a1", max=slots)],
                                        "queue": items})["decision"]

    def score_order(item: dict) -> tuple:
        waited = (now - datetime.fromisoformat(item["enqueued_at"])).total_seconds()
        return -(item["priority"] + ageing * waited / 60), item["enqueued_at"], item["conversation"]["id"]

    best = [item["conversation"]["id"] for item in sorted(items, key=score_order)][:slots]
    assert [given["conversation_id"] for given in decision["assignments"]] == best


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


def _waited(request: dict, seconds: float) -> dict:
    """The route request of a conversation routed again after waiting `seconds`."""
    moment = datetime.fromisoformat(request["now"]) - timedelta(seconds=seconds)
    request["conversation"]["enqueued_at"] = moment.isoformat()
    return request


def _after_sales(*agents: dict, waited: float | None = None, tags: tuple[str, ...] = ()) -> dict:
    request = route(list(agents), entry="after_sales_page", now=MONDAY_TEN, tags=tags)
    return request if waited is None else _waited(request, waited)


def test_skills_a_strict_requirement_refuses_an_unskilled_agent_however_idle(enterprise):
    """Issue 17, skills: the aftersale group requires refund 5; an idle agent at level 4, or with only
    other skills, is passed over and the conversation queues; the reason names the requirement."""
    unskilled = [agent("a2", groups=("aftersale",), skills={"refund": 4}),
                 agent("a3", groups=("aftersale",), skills={"billing": 10})]
    decision = enterprise.evaluate(_after_sales(*unskilled), explain=True)
    assert (decision["decision"]["action"], decision["decision"]["queue"]) == ("queue", "aftersale")
    shunting = next(step for step in decision["trace"] if step["rule"] == "group-shunting")
    assert shunting["outcome"] == "fell through: no eligible agent in group aftersale with refund ≥ 5"
    skilled = enterprise.evaluate(_after_sales(*unskilled, agent("a4", active=19, groups=("aftersale",),
                                                                 skills={"refund": 5})))["decision"]
    assert (skilled["action"], skilled["agent_id"]) == ("assign", "a4")


def test_skills_the_requirement_relaxes_with_the_wait_at_routing_and_in_the_queue(enterprise):
    """Issue 17, skills: refund 5 relaxes to 3 at 60 s and is dropped at 180 s, counted from the same
    `enqueued_at` as overflow: in a route request (`conversation.enqueued_at`) and for each queued
    conversation of a dequeue (its own `enqueued_at`)."""
    level_three = agent("a2", groups=("aftersale",), skills={"refund": 3})
    nothing = agent("a2", groups=("aftersale",))
    assert enterprise.evaluate(_after_sales(level_three, waited=59))["decision"]["action"] == "queue"
    assert enterprise.evaluate(_after_sales(level_three, waited=60))["decision"]["agent_id"] == "a2"
    assert enterprise.evaluate(_after_sales(nothing, waited=179))["decision"]["action"] == "queue"
    assert enterprise.evaluate(_after_sales(nothing, waited=180))["decision"]["agent_id"] == "a2"

    def queued(seconds: float) -> dict:
        moment = datetime.fromisoformat(MONDAY_TEN) - timedelta(seconds=seconds)
        return {"conversation": {"id": f"q{seconds:g}"}, "enqueued_at": moment.isoformat(), "queue": "aftersale"}

    decision = enterprise.evaluate({"event": "dequeue", "now": MONDAY_TEN, "agents": [level_three],
                                    "queue": [queued(59), queued(61)]})["decision"]
    assert decision["assignments"] == [{"conversation_id": "q61", "agent_id": "a2"}]


def test_overflow_agents_who_run_out_of_slots_mid_dequeue_take_no_more_of_the_queue(enterprise):
    """B14, issue 17: one dequeue hands a queue to its group's free slots (refund-trained agents),
    least busy first, until they are all used; an agent whose last slot went earlier in the same
    dequeue is passed over, the rest of the queue waits, and a group still within its wait (under
    60 s, no overflow) stays its own."""
    def queued(seconds: int, queue: str = "aftersale") -> dict:
        moment = datetime.fromisoformat(MONDAY_TEN) - timedelta(seconds=seconds)
        return {"conversation": {"id": f"{queue[0]}{seconds}"}, "enqueued_at": moment.isoformat(), "queue": queue}

    trained = {"refund": 5}
    agents = [agent("a1", max=3, active=2, groups=("aftersale",), skills=trained),
              agent("a2", max=4, active=2, groups=("aftersale",), skills=trained), agent("a3", max=5, groups=("presale",))]
    queue = [queued(seconds) for seconds in range(10, 16)] + [queued(5, "presale")]
    decision = enterprise.evaluate({"event": "dequeue", "now": MONDAY_TEN, "agents": agents, "queue": queue})["decision"]
    assert decision["assignments"] == [{"conversation_id": "a15", "agent_id": "a2"},
                                       {"conversation_id": "a14", "agent_id": "a1"},
                                       {"conversation_id": "a13", "agent_id": "a2"},
                                       {"conversation_id": "p5", "agent_id": "a3"}]


def test_skills_most_proficient_picks_the_higher_level_then_the_least_busy(enterprise):
    """Issue 17, skills: `most_proficient` ranks by the level of the skills required, highest first,
    over saturation; equal levels break as least_busy does (saturation, active count, id)."""
    disputed = [agent("a2", active=1, groups=("aftersale",), skills={"refund": 8}),
                agent("a3", active=15, groups=("aftersale",), skills={"refund": 9})]
    decision = enterprise.evaluate(_after_sales(*disputed, tags=("dispute",)))["decision"]
    assert (decision["agent_id"], decision["rule"]) == ("a3", "dispute-expert")
    assert decision["reason"].startswith("most proficient of 2 eligible in group aftersale with refund ≥ 8: a3")
    tied = [agent("a3", active=3, groups=("aftersale",), skills={"refund": 9}),
            agent("a4", active=2, groups=("aftersale",), skills={"refund": 9})]
    assert enterprise.evaluate(_after_sales(*tied, tags=("dispute",)))["decision"]["agent_id"] == "a4"


def test_skills_the_memo_does_not_conflate_requests_that_differ_only_in_skills_or_wait():
    """Issue 17, skills: skills and the wait are read by the action, not posted as facts, so the rules
    that hold are memoized once for all these requests, and each is still answered by its own
    agents' levels and its own wait."""
    policy = load_policy(RULES / "enterprise.yaml")
    try:
        answers = [policy.evaluate(_after_sales(agent("a2", groups=("aftersale",), skills=skills), waited=waited))
                   ["decision"]["action"]
                   for skills, waited in (({"refund": 5}, 0), ({"refund": 3}, 0), ({"refund": 3}, 60), ({}, 60),
                                          ({}, 180), ({"refund": 4}, 0))]
        assert answers == ["assign", "queue", "assign", "queue", "assign", "queue"]
        assert policy.compiled("route").memo.misses == 1
    finally:
        policy.close()


def test_skills_are_request_errors_at_their_paths_on_both_readers(enterprise):
    """Issue 17, skills: a level outside 1–10, a fraction, a boolean or a non-object is named at its
    path by the careful reader, and the bytes path refuses the same request with the same errors."""
    request = route([agent("a1", groups=("presale",)), agent("a2"), agent("a3"), agent("a4")], now=MONDAY_TEN)
    request["agents"][3]["skills"] = {"refund": 11, "billing": 2.5, "returns": True}
    request["agents"][1]["skills"] = ["refund"]
    with pytest.raises(RequestError) as caught:
        enterprise.evaluate(request)
    errors = {error["path"]: error["message"] for error in caught.value.errors}
    assert errors == {"agents[3].skills.refund": "must be a whole number from 1 to 10, not 11",
                      "agents[3].skills.billing": "must be a whole number from 1 to 10, not 2.5",
                      "agents[3].skills.returns": "must be a whole number from 1 to 10, not a boolean",
                      "agents[1].skills": "must be an object, not a list"}
    with pytest.raises(RequestError) as bytes_path:
        enterprise.evaluate_json(json.dumps(request))
    assert bytes_path.value.errors == caught.value.errors
    skilled = _after_sales(agent("a2", groups=("aftersale",), skills={"refund": 5}))
    assert enterprise.evaluate_typed(json.dumps(skilled)) is not None  # well formed: the fast path takes it


def test_skills_loader_checks_name_each_mistake_with_a_did_you_mean():
    """Issue 17, skills: relax steps may only loosen what `require` names, in the order their waits
    pass, at levels 1–10; relax needs a require; most_proficient needs skills to rank by."""
    text = POLICY.replace("  aftersale: {entries: [after_sales_page]}", """  aftersale:
    entries: [after_sales_page]
    require: {refund: 5}
    relax:
      - {after_seconds: 120, refnd: 3}
      - {after_seconds: 60, refund: 7}
      - {after_secnds: 200, refund: 11}""").replace(
        "  presale: {default: true}", "  presale: {default: true, relax: [{after_seconds: 30, drop: [refund]}]}") % (
        "  - {id: pro, then: {assign: {among: presale, strategy: most_proficient}}}\n"
        "  - {id: strict, then: {assign: {among: shop, require: {refund: 0}}}}")
    messages = _errors(text)
    expected = [
        "`refnd` is not a skill of `require` (refund): a relax step loosens only what `require` asks; "
        "did you mean `refund`?",
        "after_seconds 60 does not come after the step before (120)",
        "`refund: 7` does not relax: `refund` needs 5 until this step",
        "a relax step needs `after_seconds`",
        "`after_secnds` is not a skill of `require` (refund): a relax step loosens only what `require` asks; "
        "did you mean `after_seconds`?",
        "level 11 of `refund` is outside 1–10",
        "`relax` loosens the `require` beside it, and there is none",
        "`most_proficient` ranks by the skills a `require` names, and neither this action nor group `presale` requires any",
        "0 is less than the minimum of 1",
    ]
    for words in expected:
        assert any(words in message for message in messages), (words, messages)


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


def test_overflow_room_is_that_of_the_oldest_conversation_whose_takers_include_the_younger_ones(enterprise):
    """B14, issue 17: the free slots that may take any of an after-sales queue are those of its oldest
    conversation's takers. Before 180 s only refund-trained agents may (level 3 once past 60 s, the
    pre-sales group too); past 180 s anyone: overflow only widens a queue and relax only lowers a level."""
    def dequeue(*waits: int) -> tuple:
        body = {"event": "dequeue", "now": MONDAY_TEN, "queue": [
            {"conversation": {"id": f"q{wait}"}, "queue": "aftersale",
             "enqueued_at": (datetime.fromisoformat(MONDAY_TEN) - timedelta(seconds=wait)).isoformat()} for wait in waits],
            "agents": [agent("a2", max=3, groups=("presale",), skills={"refund": 3}), agent("a3", max=2, groups=("presale",))]}
        typed = decode_typed(json.dumps(body))
        assert typed is not None
        request = typed[1]
        agents = {item.id: item for item in request.agents}
        slots = {item.id: item.max_sessions - item.active for item in request.agents}
        [options] = [rule.then.options for rule in enterprise.document.answering("dequeue")]
        return Takers(options, enterprise.document, agents, slots), request

    for waits, room in (((10, 30), 0), ((30, 90), 3), ((90, 200, 10), 5)):
        takers, request = dequeue(*waits)
        assert takers.room(request.queue, request.now) == room, waits


WAITS = (0, 30, 59, 60, 61, 120, 179, 180, 181, 600, 7 * 86400 + 1)  # around each step, and past the offline TTL


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_overflow_a_dequeue_handing_out_in_turn_decides_on_what_in_turn_keeps_as_on_the_whole_queues(enterprise, data):
    """B7, B14, B15, B20, issue 17: under the shipped score order, overflow and relaxing skills, a
    dequeue offered only what `in_turn` keeps of each queue (the first as many of one priority as
    there are free slots, and every buyer whose last agent has one) hands out and expires exactly
    what it does when offered every queue whole, with mixed priorities, caches, suspended or busy
    agents, returning buyers inside and outside the 72-hour window, and expired offline messages."""
    [options] = [rule.then.options for rule in enterprise.document.answering("dequeue")]
    assert hands_out_in_turn(options)
    now = datetime.fromisoformat(MONDAY_TEN)
    ids = [f"a{index}" for index in range(data.draw(st.integers(1, 5)))]
    agents = []
    for agent_id in ids:
        maximum = data.draw(st.integers(1, 3))
        agents.append(Agent(id=agent_id, status=data.draw(st.sampled_from(["online", "online", "break"])),
                            suspended=data.draw(st.booleans()) and data.draw(st.booleans()), max_sessions=maximum,
                            active=data.draw(st.integers(0, maximum)),
                            groups=data.draw(st.sampled_from([("aftersale",), ("presale",), ("aftersale", "presale")])),
                            skills=data.draw(st.sampled_from([{}, {"refund": 3}, {"refund": 5}, {"refund": 9}]))))
    items = []
    for index in range(data.draw(st.integers(1, 25))):
        where = data.draw(st.sampled_from(["aftersale", "presale", "offline", "cache"]))
        last = data.draw(st.none() | st.tuples(st.sampled_from([*ids, "gone"]), st.sampled_from([1, 80])))
        items.append(Queued(
            conversation=QueuedConversation(id=f"q{index:02d}"),
            enqueued_at=now - timedelta(seconds=data.draw(st.sampled_from(WAITS))),
            customer=Customer(id=f"b{index}", last_agent=None if last is None else LastContact(
                last[0], now - timedelta(hours=last[1]))),
            offline=where == "offline", queue=where if where in ("aftersale", "presale") else "shop",
            cached_at=ids[0] if where == "cache" else None, priority=data.draw(st.sampled_from([0, 0, 10]))))
    items = data.draw(st.permutations(items))  # a queue's order need not be its order of waiting, nor of ids
    capacity = Capacity(enterprise.document.params.capacity.max)
    slots = {agent.id: free_slots(agent, capacity, MAX_QUEUE) for agent in agents}
    queues: dict[tuple, list[Queued]] = {}
    for item in items:
        queues.setdefault((item.queue, item.offline, item.cached_at), []).append(item)
    returning = [item for item in items
                 if item.customer.last_agent is not None and slots.get(item.customer.last_agent.agent_id, 0) > 0]
    kept = in_turn(queues.values(), sum(slots.values()), returning, now, offline_ttl(enterprise.document))

    def handed_out(queue: list[Queued]) -> tuple:
        decision, _ = enterprise.decide(DequeueRequest(now=now, agents=tuple(agents), queue=tuple(queue)))
        return decision["assignments"], decision["expired"]

    assert handed_out(kept) == handed_out(items)


def test_overflow_in_turn_keeps_a_returning_buyer_deep_in_a_queue_nobody_free_may_take(enterprise):
    """B7, issue 17: five after-sales conversations wait for a refund-trained agent; the one free agent
    is in pre-sales, and the fourth buyer's last agent: the dequeue hands that one back to it, on
    the queue `in_turn` keeps as on the whole queue."""
    now = datetime.fromisoformat(MONDAY_TEN)
    agents = (Agent(id="p1", status="online", max_sessions=1, groups=("presale",)),)
    items = [Queued(conversation=QueuedConversation(id=f"q{index}"), enqueued_at=now - timedelta(seconds=30 - index),
                    customer=Customer(id=f"b{index}", last_agent=LastContact("p1", now - timedelta(hours=1)) if index == 3 else None),
                    queue="aftersale") for index in range(5)]
    kept = in_turn([items], 1, [items[3]], now, offline_ttl(enterprise.document))
    for queue in (items, kept):
        decision, _ = enterprise.decide(DequeueRequest(now=now, agents=agents, queue=tuple(queue)))
        assert decision["assignments"] == [{"conversation_id": "q3", "agent_id": "p1"}]
    assert [item.conversation.id for item in kept] == ["q0", "q3"]


def test_overflow_in_turn_keeps_every_tie_in_the_wait_and_every_expired_offline_message(enterprise):
    """B14, B15, issue 17: three buyers who waited exactly as long, listed out of id order, with one
    free slot: the rules give it to the first id, and `in_turn` keeps all three; three offline
    messages past the 7-day TTL are all listed as expired, and `in_turn` keeps the whole queue."""
    now = datetime.fromisoformat(MONDAY_TEN)
    agents = (Agent(id="p1", status="online", max_sessions=1, groups=("presale",)),)
    ttl = offline_ttl(enterprise.document)

    def waiting(ids: list[str], seconds: float, offline: bool = False) -> list[Queued]:
        return [Queued(conversation=QueuedConversation(id=conversation_id), enqueued_at=now - timedelta(seconds=seconds),
                       offline=offline, queue="shop" if offline else "presale") for conversation_id in ids]

    def decided(queue: list[Queued]) -> dict:
        return enterprise.decide(DequeueRequest(now=now, agents=agents, queue=tuple(queue)))[0]

    tied = waiting(["q2", "q0", "q1"], 30)
    assert decided(tied)["assignments"] == [{"conversation_id": "q0", "agent_id": "p1"}]
    assert sorted(item.conversation.id for item in in_turn([tied], 1, [], now, ttl)) == ["q0", "q1", "q2"]
    stale = [*waiting(["m0"], 8 * 86400 + 120, True), *waiting(["m1"], 8 * 86400 + 60, True), *waiting(["m2"], 8 * 86400, True)]
    assert decided(stale)["expired"] == ["m0", "m1", "m2"]
    assert in_turn([stale], 1, [], now, ttl) == stale


def test_simulation_a_whole_queue_is_offered_only_when_a_free_agent_may_act_on_it_and_the_day_is_the_same(day, monkeypatch):
    """B14, B15, issue 17: under score order or overflow the simulated shop offers every queued
    conversation that could be handed out, and asks for a dequeue only when a free agent may take the
    oldest of some queue, an offline message expired or a returning buyer's agent is free: the example
    day is the same, conversation for conversation, as when it asks at every freed slot, with far
    fewer dequeues. A long queue of one priority is offered only as far as the free slots reach, plus
    its returning buyers: the day is the same as when every queue is offered whole."""
    trace, team = day
    shortened = []

    def counted(queues, free, returning, now, ttl):
        queues = list(queues)
        offered = in_turn(queues, free, returning, now, ttl)
        shortened.append(len(offered) < sum(map(len, queues)))
        return offered

    for name in ("enterprise", "enterprise-overflow"):
        path = RULES / "enterprise.yaml" if name == "enterprise" else EXAMPLES / f"{name}.yaml"
        policy = load_policy(path)
        try:
            with monkeypatch.context() as patched:
                patched.setattr(shop_module, "in_turn", counted)
                asked = run_simulation(trace, team, [policy])["runs"][0]["kpis"]
            with monkeypatch.context() as patched:
                patched.setattr(Shop, "_acts_on", lambda *_: True)
                always = run_simulation(trace, team, [policy])["runs"][0]["kpis"]
            with monkeypatch.context() as patched:
                patched.setattr(shop_module, "in_turn", lambda queues, *_: [item for queue in queues for item in queue])
                whole = run_simulation(trace, team, [policy])["runs"][0]["kpis"]
        finally:
            policy.close()
        assert asked["decisions"]["dequeue"] < always["decisions"]["dequeue"], name
        assert {**asked, "decisions": None} == {**always, "decisions": None}, name
        assert asked == whole, name
    assert shortened.count(True) > 100


def test_simulation_a_cache_under_whole_queue_rules_opens_when_its_own_agent_frees_a_window():
    """B20 under score-order dequeue rules (issue 17): Taobao's 002 「超出数量后…自动排队缓存起来」. A
    second buyer writing to a full main account waits in its cache, though no free agent may take
    any queue and the buyer has no last agent; the cache is asked for as soon as that window closes."""
    text = (RULES / "enterprise.yaml").read_text(encoding="utf-8").replace("  - id: returning-customer", """  - id: to-main
    description: Messages to the main account go to it, cached there when its windows are full (B20).
    priority: 25
    when: {fact: conversation.to_main, eq: true}
    then:
      assign: {to: main, when_full: cache}

  - id: returning-customer""")
    policy = Policy(parse_policy(text, "enterprise.yaml")[0])
    trace = [{"at": MONDAY_TEN, "customer": buyer, "entry": "product_page", "to_main": True} for buyer in ("b1", "b2")]
    trace[1]["at"] = "2026-11-23T10:00:01+08:00"
    roster = {"agents": [{"id": "a1", "role": "main", "groups": ["presale"], "max_sessions": 1}]}
    try:
        kpis = run_simulation(trace, roster, [policy], SimulationOptions(behaviour=PATIENT))["runs"][0]["kpis"]
    finally:
        policy.close()
    assert kpis["conversations"]["cached"] == 1
    assert kpis["conversations"]["served"] == 2 and kpis["conversations"]["waiting_at_end"] == 0


def test_simulation_a_waiting_buyer_answered_meanwhile_in_another_conversation_returns_to_that_agent(enterprise):
    """B7 under score-order dequeue rules (issue 17): a buyer's after-sales conversation waits (no
    refund-skilled agent, no last agent yet) while the buyer's first conversation is answered by a
    pre-sales agent; when that agent's window frees, 55 s into the wait, before any overflow or relax
    step lets a pre-sales agent take it, the shop asks for a dequeue and the rules send the buyer
    back to that agent. A last contact made while a conversation waits counts as one made before."""
    trace = [{"at": MONDAY_TEN, "customer": "b1", "entry": "product_page"},
             {"at": "2026-11-23T10:00:10+08:00", "customer": "b1", "entry": "after_sales_page"}]
    roster = {"agents": [{"id": "a1", "role": "main", "groups": ["presale"], "max_sessions": 1}]}
    closes_after_reply = Behaviour(reply_median_seconds=60, reply_load_factor=0, reply_sigma=0, manual_close_share=1,
                                   wrap_up_median_seconds=5, wrap_up_sigma=0, patience_median_seconds=None)
    kpis = run_simulation(trace, roster, [enterprise], SimulationOptions(behaviour=closes_after_reply))["runs"][0]["kpis"]
    assert kpis["conversations"]["queued"] == 1
    assert kpis["queue_wait_seconds"]["max"] == pytest.approx(55)


def test_the_comparison_variants_differ_from_the_shipped_policy_only_where_they_say(tmp_path: Path):
    """The documented comparison: each variant loads and names itself after its file."""
    for path in sorted(EXAMPLES.glob("*.yaml")):
        policy = load_policy(path)
        assert policy.name == path.stem
        policy.close()


# ---- skills in the simulator ------------------------------------------------------------------------

# The 14-agent team of seed 7 without its skills, as generated before agents had any.
GENERATED_TEAM_DIGEST = "95d29d30ac3d53f7"
PATIENT = Behaviour(reply_median_seconds=60, reply_load_factor=0, reply_sigma=0, manual_close_share=0,
                    wrap_up_sigma=0, patience_median_seconds=None)


def test_simulation_skills_a_relax_step_reoffers_the_queue_at_its_wait(enterprise):
    """Issue 17, skills, in the simulator: an after-sales buyer whose only agent knows refund at level 3
    waits in the aftersale queue (level 5 required) and is assigned when the requirement relaxes at
    60 s, not at the next freed slot; the roster's `skills` reach the request. The `skills` KPI counts
    the conversations whose group requires skills and how many were first served at the unrelaxed level."""
    trace = [{"at": MONDAY_TEN, "customer": "b1", "entry": "after_sales_page"}]
    roster = {"agents": [{"id": "a1", "role": "main", "groups": ["presale"], "status": "break"},
                         {"id": "a2", "groups": ["aftersale"], "skills": {"refund": 3}, "max_sessions": 5}]}
    kpis = run_simulation(trace, roster, [enterprise], SimulationOptions(behaviour=PATIENT))["runs"][0]["kpis"]
    assert kpis["queue_wait_seconds"]["max"] == pytest.approx(60)
    assert kpis["skills"] == {"required": 1, "met": 0, "share": 0.0}  # served once relaxed, by level 3
    skilled = {"agents": [roster["agents"][0], {**roster["agents"][1], "skills": {"refund": 5}}]}
    kpis = run_simulation(trace, skilled, [enterprise], SimulationOptions(behaviour=PATIENT))["runs"][0]["kpis"]
    assert kpis["conversations"]["queued"] == 0 and kpis["skills"] == {"required": 1, "met": 1, "share": 1.0}


def test_simulation_skills_roster_levels_are_checked_at_their_path(tmp_path):
    """Issue 17, skills: a roster's skill level outside 1–10 is named at its path."""
    path = tmp_path / "team.json"
    path.write_text(json.dumps({"agents": [{"id": "a1", "skills": {"refund": 11}}]}))
    with pytest.raises(SimulationInputError) as caught:
        read_roster(path)
    assert "agents[0].skills.refund" in str(caught.value)
    path.write_text(json.dumps({"agents": [{"id": "a1", "skills": {"refund": 10}}]}))
    assert read_roster(path).agents[0].skills == {"refund": 10}


def test_simulation_skills_generated_rosters_keep_every_other_field_of_their_seed():
    """Issue 17, skills: skills come from a random stream of their own, so the generated team of a
    seed is what it was before skills, and the example days of the platform policies are unchanged;
    after-sales agents all know `refund` at 2 to 8."""
    team = generate_roster(TeamSpec(agents=14, seed=7))
    without = [{key: value for key, value in agent.items() if key != "skills"} for agent in team["agents"]]
    digest = hashlib.sha256(json.dumps(without, sort_keys=True).encode()).hexdigest()[:16]
    assert digest == GENERATED_TEAM_DIGEST
    for agent in team["agents"]:
        if agent["groups"] == ["aftersale"]:
            assert 2 <= agent["skills"]["refund"] <= 8
        else:
            assert agent.get("skills", {}).get("refund", 1) <= 4
