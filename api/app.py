"""The Flask application factory: one app per worker process, its policies loaded before it answers."""
from __future__ import annotations

import os
import time

from typing import Any

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider

from . import decision_log, metrics, simulations
from .endpoints import bp
from .decision_log import DecisionLogOptions
from .errors import register_error_handlers
from .registry import PolicyRegistry
from .service import Service
from .settings import Settings
from .watcher import Watcher


def create_app(settings: Settings | None = None, *, watch: bool = True) -> Flask:
    """Build the service; `watch=False` leaves reloading to explicit calls (tests, tools)."""
    settings = settings or Settings.from_env()
    app = Flask("fenliu")
    app.json = _ReadableJSON(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes

    registry = PolicyRegistry(settings.rules_dir, settings.yaml_limits)
    registry.on_change.append(metrics.record_refresh)
    registry.refresh()
    watcher = Watcher(registry, settings.poll_seconds, settings.runtime_dir, events=settings.watch_events)
    if watch:
        watcher.start()
    app.extensions["fenliu"] = Service(settings, registry, watcher)

    decision_log.configure(DecisionLogOptions(settings.debug_log, settings.decision_log_buyer,
                                              settings.decision_log_buyer_key, settings.decision_log_sample,
                                              settings.decision_log_buffer))
    register_error_handlers(app)
    app.register_blueprint(bp)
    simulations.register(app, settings)
    _measure_requests(app)
    _mark_stale_answers(app)
    return app


class _ReadableJSON(DefaultJSONProvider):
    """Chinese names stay readable in answers; text UTF-8 cannot carry (a client's lone surrogate
    escapes, echoed back) is answered in escaped form instead of failing."""

    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        text = super().dumps(obj, **kwargs)
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                return super().dumps(obj, **{**kwargs, "ensure_ascii": True})
        return text


STALE_HEADER = "Fenliu-Policy-Stale"


def _mark_stale_answers(app: Flask) -> None:
    """An answer from a policy whose newer file was refused says so: `Fenliu-Policy-Stale: true`."""

    @app.after_request
    def mark(response):
        name = (request.view_args or {}).get("name")
        if name is not None and response.status_code < 400:
            entry = app.extensions["fenliu"].registry.entry(name)
            if entry is not None and entry.status == "stale":
                response.headers[STALE_HEADER] = "true"
        return response


def _measure_requests(app: Flask) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def count(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.labelled(metrics.REQUESTS, endpoint, request.method, str(response.status_code)).inc()
        metrics.labelled(metrics.LATENCY, endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        # Which worker answered: lets an operator (and the tests) see every worker reload.
        response.headers["X-Fenliu-Worker"] = str(os.getpid())
        return response
