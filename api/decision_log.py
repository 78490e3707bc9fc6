"""One JSON line per decision: enough to trace it, nothing of the buyer unless debug logging is on."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

log = logging.getLogger("fenliu.decisions")


def configure(debug: bool) -> None:
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(logging.DEBUG if debug else logging.INFO)


def write(envelope: dict, event: str, latency_us: int, request: Any = None) -> None:
    decision = envelope["decision"]
    line = {
        "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "decision_id": envelope["decision_id"],
        "policy": envelope["policy"]["name"],
        "sha256": envelope["policy"]["sha256"],
        "event": event,
        "action": decision["action"],
        "rule": decision["rule"],
        "agent": decision.get("agent_id"),
        "latency_us": latency_us,
    }
    if log.isEnabledFor(logging.DEBUG):
        line["request"] = request
    log.info(json.dumps(line, ensure_ascii=False))
