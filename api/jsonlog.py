"""One JSON object per line on stderr, for the service's own events (loads, reloads, startup).

Operators parse the service's output with one rule: every line Fenliu writes is JSON, decisions
and policy events alike, each with its `event`.
"""
from __future__ import annotations

import json
import logging
import os
import sys
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


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def emit(log: logging.Logger, level: int, event: str, **fields: object) -> None:
    line = {"time": now_iso(), "event": event, "worker": os.getpid(), **fields}
    log.log(level, json.dumps(line, ensure_ascii=False, default=str))
