"""One JSON object per line on stderr, for the service's own events (loads, reloads, startup).

Operators parse the service's output with one rule: every line Fenliu writes is JSON, decisions
and policy events alike, each with its `event`.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import datetime, timezone


def json_logger(name: str) -> logging.Logger:
    """A logger writing its messages as they are (already JSON) to stderr, not through the root."""
    log = logging.getLogger(name)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
        log.setLevel(logging.INFO)
    return log


_second: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """UTC now to the millisecond, as `isoformat(timespec="milliseconds")` writes it; the date and
    time of day written once per second: every decision log line has one."""
    global _second
    seconds, milliseconds = divmod(time.time_ns() // 1_000_000, 1000)
    if seconds != _second[0]:
        _second = (seconds, datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{_second[1]}.{milliseconds:03d}+00:00"


def emit(log: logging.Logger, level: int, event: str, **fields: object) -> None:
    line = {"time": now_iso(), "event": event, "worker": os.getpid(), **fields}
    log.log(level, json.dumps(line, ensure_ascii=False, default=str))
