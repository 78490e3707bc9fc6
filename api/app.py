"""The Flask application factory: one app per worker process, its policies loaded before it answers."""
from __future__ import annotations

import os
import time

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from . import decision_log, metrics, simulations
from .bodies import current_request
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
    _finish_answers(app)
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
WORKER_HEADER = "X-Fenliu-Worker"
STARTED = "fenliu.started"  # the request's arrival, in its WSGI environ


def _finish_answers(app: Flask) -> None:
    """Every answer is counted and timed per endpoint, says which worker gave it (so an operator,
    and the tests, can see every worker reload), and, when it comes from a policy whose newer file
    was refused, says so: `Fenliu-Policy-Stale: true`.

    One hook reading the request once: each read through Flask's `request` proxy, and each hook,
    is a measurable share of a decision served over HTTP."""
    registry = app.extensions["fenliu"].registry
    serve = app.wsgi_app

    def arrive(environ: dict[str, Any], start_response: Any) -> Any:
        # The clock starts before Flask builds the request: cheaper than a before-request hook, and
        # the latency then covers Flask's own work too.
        environ[STARTED] = time.perf_counter()
        return serve(environ, start_response)

    app.wsgi_app = arrive  # type: ignore[method-assign]

    @app.after_request
    def finish(response):
        current = current_request()
        rule = current.url_rule
        endpoint = rule.rule if rule is not None else "unmatched"
        status = response.status_code
        metrics.labelled(metrics.REQUESTS, endpoint, current.method, str(status)).inc()
        now = time.perf_counter()
        metrics.labelled(metrics.LATENCY, endpoint).observe(now - current.environ.get(STARTED, now))
        headers = response.headers
        headers[WORKER_HEADER] = str(os.getpid())
        name = (current.view_args or {}).get("name")
        if name is not None and status < 400:
            entry = registry.entry(name)
            if entry is not None and entry.status == "stale":
                headers[STALE_HEADER] = "true"
        return response
