"""The real service: gunicorn with 2 workers on a free loopback port. Every worker follows the
rules directory within 2 seconds; reloads forced by HTTP or SIGHUP reach both; nothing fails while
policies change under load."""
from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
import requests

from conftest import agent, route
from server_process import SHIPPED_VERSION, RunningServer, copy_of_shipped_rules, kuaishou_text, write_kuaishou

REQUEST = route([agent("a1"), agent("a2", active=3)])
WORKERS = 2
RELOAD_SECONDS = 2.0






def _evaluate(server: RunningServer) -> requests.Response:
    return requests.post(server.url("/v1/policies/kuaishou/evaluate"), json=REQUEST, timeout=10)


def _seen_by_every_worker(server: RunningServer, predicate, within: float) -> dict[str, object]:
    """Polls on fresh connections until each worker answers in a way `predicate` accepts."""
    deadline = time.monotonic() + within
    satisfied: dict[str, object] = {}
    while time.monotonic() < deadline and len(satisfied) < WORKERS:
        response = requests.get(server.url("/v1/policies/kuaishou"), timeout=10)
        if predicate(response):
            satisfied[response.headers["X-Fenliu-Worker"]] = response.status_code
    return satisfied


def _version_is(version: str):
    return lambda response: response.status_code == 200 and response.json()["version"] == version


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory) -> Path:
    return copy_of_shipped_rules(tmp_path_factory.mktemp("service"))


@pytest.fixture(scope="module")
def server(rules_dir: Path, tmp_path_factory):
    running = RunningServer(rules_dir, tmp_path_factory.mktemp("log") / "server.log", env={"FENLIU_ADMIN_TOKEN": "t0ken"})
    yield running
    running.stop()


@pytest.fixture
def restored(rules_dir: Path, server: RunningServer):
    yield rules_dir
    write_kuaishou(rules_dir, kuaishou_text(SHIPPED_VERSION))
    assert len(_seen_by_every_worker(server, _version_is(SHIPPED_VERSION), 5)) == WORKERS


def test_the_real_server_answers_every_endpoint(server):
    assert requests.get(server.url("/healthz"), timeout=5).json() == {"status": "ok"}
    assert requests.get(server.url("/readyz"), timeout=5).status_code == 200
    assert _evaluate(server).json()["decision"]["rule"] == "basic-shunting"
    assert len(requests.get(server.url("/v1/policies"), timeout=5).json()["policies"]) == 3
    assert requests.get(server.url("/openapi.json"), timeout=5).json()["openapi"] == "3.1.0"
    assert requests.post(server.url("/v1/reload"), timeout=5).status_code == 401
    reload = requests.post(server.url("/v1/reload"), headers={"Authorization": "Bearer t0ken"}, timeout=5)
    assert reload.status_code == 200 and "t0ken" not in server.log()


def test_error_codes_batch_and_etag_on_the_real_server(server):
    evaluate = server.url("/v1/policies/kuaishou/evaluate")
    cases = [
        (requests.post(evaluate, data=b"{", headers={"Content-Type": "application/json"}, timeout=5), 400),
        (requests.post(evaluate, json={"event": "route"}, timeout=5), 400),
        (requests.post(server.url("/v1/policies/nope/evaluate"), json=REQUEST, timeout=5), 404),
        (requests.get(evaluate, timeout=5), 405),
        (requests.post(evaluate, data=b"x" * (2 << 20), headers={"Content-Type": "application/json"}, timeout=5), 413),
        (requests.post(evaluate, data=b"{}", headers={"Content-Type": "text/plain"}, timeout=5), 415),
        (requests.post(server.url("/v1/reload"), headers={"Authorization": "Bearer wrong"}, timeout=5), 401),
    ]
    for response, status in cases:
        assert response.status_code == status
        assert set(response.json()["error"]) == {"code", "message", "details"}
    batch = requests.post(evaluate, json={"requests": [REQUEST, {"event": "route"}, REQUEST]}, timeout=5).json()["results"]
    assert ["decision" in item for item in batch] == [True, False, True]
    first = requests.get(server.url("/v1/policies/kuaishou"), timeout=5)
    again = requests.get(server.url("/v1/policies/kuaishou"), headers={"If-None-Match": first.headers["ETag"]}, timeout=5)
    assert again.status_code == 304
    validated = requests.post(server.url("/v1/policies/validate"), data=b"name: x\n", headers={"Content-Type": "application/yaml"}, timeout=5)
    assert validated.json()["valid"] is False and validated.json()["errors"][0]["line"] == 1


def test_metrics_add_up_over_both_workers(server):
    def decisions() -> float:
        text = requests.get(server.url("/metrics"), timeout=5).text
        return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
                   if line.startswith("fenliu_decisions_total{") and 'policy="kuaishou"' in line)

    before = decisions()
    workers: set[str] = set()
    sent = 0
    while sent < 1000 and (sent < 40 or len(workers) < WORKERS):
        workers.add(_evaluate(server).headers["X-Fenliu-Worker"])
        sent += 1
    assert len(workers) == WORKERS, "the requests did not reach both workers"
    assert decisions() - before == sent


def test_a_valid_edit_is_live_in_every_worker_within_2_seconds(server, restored):
    write_kuaishou(restored, kuaishou_text("edit-1"))
    started = time.monotonic()
    assert len(_seen_by_every_worker(server, _version_is("edit-1"), RELOAD_SECONDS)) == WORKERS
    assert time.monotonic() - started <= RELOAD_SECONDS
    assert _evaluate(server).json()["policy"]["version"] == "edit-1"


def test_an_invalid_edit_leaves_the_old_version_serving_and_shows_stale(server, restored):
    write_kuaishou(restored, kuaishou_text(SHIPPED_VERSION).replace("priority: ", "priority: high #", 1))

    def stale(response: requests.Response) -> bool:
        body = response.json()
        return body["status"] == "stale" and body["version"] == SHIPPED_VERSION and body["last_error"][0]["line"] > 0

    assert len(_seen_by_every_worker(server, stale, RELOAD_SECONDS + 1)) == WORKERS
    assert _evaluate(server).json()["policy"]["version"] == SHIPPED_VERSION
    metrics = requests.get(server.url("/metrics"), timeout=5).text
    assert 'fenliu_policy_reload_total{policy="kuaishou",result="error"}' in metrics


def test_deleting_a_file_unloads_the_policy_in_every_worker(server, restored):
    (restored / "kuaishou.yaml").unlink()
    assert len(_seen_by_every_worker(server, lambda response: response.status_code == 404, RELOAD_SECONDS + 1)) == WORKERS
    assert _evaluate(server).status_code == 404


def test_clients_see_no_failure_while_the_policy_is_rewritten_20_times(server, restored):
    """4 clients post continuously; 20 rewrites land, 5 of them invalid. Every answer is a good
    envelope from a version that was valid on disk."""
    valid_versions = {SHIPPED_VERSION}
    failures: list[str] = []
    answered = [0]
    stop = threading.Event()

    def client() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                try:
                    response = session.post(server.url("/v1/policies/kuaishou/evaluate"), json=REQUEST, timeout=10)
                    body = response.json()
                    if response.status_code != 200 or body["decision"]["agent_id"] != "a1":
                        failures.append(f"{response.status_code} {body}")
                    elif body["policy"]["version"] not in valid_versions:
                        failures.append(f"answered by version {body['policy']['version']}")
                    answered[0] += 1
                except (requests.RequestException, ValueError) as error:
                    failures.append(repr(error))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for thread in threads:
        thread.start()
    for edit in range(20):
        if edit % 4 == 3:
            write_kuaishou(restored, kuaishou_text(f"broken-{edit}") + "\n  - {id: [unclosed\n")
        else:
            valid_versions.add(f"v{edit}")
            write_kuaishou(restored, kuaishou_text(f"v{edit}"))
        time.sleep(0.3)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    assert failures == []
    assert answered[0] > 100


@pytest.fixture(scope="module")
def slow_poll_server(tmp_path_factory):
    """A server that would not notice an edit for an hour on its own (no filesystem events, a poll
    an hour apart): only forced reloads count."""
    running = RunningServer(copy_of_shipped_rules(tmp_path_factory.mktemp("forced")), tmp_path_factory.mktemp("log") / "server.log",
                            env={"FENLIU_POLL_SECONDS": "3600", "FENLIU_WATCH_EVENTS": "false"})
    yield running
    running.stop()


def test_post_reload_reaches_every_worker_not_only_the_one_that_took_it(slow_poll_server):
    write_kuaishou(slow_poll_server.rules_dir, kuaishou_text("forced-http"))
    response = requests.post(slow_poll_server.url("/v1/reload"), timeout=10)
    assert response.json()["loaded"] == ["kuaishou"]
    assert len(_seen_by_every_worker(slow_poll_server, _version_is("forced-http"), RELOAD_SECONDS)) == WORKERS


def test_sighup_reloads_every_worker_without_replacing_them(slow_poll_server):
    workers_before = slow_poll_server.worker_pids()
    write_kuaishou(slow_poll_server.rules_dir, kuaishou_text("forced-hup"))
    slow_poll_server.signal_master(signal.SIGHUP)
    seen = _seen_by_every_worker(slow_poll_server, _version_is("forced-hup"), RELOAD_SECONDS)
    assert len(seen) == WORKERS
    assert {int(pid) for pid in seen} == workers_before == slow_poll_server.worker_pids()
