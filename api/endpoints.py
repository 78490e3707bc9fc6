"""The HTTP endpoints. Each one parses, calls the engine or the registry, and shapes the answer."""
from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import replace
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from fenliu.engine import Envelope, Policy, PolicyError, RequestError, jsonio
from fenliu.engine.policy import Evaluation
from fenliu.engine.errors import Issue, MalformedBody, details, field_issue
from fenliu.engine.loader import parse_policy
from fenliu.engine.simulation import SimulationInputError, SimulationLimitError, options_from_dict, run_simulation
from fenliu.engine.suggestions import did_you_mean

from . import decision_log, metrics
from .admin import admin_only
from .bodies import batch_items, current_request, flag, json_body, json_bytes, starts_as_batch, yaml_body
from .errors import ApiError
from .openapi import openapi_document
from .registry import Entry
from .service import Service

bp = Blueprint("fenliu", __name__)


def _service() -> Service:
    return current_app.extensions["fenliu"]


@bp.post("/v1/policies/<name>/evaluate")
def evaluate(name: str):
    service = _service()
    current = current_request()
    body = json_bytes(current)
    explain = flag(current, "explain")
    with service.registry.lease(name) as loaded:
        if loaded is None:
            raise _unavailable(service, name)
        policy = loaded.policy
        started = time.perf_counter()
        # A batch is not decoded as one request first when it starts the way clients write one.
        evaluation = None if starts_as_batch(body) else policy.evaluate_typed(body, explain=explain)
        if evaluation is None:
            items = batch_items(body)
            if items is not None:
                return _json_response({"results": _evaluate_batch(service, policy, items, explain)})
            evaluation = _evaluate_careful(policy, body, explain)
        return _json_response(_recorded(policy, evaluation, body, started))


def _json_response(answer: Any) -> Response:
    return Response(jsonio.encode(answer), content_type="application/json")


def _evaluate_batch(service: Service, policy: Policy, items: list[bytes], explain: bool) -> list[Envelope | dict[str, Any]]:
    limit = service.settings.max_batch
    if len(items) > limit:
        raise ApiError(413, "batch_too_large", f"a batch holds at most {limit} requests, got {len(items)}")
    results: list[Envelope | dict[str, Any]] = []
    for item in items:
        started = time.perf_counter()
        try:
            results.append(_recorded(policy, _evaluate_careful(policy, item, explain), item, started))
        except ApiError as error:
            results.append(error.body())
    return results


def _evaluate_careful(policy: Policy, body: bytes, explain: bool) -> Evaluation:
    try:
        return policy.evaluate_body(body, explain=explain)
    except MalformedBody as error:
        raise ApiError(400, "malformed_json", error.issues[0].message) from None
    except RequestError as error:
        raise ApiError(400, "invalid_request", "the request does not follow the evaluate contract",
                       error.issues) from None


def _recorded(policy: Policy, evaluation: Evaluation, body: bytes, started: float) -> Envelope:
    """The envelope, counted in the metrics and written to the decision log."""
    envelope = evaluation.envelope
    decision = envelope["decision"]
    metrics.decision_made(policy.name, evaluation.event, decision["action"], decision["rule"])
    decision_log.write(envelope, evaluation.event, round((time.perf_counter() - started) * 1e6), evaluation.request, body)
    return envelope


def _unavailable(service: Service, name: str) -> ApiError:
    entry = service.registry.entry(name)
    if entry is not None:
        return ApiError(503, "policy_unavailable", f"policy `{name}` has never loaded successfully; see its errors",
                        entry.issues)
    known = [item.name for item in service.registry.entries()]
    hint = did_you_mean(name, known)
    return ApiError(404, "unknown_policy", f"no policy named `{name}`{hint}",
                    [field_issue("name", f"known policies: {', '.join(known) or 'none'}", hint.suggestion)])


def _summary(entry: Entry) -> dict[str, Any]:
    policy = entry.loaded.policy if entry.loaded else None
    return {
        "name": entry.name,
        "version": policy.version if policy else None,
        "sha256": policy.sha256 if policy else None,
        "loaded_at": entry.loaded.loaded_at if entry.loaded else None,
        "source": entry.source,
        "status": entry.status,
        "last_error": entry.errors or None,
        "rules": len(policy.document.rules) if policy else 0,
    }


@bp.get("/v1/policies")
def list_policies():
    return jsonify({"policies": [_summary(entry) for entry in _service().registry.entries()]})


@bp.get("/v1/policies/<name>")
def show_policy(name: str):
    service = _service()
    entry = service.registry.entry(name)
    if entry is None:
        raise _unavailable(service, name)
    body = _summary(entry)
    body["rules"] = [_rule(rule) for rule in entry.loaded.policy.document.rules] if entry.loaded else []
    if entry.loaded is None:
        return jsonify(body)
    sha256 = entry.loaded.policy.sha256
    if request.if_none_match.contains(sha256):
        response = Response(status=304)
    else:
        response = jsonify(body)
    response.set_etag(sha256)
    return response


def _rule(rule) -> dict[str, Any]:
    return {"id": rule.id, "event": rule.event, "priority": rule.priority, "enabled": rule.enabled,
            "description": rule.description, "action": rule.then.kind,
            "line": rule.where.line, "column": rule.where.column}


@bp.post("/v1/policies/validate")
def validate():
    data = _policy_text(request)
    errors: list[Issue] = []
    warnings: list[Issue] = []
    try:
        document, warnings = parse_policy(data, "<request>", _service().settings.yaml_limits)
        Policy(document, warnings).close()
    except PolicyError as error:
        errors, warnings = error.issues, error.warnings
    return jsonify({"valid": not errors, "errors": details(errors), "warnings": details(warnings)})


def _policy_text(request) -> bytes:
    """The policy to validate: a YAML body, or JSON `{"policy": "<YAML text>"}` for clients that
    generate their code from the OpenAPI document and speak only JSON."""
    if request.mimetype != "application/json":
        return yaml_body(request)
    body = json_body(request)
    if not isinstance(body, dict) or set(body) != {"policy"} or not isinstance(body["policy"], str):
        raise ApiError(400, "invalid_request", 'send {"policy": "<the policy file\'s YAML text>"}',
                       [field_issue("policy", "required: the YAML text, as a string")])
    return body["policy"].encode("utf-8")


@bp.post("/v1/reload")
@admin_only
def reload():
    service = _service()
    report = service.registry.refresh()
    service.watcher.tell_siblings()
    return jsonify(report.as_dict())


@bp.post("/v1/simulate")
def simulate():
    """Small what-if runs only: size and time are bounded by the service's settings."""
    service = _service()
    body = json_body(request)
    if not isinstance(body, dict) or set(body) - {"trace", "roster", "policies", "options"}:
        raise ApiError(400, "invalid_simulation", "send an object with trace, roster, policies and optional options")
    names = body.get("policies")
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise ApiError(400, "invalid_simulation", "`policies` must be a non-empty list of policy names",
                       [field_issue("policies", "names of loaded policies")])
    settings = service.settings
    try:
        options = replace(options_from_dict(body.get("options", {})),
                          max_conversations=settings.simulate_max_conversations,
                          max_agents=settings.simulate_max_agents, max_policies=settings.simulate_max_policies,
                          time_limit_seconds=settings.simulate_time_limit_seconds)
        with ExitStack() as leases:
            policies = {}
            for name in names:
                loaded = leases.enter_context(service.registry.lease(name))
                if loaded is None:
                    raise _unavailable(service, name)
                policies[name] = loaded.policy
            return jsonify(run_simulation(body.get("trace"), body.get("roster"), policies, options))
    except SimulationInputError as error:
        raise ApiError(400, "invalid_simulation", "the trace, roster or options do not follow their schemas",
                       error.issues) from None
    except SimulationLimitError as error:
        raise ApiError(413, "simulation_too_large", str(error)) from None


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    registry = _service().registry
    ready = registry.ready()
    body = {"ready": ready, "serving": [entry.name for entry in registry.entries() if entry.loaded],
            "failed": [entry.name for entry in registry.entries() if entry.loaded is None]}
    if registry.directory_error:
        body["rules_directory_error"] = registry.directory_error
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def prometheus_metrics():
    payload, content_type = metrics.exposition()
    return Response(payload, content_type=content_type)


@bp.get("/openapi.json")
def openapi():
    return jsonify(openapi_document())
