"""Issue 13: every event's request decodes straight from bytes into typed structs, and the fast way
may only take what the careful reader takes, read alike; what it refuses, the careful reader names."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, event as outcome, given, settings
from hypothesis import strategies as st

from fenliu.engine import RequestError
from fenliu.engine.events import EVENTS, decode_typed, route as route_event
from fenliu.engine.events import agent_settings, close, dequeue, login, manual_assign, order, transfer

from conftest import agent, route
from strategies import REQUESTS, hostile_requests

# The careful reader of each event and the fields a hostile variation aims at.
CAREFUL = {
    "route": (route_event.read_carefully, ("conversation", "customer", "agents", "now", "entry", "tags", "last_agent",
                                           "at", "enqueued_at", "max_sessions", "active", "status", "groups")),
    "dequeue": (dequeue.read_carefully, ("agents", "queue", "enqueued_at", "queue", "cached_at", "customer",
                                         "conversation", "now", "max_sessions", "active")),
    "transfer": (transfer.read_carefully, ("from_agent", "agents", "conversation", "entry", "now")),
    "close": (close.read_carefully, ("manual", "conversation", "last_message", "from", "at", "now")),
    "agent_settings": (agent_settings.read_carefully, ("agent", "status", "max_sessions", "id", "now")),
    "order": (order.read_carefully, ("conversations", "last_message", "unanswered_since", "from", "at", "now")),
    "login": (login.read_carefully, ("agent", "last_status", "id", "now")),
    "manual_assign": (manual_assign.read_carefully, ("by", "role", "id", "to_agent", "conversation", "agents",
                                                     "now")),
}


def test_every_event_has_a_careful_reader_under_test():
    assert set(CAREFUL) == set(EVENTS) == set(REQUESTS)


def _agrees(event: str, body: dict) -> None:
    careful, _ = CAREFUL[event]
    raw = json.dumps(body, ensure_ascii=False).encode("utf-8")
    typed = decode_typed(raw)
    try:
        expected = careful(json.loads(raw))
    except RequestError as refused:
        outcome("refused")
        assert typed is None, f"the fast way took what the careful reader refuses: {refused.errors}"
        return
    outcome("taken")
    assert typed is not None, "the careful reader takes this body, so the fast way must too"
    kind, request = typed
    assert kind.name == event and request == expected


@pytest.mark.parametrize("event", sorted(CAREFUL))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_the_fast_way_takes_exactly_what_the_careful_reader_takes_and_reads_it_alike(event, data):
    """Valid bodies of every event with up to three faults (a field dropped, set to a wrong type, a
    moment without a zone or in the future, a list item repeated): the typed decoding and the careful
    reader agree on whether the body is good and, when it is, on every field read."""
    _agrees(event, data.draw(hostile_requests(event, CAREFUL[event][1])))


@pytest.mark.parametrize("event", sorted(CAREFUL))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_bytes_and_dict_are_answered_and_refused_alike(shipped, event, data):
    """The bytes path and `evaluate(dict)` give the same decision, or the same errors, for every event."""
    body = data.draw(hostile_requests(event, CAREFUL[event][1]))
    policy = shipped["kuaishou"]
    try:
        expected = policy.evaluate(json.loads(json.dumps(body)))
    except RequestError as refused:
        with pytest.raises(RequestError) as caught:
            policy.evaluate_json(json.dumps(body))
        assert caught.value.errors == refused.errors
        return
    answer = json.loads(policy.evaluate_json(json.dumps(body)))
    assert {**answer, "decision_id": None} == {**expected, "decision_id": None}


def test_the_decoder_is_keyed_on_event():
    """A body is decoded as the struct its `event` names; without `event`, or with an unknown one, it
    goes the careful way, which names the problem."""
    body = route([agent("a1")])
    assert decode_typed(json.dumps(body))[0].name == "route"
    assert decode_typed(json.dumps({**body, "event": "dequeue"})) is None  # no `queue`
    assert decode_typed(json.dumps({k: v for k, v in body.items() if k != "event"})) is None
    assert decode_typed(json.dumps({**body, "event": "reroute"})) is None
