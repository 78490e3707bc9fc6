"""Simulation jobs over HTTP (`POST/GET/DELETE /v1/simulations`): a run of any size is a job in a
pool of its own, never a request holding a decision thread (B19 what-if, docs/simulation.md)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from conftest import ROOT, RULES
from fenliu.api.app import create_app
from fenliu.api.settings import Settings
from fenliu.engine import load_policy
from fenliu.engine.simulation import SimulationOptions, read_roster, read_trace, run_simulation
from fenliu.engine.simulation.generator import TeamSpec, TrafficSpec, generate_roster, generate_trace
from server_process import copy_of_shipped_rules

EXAMPLES = ROOT / "docs" / "examples" / "simulation"
SETTLE_SECONDS = 120  # a generous bound for a loaded machine; the jobs themselves take a second or two


def _app(tmp_path: Path, name: str, **settings):
    (tmp_path / name).mkdir()
    rules = copy_of_shipped_rules(tmp_path / name)
    app = create_app(Settings(rules_dir=rules, runtime_dir=tmp_path / name / "runtime", max_body_bytes=32 << 20,
                              **settings), watch=False)
    app.testing = True
    return app


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    built = _app(tmp_path_factory.mktemp("jobs"), "one-at-a-time", simulation_queue=1)
    yield built
    built.extensions["fenliu_simulations"].shutdown()
    built.extensions["fenliu"].registry.close()


def example_body(**options) -> dict:
    trace = [json.loads(line) for line in (EXAMPLES / "trace.jsonl").read_text(encoding="utf-8").splitlines()]
    roster = json.loads((EXAMPLES / "roster.json").read_text(encoding="utf-8"))
    return {"trace": trace, "roster": roster, "policies": ["kuaishou"], "options": options}


def a_long_day() -> dict:
    team = generate_roster(TeamSpec(agents=30))
    trace = generate_trace(TrafficSpec(conversations=20000), tuple(agent["id"] for agent in team["agents"]))
    return {"trace": trace, "roster": team, "policies": ["kuaishou", "douyin"]}


def post(client, body):
    return client.post("/v1/simulations", data=json.dumps(body), content_type="application/json")


def settled(client, location: str, *statuses: str) -> dict:
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        state = client.get(location).get_json()
        if state["status"] in statuses or time.monotonic() > deadline:
            return state
        time.sleep(0.1)


def test_b19_job_answers_202_then_gives_the_same_result_as_a_direct_run(app):
    client = app.test_client()
    response = post(client, example_body(seed=3))
    assert response.status_code == 202
    state = response.get_json()
    assert state["status"] in ("queued", "running") and response.headers["Location"] == f"/v1/simulations/{state['id']}"
    done = settled(client, response.headers["Location"], "done", "failed")
    assert done["status"] == "done" and done["progress"] == 1.0

    policy = load_policy(RULES / "kuaishou.yaml")
    try:
        direct = run_simulation(read_trace(EXAMPLES / "trace.jsonl"), read_roster(EXAMPLES / "roster.json"),
                                {"kuaishou": policy}, SimulationOptions(seed=3))
    finally:
        policy.close()
    assert done["result"] == json.loads(json.dumps(direct))


def test_bad_trace_ends_as_a_failed_job_naming_the_line(app):
    client = app.test_client()
    body = example_body()
    body["trace"][4] = {"customer": "b1"}
    response = post(client, body)
    failed = settled(client, response.headers["Location"], "failed", "done")
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "invalid_simulation"
    assert any(detail["path"].startswith("trace.5") for detail in failed["error"]["details"])


def test_bounded_queue_answers_429_and_delete_cancels_a_running_job(app):
    client = app.test_client()
    first = post(client, a_long_day())
    assert first.status_code == 202
    refused = post(client, example_body())
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "simulation_queue_full" and refused.headers["Retry-After"]
    settled(client, first.headers["Location"], "running", "cancelled")
    assert client.delete(first.headers["Location"]).status_code == 200
    assert settled(client, first.headers["Location"], "cancelled", "done")["status"] == "cancelled"
    assert post(client, example_body()).status_code == 202  # the slot is free again


def test_unknown_job_404_unknown_policy_404_and_admin_token_required(tmp_path):
    app = _app(tmp_path, "guarded", admin_token="s3cret")
    client = app.test_client()
    try:
        assert post(client, example_body()).status_code == 401
        guarded = {"Authorization": "Bearer s3cret"}
        missing = client.get("/v1/simulations/" + "0" * 32, headers=guarded)
        assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "unknown_simulation"
        body = {**example_body(), "policies": ["kuaishou", "no-such-policy"]}
        unknown = client.post("/v1/simulations", data=json.dumps(body), content_type="application/json", headers=guarded)
        assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "unknown_policy"
    finally:
        app.extensions["fenliu"].registry.close()


def test_a_run_past_its_time_is_a_timed_out_job_not_a_413(tmp_path):
    app = _app(tmp_path, "hurried", simulation_time_limit_seconds=0.5)
    client = app.test_client()
    try:
        response = post(client, a_long_day())
        assert response.status_code == 202
        state = settled(client, response.headers["Location"], "timed_out", "done", "failed")
        assert state["status"] == "timed_out" and state["error"]["code"] == "simulation_timed_out"
    finally:
        app.extensions["fenliu_simulations"].shutdown()
        app.extensions["fenliu"].registry.close()
