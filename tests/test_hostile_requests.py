"""Hostile and odd evaluate requests: each gets a documented 4xx or a well-defined decision
(the rules are listed in SECURITY.md), never a 500."""
from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from fenliu.api.app import create_app
from fenliu.api.settings import Settings
from fenliu.engine import RequestError

from conftest import NOW, RULES, agent, route


@pytest.fixture(scope="module")
def client():
    app = create_app(Settings(rules_dir=RULES), watch=False)
    yield app.test_client()
    app.extensions["fenliu"].registry.close()


def _post(client, body) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body, ensure_ascii=False).encode("utf-8")
    response = client.post("/v1/policies/kuaishou/evaluate", data=data, content_type="application/json")
    return response.status_code, response.get_json()


def _paths(body: dict) -> list[str]:
    return [detail["path"] for detail in body["error"]["details"]]


def _later(minutes: float) -> str:
    return (datetime.fromisoformat(NOW) + timedelta(minutes=minutes)).isoformat()


def test_ten_thousand_agents_over_http_is_413_body_too_large(client):
    status, body = _post(client, route([agent(f"agent-{n}") for n in range(10_000)]))
    assert status == 413 and body["error"]["code"] == "body_too_large"


def test_more_agents_than_the_limit_is_a_request_error_naming_agents(shipped):
    with pytest.raises(RequestError) as raised:
        shipped["kuaishou"].evaluate(route([agent(f"a{n}") for n in range(5001)]))
    assert raised.value.errors[0]["path"] == "agents" and "5000" in raised.value.errors[0]["message"]


def test_five_thousand_agents_get_a_decision(shipped):
    decision = shipped["kuaishou"].evaluate(route([agent(f"a{n:04d}", active=n % 7) for n in range(5000)]))["decision"]
    assert decision["action"] == "assign" and decision["agent_id"] == "a0000"


@pytest.mark.parametrize("depth", [50, 5000, 200_000])
def test_deeply_nested_json_is_400(client, depth):
    text = json.dumps(route([agent("a1")]))
    nested = '{"x": ' * depth + "1" + "}" * depth
    status, answer = _post(client, text.replace('"category": null', f'"category": {nested}').encode())
    assert status in (400, 413) and "error" in answer


def test_huge_strings_are_400_naming_the_field(client):
    body = route([agent("a" * 100_000)])
    status, answer = _post(client, body)
    assert status == 400 and _paths(answer) == ["agents[0].id"]


def test_chinese_and_emoji_names_are_decided_and_echoed_exactly(client):
    status, body = _post(client, route([agent("客服小王😀", groups=("售前",))], tags=("老客户",)))
    assert status == 200 and body["decision"]["agent_id"] == "客服小王😀"


@pytest.mark.parametrize("constant", [b"NaN", b"Infinity", b"-Infinity"])
def test_nan_and_infinity_are_400(client, constant):
    body = json.dumps(route([agent("a1")])).replace('"active": 0', '"active": ' + constant.decode()).encode()
    status, answer = _post(client, body)
    assert status == 400 and answer["error"]["code"] == "malformed_json"


def test_duplicate_agent_ids_are_400_naming_the_second(client):
    status, body = _post(client, route([agent("a1"), agent("a1")]))
    assert status == 400 and _paths(body) == ["agents[1].id"]


def test_duplicate_json_keys_take_the_last_value_as_json_does(client):
    data = b'{"event": "route", "event": "route", "now": "2026-11-23T10:00:00Z", "agents": []}'
    status, body = _post(client, data)
    assert status == 200


def test_timestamps_without_a_time_zone_are_400(client):
    status, body = _post(client, route([agent("a1")], now="2026-11-23T10:00:00"))
    assert status == 400 and _paths(body) == ["now"]


def test_a_last_contact_in_the_future_beyond_clock_skew_is_400(client):
    status, body = _post(client, route([agent("a1")], last=("a1", _later(6))))
    assert status == 400 and _paths(body) == ["customer.last_agent.at"]


def test_a_last_contact_within_clock_skew_counts_as_now_b7(client):
    status, body = _post(client, route([agent("a1"), agent("a2")], last=("a2", _later(4))))
    assert status == 200 and body["decision"]["rule"] == "returning-customer"


def test_a_far_future_now_is_decided_like_any_other_moment(client):
    status, body = _post(client, route([agent("a1")], now="9999-12-31T23:59:59+00:00"))
    assert status == 200 and body["decision"]["agent_id"] == "a1"


@pytest.mark.parametrize("value", [10**30, -1, 2.5, True, "3"])
def test_counts_outside_whole_numbers_are_400(client, value):
    status, body = _post(client, route([agent("a1", active=value)]))
    assert status == 400 and _paths(body) == ["agents[0].active"]


@pytest.mark.parametrize("body", [[], "route", 42, None, {"event": None}])
def test_a_body_that_is_not_a_request_object_is_400(client, body):
    status, answer = _post(client, body)
    assert status == 400 and answer["error"]["code"] == "invalid_request"


def test_lone_surrogate_escapes_are_answered_not_a_500(client):
    data = json.dumps(route([agent("a1")])).replace('"id": "a1"', '"id": "\\udaa6"').encode()
    status, body = _post(client, data)
    assert status == 200 and body["decision"]["agent_id"] == "\udaa6"


def test_lone_surrogates_in_a_validated_policy_are_answered_not_a_500(client):
    response = client.post("/v1/policies/validate", data='{"\\udaa6": 1}', content_type="text/plain")
    assert response.status_code == 200 and response.get_json()["valid"] is False
