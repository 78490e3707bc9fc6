"""A closed-loop HTTP load generator for loopback benchmarks.

N connections, each a thread with one keep-alive socket that sends a request, reads the whole
answer and sends the next, for a fixed duration or until a request budget is spent, whichever
comes first. Requests are pre-encoded so the generator spends as little CPU as it can on the two
cores it shares with the server. It only ever connects to 127.0.0.1.
"""
from __future__ import annotations

import argparse
import json
import socket
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from time import perf_counter

from fenliu.engine.simulation.kpis import percentile

LOOPBACK = "127.0.0.1"


class LoadError(Exception):
    pass


@dataclass
class ConnectionTally:
    latencies_ms: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    response_bytes: int = 0
    failures: int = 0


@dataclass(frozen=True)
class LoadResult:
    requests: int
    non_200: int
    failures: int
    seconds: float
    per_second: float
    p50_ms: float
    p99_ms: float
    mean_response_bytes: float
    statuses: dict[int, int]

    def as_dict(self) -> dict:
        return asdict(self)


def encode_post(path: str, port: int, body: bytes) -> bytes:
    head = (f"POST {path} HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n")
    return head.encode("ascii") + body


class _Response:
    """Reads one HTTP/1.1 response with a Content-Length body off a socket, keeping any surplus."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise LoadError("connection closed by the server")
        self.buffer += chunk

    def read(self) -> tuple[int, int]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = None
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        if length is None:
            raise LoadError("response without Content-Length")
        while len(self.buffer) < length:
            self._fill()
        self.buffer = self.buffer[length:]
        return status, length


def _connection(port: int, payloads: list[bytes], offset: int, deadline: float, budget: "_Budget",
                tally: ConnectionTally) -> None:
    sock: socket.socket | None = None
    index = offset
    while perf_counter() < deadline and budget.take():
        try:
            if sock is None:
                sock = socket.create_connection((LOOPBACK, port), timeout=30)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                reader = _Response(sock)
            started = perf_counter()
            sock.sendall(payloads[index % len(payloads)])
            status, length = reader.read()
            tally.latencies_ms.append((perf_counter() - started) * 1000)
            tally.statuses[status] = tally.statuses.get(status, 0) + 1
            tally.response_bytes += length
            index += 1
        except (OSError, LoadError):
            tally.failures += 1
            if sock is not None:
                sock.close()
            sock = None
    if sock is not None:
        sock.close()


class _Budget:
    """The shared request budget, so a run stops even if the duration would allow more."""

    def __init__(self, limit: int) -> None:
        self._left = limit
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            if self._left <= 0:
                return False
            self._left -= 1
            return True


def run_load(host: str, port: int, path: str, bodies: list[bytes], *, connections: int = 8,
             seconds: float = 5.0, max_requests: int = 1_000_000) -> LoadResult:
    if host != LOOPBACK:
        raise ValueError(f"refusing to send load to {host!r}: benchmarks only talk to {LOOPBACK}")
    if not bodies:
        raise ValueError("no request bodies")
    payloads = [encode_post(path, port, body) for body in bodies]
    budget = _Budget(max_requests)
    tallies = [ConnectionTally() for _ in range(connections)]
    started = perf_counter()
    deadline = started + seconds
    threads = [
        threading.Thread(target=_connection, args=(port, payloads, n * len(payloads) // connections, deadline,
                                                    budget, tallies[n]), daemon=True)
        for n in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 60)
    elapsed = perf_counter() - started
    latencies = [latency for tally in tallies for latency in tally.latencies_ms]
    statuses: dict[int, int] = {}
    for tally in tallies:
        for status, count in tally.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    done = len(latencies)
    return LoadResult(
        requests=done,
        non_200=done - statuses.get(200, 0),
        failures=sum(tally.failures for tally in tallies),
        seconds=elapsed,
        per_second=done / elapsed,
        p50_ms=percentile(latencies, 50) if latencies else float("nan"),
        p99_ms=percentile(latencies, 99) if latencies else float("nan"),
        mean_response_bytes=sum(tally.response_bytes for tally in tallies) / done if done else 0.0,
        statuses=statuses,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--body", type=Path, required=True,
                        help="a JSON file: one request body, or a list of bodies sent in turn")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--max-requests", type=int, default=1_000_000)
    args = parser.parse_args()
    data = json.loads(args.body.read_text())
    bodies = [json.dumps(item).encode() for item in (data if isinstance(data, list) else [data])]
    result = run_load(args.host, args.port, args.path, bodies, connections=args.connections,
                      seconds=args.seconds, max_requests=args.max_requests)
    print(json.dumps(result.as_dict(), indent=1))


if __name__ == "__main__":
    main()
