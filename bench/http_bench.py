"""Throughput and latency of `POST /v1/policies/<policy>/evaluate` under `fenliu serve`, against
the bare Flask app (`bare_app.py`) under the same gunicorn settings, with the same load generator,
in the same run: Kuaishou with one request per call (50 agents), then batches of 100 requests per
call, and the enterprise policy (issue 17: priority, overflow, opening hours) one request per call.

The two servers are measured in alternation, repeat after repeat, so that whatever else the
shared machine is doing falls on both; each ratio compares two runs of the same repeat.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .script import arguments, write_results
from .loadgen import LOOPBACK, encode_post, run_load
from .requests_gen import generate
from .stats import Spread

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
# Each measurement: its name in the results, the body (one request or a batch), the policy.
MEASUREMENTS = (("single", "single", "kuaishou"), ("batch", "batch", "kuaishou"),
                ("single_enterprise", "single", "enterprise"))
WORKERS = 2
# `fenliu serve` runs gunicorn with these (api/server.py); the bare app gets exactly the same.
GUNICORN_SETTINGS = ["--worker-class", "gthread", "--threads", "4", "--keep-alive", "5", "--timeout", "30"]
BATCH = 100


@dataclass(frozen=True)
class Server:
    name: str
    command: list[str]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


def servers(port_fenliu: int, port_bare: int) -> tuple[Server, Server]:
    fenliu = Server("fenliu", [str(BIN / "fenliu"), "serve", "--rules", str(ROOT / "rules"),
                               "--port", str(port_fenliu), "--workers", str(WORKERS)])
    bare = Server("bare", [str(BIN / "gunicorn"), "--workers", str(WORKERS), *GUNICORN_SETTINGS,
                           "--bind", f"{LOOPBACK}:{port_bare}", "--chdir", str(ROOT), "bench.bare_app:app"])
    return fenliu, bare


def evaluate_path(policy: str) -> str:
    return f"/v1/policies/{policy}/evaluate"


def _answers(port: int, body: bytes) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=2) as sock:
            sock.sendall(encode_post(evaluate_path("kuaishou"), port, body).replace(b"keep-alive", b"close"))
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


@contextmanager
def running(server: Server, port: int, probe: bytes, log: Path) -> Iterator[None]:
    with log.open("wb") as output:
        # Its own session, so that stopping it reaches the gunicorn master and its workers only.
        process = subprocess.Popen(server.command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _answers(port, probe):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{server.name} did not start answering on {port}; see {log}")
            time.sleep(0.2)
        yield
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def measure(name: str, kind: str, policy: str, repeats: int, seconds: float, connections: int,
            results_dir: Path) -> dict:
    requests = generate(50, 400, seed=7).requests
    singles = [json.dumps(request).encode() for request in requests]
    batches = [json.dumps({"requests": requests[start:start + BATCH]}).encode()
               for start in range(0, len(requests), BATCH)]
    bodies = {"single": singles, "batch": batches}[kind]
    path = evaluate_path(policy)
    port_fenliu, port_bare = free_port(), free_port()
    fenliu, bare = servers(port_fenliu, port_bare)
    ports = {"fenliu": port_fenliu, "bare": port_bare}
    runs: dict[str, list[dict]] = {"fenliu": [], "bare": []}
    with running(fenliu, port_fenliu, singles[0], results_dir / f"http-{name}-fenliu.log"), \
            running(bare, port_bare, singles[0], results_dir / f"http-{name}-bare.log"):
        for server in ports:  # warm-up: lazily imported modules, first-use caches, TCP slow start
            run_load(LOOPBACK, ports[server], path, bodies, connections=connections, seconds=1.0)
        for repeat in range(repeats):
            order = ["fenliu", "bare"] if repeat % 2 == 0 else ["bare", "fenliu"]
            for server in order:
                result = run_load(LOOPBACK, ports[server], path, bodies, connections=connections, seconds=seconds)
                if result.non_200 or result.failures:
                    raise RuntimeError(f"{server} {name}: {result.non_200} non-200 answers, {result.failures} "
                                       f"connection failures ({result.statuses})")
                runs[server].append(result.as_dict())
    per_call = BATCH if kind == "batch" else 1
    summary: dict = {"kind": kind, "policy": policy, "repeats": repeats, "seconds": seconds, "connections": connections,
                     "decisions_per_call": per_call, "servers": {}}
    for server, results in runs.items():
        summary["servers"][server] = {
            "calls_per_s": Spread.of(r["per_second"] for r in results).as_dict(),
            "decisions_per_s": Spread.of(r["per_second"] * per_call for r in results).as_dict(),
            "p50_ms": Spread.of(r["p50_ms"] for r in results).as_dict(),
            "p99_ms": Spread.of(r["p99_ms"] for r in results).as_dict(),
            "response_bytes": Spread.of(r["mean_response_bytes"] for r in results).as_dict(),
            "calls": sum(r["requests"] for r in results),
        }
    summary["ratio_fenliu_to_bare"] = Spread.of(
        f["per_second"] / b["per_second"] for f, b in zip(runs["fenliu"], runs["bare"])).as_dict()
    summary["request_bytes"] = sum(map(len, bodies)) / len(bodies)
    return summary


def main() -> None:
    args = arguments(__doc__, repeats=3, seconds=5.0, connections=8)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results = {name: measure(name, kind, policy, args.repeats, args.seconds, args.connections, args.out.parent)
               for name, kind, policy in MEASUREMENTS}
    write_results(args.out, results)
    for kind, summary in results.items():
        servers_line = ", ".join(f"{name} {Spread(**s['decisions_per_s']).show(0)} decisions/s"
                                 for name, s in summary["servers"].items())
        print(f"{kind}: {servers_line}; ratio {Spread(**summary['ratio_fenliu_to_bare']).show_range()}")


if __name__ == "__main__":
    main()
