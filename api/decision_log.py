"""One JSON line per decision: enough to trace it, the buyer only as configured, and never a wait.

A decision puts its line in a bounded buffer and goes on; one writer thread per worker empties
the buffer to stderr, every line it holds in one write. When the output cannot keep up (a full
pipe, a stalled collector) or fails, lines are dropped and counted in
`fenliu_decision_log_dropped_total`, so a slow log costs lines, never decisions. Buyer identifiers
(`customer.id`, wherever a request has a customer) are hashed with a key, masked, omitted or kept
as configured; a sample rate below 1 logs that fraction only.
"""
from __future__ import annotations

import hashlib
import json
import random
import sys
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any, TextIO

import msgspec
import orjson

from fenliu.engine import Envelope

from . import metrics
from .jsonlog import now_iso


@dataclass(frozen=True)
class DecisionLogOptions:
    debug: bool = False
    buyer: str = "hash"
    buyer_key: str = ""
    sample: float = 1.0
    buffer: int = 10000


WRITE_EVERY_SECONDS = 0.05


class KeyedDigest:
    """HMAC-SHA256 under one key (RFC 2104) with its two keyed hash states made once: the standard
    library's HMAC object, copied per buyer, cost a decision served over HTTP 7 µs, twice this.
    A test holds it to `hmac.new`'s digest for any key and message."""

    BLOCK = 64  # SHA-256's block size in bytes

    def __init__(self, key: bytes) -> None:
        if len(key) > self.BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(self.BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in key))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in key))

    def hexdigest(self, message: bytes) -> str:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


class DecisionLog:
    def __init__(self, options: DecisionLogOptions, output: TextIO | None = None) -> None:
        """`output` is stderr unless given: the stderr of the moment, which a test runner may swap."""
        self.options = options
        self._output = output
        # A deque, not a Queue: appending takes no lock and wakes nobody. Waking the writer for every
        # line cost a decision served over HTTP more than the decision itself; it wakes on a clock.
        self._lines: deque[str | threading.Event] = deque()
        self._wake = threading.Event()  # set to write out now rather than on the clock
        self._closing = False
        self._random = random.Random()
        self._keyed = KeyedDigest(options.buyer_key.encode("utf-8"))
        self._writer = threading.Thread(target=self._drain, name="fenliu-decision-log", daemon=True)
        self._writer.start()

    def write(self, envelope: Envelope, event: str, latency_us: int, request: Any, body: bytes | None = None) -> None:
        if self.options.sample < 1.0 and self._random.random() >= self.options.sample:
            return
        decision = envelope["decision"]
        line = {
            "time": now_iso(),
            "decision_id": envelope["decision_id"],
            "policy": envelope["policy"]["name"],
            "sha256": envelope["policy"]["sha256"],
            "event": event,
            "action": decision["action"],
            "rule": decision["rule"],
            "agent": decision.get("agent_id"),
            "latency_us": latency_us,
        }
        buyer = _buyer_id(request)
        if buyer is not None and self.options.buyer != "omit":
            line["buyer"] = self._protect(buyer)
        if self.options.debug:
            line["request"] = self._protect_request(_as_sent(request, body))
        try:
            text = orjson.dumps(line).decode("utf-8")
        except TypeError:
            # A client's lone surrogate escape: written escaped, since UTF-8 cannot carry it.
            text = json.dumps(line, separators=(",", ":"))
        if len(self._lines) >= self.options.buffer:
            metrics.DECISION_LOG_DROPPED.inc()
            return
        self._lines.append(text)

    def _drain(self) -> None:
        while True:
            self._wake.wait(WRITE_EVERY_SECONDS)
            self._wake.clear()
            closing = self._closing
            pending: list[str] = []
            lines = self._lines
            while lines:
                line = lines.popleft()
                if isinstance(line, threading.Event):
                    self._put(pending)
                    pending = []
                    line.set()
                else:
                    pending.append(line)
            self._put(pending)
            if closing:
                return

    def _put(self, lines: list[str]) -> None:
        """One write for many lines: a write (and a flush) per line cost a served decision a tenth of its time."""
        if not lines:
            return
        output = self._output or sys.stderr
        try:
            output.write("\n".join(lines) + "\n")
            output.flush()
        except (OSError, ValueError):  # a full disk, a closed stream: the lines are lost, and counted
            metrics.DECISION_LOG_DROPPED.inc(len(lines))

    def close(self) -> None:
        """The writer ends after the lines already buffered."""
        self._closing = True
        self._wake.set()

    def wait_written(self) -> None:
        """Until every line buffered before the call has been handed to the output."""
        written = threading.Event()
        self._lines.append(written)
        self._wake.set()
        while not written.wait(WRITE_EVERY_SECONDS):
            if not self._writer.is_alive():  # closed: nothing is left to wait for
                return

    def _protect(self, buyer: str) -> str:
        mode = self.options.buyer
        if mode == "plain":
            return buyer
        if mode == "mask":
            return buyer[:1] + "*" * max(len(buyer) - 1, 3)
        return "sha256:" + self._keyed.hexdigest(buyer.encode("utf-8", "surrogatepass"))[:16]

    def _protect_request(self, value: Any, key: str = "") -> Any:
        if isinstance(value, dict):
            protected = {name: self._protect_request(item, name) for name, item in value.items()}
            if key == "customer" and isinstance(value.get("id"), str):
                if self.options.buyer == "omit":
                    protected.pop("id")
                else:
                    protected["id"] = self._protect(value["id"])
            return protected
        if isinstance(value, list):
            return [self._protect_request(item, key) for item in value]
        return value


def _as_sent(request: Any, body: bytes | None) -> Any:
    """The request as the client sent it: a typed struct is only a reading of its body."""
    if isinstance(request, msgspec.Struct):
        return msgspec.json.decode(body) if body is not None else msgspec.to_builtins(request)
    return request


def _buyer_id(request: Any) -> str | None:
    if isinstance(request, msgspec.Struct):
        customer = getattr(request, "customer", None)
        return getattr(customer, "id", None)
    customer = request.get("customer") if isinstance(request, dict) else None
    buyer = customer.get("id") if isinstance(customer, dict) else None
    return buyer if isinstance(buyer, str) else None


_current: DecisionLog | None = None


def configure(options: DecisionLogOptions) -> None:
    global _current
    if _current is not None:
        _current.close()
    _current = DecisionLog(options)


def wait_written() -> None:
    if _current is not None:
        _current.wait_written()


def write(envelope: Envelope, event: str, latency_us: int, request: Any, body: bytes | None = None) -> None:
    """`request` as the engine read it (a typed struct or decoded JSON); `body` its bytes, if at hand."""
    if _current is not None:
        _current.write(envelope, event, latency_us, request, body)
