"""Soak: one server makes a million decisions and takes a thousand reloads; worker memory must be
flat after warm-up. `make soak` (not CI: it runs for minutes).

Decisions go through the batch endpoint (100 per request) on keep-alive connections, and every
answer is checked: an envelope from a version that was valid on disk, never an error. The policy
file is rewritten every few batches, alternately left to the watchers and forced with
`POST /v1/reload`. Worker RSS is sampled as it goes and plotted in docs/soak-rss.png.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .http_bench import ROOT, Server, free_port, running
from .loadgen import LOOPBACK
from .plots import rss_curve
from .requests_gen import generate

BATCH = 100
CLIENTS = 2
GOOD_VERSION = "2026.11.1"


@dataclass
class Tally:
    decisions: int = 0
    failures: list[str] = field(default_factory=list)
    versions: set[str] = field(default_factory=lambda: {GOOD_VERSION})
    lock: threading.Lock = field(default_factory=threading.Lock)


def _policy(version: str) -> str:
    text = (ROOT / "rules" / "kuaishou.yaml").read_text(encoding="utf-8")
    return text.replace(f'version: "{GOOD_VERSION}"', f'version: "{version}"')


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)


def _children(parent: int) -> list[Path]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                found.append(entry)
        except OSError:
            continue
    return found


def _workers_rss_mib() -> float:
    """RSS of the gunicorn workers: the children of the server this process started."""
    total = 0.0
    for server in _children(os.getpid()):
        for worker in _children(int(server.name)):
            try:
                for line in (worker / "status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
            except OSError:
                continue
    return total


def _client(port: int, body: bytes, target: int, tally: Tally) -> None:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
    while True:
        with tally.lock:
            if tally.decisions >= target:
                return
        connection.request("POST", "/v1/policies/kuaishou/evaluate", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = json.loads(response.read())
        with tally.lock:
            if response.status != 200:
                tally.failures.append(f"{response.status}: {answer}")
                continue
            for item in answer["results"]:
                if "error" in item:
                    tally.failures.append(json.dumps(item))
                elif item["policy"]["version"] not in tally.versions:
                    tally.failures.append(f"answered by version {item['policy']['version']}")
            tally.decisions += len(answer["results"])


def soak(decisions: int, reloads: int, out_dir: Path) -> dict:
    rules = Path(tempfile.mkdtemp(prefix="fenliu-soak-"))
    for name in ("kuaishou", "taobao", "douyin"):
        shutil.copy(ROOT / "rules" / f"{name}.yaml", rules)
    port = free_port()
    body = json.dumps({"requests": generate(50, BATCH, seed=11).requests}).encode()
    server = Server("fenliu", [str(ROOT / ".venv" / "bin" / "fenliu"), "serve", "--rules", str(rules), "--port", str(port)])
    tally = Tally()
    curve: list[list[float]] = []
    started = time.monotonic()
    with running(server, port, body, out_dir / "soak-server.log"):
        clients = [threading.Thread(target=_client, args=(port, body, decisions, tally)) for _ in range(CLIENTS)]
        for thread in clients:
            thread.start()
        reloads_done = 0
        reload_every = decisions / max(reloads, 1)
        while any(thread.is_alive() for thread in clients):
            with tally.lock:
                done = tally.decisions
            if reloads_done < reloads and done >= reloads_done * reload_every:
                version = f"soak-{reloads_done}"
                with tally.lock:
                    tally.versions.add(version)
                _write_atomically(rules / "kuaishou.yaml", _policy(version))
                if reloads_done % 2:
                    forced = http.client.HTTPConnection(LOOPBACK, port, timeout=30)
                    forced.request("POST", "/v1/reload")
                    forced.getresponse().read()
                reloads_done += 1
            curve.append([done, _workers_rss_mib()])
            time.sleep(0.05)
        for thread in clients:
            thread.join()
    shutil.rmtree(rules, ignore_errors=True)
    seconds = time.monotonic() - started
    warm = [point[1] for point in curve if point[0] >= decisions * 0.1]
    result = {
        "decisions": tally.decisions, "reloads": reloads_done, "failures": len(tally.failures),
        "first_failures": tally.failures[:5], "seconds": round(seconds, 1),
        "rss_mib_after_warmup": round(warm[0], 1) if warm else None, "rss_mib_end": round(curve[-1][1], 1),
    }
    sampled = curve[:: max(1, len(curve) // 400)]
    rss_curve(sampled, ROOT / "docs" / "soak-rss.png", xlabel="decisions",
              title=f"Worker RSS (both workers) over {tally.decisions:,} decisions and {reloads_done} reloads")
    (out_dir / "soak.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--reloads", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    arguments = parser.parse_args()
    arguments.out.mkdir(parents=True, exist_ok=True)
    result = soak(arguments.decisions, arguments.reloads, arguments.out)
    print(json.dumps(result, indent=2))
    if result["failures"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
