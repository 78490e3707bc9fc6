"""The HTTP contract, through Flask's test client: every endpoint, every error code, the batch,
ETag/304, the admin token, and OpenAPI. Multi-worker behaviour is in test_service.py."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from fenliu.api import decision_log
from fenliu.api.app import create_app
from fenliu.api.openapi import openapi_document
from fenliu.api.settings import Settings

from conftest import RULES, agent, route
from server_process import copy_of_shipped_rules

EXAMPLES = RULES.parent / "docs" / "examples"


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    return copy_of_shipped_rules(tmp_path)


def _app(rules_dir: Path, **settings):
    app = create_app(Settings(rules_dir=rules_dir, **settings), watch=False)
    app.testing = True
    return app


@pytest.fixture
def app(rules_dir: Path):
    built = _app(rules_dir)
    yield built
    built.extensions["fenliu"].registry.close()


@pytest.fixture
def client(app):
    return app.test_client()


def _evaluate(client, body, name: str = "kuaishou", **kwargs):
    return client.post(f"/v1/policies/{name}/evaluate", data=json.dumps(body), content_type="application/json", **kwargs)


def _error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    # Every entry says where in `path` and carries the fix, or null, in `suggestion`.
    assert all({"path", "message", "suggestion"} <= set(detail) for detail in body["error"]["details"])
    return body["error"]


@pytest.mark.parametrize("event", ["route", "dequeue", "transfer", "close", "agent_settings", "order"])
def test_evaluate_answers_the_engine_envelope_for_every_event(client, event):
    body = json.loads((EXAMPLES / f"{event}.json").read_text(encoding="utf-8"))
    response = _evaluate(client, body)
    assert response.status_code == 200
    envelope = response.get_json()
    assert set(envelope) == {"decision", "warnings", "policy", "decision_id"}
    assert envelope["policy"]["name"] == "kuaishou"
    assert envelope["decision"]["rule"]


def test_b5_returning_customer_over_http_names_rule_and_reason(client):
    body = json.loads((EXAMPLES / "route.json").read_text(encoding="utf-8"))
    decision = _evaluate(client, body).get_json()["decision"]
    assert decision["action"] == "assign" and decision["agent_id"] == "a2"
    assert decision["rule"] == "returning-customer"


def test_explain_adds_the_trace(client):
    response = _evaluate(client, route([agent("a1")]), query_string={"explain": "true"})
    trace = response.get_json()["trace"]
    assert trace and all("rule" in step for step in trace)


def test_explain_must_be_a_boolean(client):
    error = _error_shape(_evaluate(client, route([agent("a1")]), query_string={"explain": "maybe"}), 400, "bad_parameter")
    assert error["details"][0]["path"] == "explain"


def test_batch_answers_in_order_and_one_bad_item_does_not_fail_the_others(client):
    good = route([agent("a1")])
    bad = route([agent("a1", status="asleep")])
    response = _evaluate(client, {"requests": [good, bad, good]})
    assert response.status_code == 200
    results = response.get_json()["results"]
    assert [("decision" in item, "error" in item) for item in results] == [(True, False), (False, True), (True, False)]
    assert results[1]["error"]["details"][0]["path"] == "agents[0].status"


def test_a_batch_is_a_batch_whatever_its_key_order_and_its_requests_must_be_a_list(client):
    body = json.dumps({"trace": "x", "requests": [route([agent("a1")])] * 2}).encode()
    response = client.post("/v1/policies/kuaishou/evaluate", data=body, content_type="application/json")
    assert response.status_code == 200 and [r["decision"]["action"] for r in response.get_json()["results"]] == ["assign"] * 2
    error = _error_shape(_evaluate(client, {"requests": route([agent("a1")])}), 400, "invalid_request")
    assert error["details"][0]["path"] == "requests" and "dict" in error["details"][0]["message"]


def test_batch_above_the_limit_is_refused(rules_dir):
    app = _app(rules_dir, max_batch=2)
    response = _evaluate(app.test_client(), {"requests": [route([agent("a1")])] * 3})
    _error_shape(response, 413, "batch_too_large")
    app.extensions["fenliu"].registry.close()


def test_batch_requests_must_be_a_list(client):
    _error_shape(_evaluate(client, {"requests": {"event": "route"}}), 400, "invalid_request")


@pytest.mark.parametrize("body, path", [
    ({"event": "route"}, "now"),
    ({"event": "teleport", "now": "2026-11-23T10:00:00Z"}, "event"),
    (route([agent("a1", active=-1)]), "agents[0].active"),
    (route([agent("a1", max="many")]), "agents[0].max_sessions"),
    ([1, 2], ""),
])
def test_a_bad_request_is_400_naming_the_field(client, body, path):
    error = _error_shape(_evaluate(client, body), 400, "invalid_request")
    assert path in [detail["path"] for detail in error["details"]]


@pytest.mark.parametrize("data", [b"{", b'{"now": NaN}', b'{"x": Infinity}', b"\xff\xfe{", b"[" * 100_000 + b"]" * 100_000])
def test_malformed_json_is_400_never_500(client, data):
    response = client.post("/v1/policies/kuaishou/evaluate", data=data, content_type="application/json")
    _error_shape(response, 400, "malformed_json")


def test_wrong_content_type_is_415(client):
    response = client.post("/v1/policies/kuaishou/evaluate", data="{}", content_type="text/plain")
    _error_shape(response, 415, "unsupported_media_type")


def test_body_too_large_is_413(rules_dir):
    app = _app(rules_dir, max_body_bytes=1000)
    response = _evaluate(app.test_client(), route([agent(f"agent-{n}") for n in range(50)]))
    _error_shape(response, 413, "body_too_large")
    app.extensions["fenliu"].registry.close()


def test_unknown_policy_is_404_with_a_suggestion(client):
    error = _error_shape(_evaluate(client, route([agent("a1")]), name="kuaishu"), 404, "unknown_policy")
    assert "did you mean `kuaishou`" in error["message"]
    assert error["details"][0]["path"] == "name" and error["details"][0]["suggestion"] == "did you mean `kuaishou`?"


def test_wrong_method_is_405_with_allow(client):
    response = client.get("/v1/policies/kuaishou/evaluate")
    _error_shape(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_unknown_path_is_404_json(client):
    _error_shape(client.get("/v2/nothing"), 404, "not_found")


def test_policies_lists_every_policy_with_its_status(client):
    policies = client.get("/v1/policies").get_json()["policies"]
    assert [policy["name"] for policy in policies] == ["douyin", "kuaishou", "taobao"]
    for policy in policies:
        assert policy["status"] == "active" and policy["last_error"] is None
        assert len(policy["sha256"]) == 64 and policy["rules"] > 0 and policy["loaded_at"]


def test_one_policy_has_its_rules_and_an_etag_answering_304(client):
    response = client.get("/v1/policies/kuaishou")
    body = response.get_json()
    assert response.headers["ETag"] == f'"{body["sha256"]}"'
    assert "returning-customer" in [rule["id"] for rule in body["rules"]]
    again = client.get("/v1/policies/kuaishou", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get("/v1/policies/kuaishou", headers={"If-None-Match": '"other"'}).status_code == 200


def test_unknown_policy_detail_is_404(client):
    _error_shape(client.get("/v1/policies/nope"), 404, "unknown_policy")


def test_validate_reports_errors_with_line_and_column_and_loads_nothing(client):
    text = (RULES.parent / "tests" / "policies" / "broken" / "semantic_errors.yaml").read_bytes()
    response = client.post("/v1/policies/validate", data=text, content_type="application/yaml")
    body = response.get_json()
    assert response.status_code == 200 and body["valid"] is False
    assert all({"path", "file", "line", "column", "message", "suggestion"} == set(error) for error in body["errors"])
    assert all(error["path"] == f"<request>:{error['line']}:{error['column']}" for error in body["errors"])
    assert any("did you mean `customer.hours_since_last_agent`" in error["message"]
               and error["suggestion"] == "did you mean `customer.hours_since_last_agent`?" for error in body["errors"])
    assert [policy["name"] for policy in client.get("/v1/policies").get_json()["policies"]] == ["douyin", "kuaishou", "taobao"]


def test_validate_accepts_a_good_policy(client):
    response = client.post("/v1/policies/validate", data=(RULES / "taobao.yaml").read_bytes(), content_type="text/yaml")
    body = response.get_json()
    # Taobao's pages describe no transfer, order, login or manual assignment: the built-in answers serve them.
    assert body["valid"] and body["errors"] == []
    assert all("built-in answer" in warning["message"] for warning in body["warnings"])


def test_validate_wants_yaml_or_json(client):
    _error_shape(client.post("/v1/policies/validate", data="<policy/>", content_type="application/xml"), 415,
                 "unsupported_media_type")


def test_validate_refuses_python_tags_without_running_them(client, tmp_path):
    marker = tmp_path / "touched"
    text = f"name: x\nplatform: kuaishou\nrules: !!python/object/apply:os.system ['touch {marker}']\n"
    body = client.post("/v1/policies/validate", data=text, content_type="text/plain").get_json()
    assert body["valid"] is False and not marker.exists()


def test_reload_reports_what_changed(client, rules_dir):
    path = rules_dir / "kuaishou.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("version: \"2026.11.1\"", "version: \"2026.11.2\""), encoding="utf-8")
    (rules_dir / "taobao.yaml").write_text("name: taobao\n", encoding="utf-8")
    body = client.post("/v1/reload").get_json()
    assert body["loaded"] == ["kuaishou"] and body["unchanged"] == ["douyin"]
    assert [item["file"] for item in body["rejected"]] == [str(rules_dir / "taobao.yaml")]
    assert _evaluate(client, route([agent("a1")])).get_json()["policy"]["version"] == "2026.11.2"


def test_reload_with_a_token_needs_the_bearer(rules_dir):
    app = _app(rules_dir, admin_token="s3cret")
    client = app.test_client()
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
        response = client.post("/v1/reload", headers=headers)
        _error_shape(response, 401, "unauthorized")
        assert "s3cret" not in response.get_data(as_text=True)
    assert client.post("/v1/reload", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    app.extensions["fenliu"].registry.close()


def test_health_and_readiness(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_a_file_that_never_loaded_is_reported_but_the_good_policies_stay_ready(rules_dir):
    (rules_dir / "broken.yaml").write_text("name: broken\n", encoding="utf-8")
    app = _app(rules_dir)
    client = app.test_client()
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_json()["failed"] == ["broken"] and "kuaishou" in response.get_json()["serving"]
    error = _error_shape(_evaluate(client, route([agent("a1")]), name="broken"), 503, "policy_unavailable")
    (detail,) = [detail for detail in error["details"] if "missing required key `platform`" in detail["message"]]
    assert detail["path"] == f"{detail['file']}:{detail['line']}:{detail['column']}" and detail["file"].endswith("broken.yaml")
    app.extensions["fenliu"].registry.close()


def test_not_ready_while_no_policy_serves(rules_dir):
    for path in rules_dir.glob("*.yaml"):
        path.write_text("name: broken\n", encoding="utf-8")
    app = _app(rules_dir)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["serving"] == []
    app.extensions["fenliu"].registry.close()


def test_metrics_count_requests_decisions_and_policies(client):
    _evaluate(client, route([agent("a1")]))
    text = client.get("/metrics").get_data(as_text=True)
    assert 'fenliu_decisions_total{action="assign",event="route",policy="kuaishou",rule="basic-shunting"}' in text
    assert 'fenliu_http_requests_total{endpoint="/v1/policies/<name>/evaluate",method="POST",status="200"}' in text
    assert 'fenliu_policy_info{policy="kuaishou"' in text
    assert "fenliu_http_request_duration_seconds_bucket" in text


def test_every_decision_is_one_json_log_line_without_the_request(client, capsys):
    capsys.readouterr()
    _evaluate(client, route([agent("a1")]))
    decision_log.wait_written()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if '"decision_id"' in line]
    assert lines, "no decision line logged"
    line = lines[-1]
    assert set(line) == {"time", "decision_id", "policy", "sha256", "event", "action", "rule", "agent", "latency_us", "buyer"}
    assert line["buyer"].startswith("sha256:") and line["buyer"] != "b1"
    assert line["agent"] == "a1" and line["event"] == "route"


def test_openapi_describes_every_endpoint_and_its_schemas_are_valid(client, app):
    document = client.get("/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    routes = {str(rule).replace("<", "{").replace(">", "}") for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert routes == set(document["paths"])
    components = document["components"]["schemas"]
    for schema in components.values():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_openapi_envelope_schema_matches_a_real_answer(client):
    document = openapi_document()
    envelope = _evaluate(client, route([agent("a1")]), query_string={"explain": "1"}).get_json()
    schema = {**document["components"]["schemas"]["Envelope"], "components": document["components"]}
    resolver_doc = {"components": document["components"], **schema}
    jsonschema.validate(envelope, resolver_doc, cls=jsonschema.Draft202012Validator)
    request_schema = {"components": document["components"], **document["components"]["schemas"]["EvaluateRequest"]}
    jsonschema.validate(route([agent("a1")]), request_schema, cls=jsonschema.Draft202012Validator)


SIMULATION = RULES.parent / "docs" / "examples" / "simulation"


def _small_simulation(count: int = 40) -> dict:
    lines = (SIMULATION / "trace.jsonl").read_text(encoding="utf-8").splitlines()[:count]
    return {"trace": [json.loads(line) for line in lines],
            "roster": json.loads((SIMULATION / "roster.json").read_text(encoding="utf-8")),
            "policies": ["kuaishou", "taobao"], "options": {"seed": 3}}


def test_b19_simulate_answers_kpis_per_policy_reproducibly(client):
    first = client.post("/v1/simulate", json=_small_simulation())
    assert first.status_code == 200, first.get_data(as_text=True)
    body = first.get_json()
    assert [run["policy"]["name"] for run in body["runs"]] == ["kuaishou", "taobao"]
    assert body["runs"][0]["kpis"]["reply_rate"] and body["runs"][0]["kpis"]["conversations"]["arrived"] == 40
    assert client.post("/v1/simulate", json=_small_simulation()).get_json() == body


def test_simulate_refuses_runs_past_the_service_limits(rules_dir):
    app = _app(rules_dir, simulate_max_conversations=10)
    _error_shape(app.test_client().post("/v1/simulate", json=_small_simulation()), 413, "simulation_too_large")
    app.extensions["fenliu"].registry.close()


def test_simulate_names_bad_input_and_unknown_policies(client):
    bad = _small_simulation()
    bad["trace"][0]["entry"] = "teleport"
    error = _error_shape(client.post("/v1/simulate", json=bad), 400, "invalid_simulation")
    assert error["details"] and "entry" in error["details"][0]["path"]
    unknown = {**_small_simulation(), "policies": ["kuaishu"]}
    _error_shape(client.post("/v1/simulate", json=unknown), 404, "unknown_policy")
    _error_shape(client.post("/v1/simulate", json={"trace": []}), 400, "invalid_simulation")


def test_validate_reads_no_file_and_follows_no_include(client):
    text = "name: x\nplatform: kuaishou\nrules: !include /etc/passwd\n"
    body = client.post("/v1/policies/validate", data=text, content_type="text/plain").get_json()
    assert body["valid"] is False
    assert "root:" not in json.dumps(body)
    assert any("tag" in error["message"] for error in body["errors"])


def test_an_internal_fault_is_a_500_without_a_stack_trace(app, monkeypatch):
    from fenliu.engine import Policy

    def broken(self, kind, situation, explain):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(Policy, "_decide", broken)  # the step every request reaches, typed or not
    response = _evaluate(app.test_client(), route([agent("a1")]))
    error = _error_shape(response, 500, "internal_error")
    assert "secret" not in response.get_data(as_text=True) and "Traceback" not in response.get_data(as_text=True)
    assert error["message"] == "the service failed to answer; see its log"


def test_validate_takes_json_for_generated_clients_and_names_a_wrong_shape(client):
    text = (RULES / "kuaishou.yaml").read_text(encoding="utf-8")
    assert client.post("/v1/policies/validate", json={"policy": text}).get_json()["valid"] is True
    answer = client.post("/v1/policies/validate", json={"yaml": text})
    assert answer.status_code == 400 and answer.get_json()["error"]["details"][0]["path"] == "policy"
