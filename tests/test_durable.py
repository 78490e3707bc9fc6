"""The rule-engine wrapper: every holding rule is reported, nothing crashes, hangs or leaks, and
durable_rules agrees with the plain-Python oracle on generated expressions."""
from __future__ import annotations

import gc
import resource
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fenliu.engine import oracle
from fenliu.engine.durable import EngineError, RuleMatcher

CONDITIONS = [
    {"$gt": {"f0": 3}},
    {"f1": True},
    None,
    {"$or": [{"f2": "售后"}, {"$nex": {"f2": 1}}]},
    {"$and": [{"$ex": {"f0": 1}}, {"$neq": {"f0": 5}}]},
]


@pytest.fixture
def matcher():
    built = RuleMatcher("test.route", CONDITIONS)
    yield built
    built.close()


def test_every_holding_rule_is_reported_in_rank_order(matcher):
    assert matcher.matching({"f0": 7, "f1": True}) == [0, 1, 2, 3, 4]
    assert matcher.matching({"f0": 5, "f2": "售前"}) == [0, 2]


def test_no_holding_rule_is_an_empty_answer_not_an_error(matcher):
    only_unconditional = RuleMatcher("test.none", [{"f0": 1}])
    try:
        for _ in range(5000):
            assert only_unconditional.matching({"f0": 2}) == []
    finally:
        only_unconditional.close()


def test_absent_fields_make_comparisons_false(matcher):
    assert matcher.matching({}) == [2, 3]


def test_chinese_values_and_emoji_are_compared_exactly(matcher):
    assert 3 in matcher.matching({"f2": "售后"})
    assert 3 not in matcher.matching({"f2": "售后😀"})


def test_threads_share_one_engine_without_crossing_answers():
    matcher = RuleMatcher("test.threads", [{"f0": value} for value in range(8)])
    wrong: list[tuple[int, list[int]]] = []

    def post_many(value: int) -> None:
        for _ in range(500):
            answer = matcher.matching({"f0": value})
            if answer != [value]:
                wrong.append((value, answer))

    threads = [threading.Thread(target=post_many, args=(value,)) for value in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    matcher.close()
    assert wrong == []


def test_closed_matcher_refuses_to_match_and_closes_twice_quietly():
    matcher = RuleMatcher("test.closed", [None])
    matcher.close()
    matcher.close()
    with pytest.raises(EngineError, match="after close"):
        matcher.matching({})


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * resource.getpagesize() / 2**20


def test_memory_stays_flat_over_a_thousand_reloads():
    conditions = [{"$and": [{"$gte": {f"f{n}": n}}, {"$or": [{"f99": "a"}, {"f99": "b"}]}]} for n in range(20)]
    for _ in range(50):
        RuleMatcher("test.warm", conditions).close()
    gc.collect()
    before = _rss_mib()
    for _ in range(1000):
        matcher = RuleMatcher("test.reload", conditions)
        matcher.matching({"f3": 10, "f99": "a"})
        matcher.close()
    gc.collect()
    assert _rss_mib() - before < 20


def test_memory_stays_flat_over_many_sessions(matcher):
    for _ in range(2000):
        matcher.matching({"f0": 1})
    before = _rss_mib()
    for _ in range(20000):
        matcher.matching({"f0": 1})
    assert _rss_mib() - before < 5


# The loader types every fact and refuses a literal of another type (durable_rules says
# false == 0), so generated fields keep one type each: f0 numbers, f1 booleans, f2 text.
VALUES = {
    "f0": st.one_of(st.integers(-3, 3), st.sampled_from([0.5, 2.5])),
    "f1": st.booleans(),
    "f2": st.sampled_from(["a", "b", "售"]),
}


def _comparisons() -> st.SearchStrategy[dict]:
    def typed(build):
        return st.one_of([st.builds(build, st.just(name), values) for name, values in VALUES.items()])

    return st.one_of(
        typed(lambda name, value: {name: value}),
        st.builds(lambda op, value: {op: {"f0": value}}, st.sampled_from(["$lt", "$lte", "$gt", "$gte"]), VALUES["f0"]),
        typed(lambda name, value: {"$and": [{"$ex": {name: 1}}, {"$neq": {name: value}}]}),
        st.builds(lambda op, name: {op: {name: 1}}, st.sampled_from(["$ex", "$nex"]), st.sampled_from(list(VALUES))),
    )


EXPRESSIONS = st.recursive(
    _comparisons(),
    lambda inner: st.builds(lambda op, parts: {op: parts}, st.sampled_from(["$and", "$or"]),
                            st.lists(inner, min_size=2, max_size=3)),
    max_leaves=6,
)
FACTS = st.fixed_dictionaries({}, optional=VALUES)


@settings(max_examples=150, deadline=None)
@given(st.lists(EXPRESSIONS, min_size=1, max_size=4), st.lists(FACTS, min_size=1, max_size=5))
def test_engine_agrees_with_the_oracle_on_generated_expressions(expressions, fact_sets):
    matcher = RuleMatcher("test.oracle", expressions)
    try:
        for facts in fact_sets:
            assert matcher.matching(facts) == oracle.matching(expressions, facts)
    finally:
        matcher.close()


def test_a_ruleset_the_engine_refuses_is_a_policy_error_at_the_first_rule(shipped, monkeypatch):
    """Whatever the C engine refuses surfaces as a PolicyError with a position, never as a crash of a reload."""
    from fenliu.engine import Policy, PolicyError
    from fenliu.engine import policy as policy_module

    def refuse(name, conditions):
        raise EngineError(f"{name}: the rule engine refused the ruleset: test")

    monkeypatch.setattr(policy_module, "RuleMatcher", refuse)
    with pytest.raises(PolicyError) as raised:
        Policy(shipped["kuaishou"].document)
    assert raised.value.errors[0]["line"] > 0 and "refused" in raised.value.errors[0]["message"]
