"""Random valid policies, built from the language's building blocks (every route fact with the
operators its type allows, every route action with its options), against random valid requests:
they load, never raise, always answer a known action, never assign an agent the deciding rule
does not allow (B1, B3, B9, B10), and the rule engine agrees with the oracle on all of them."""
from __future__ import annotations

from typing import Any

import yaml
from hypothesis import assume, HealthCheck, event, given, settings
from hypothesis import strategies as st

from fenliu.engine import Policy, oracle
from fenliu.engine.events import route
from fenliu.engine.facts import OPERATORS_BY_TYPE, FactSpec, group_fact_spec
from fenliu.engine.loader import parse_policy
from fenliu.engine.model import Group

from strategies import route_requests

GROUPS = ("presale", "aftersale")
GROUP_FACTS = [spec for spec in (group_fact_spec(f"groups.{group}.{counter}", tuple(Group(g) for g in GROUPS))
                                 for group in GROUPS for counter in ("online", "eligible")) if spec]
FACTS: list[FactSpec] = list(route.FACTS.values()) + GROUP_FACTS
HOURS = {"weekly": {"mon": ["09:00-18:00"], "sat": ["10:00-12:00", "13:00-22:00"]},
         "exceptions": [{"date": "2026-11-23", "hours": ["08:00-10:30"]}]}
WORDS = ("presale", "aftersale", "vip", "a1", "小王", "product_page", "online")


def _literal(spec: FactSpec) -> st.SearchStrategy[Any]:
    if spec.values:
        return st.sampled_from(spec.values)
    return {"bool": st.booleans(), "number": st.integers(-1, 60) | st.sampled_from([0.5, 72.0]),
            "string": st.sampled_from(WORDS), "list": st.sampled_from(WORDS)}[spec.type]


@st.composite
def comparisons(draw) -> dict:
    spec = draw(st.sampled_from(FACTS))
    op = draw(st.sampled_from(OPERATORS_BY_TYPE[spec.type]))
    if op == "exists":
        value: Any = draw(st.booleans())
    elif op in ("in", "not_in"):
        value = draw(st.lists(_literal(spec), min_size=1, max_size=20, unique=True))
    else:
        value = draw(_literal(spec))
    literals = value if isinstance(value, list) else [value]
    # The loader refuses a comparison that can never hold (`time.hour eq -1`).
    assume(spec.type != "number" or op == "exists" or not any(spec.never_holds(op, item) for item in literals))
    return {"fact": spec.name, op: value}


CONDITIONS = st.recursive(
    comparisons(),
    lambda inner: st.one_of(st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
                            st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3)),
                            st.builds(lambda item: {"not": item}, inner)),
    max_leaves=5,
)

WAIVERS = st.fixed_dictionaries({}, optional={"ignore_capacity": st.booleans(), "ignore_suspension": st.booleans()})
ACTIONS = st.one_of(
    st.builds(lambda to, waivers: {"assign": {"to": to, **waivers}}, st.sampled_from(["last_agent", "main"]), WAIVERS),
    st.builds(lambda among, strategy, waivers, exclude: {"assign": {"among": among, "strategy": strategy,
                                                                    "exclude_main": exclude, **waivers}},
              st.sampled_from(["shop", "group", *GROUPS]), st.sampled_from(["least_busy", "fewest_active", "round_robin"]),
              WAIVERS, st.booleans()),
    st.builds(lambda where: {"queue": {"in": where}}, st.sampled_from(["shop", "group", *GROUPS])),
    st.just("offline_queue"),
    st.just({"divert": {"to": "robot"}}),
    st.builds(lambda who: {"hold": {"for": who}}, st.sampled_from(["main", "last_agent"])),
    st.just("none"),
)


def _may_fall_through(action: Any) -> bool:
    if isinstance(action, str):
        return False
    kind, options = next(iter(action.items()))
    return kind in ("assign", "hold") or (kind == "queue" and options["in"] != "shop")


@st.composite
def policies(draw) -> str:
    rules = []
    for index in range(draw(st.integers(1, 6))):
        rule = {"id": f"r{index}", "priority": index * 10, "then": draw(ACTIONS)}
        # An unconditional rule that always succeeds would make the rules after it unreachable,
        # which the loader rightly refuses; rules that may fall through can go without a condition.
        if not _may_fall_through(rule["then"]) or draw(st.booleans()):
            rule["when"] = draw(CONDITIONS)
        rules.append(rule)
    if draw(st.booleans()):
        rules.append({"id": "last", "priority": 1000, "then": draw(ACTIONS)})
    # Opening hours, so that `shop.open` (issue 17) can be drawn like any other route fact.
    document = {"name": "random", "platform": "kuaishou", "hours": HOURS,
                "groups": {"aftersale": {"entries": ["after_sales_page", "order_page"]}, "presale": {"default": True}},
                "rules": rules}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _allowed(chosen: dict, rule, policy: Policy, request: dict) -> None:
    action = rule.then
    assert chosen["status"] in ("online", "invisible"), "B1: only online or invisible agents are assigned"
    if not action.ignore_suspension:
        assert not chosen["suspended"], "B2: suspended agents take no shunted conversation"
    if not action.ignore_capacity:
        maximum = policy.document.params.capacity.max if chosen["max_sessions"] is None else chosen["max_sessions"]
        assert chosen["active"] < maximum, "B3: full agents are not assigned automatically"
    if action.among in GROUPS:
        assert action.among in chosen["groups"], "B9: a group's conversation goes to a member"
    if action.exclude_main:
        assert chosen["role"] != "main"
    if action.agent == "main":
        assert chosen["role"] == "main"
    if action.agent == "last_agent":
        assert chosen["id"] == request["customer"]["last_agent"]["id"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(text=policies(), requests=st.lists(route_requests(), min_size=1, max_size=4))
def test_random_policies_decide_every_request_within_what_their_rules_allow(text, requests):
    document, _ = parse_policy(text.encode("utf-8"), "random.yaml")
    policy = Policy(document)
    try:
        compiled = policy.compiled("route")
        for request in requests:
            decision = policy.evaluate(request)["decision"]
            event(decision["action"])
            assert decision["action"] in route.ACTIONS
            posted = compiled.table.post(compiled.kind.read(request, policy.document).facts)
            assert compiled.matcher.matching(posted) == oracle.matching(compiled.conditions, posted)
            if decision["action"] == "assign":
                rule = next(rule for rule in policy.document.rules + policy.document.builtins if rule.id == decision["rule"])
                chosen = next(agent for agent in request["agents"] if agent["id"] == decision["agent_id"])
                _allowed(chosen, rule, policy, request)
    finally:
        policy.close()
