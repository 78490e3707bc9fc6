"""The Flask application factory: one app per worker process, its policies loaded before it answers."""
from __future__ import annotations

import os
import time

from typing import Any

from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider

from . import decision_log, metrics, simulations
from .endpoints import bp
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
    watcher = Watcher(registry, settings.poll_seconds, settings.runtime_dir)
    if watch:
        watcher.start()
    app.extensions["fenliu"] = Service(settings, registry, watcher)

    decision_log.configure(settings.debug_log)
    register_error_handlers(app)
    app.register_blueprint(bp)
    simulations.register(app, settings)
    _measure_requests(app)
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


def _measure_requests(app: Flask) -> None:
    @app.before_request
    def start_clock() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def count(response):
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        metrics.REQUESTS.labels(endpoint, request.method, str(response.status_code)).inc()
        metrics.LATENCY.labels(endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
        # Which worker answered: lets an operator (and the tests) see every worker reload.
        response.headers["X-Fenliu-Worker"] = str(os.getpid())
        return response
