"""The HTTP floor: a Flask app that reads and parses the JSON body and answers a fixed envelope.

Served by gunicorn with the same settings as `fenliu serve`, it measures what HTTP, gunicorn and
Flask cost on their own. The envelope has the keys and the size of a real route decision (the
benchmark reports both servers' mean response sizes, so any difference shows).
"""
from __future__ import annotations

from flask import Flask, jsonify, request

ENVELOPE = {
    "decision": {"action": "assign", "agent_id": "a0017", "queue": None, "target": None,
                 "reason": "least busy of 23 eligible: a0017 (2 active, saturation 0.04)",
                 "rule": "basic-shunting"},
    "warnings": [],
    "policy": {"name": "kuaishou", "version": "2026.11.1",
               "sha256": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"},
    "decision_id": "5d41402abc4b2a76b9719d911017c592",
}

app = Flask(__name__)


@app.post("/v1/policies/<name>/evaluate")
def evaluate(name: str):
    body = request.get_json()
    if isinstance(body, dict) and "requests" in body:
        return jsonify({"results": [ENVELOPE] * len(body["requests"])})
    return jsonify(ENVELOPE)
