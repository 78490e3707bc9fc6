"""The memo in front of the rule engine is exact: memoized = uncached durable_rules = the oracle,
for random policies and for posted values on, just below and just above every literal."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fenliu.engine import Policy, load_policy, oracle
from fenliu.engine.durable import RuleMatcher
from fenliu.engine.events import EVENTS
from fenliu.engine.loader import parse_policy
from fenliu.engine.memo import MatchMemo, field_literals

from conftest import RULES, agent, route
from strategies import BASE, dequeue_requests, route_requests
from test_random_policies import policies


OTHER_KINDS: dict[str, list[Any]] = {"number": [0, -1, 7.5], "str": ["other", ""], "bool": [True, False]}


def _near(literals, *, same_kind: bool) -> st.SearchStrategy[Any]:
    """Values a field could take: its literals and their neighbours, other values of their kind,
    or (`same_kind=False`) values of other kinds too, which a typed request never posts."""
    kinds = literals.kinds or set(OTHER_KINDS)
    choices: list[Any] = [value for kind in (kinds if same_kind else OTHER_KINDS) for value in OTHER_KINDS[kind]]
    for kind, value in literals.values:
        choices.append(value)
        if kind == "number":
            choices.extend([value - 1, value - 0.5, value + 0.5, value + 1])
    return st.sampled_from(choices)


@st.composite
def situations(draw, conditions, *, same_kind: bool = True) -> list[dict[str, Any]]:
    fields = field_literals(conditions)
    posted_list = []
    for _ in range(draw(st.integers(1, 12))):
        posted = {name: draw(_near(literals, same_kind=same_kind))
                  for name, literals in fields.items() if draw(st.integers(0, 4))}
        posted_list.append(posted)
    return posted_list


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=policies(), data=st.data())
def test_memoized_answers_equal_the_rule_engine_and_the_oracle_at_every_boundary(text, data):
    document, _ = parse_policy(text.encode("utf-8"), "random.yaml")
    policy = Policy(document)
    try:
        compiled = policy.compiled("route")
        matcher = RuleMatcher("memo-check", compiled.conditions)
        memo = MatchMemo(matcher, compiled.conditions)
        try:
            for posted in data.draw(situations(compiled.conditions)) * 2:
                expected = oracle.matching(compiled.conditions, posted)
                assert matcher.matching(posted) == expected
                assert memo.matching(posted) == expected
            # Values of other kinds than a field's literals, which a typed request never posts:
            # durable_rules' own answers to them vary from post to post; the memo, keyed on the exact
            # value, keeps to the first answer it was given.
            for posted in data.draw(situations(compiled.conditions, same_kind=False)):
                first = memo.matching(posted)
                assert memo.matching(posted) == first
        finally:
            matcher.close()
    finally:
        policy.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=policies(), requests=st.lists(route_requests(), min_size=1, max_size=6))
def test_decisions_through_the_memo_equal_decisions_without_it(text, requests):
    document, _ = parse_policy(text.encode("utf-8"), "random.yaml")
    policy = Policy(document)
    try:
        compiled = policy.compiled("route")
        for request in requests * 2:
            posted = compiled.table.post(compiled.kind.read(request, policy.document).facts)
            assert compiled.memo.matching(posted) == compiled.matcher.matching(posted)
    finally:
        policy.close()


@pytest.fixture(scope="module")
def enterprise_with_and_without_memo():
    memoized, direct = load_policy(RULES / "enterprise.yaml"), load_policy(RULES / "enterprise.yaml")
    for event in ("route", "dequeue"):
        direct.compiled(event).memo.close()  # closed: every request asks durable_rules itself
    yield memoized, direct
    memoized.close()
    direct.close()


def _rerouted(request: dict, waited: float | None) -> dict:
    if waited is not None:
        request["conversation"]["enqueued_at"] = (BASE - timedelta(seconds=waited)).isoformat()
    return request


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                                  HealthCheck.function_scoped_fixture])
@given(requests=st.lists(st.one_of(
    st.builds(_rerouted, route_requests(), st.none() | st.floats(0, 400)), dequeue_requests()), min_size=1, max_size=6))
def test_skills_and_waits_are_decided_alike_through_the_memo_and_without_it(enterprise_with_and_without_memo, requests):
    """Issue 17: agents' skills and a conversation's wait change who may take it but are not posted
    facts; requests differing only in them share a memoized situation and must still be decided as
    without the memo (the strategies draw skill levels for every agent)."""
    memoized, direct = enterprise_with_and_without_memo
    for request in requests * 2:
        assert memoized.evaluate(request)["decision"] == direct.evaluate(request)["decision"]


def test_one_kind_of_situation_asks_the_rule_engine_once():
    conditions = [{"$lt": {"f0": 3}}, {"f1": "vip"}, {"$ex": {"f2": 1}}]
    matcher = RuleMatcher("memo-once", conditions)
    memo = MatchMemo(matcher, conditions)
    try:
        for active in (0, 1, 2):
            assert memo.matching({"f0": active, "f1": "new", "f2": [active]}) == [0, 2]
        assert memo.misses == 1
        assert memo.matching({"f0": 3, "f1": "new"}) == []
        assert memo.matching({"f0": 2.5, "f1": "vip"}) == [0, 1]
        assert memo.misses == 3
    finally:
        matcher.close()


def test_the_memo_stays_bounded():
    conditions = [{"f0": "x"}]
    matcher = RuleMatcher("memo-bound", conditions)
    memo = MatchMemo(matcher, conditions, capacity=8)
    try:
        for number in range(100):
            memo.matching({"f0": number})  # another kind than the literal: keyed exactly
        assert len(memo._answers) <= 8
    finally:
        matcher.close()


def test_a_policy_derives_only_the_agent_counting_facts_its_rules_test():
    """Issue 13, compiled facts: head counts take a pass over every agent, so a route policy whose
    rules test none gets none; one testing a group's counter gets the group's and none of the shop's."""
    base = "name: t\nplatform: custom\ngroups:\n  presale: {default: true}\nrules:\n"
    plain, _ = parse_policy(base + "  - {id: r, priority: 1, then: {assign: {among: shop}}}\n", "plain.yaml")
    grouped, _ = parse_policy(base + "  - {id: r, priority: 1, when: {fact: group.eligible, gt: 0}, "
                                     "then: {assign: {among: shop}}}\n", "grouped.yaml")
    request = EVENTS["route"].read(route([agent("a1", groups=("presale",))]), plain).request
    plain_facts = EVENTS["route"].situate(request, plain).facts
    grouped_facts = EVENTS["route"].situate(request, grouped).facts
    assert not any(name.startswith(("shop.", "groups.", "group.")) for name in plain_facts)
    assert grouped_facts["group.eligible"] == 1 and "shop.online" not in grouped_facts


def test_b1_b10_facts_derived_for_only_some_tests_keep_their_definitions():
    """Issue 13, compiled facts: a policy testing some head counts and no main-account field gets
    exactly those, each as defined (B1: invisible is online, break is logged in; B10: eligible)."""
    base = "name: t\nplatform: custom\ngroups:\n  presale: {default: true}\n  aftersale: {}\nrules:\n"
    policy, _ = parse_policy(base + (
        "  - {id: r, priority: 1, when: {all: [{fact: shop.logged_in, gt: 0}, {fact: groups.presale.online, gt: 0},"
        " {fact: group.on_break, ge: 0}]}, then: {assign: {among: shop}}}\n"), "some.yaml")
    roster = [agent("a1", groups=("presale",)), agent("a2", status="invisible", groups=("presale",)),
              agent("a3", status="break", groups=("presale",)), agent("a4", status="offline", groups=("presale",)),
              agent("m", role="main", groups=("aftersale",))]
    facts = EVENTS["route"].situate(EVENTS["route"].read(route(roster), policy).request, policy).facts
    assert (facts["shop.logged_in"], facts["groups.presale.online"], facts["group.on_break"]) == (4, 2, 1)
    assert not any(name.startswith(("main.", "last_agent.", "groups.aftersale.")) for name in facts)
    tested, _ = parse_policy(base + "  - {id: r, priority: 1, when: {fact: main.status, eq: online}, then: none}\n",
                             "main.yaml")
    assert EVENTS["route"].situate(EVENTS["route"].read(route(roster), tested).request, tested).facts["main.status"] == "online"
