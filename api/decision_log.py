"""One JSON line per decision: enough to trace it, the buyer only as configured, and never a wait.

A decision puts its line in a bounded buffer and goes on; one writer thread per worker empties
the buffer to stderr. When the output cannot keep up (a full pipe, a stalled collector) lines are
dropped and counted in `fenliu_decision_log_dropped_total`, so a slow log costs lines, never
decisions. Buyer identifiers (`customer.id`, wherever a request has a customer) are hashed with
a key, masked, omitted or kept as configured; a sample rate below 1 logs that fraction only.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import queue
import random
import threading
from dataclasses import dataclass
from typing import Any

from fenliu.engine import Envelope

from . import metrics
from .jsonlog import json_logger, now_iso

log = json_logger("fenliu.decisions")


@dataclass(frozen=True)
class DecisionLogOptions:
    debug: bool = False
    buyer: str = "hash"
    buyer_key: str = ""
    sample: float = 1.0
    buffer: int = 10000


class DecisionLog:
    def __init__(self, options: DecisionLogOptions) -> None:
        self.options = options
        self._lines: queue.Queue[str | None] = queue.Queue(maxsize=options.buffer)
        self._random = random.Random()
        threading.Thread(target=self._drain, name="fenliu-decision-log", daemon=True).start()

    def write(self, envelope: Envelope, event: str, latency_us: int, request: Any) -> None:
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
            line["request"] = self._protect_request(request)
        text = json.dumps(line, ensure_ascii=False)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                # A client's lone surrogate escape: written escaped, since UTF-8 cannot carry it.
                text = json.dumps(line)
        try:
            self._lines.put_nowait(text)
        except queue.Full:
            metrics.DECISION_LOG_DROPPED.inc()

    def _drain(self) -> None:
        while (line := self._lines.get()) is not None:
            # A write that fails (a full disk) is the logging module's to report; the line is lost.
            log.info(line)
            self._lines.task_done()

    def close(self) -> None:
        """The writer ends after the lines already buffered (blocking only if the buffer is full)."""
        self._lines.put(None)

    def wait_written(self) -> None:
        """Until every buffered line has been handed to the output."""
        self._lines.join()

    def _protect(self, buyer: str) -> str:
        mode = self.options.buyer
        if mode == "plain":
            return buyer
        if mode == "mask":
            return buyer[:1] + "*" * max(len(buyer) - 1, 3)
        digest = hmac.new(self.options.buyer_key.encode("utf-8"), buyer.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return "sha256:" + digest.hexdigest()[:16]

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


def _buyer_id(request: Any) -> str | None:
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


def write(envelope: Envelope, event: str, latency_us: int, request: Any) -> None:
    if _current is not None:
        _current.write(envelope, event, latency_us, request)
