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


_stamp: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """UTC now to the millisecond, written once per millisecond: every decision log line has one."""
    global _stamp
    milliseconds = time.time_ns() // 1_000_000
    if milliseconds != _stamp[0]:
        seconds, fraction = divmod(milliseconds, 1000)
        moment = datetime.fromtimestamp(seconds, timezone.utc).replace(microsecond=fraction * 1000)
        _stamp = (milliseconds, moment.isoformat(timespec="milliseconds"))
    return _stamp[1]


def emit(log: logging.Logger, level: int, event: str, **fields: object) -> None:
    line = {"time": now_iso(), "event": event, "worker": os.getpid(), **fields}
    log.log(level, json.dumps(line, ensure_ascii=False, default=str))
