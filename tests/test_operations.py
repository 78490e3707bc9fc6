"""Running the real service as an operator does: every load, reload, rejection and unload is one
JSON line; per-policy status metrics; filesystem events that miss no edit; readiness that keeps
good policies in service; a decision log that never stalls decisions; SIGTERM that drains; and
admin operations closed to the network when no token is set."""
from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from fenliu.api import metrics
from fenliu.api.app import create_app
from fenliu.api.decision_log import DecisionLog, DecisionLogOptions, KeyedDigest
from fenliu.api.jsonlog import now_iso
from fenliu.api.settings import Settings

from conftest import agent, route
from server_process import (FENLIU, SHIPPED_VERSION, RunningServer, copy_of_shipped_rules, free_port, kuaishou_text,
                            write_kuaishou)

REQUEST = route([agent("a1"), agent("a2", active=3)])
CONVERGE_SECONDS = 2.0
GUNICORN_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d ")
BROKEN = "name: kuaishou\nplatform: kuaishou\nrules: [\n"
ENVELOPE = {"decision_id": "d1", "policy": {"name": "kuaishou", "sha256": "s"},
            "decision": {"action": "assign", "rule": "r", "agent_id": "a1"}}


@pytest.fixture(scope="module")
def rules_dir(tmp_path_factory) -> Path:
    directory = copy_of_shipped_rules(tmp_path_factory.mktemp("operations"))
    (directory / "never.yaml").write_text("name: never\n", encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def server(rules_dir: Path, tmp_path_factory):
    """No admin token, buyers masked, and a poll so slow that only filesystem events can explain
    an edit being seen."""
    running = RunningServer(rules_dir, tmp_path_factory.mktemp("log") / "server.log",
                            env={"FENLIU_POLL_SECONDS": "3600", "FENLIU_DECISION_LOG_BUYER": "mask"})
    yield running
    running.stop()


def _every_worker(server: RunningServer, predicate, within: float = CONVERGE_SECONDS) -> set[str]:
    """The workers seen answering `GET /v1/policies/kuaishou` in a way `predicate` accepts. Short of
    all of them, what each worker seen last answered is printed, which a failure shows: a worker that
    never answered and one that answered otherwise are different faults."""
    deadline = time.monotonic() + within
    satisfied: set[str] = set()
    last: dict[str, str] = {}
    while time.monotonic() < deadline and len(satisfied) < server.workers:
        response = requests.get(server.url("/v1/policies/kuaishou"), timeout=10)
        worker = response.headers["X-Fenliu-Worker"]
        last[worker] = f"{response.status_code} {response.text[:200]}"
        if predicate(response):
            satisfied.add(worker)
    if len(satisfied) < server.workers:
        print(f"after {within} s, the last answer of each worker seen: {last}")
    return satisfied


def _serving(version: str, status: str):
    def check(response: requests.Response) -> bool:
        body = response.json()
        return response.status_code == 200 and body["version"] == version and body["status"] == status
    return check


def _json_lines(server: RunningServer) -> list[dict]:
    return [json.loads(line) for line in server.log_lines() if line.startswith("{")]


def _metric(server: RunningServer, prefix: str) -> float | None:
    for line in requests.get(server.url("/metrics"), timeout=5).text.splitlines():
        if line.startswith(prefix):
            return float(line.rsplit(" ", 1)[1])
    return None


def test_a_file_that_never_loaded_leaves_the_service_ready_and_is_reported(server):
    """Readiness: every worker answered 200 to reach this test although `never.yaml` never loaded."""
    body = requests.get(server.url("/readyz"), timeout=5).json()
    assert body["ready"] is True and body["failed"] == ["never"]
    assert set(body["serving"]) == {"douyin", "kuaishou", "taobao"}
    assert _metric(server, 'fenliu_policy_status{policy="never",status="failed"}') == 1.0
    assert _metric(server, 'fenliu_policy_status{policy="kuaishou",status="active"}') == 1.0
    assert requests.post(server.url("/v1/policies/never/evaluate"), json=REQUEST, timeout=5).status_code == 503


def test_startup_lists_what_is_served_and_every_fenliu_line_is_json(server):
    lines = server.log_lines()
    assert all(GUNICORN_LINE.match(line) or json.loads(line) for line in lines)
    serving = [line for line in _json_lines(server) if line["event"] == "serving"]
    assert len({line["worker"] for line in serving}) == server.workers
    assert {item["policy"] for item in serving[0]["policies"]} == {"douyin", "kuaishou", "taobao"}
    assert serving[0]["failed"] == ["never"]
    loads = [line for line in _json_lines(server) if line["event"] == "load"]
    assert {"policy", "version", "sha256", "file", "errors", "worker", "duration_ms"} <= set(loads[0])


def test_each_reload_and_rejection_is_one_json_line_with_status_metrics_and_a_stale_header(server, rules_dir):
    reloads_before = _metric(server, "fenliu_policy_reload_duration_seconds_count") or 0.0
    write_kuaishou(rules_dir, kuaishou_text("ops-1"))
    assert len(_every_worker(server, _serving("ops-1", "active"))) == server.workers
    write_kuaishou(rules_dir, BROKEN)
    assert len(_every_worker(server, _serving("ops-1", "stale"))) == server.workers

    answer = requests.post(server.url("/v1/policies/kuaishou/evaluate"), json=REQUEST, timeout=5)
    assert answer.json()["policy"]["version"] == "ops-1" and answer.headers["Fenliu-Policy-Stale"] == "true"
    assert "Fenliu-Policy-Stale" not in requests.post(server.url("/v1/policies/taobao/evaluate"), json=REQUEST, timeout=5).headers
    assert _metric(server, 'fenliu_policy_status{policy="kuaishou",status="stale"}') == 1.0
    assert _metric(server, 'fenliu_policy_status{policy="kuaishou",status="active"}') == 0.0
    assert _metric(server, 'fenliu_policy_reload_total{policy="kuaishou",result="error"}') >= 1.0
    assert _metric(server, 'fenliu_policy_last_reload_timestamp_seconds{policy="kuaishou"}') > time.time() - 60
    assert _metric(server, "fenliu_policy_reload_duration_seconds_count") >= reloads_before + 2 * server.workers

    lines = _json_lines(server)
    reloads = [line for line in lines if line["event"] == "reload" and line["version"] == "ops-1"]
    rejects = [line for line in lines if line["event"] == "reject" and line["policy"] == "kuaishou"]
    assert len({line["worker"] for line in reloads}) == len({line["worker"] for line in rejects}) == server.workers
    assert rejects[-1]["serving"] == "ops-1" and rejects[-1]["errors"][0]["line"] >= 1 and rejects[-1]["sha256"]
    write_kuaishou(rules_dir, kuaishou_text(SHIPPED_VERSION))
    assert len(_every_worker(server, _serving(SHIPPED_VERSION, "active"))) == server.workers


def test_rapid_edit_sequences_converge_on_the_last_good_file_in_every_worker(server, rules_dir):
    """Write version B, then A, then within 0.1 s a broken file: every worker serves A (stale),
    the last good file written, within 2 s; three sequences in a row, then a clean one."""
    for round_ in range(3):
        write_kuaishou(rules_dir, kuaishou_text(f"b-{round_}"))
        time.sleep(0.1)
        write_kuaishou(rules_dir, kuaishou_text(f"a-{round_}"))
        time.sleep(0.1)
        write_kuaishou(rules_dir, BROKEN + f"# {round_}\n")
        assert len(_every_worker(server, _serving(f"a-{round_}", "stale"))) == server.workers, f"round {round_}"
    for version in ("c-1", "c-2", "c-3"):
        write_kuaishou(rules_dir, kuaishou_text(version))
    assert len(_every_worker(server, _serving("c-3", "active"))) == server.workers


def test_deleting_and_restoring_a_file_is_seen_through_events(server, rules_dir):
    (rules_dir / "kuaishou.yaml").unlink()
    assert len(_every_worker(server, lambda response: response.status_code == 404)) == server.workers
    assert any(line["event"] == "unload" and line["policy"] == "kuaishou" for line in _json_lines(server))
    write_kuaishou(rules_dir, kuaishou_text(SHIPPED_VERSION))
    assert len(_every_worker(server, _serving(SHIPPED_VERSION, "active"))) == server.workers


def test_decision_lines_mask_the_buyer(server):
    requests.post(server.url("/v1/policies/taobao/evaluate"), json=REQUEST, timeout=5)
    deadline = time.monotonic() + 5
    decisions: list[dict] = []
    while time.monotonic() < deadline and not decisions:
        decisions = [line for line in _json_lines(server) if "decision_id" in line]
        time.sleep(0.05)
    assert decisions and {line["buyer"] for line in decisions} == {"b***"}


def test_without_a_token_reload_is_open_to_loopback_clients(server):
    assert requests.post(server.url("/v1/reload"), timeout=10).status_code == 200


def test_listening_beyond_loopback_without_a_token_is_refused(tmp_path):
    command = [str(FENLIU), "serve", "--rules", str(copy_of_shipped_rules(tmp_path)), "--host", "0.0.0.0",
               "--port", str(free_port())]
    env = {key: value for key, value in os.environ.items() if key not in ("FENLIU_ADMIN_TOKEN", "FENLIU_ALLOW_OPEN_ADMIN")}
    finished = subprocess.run(command, capture_output=True, text=True, timeout=30, env=env)
    assert finished.returncode == 2 and "FENLIU_ADMIN_TOKEN" in finished.stderr and "--allow-open-admin" in finished.stderr


def test_a_decision_log_nobody_reads_never_stalls_decisions(tmp_path):
    """The server's output is a pipe that is never read: once it is full every log write would
    block. Decisions go on answering; the lines that could not be written are counted."""
    read_end, write_end = os.pipe()
    try:
        server = RunningServer(copy_of_shipped_rules(tmp_path), f"/proc/self/fd/{write_end}", workers=1,
                               env={"FENLIU_DECISION_LOG_BUFFER": "20"})
        try:
            batch = {"requests": [REQUEST] * 200}
            with requests.Session() as session:
                for _ in range(4):
                    answer = session.post(server.url("/v1/policies/kuaishou/evaluate"), json=batch, timeout=10)
                    assert answer.status_code == 200 and len(answer.json()["results"]) == 200
            assert _metric(server, "fenliu_decision_log_dropped_total") > 0
        finally:
            os.close(read_end)
            read_end = -1
            server.stop()
    finally:
        os.close(write_end)
        if read_end >= 0:
            os.close(read_end)


@dataclass
class Outcomes:
    answered_before: int = 0
    answered_after: int = 0
    refused_after: int = 0
    cut_off: list[str] = field(default_factory=list)
    hung: int = 0


def _start_slow_request(server: RunningServer) -> tuple[socket.socket, bytes]:
    """A request whose body is still on its way: in flight for as long as the test likes."""
    body = json.dumps({"requests": [REQUEST] * 5}).encode("utf-8")
    connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    connection.sendall(b"POST /v1/policies/kuaishou/evaluate HTTP/1.1\r\nHost: fenliu\r\nContent-Type: application/json\r\n"
                       b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:10])
    return connection, body[10:]


def _answer(connection: socket.socket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):
        received += chunk
    return received


def _refused_not_hung(server: RunningServer, within: float = 5.0) -> bool:
    """After SIGTERM a new connection is refused at once; answered meanwhile is fine, waiting is not."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            requests.post(server.url("/v1/policies/kuaishou/evaluate"), json=REQUEST, timeout=(1, 3))
        except requests.Timeout:
            return False
        except requests.ConnectionError:
            return True
        time.sleep(0.05)
    return False


def test_sigterm_drains_requests_in_flight_and_refuses_new_connections(tmp_path):
    """4 clients post and one request is half sent when SIGTERM reaches the master: new
    connections are refused at once while that request is still in flight, it is answered when
    its body arrives, every request sent before the signal is answered and none hangs."""
    server = RunningServer(copy_of_shipped_rules(tmp_path), tmp_path / "server.log")
    outcomes = Outcomes()
    lock = threading.Lock()
    signalled = threading.Event()
    stop = threading.Event()
    batch = {"requests": [REQUEST] * 50}

    def client() -> None:
        session = requests.Session()
        while not stop.is_set():
            before = not signalled.is_set()
            try:
                response = session.post(server.url("/v1/policies/kuaishou/evaluate"), json=batch, timeout=8)
                ok = response.status_code == 200 and len(response.json()["results"]) == 50
                with lock:
                    if not ok:
                        outcomes.cut_off.append(f"{response.status_code}")
                    elif before:
                        outcomes.answered_before += 1
                    else:
                        outcomes.answered_after += 1
            except requests.Timeout:
                with lock:
                    outcomes.hung += 1
            except requests.ConnectionError as error:
                with lock:
                    if before:
                        outcomes.cut_off.append(repr(error))
                    else:
                        outcomes.refused_after += 1
                session = requests.Session()
                time.sleep(0.05)

    threads = [threading.Thread(target=client) for _ in range(4)]
    slow, rest_of_body = _start_slow_request(server)
    try:
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        signalled.set()
        server.signal_master(signal.SIGTERM)
        refused = _refused_not_hung(server)
        slow.sendall(rest_of_body)
        slow_answer = _answer(slow)
        server.process.wait(timeout=15)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
        slow.close()
        server.stop()
    assert refused, "a new connection during the drain was left waiting"
    assert slow_answer.startswith(b"HTTP/1.1 200") and slow_answer.count(b'"decision_id"') == 5
    assert outcomes.cut_off == [] and outcomes.hung == 0
    assert outcomes.answered_before > 4


def test_with_events_off_the_poll_alone_still_brings_every_worker_in_step(tmp_path):
    """The fallback for file systems without inotify: a full look at the directory each poll."""
    server = RunningServer(copy_of_shipped_rules(tmp_path), tmp_path / "server.log",
                           workers=1, env={"FENLIU_WATCH_EVENTS": "false", "FENLIU_POLL_SECONDS": "0.5"})
    try:
        write_kuaishou(server.rules_dir, kuaishou_text("polled"))
        assert len(_every_worker(server, _serving("polled", "active"))) == server.workers
    finally:
        server.stop()


@pytest.mark.parametrize("mode, shown", [("hash", "sha256:"), ("mask", "b***"), ("plain", "b1")])
def test_the_buyer_is_hashed_masked_or_kept_as_configured_in_line_and_request(mode, shown):
    written = _decision_lines(DecisionLogOptions(debug=True, buyer=mode, buyer_key="k"))
    assert written[0]["buyer"].startswith(shown) and written[0]["request"]["customer"]["id"] == written[0]["buyer"]


def test_a_hashed_buyer_is_the_same_keyed_digest_on_every_line_and_differs_by_key():
    """Lines of one buyer can be joined, and only by whoever holds the key."""
    first = _decision_lines(DecisionLogOptions(buyer="hash", buyer_key="k"), decisions=3)
    other = _decision_lines(DecisionLogOptions(buyer="hash", buyer_key="other key"))
    assert len({line["buyer"] for line in first}) == 1
    assert other[0]["buyer"] != first[0]["buyer"]


def test_the_buyer_can_be_left_out():
    written = _decision_lines(DecisionLogOptions(debug=True, buyer="omit"))
    assert "buyer" not in written[0] and "id" not in written[0]["request"]["customer"]


@pytest.mark.parametrize("sample, count", [(0.0, 0), (1.0, 200)])
def test_sampling_logs_that_fraction_of_decisions(sample, count):
    assert len(_decision_lines(DecisionLogOptions(sample=sample), decisions=200)) == count


@settings(max_examples=200, deadline=None)
@given(key=st.binary(max_size=200), message=st.binary(max_size=300))
def test_the_buyer_digest_is_hmac_sha256_for_any_key_and_buyer(key, message):
    assert KeyedDigest(key).hexdigest(message) == hmac.new(key, message, hashlib.sha256).hexdigest()


def test_log_times_are_utc_iso_8601_to_the_millisecond():
    before = datetime.now(timezone.utc)
    stamp = now_iso()
    after = datetime.now(timezone.utc)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", stamp), stamp
    assert before.replace(microsecond=before.microsecond // 1000 * 1000) <= datetime.fromisoformat(stamp) <= after


class _FullDisk(io.StringIO):
    def write(self, text: str) -> int:
        raise OSError(28, "No space left on device")


def test_lines_a_failing_output_cannot_take_are_dropped_and_counted():
    before = _dropped()
    journal = DecisionLog(DecisionLogOptions(), _FullDisk())
    for _ in range(5):
        journal.write(ENVELOPE, "route", 1, REQUEST)
    journal.wait_written()
    journal.close()
    assert _dropped() - before == 5


def test_waiting_for_a_closed_decision_log_returns():
    journal = DecisionLog(DecisionLogOptions(), io.StringIO())
    journal.close()
    journal.wait_written()  # the writer's last pass
    time.sleep(0.2)
    waiter = threading.Thread(target=journal.wait_written, daemon=True)
    waiter.start()
    waiter.join(timeout=5)
    assert not waiter.is_alive(), "waited for a writer that has ended"


def _dropped() -> float:
    exposition = metrics.exposition()[0].decode()
    return next(float(line.split()[-1]) for line in exposition.splitlines()
                if line.startswith("fenliu_decision_log_dropped_total "))


def _decision_lines(options: DecisionLogOptions, decisions: int = 1) -> list[dict]:
    output = io.StringIO()
    journal = DecisionLog(options, output)
    for _ in range(decisions):
        journal.write(ENVELOPE, "route", 1, REQUEST)
    journal.wait_written()
    journal.close()
    return [json.loads(line) for line in output.getvalue().splitlines()]


def test_without_a_token_admin_operations_refuse_clients_off_loopback(tmp_path):
    app = create_app(Settings(rules_dir=copy_of_shipped_rules(tmp_path)), watch=False)
    client = app.test_client()
    remote = client.post("/v1/reload", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert remote.status_code == 403 and remote.get_json()["error"]["code"] == "admin_loopback_only"
    for address in ("127.0.0.1", "::1"):
        assert client.post("/v1/reload", environ_base={"REMOTE_ADDR": address}).status_code == 200
    app.extensions["fenliu"].registry.close()


def test_a_buyer_id_utf8_cannot_carry_is_written_escaped():
    output = io.StringIO()
    journal = DecisionLog(DecisionLogOptions(buyer="plain"), output)
    journal.write(ENVELOPE, "route", 1, {"customer": {"id": "\ud800买家"}})
    journal.wait_written()
    journal.close()
    lines = output.getvalue().splitlines()
    assert lines[-1].isascii() and json.loads(lines[-1])["buyer"] == "\ud800买家"
