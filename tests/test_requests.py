"""The evaluate contract: bad requests name each bad field; the published schema agrees with the engine."""
from __future__ import annotations

import json
from datetime import datetime

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import NOW, ROOT, agent, route
from fenliu.engine import RequestError
from fenliu.engine.request import Reader, read_agent, well_formed_agents

SCHEMA = json.loads((ROOT / "schemas" / "request.schema.json").read_text(encoding="utf-8"))
EXAMPLES = sorted((ROOT / "docs" / "examples").glob("*.json"))


def errors_of(policy, request) -> list[dict]:
    with pytest.raises(RequestError) as caught:
        policy.evaluate(request)
    return caught.value.errors


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_documented_example_is_valid_by_the_schema_and_decided(shipped, path):
    """Decided by a rule of every shipped policy that answers the event (Kuaishou and Taobao's pages
    describe no login, so their policies have no login rules), and answered by at least one."""
    request = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.validate(request, SCHEMA)
    answering = [policy for policy in shipped.values() if policy.document.rules_for(request["event"])]
    assert answering
    for policy in answering:
        envelope = policy.evaluate(request)
        assert envelope["decision"]["rule"] != "default"


def test_each_bad_field_is_named_by_its_path(shipped):
    request = route([agent("a1"), {"id": "a2", "status": "away", "active": -1}])
    request["conversation"]["entry"] = "shop_window"
    request["customer"]["last_agent"] = {"id": "a1"}
    found = {e["path"]: e["message"] for e in errors_of(shipped["kuaishou"], request)}
    assert set(found) == {"agents[1].status", "agents[1].active", "conversation.entry", "customer.last_agent.at"}
    assert "online, invisible, break, offline" in found["agents[1].status"]


def test_unknown_fields_are_errors_with_a_suggestion(shipped):
    request = route([agent("a1")])
    request["agents"][0]["max_session"] = 5
    assert errors_of(shipped["kuaishou"], request) == [
        {"path": "agents[0].max_session", "message": "unknown field; did you mean `max_sessions`?",
         "suggestion": "did you mean `max_sessions`?"}]


def test_duplicate_agent_ids_are_refused(shipped):
    found = errors_of(shipped["kuaishou"], route([agent("a1"), agent("a1")]))
    assert found == [{"path": "agents[1].id", "message": "duplicates agents[0].id `a1`", "suggestion": None}]


@pytest.mark.parametrize("now", ["2026-11-23T10:00:00", "yesterday", 1700000000])
def test_timestamps_need_a_time_zone_and_iso_format(shipped, now):
    assert [e["path"] for e in errors_of(shipped["kuaishou"], route([agent("a1")], now=now))] == ["now"]


@pytest.mark.parametrize("request_body,path", [
    ([], ""), ({"now": NOW}, "event"), ({"event": "rout", "now": NOW}, "event"),
])
def test_missing_or_unknown_event(shipped, request_body, path):
    found = errors_of(shipped["kuaishou"], request_body)
    assert found[0]["path"] == path
    if request_body and request_body.get("event") == "rout":
        assert "did you mean `route`" in found[0]["message"]


def test_chinese_names_and_ids_are_fine(shipped):
    request = route([agent("小王", groups=("售前",)), agent("小李", active=3)], tags=("会员",))
    assert shipped["kuaishou"].evaluate(request)["decision"]["agent_id"] == "小王"


def test_schema_rejects_what_the_engine_rejects():
    bad = route([{"id": "a1", "status": "away"}])
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


AGENT_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.just(10**9), st.just(2.0),
                         st.sampled_from(["", "a1", "online", "break", "main", "sub", "x" * 257, "2026-11-23T10:00:00Z"]),
                         st.lists(st.sampled_from(["presale", "", 3]), max_size=2),
                         st.dictionaries(st.sampled_from(["refund", "", "x" * 257]),
                                         st.sampled_from([0, 1, 10, 11, 2.0, True, "5", None]), max_size=2))
AGENT_KEYS = st.sampled_from(["id", "role", "status", "suspended", "max_sessions", "active", "groups",
                              "last_assigned_at", "skills", "colour"])


@settings(max_examples=500)
@given(st.dictionaries(AGENT_KEYS, AGENT_VALUES) | st.builds(lambda extra: {**agent("a1"), **extra},
                                                             st.dictionaries(AGENT_KEYS, AGENT_VALUES, max_size=2)))
def test_the_fast_agent_reader_agrees_with_the_careful_one(raw):
    """The typed decoding may only take agents `read_agent` reads without a complaint, and read them
    alike; what the careful reader takes without a complaint, the typed decoding takes too."""
    reader = Reader()
    careful = read_agent(reader, raw, "agents[0]")
    fast = well_formed_agents([raw])
    if fast is not None:
        assert reader.issues == [] and fast == (careful,)
    else:
        assert reader.issues


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_bytes_to_bytes_decides_as_evaluate_does(shipped, path):
    body = path.read_bytes()
    for policy in shipped.values():
        answer = json.loads(policy.evaluate_json(body))
        expected = policy.evaluate(json.loads(body))
        assert {**answer, "decision_id": None} == {**expected, "decision_id": None}


def test_bytes_that_are_not_json_are_a_request_error_at_the_body(shipped):
    with pytest.raises(RequestError) as caught:
        shipped["kuaishou"].evaluate_json(b'{"event": "route",')
    assert caught.value.errors[0]["path"] == "" and "not valid JSON" in caught.value.errors[0]["message"]


AGENT_SCHEMA = jsonschema.Draft202012Validator({**SCHEMA["$defs"]["agent"], "$defs": SCHEMA["$defs"]})


def _integral_float_anywhere(raw: dict) -> bool:
    values = [*raw.values(), *(item for value in raw.values() if isinstance(value, list) for item in value),
              *(item for value in raw.values() if isinstance(value, dict) for item in value.values())]
    return any(isinstance(value, float) and value.is_integer() for value in values)


def _unchecked_format(raw: dict) -> bool:
    """`format: date-time` is an annotation JSON Schema validators need not check; the engine does."""
    moment = raw.get("last_assigned_at")
    if not isinstance(moment, str):
        return False
    try:
        return datetime.fromisoformat(moment).tzinfo is None
    except ValueError:
        return True


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(AGENT_KEYS, AGENT_VALUES) | st.builds(lambda extra: {**agent("a1"), **extra},
                                                             st.dictionaries(AGENT_KEYS, AGENT_VALUES, max_size=2)))
def test_the_typed_agent_and_the_published_schema_take_the_same_agents(raw):
    """The contract and the code cannot drift: `Agent` takes exactly what `request.schema.json`'s
    agent allows, except that JSON Schema counts 2.0 as an integer and the engine does not, and the
    engine checks the date-time format the schema only names."""
    typed = well_formed_agents([raw]) is not None
    published = AGENT_SCHEMA.is_valid(raw)
    if typed:
        assert published
    elif published:
        assert _integral_float_anywhere(raw) or _unchecked_format(raw)


ROUTE_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-1, 2), st.just(2.0),
                         st.sampled_from(["", "b1", "vip", "direct", "live", "x" * 257, NOW, "2026-11-23T10:03:00Z",
                                          "2026-11-23T10:30:00Z", "2026-11-23", "2026-11-23T10:00:00"]),
                         st.lists(st.sampled_from(["vip", "", 3]), max_size=2))
CONVERSATION_KEYS = st.sampled_from(["id", "entry", "category", "to_main", "internal", "enqueued_at", "colour"])
CUSTOMER_KEYS = st.sampled_from(["id", "private_contact", "tags", "colour"])
LAST_AGENT = st.none() | st.fixed_dictionaries({"id": st.sampled_from(["a1", "", 7]), "at": ROUTE_VALUES})
ROUTE_BODIES = st.builds(
    lambda conversation, customer, last, agents, now, drop: {
        key: value for key, value in {
            "event": "route", "now": now, "conversation": conversation,
            "customer": {**customer, **({} if last == "absent" else {"last_agent": last})}, "agents": agents,
        }.items() if key != drop},
    st.dictionaries(CONVERSATION_KEYS, ROUTE_VALUES, max_size=3),
    st.dictionaries(CUSTOMER_KEYS, ROUTE_VALUES, max_size=3),
    st.just("absent") | LAST_AGENT,
    st.lists(st.sampled_from([agent("a1"), agent("a2", "break"), agent("a1", "offline"), {"id": ""}]), max_size=3),
    st.sampled_from([NOW, "2026-11-23", 5]),
    st.sampled_from([None, "now", "agents", "conversation", "customer"]),
)


@settings(max_examples=400, deadline=None)
@given(ROUTE_BODIES)
def test_typed_route_decoding_agrees_with_the_careful_reader(shipped, body):
    """A route body decoded straight into typed structs is decided exactly as the careful reader
    decides it, and a body the careful reader refuses is refused on the bytes path too, with the
    same errors: the fast path may only take what the reader takes, and read it alike."""
    policy = shipped["kuaishou"]
    raw = json.dumps(body).encode("utf-8")
    try:
        expected = policy.evaluate(json.loads(raw))
    except RequestError as refused:
        with pytest.raises(RequestError) as caught:
            policy.evaluate_json(raw)
        assert caught.value.errors == refused.errors
        return
    answer = json.loads(policy.evaluate_json(raw))
    assert {**answer, "decision_id": None} == {**expected, "decision_id": None}


def test_a_last_contact_within_clock_skew_is_taken_as_now_on_both_paths(shipped):
    """Three minutes ahead of `now` is skew and counts as `now`; thirty minutes ahead is refused."""
    policy = shipped["kuaishou"]
    skewed = route([agent("a1")], last=("a1", "2026-11-23T10:03:00Z"))
    assert json.loads(policy.evaluate_json(json.dumps(skewed)))["decision"] == policy.evaluate(skewed)["decision"]
    ahead = route([agent("a1")], last=("a1", "2026-11-23T10:30:00Z"))
    with pytest.raises(RequestError) as caught:
        policy.evaluate_json(json.dumps(ahead))
    assert caught.value.errors[0]["path"] == "customer.last_agent.at"
