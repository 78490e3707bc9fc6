"""Properties over generated requests: every valid request gets a decision, assignments respect
eligibility (B10) and capacity (B14), and the rule engine agrees with the plain-Python oracle."""
from __future__ import annotations

import json

import jsonschema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from fenliu.engine import oracle
from fenliu.engine.request import Reader, read_agent
from fenliu.engine.eligibility import Capacity, choose, counts
from fenliu.engine.facts import COUNTERS
from fenliu.engine.model import STRATEGIES
from strategies import agents, dequeue_requests, route_requests

SCHEMA = json.loads((ROOT / "schemas" / "request.schema.json").read_text(encoding="utf-8"))
ROUTE_ACTIONS = {"assign", "cache", "queue", "offline_queue", "divert", "hold", "none"}
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def capacity_of(agent: dict, policy) -> int:
    return policy.document.params.capacity.max if agent["max_sessions"] is None else agent["max_sessions"]


@SETTINGS
@given(request=route_requests())
def test_b10_any_valid_route_request_gets_a_known_action_and_only_eligible_agents(shipped, request):
    jsonschema.validate(request, SCHEMA)
    for policy in shipped.values():
        envelope = policy.evaluate(request)
        decision = envelope["decision"]
        assert decision["action"] in ROUTE_ACTIONS and decision["rule"]
        if decision["action"] not in ("assign", "cache"):
            continue
        rule = next(r for r in policy.document.rules if r.id == decision["rule"])
        chosen = next(a for a in request["agents"] if a["id"] == decision["agent_id"])
        assert chosen["status"] in ("online", "invisible"), "only online agents are ever assigned (B1)"
        if decision["action"] == "cache":
            assert rule.then.options.get("when_full") == "cache", "only `when_full: cache` caches (B20)"
            assert chosen["active"] >= capacity_of(chosen, policy), "B20: cached only when every window is open"
            continue
        if not rule.then.ignore_suspension:
            assert not chosen["suspended"]
        if not rule.then.ignore_capacity:
            assert chosen["active"] < capacity_of(chosen, policy), "B3: full agents are not assigned automatically"


@SETTINGS
@given(request=route_requests())
def test_rule_engine_and_oracle_agree_on_every_route_request(shipped, request):
    for policy in shipped.values():
        compiled = policy.compiled("route")
        situation = compiled.kind.read(request, policy.document)
        posted = compiled.table.post(situation.facts)
        assert compiled.matcher.matching(posted) == oracle.matching(compiled.conditions, posted)


@SETTINGS
@given(request=dequeue_requests())
def test_b14_b15_b20_dequeue_respects_slots_ttl_caches_and_assigns_each_conversation_once(shipped, request):
    jsonschema.validate(request, SCHEMA)
    for policy in shipped.values():
        decision = policy.evaluate(request)["decision"]
        assigned = [a["conversation_id"] for a in decision["assignments"]]
        assert len(assigned) == len(set(assigned)), "a conversation is never assigned twice"
        assert not set(assigned) & set(decision["expired"]), "an expired offline message is never assigned"
        agents = {a["id"]: a for a in request["agents"]}
        owners = {item["conversation"]["id"]: item["cached_at"] for item in request["queue"] if "cached_at" in item}
        for assignment in decision["assignments"]:
            owner = owners.get(assignment["conversation_id"], assignment["agent_id"])
            assert assignment["agent_id"] == owner, "a cached conversation goes to its own agent only (B20)"
        assert not set(owners) & set(decision["expired"]), "a cached conversation never expires (B20)"
        for agent_id in {a["agent_id"] for a in decision["assignments"]}:
            agent = agents[agent_id]
            taken = sum(a["agent_id"] == agent_id for a in decision["assignments"])
            limit = len(request["queue"]) if agent["max_sessions"] is None else max(0, agent["max_sessions"] - agent["active"])
            assert taken <= limit, f"{agent_id} got {taken} with {limit} free slots"
            assert agent["status"] in ("online", "invisible")


@SETTINGS
@given(raw=agents(max_size=12), wanted=st.frozensets(st.sampled_from(sorted(COUNTERS))))
def test_b10_head_counts_match_their_definitions(raw, wanted):
    """The counter agrees with the definitions, asked for every count or only some (a policy's
    tested ones, which may take the cheaper count by status): invisible counts online (B1),
    eligible is B10."""
    reader = Reader()
    roster = [read_agent(reader, item, "agent") for item in raw]
    capacity = Capacity(500)
    defined = {
        "agents": len(roster),
        "logged_in": sum(agent.logged_in for agent in roster),
        "online": sum(agent.online for agent in roster),
        "on_break": sum(agent.status == "break" for agent in roster),
        "eligible": sum(capacity.eligible(agent) for agent in roster),
        "suspended": sum(agent.online and agent.suspended for agent in roster),
    }
    assert counts(roster) == defined
    asked = counts(roster, wanted)
    assert {key: asked[key] for key in wanted} == {key: defined[key] for key in wanted}


@SETTINGS
@given(raw=agents(max_size=12), strategy=st.sampled_from(STRATEGIES),
       skills=st.lists(st.sampled_from(["refund", "billing", "退款"]), max_size=2, unique=True))
def test_b11_strategies_rank_by_their_documented_keys(raw, strategy, skills):
    """Each strategy's order, ties broken by id (B11; saturation as B19 defines it; most_proficient
    from issue 17): the chosen agent is the first of the roster sorted by these keys."""
    reader = Reader()
    roster = [read_agent(reader, item, "agent") for item in raw]
    capacity = Capacity(500)

    def saturation(agent):
        maximum = 500 if agent.max_sessions is None else agent.max_sessions
        return agent.active / maximum if maximum > 0 else 1.0

    def level(agent):
        return sum(agent.skills.get(skill, 0) for skill in skills)

    documented = {
        "least_busy": lambda agent: (saturation(agent), agent.active, agent.id),
        "fewest_active": lambda agent: (agent.active, saturation(agent), agent.id),
        "round_robin": lambda agent: (agent.last_assigned_at is not None, agent.last_assigned_at or 0,
                                      saturation(agent), agent.active, agent.id),
        "most_proficient": lambda agent: (-level(agent), saturation(agent), agent.active, agent.id),
    }[strategy]
    expected = min(roster, key=documented, default=None)
    assert choose(roster, strategy, capacity, tuple(skills)) == expected
