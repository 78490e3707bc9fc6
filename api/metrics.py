"""Prometheus metrics, correct across gunicorn workers.

Under `fenliu serve` every worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR and
`/metrics` adds them up, whichever worker answers; in a single process the default registry is used.
"""
from __future__ import annotations

import os
import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import REGISTRY, multiprocess

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("fenliu_http_requests_total", "HTTP requests answered.", ["endpoint", "method", "status"])
LATENCY = Histogram(
    "fenliu_http_request_duration_seconds", "Time to answer an HTTP request.", ["endpoint"],
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
DECISIONS = Counter("fenliu_decisions_total", "Decisions made, per policy, event, action and deciding rule.",
                    ["policy", "event", "action", "rule"])
RELOADS = Counter("fenliu_policy_reload_total", "Policy loads by result: loaded, error (a rejected file) or unloaded.",
                  ["policy", "result"])
POLICY_INFO = Gauge(
    "fenliu_policy_info", "1 for the policy version a live worker serves.", ["policy", "version", "sha256"],
    multiprocess_mode="livemax",
)
STATUSES = ("active", "stale", "failed")
POLICY_STATUS = Gauge(
    "fenliu_policy_status", "1 for a policy's status in some live worker: active, stale (a newer file was refused) "
    "or failed (never loaded).", ["policy", "status"], multiprocess_mode="livemax",
)
LAST_RELOAD = Gauge(
    "fenliu_policy_last_reload_timestamp_seconds", "Unix time of the last successful load of a policy.", ["policy"],
    multiprocess_mode="max",
)
RELOAD_DURATION = Histogram(
    "fenliu_policy_reload_duration_seconds", "Time to read and compile one policy file, loaded or refused.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
DECISION_LOG_DROPPED = Counter(
    "fenliu_decision_log_dropped_total", "Decision log lines dropped because the log output could not keep up.",
)


_children: dict[tuple[Any, ...], Any] = {}


def labelled(metric: Any, *labels: str) -> Any:
    """`metric.labels(*labels)`, looked up once: the client's own lookup locks and checks the labels
    on every call, a measurable share of a decision served over HTTP."""
    key = (id(metric), *labels)
    child = _children.get(key)
    if child is None:
        child = _children[key] = metric.labels(*labels)
    return child


def decision_made(policy: str, event: str, action: str, rule: str) -> None:
    labelled(DECISIONS, policy, event, action, rule).inc()


def exposition() -> tuple[bytes, str]:
    if os.environ.get(MULTIPROCESS_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


_shown: set[tuple[str, str, str]] = set()


def record_refresh(report, entries) -> None:
    """Count a registry refresh and show which versions this worker now serves."""
    for name in report.loaded:
        RELOADS.labels(name, "loaded").inc()
    for name in report.unloaded:
        RELOADS.labels(name, "unloaded").inc()
    for name in report.newly_failed:
        RELOADS.labels(name, "error").inc()
    for seconds in report.durations.values():
        RELOAD_DURATION.observe(seconds)
    now = time.time()
    for name in report.loaded:
        LAST_RELOAD.labels(name).set(now)
    current = {entry.name: entry.status for entry in entries}
    for name in report.unloaded:
        for status in STATUSES:
            POLICY_STATUS.labels(name, status).set(0)
    for name, status in current.items():
        for each in STATUSES:
            POLICY_STATUS.labels(name, each).set(1 if each == status else 0)
    serving = {(entry.name, entry.loaded.policy.version, entry.loaded.policy.sha256)
               for entry in entries if entry.loaded is not None}
    for labels in _shown - serving:
        POLICY_INFO.labels(*labels).set(0)
    for labels in serving:
        POLICY_INFO.labels(*labels).set(1)
    _shown.clear()
    _shown.update(serving)


def mark_worker_dead(pid: int) -> None:
    """Drop a dead worker's live gauges (its counters stay: they were real)."""
    if os.environ.get(MULTIPROCESS_ENV):
        multiprocess.mark_process_dead(pid)
