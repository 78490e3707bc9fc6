"""Simulation jobs over HTTP: `POST /v1/simulations` queues a what-if run and answers 202 at once;
`GET /v1/simulations/<id>` gives its status, progress and result; `DELETE` cancels it.

The runs happen in `engine.simulation.jobs`' own process pool at a lower CPU priority, so however
many are asked for, decisions keep their processes and their cores. Admin operations: they take
the admin token when one is configured, as reload does.
"""
from __future__ import annotations

import atexit

import msgspec

from flask import Blueprint, Flask, current_app, jsonify, request, url_for

from fenliu.engine.errors import field_issue
from fenliu.engine.simulation.jobs import JobLimits, JobQueueFull, SimulationJobs

from .bodies import json_body
from .admin import admin_only
from .endpoints import _service, _unavailable
from .errors import ApiError
from .settings import Settings

bp = Blueprint("fenliu_simulations", __name__)
JOBS_SUBDIR = "simulations"
RETRY_AFTER_SECONDS = 30


def register(app: Flask, settings: Settings) -> None:
    """Give the app its job table (in the runtime directory its sibling workers share) and routes."""
    jobs = SimulationJobs(settings.runtime_dir / JOBS_SUBDIR if settings.runtime_dir else None, JobLimits(
        workers=settings.simulation_workers, queue=settings.simulation_queue,
        max_conversations=settings.simulation_max_conversations,
        time_limit_seconds=settings.simulation_time_limit_seconds, nice=settings.simulation_nice))
    atexit.register(jobs.shutdown)
    app.extensions["fenliu_simulations"] = jobs
    app.register_blueprint(bp)


class _Header(msgspec.Struct, forbid_unknown_fields=True):
    """The request as this process reads it: the policy names; the rest is kept raw for the pool."""

    policies: list[str]
    trace: msgspec.Raw = msgspec.Raw()
    roster: msgspec.Raw = msgspec.Raw()
    options: msgspec.Raw = msgspec.Raw()


def _policy_names() -> list[str]:
    """The body's policy names, without decoding its trace: a large trace is the pool's to read."""
    if not request.is_json:
        json_body(request)  # answers 415 as every JSON endpoint does
    try:
        names = msgspec.json.decode(request.get_data(), type=_Header).policies
    except msgspec.ValidationError as error:
        raise ApiError(400, "invalid_simulation", "send an object with trace, roster, policies (names of loaded "
                       "policies, the first the baseline) and optional options", [field_issue("", str(error))]) from None
    except msgspec.DecodeError:
        json_body(request)  # the malformed_json or unsupported_media_type error, worded as everywhere
        raise ApiError(400, "invalid_simulation", "send an object with trace, roster, policies and optional options") from None
    if not names:
        raise ApiError(400, "invalid_simulation", "`policies` must be a non-empty list of policy names",
                       [field_issue("policies", "names of loaded policies")])
    return names


def _jobs() -> SimulationJobs:
    return current_app.extensions["fenliu_simulations"]


@bp.post("/v1/simulations")
@admin_only
def create_simulation():
    service = _service()
    names = _policy_names()
    files = {}
    for name in names:
        entry = service.registry.entry(name)
        if entry is None or entry.loaded is None:
            raise _unavailable(service, name)
        files[name] = entry.loaded.source
    try:
        state = _jobs().submit(request.get_data(cache=False), files)
    except JobQueueFull as error:
        response = jsonify(ApiError(429, "simulation_queue_full", f"{error}; try again later").body())
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response, 429
    response = jsonify(state)
    response.headers["Location"] = url_for("fenliu_simulations.show_simulation", job_id=state["id"])
    return response, 202


@bp.get("/v1/simulations/<job_id>")
@admin_only
def show_simulation(job_id: str):
    return jsonify(_known(_jobs().status(job_id), job_id))


@bp.delete("/v1/simulations/<job_id>")
@admin_only
def cancel_simulation(job_id: str):
    return jsonify(_known(_jobs().cancel(job_id), job_id))


def _known(state: dict | None, job_id: str) -> dict:
    if state is None:
        raise ApiError(404, "unknown_simulation", f"no simulation job `{job_id}`; jobs are named by the id POST gave")
    return state
