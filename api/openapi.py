"""The OpenAPI 3.1 description of the service, built on the published JSON Schemas in `schemas/`.

OpenAPI 3.1 speaks JSON Schema 2020-12, so the request schema is reused as it is; only its
`$defs` move under `components/schemas`, where references inside one OpenAPI document resolve.
"""
from __future__ import annotations

import copy
from functools import cache
from typing import Any

from fenliu.schemas import load_schema


def _relocated(schema: Any, prefix: str) -> Any:
    if isinstance(schema, dict):
        moved = {key: _relocated(value, prefix) for key, value in schema.items() if key not in ("$schema", "$id", "$defs")}
        ref = moved.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            moved["$ref"] = "#/components/schemas/" + prefix + ref.removeprefix("#/$defs/")
        return moved
    if isinstance(schema, list):
        return [_relocated(item, prefix) for item in schema]
    return schema


def _published(file: str, name: str) -> dict[str, Any]:
    """A schema of `schemas/` as components: itself under `name`, its $defs under `name_<def>`."""
    schema = load_schema(file)
    prefix = f"{name}_"
    components = {prefix + key: _relocated(part, prefix) for key, part in schema.get("$defs", {}).items()}
    components[name] = _relocated(schema, prefix)
    return components


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict:
    return _json(_ref("Error"), description)


_ERRORS = {
    "400": _error("Malformed JSON, a wrong type, an unknown event or field; `details` names each bad field."),
    "413": _error("Body larger than the configured limit (1 MiB by default), or a batch too large."),
    "415": _error("Wrong content type."),
}

_SUGGESTION = {"type": ["string", "null"],
               "description": "The fix on its own, such as \"did you mean `max_sessions`?\"; null when there is none."}


def _detail(required: list[str]) -> dict[str, Any]:
    """One issue, as `fenliu.engine.errors.details` writes it."""
    return {
        "type": "object", "required": required,
        "properties": {
            "path": {"type": "string", "description": "Where: a field (`agents[0].status`), a position in a file "
                                                      "(`rules/x.yaml:3:5`), or a line's field of a trace (`trace.12.at`)."},
            "message": {"type": "string", "description": "What is wrong, for a person; it includes the suggestion."},
            "suggestion": _SUGGESTION,
            "file": {"type": "string", "description": "Only at a position in a policy file, with line and column."},
            "line": {"type": "integer"}, "column": {"type": "integer"},
        },
    }


_RESPONSE_SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object", "required": ["error"],
        "properties": {"error": {
            "type": "object", "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "description": "Stable, machine-readable: invalid_request, unknown_policy, …"},
                "message": {"type": "string"},
                "details": {"type": "array", "items": _ref("Detail")},
            }}},
    },
    "Detail": _detail(["path", "message", "suggestion"]),
    "Decision": {
        "type": "object", "required": ["action", "rule"],
        "description": "What to do. Fields beyond `action`, `rule` and `reason` depend on the event "
                       "(agent_id/queue/target for route, assignments/expired for dequeue, …).",
        "properties": {"action": {"type": "string"}, "rule": {"type": "string"}, "reason": {"type": ["string", "null"]}},
    },
    "Envelope": {
        "type": "object", "required": ["decision", "warnings", "policy", "decision_id"],
        "properties": {
            "decision": _ref("Decision"),
            "warnings": {"type": "array", "items": {"type": "object", "required": ["code", "message"]}},
            "policy": {"type": "object", "required": ["name", "version", "sha256"],
                       "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "sha256": {"type": "string"}}},
            "decision_id": {"type": "string"},
            "trace": {"type": "array", "description": "Only with ?explain=true: each rule tried and why it did or did not decide.",
                      "items": {"type": "object"}},
        },
    },
    "Batch": {
        "type": "object", "required": ["requests"], "additionalProperties": False,
        "properties": {"requests": {"type": "array", "items": _ref("EvaluateRequest"),
                                    "description": "At most the configured batch limit (1,000 by default)."}},
    },
    "BatchResults": {
        "type": "object", "required": ["results"],
        "properties": {"results": {"type": "array", "items": {"oneOf": [_ref("Envelope"), _ref("Error")]}}},
    },
    "PolicyIssue": {
        "type": "object", "required": ["file", "line", "column", "message", "suggestion"],
        "properties": {"file": {"type": "string"}, "line": {"type": ["integer", "null"]},
                       "column": {"type": ["integer", "null"]}, "message": {"type": "string"},
                       "suggestion": _SUGGESTION},
    },
    "PolicySummary": {
        "type": "object", "required": ["name", "version", "sha256", "loaded_at", "source", "status", "last_error", "rules"],
        "properties": {
            "name": {"type": "string"}, "version": {"type": ["string", "null"]}, "sha256": {"type": ["string", "null"]},
            "loaded_at": {"type": ["string", "null"]}, "source": {"type": "string"},
            "status": {"enum": ["active", "stale", "failed"],
                       "description": "stale: the file on disk is broken and the last good version serves; failed: never loaded."},
            "last_error": {"type": ["array", "null"], "items": _ref("PolicyIssue")},
            "rules": {"description": "The number of rules in the list; the rules themselves for one policy.",
                      "oneOf": [{"type": "integer"}, {"type": "array", "items": {"type": "object"}}]},
        },
    },
    "Validation": {
        "type": "object", "required": ["valid", "errors", "warnings"],
        "properties": {"valid": {"type": "boolean"},
                       "errors": {"type": "array", "items": _ref("Position")},
                       "warnings": {"type": "array", "items": _ref("Position")}},
    },
    "Position": _detail(["path", "file", "line", "column", "message", "suggestion"]),
    "SimulationRequest": {
        "type": "object", "required": ["trace", "roster", "policies"], "additionalProperties": False,
        "properties": {
            "trace": {"type": "array", "items": _ref("SimulationArrival"),
                      "description": "Buyer arrivals, as the lines of a trace file (bounded: FENLIU_SIMULATE_MAX_CONVERSATIONS)."},
            "roster": _ref("SimulationRoster"),
            "policies": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                         "description": "Names of loaded policies; the first is the baseline."},
            "options": {"type": "object", "description": "seed, sample_minutes, drain_hours, behaviour."},
        },
    },
    "SimulationJob": {
        "type": "object", "required": ["id", "status", "progress", "created_at", "policies"],
        "properties": {
            "id": {"type": "string"},
            "status": {"enum": ["queued", "running", "done", "failed", "timed_out", "cancelled"],
                       "description": "timed_out: the run passed FENLIU_SIMULATION_TIME_LIMIT_SECONDS."},
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "created_at": {"type": "string"}, "started_at": {"type": "string"}, "finished_at": {"type": "string"},
            "seconds": {"type": "number", "description": "How long the run took, once finished."},
            "policies": {"type": "array", "items": {"type": "string"}},
            "result": {"type": "object", "description": "Once done: as POST /v1/simulate answers (fenliu-simulation/1)."},
            "error": {"type": "object", "description": "Once failed or timed out: code, message, details, as an Error's.",
                      "required": ["code", "message", "details"]},
        },
    },
    "Reload": {
        "type": "object", "required": ["loaded", "unchanged", "rejected"],
        "properties": {"loaded": {"type": "array", "items": {"type": "string"}},
                       "unchanged": {"type": "array", "items": {"type": "string"}},
                       "unloaded": {"type": "array", "items": {"type": "string"}},
                       "rejected": {"type": "array", "items": {"type": "object", "required": ["file", "errors"]}}},
    },
}

_JOB = {"name": "job_id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "The id POST gave."}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}, "description": "Policy name (its file name without .yaml)."}


def _paths() -> dict[str, Any]:
    return {
        "/v1/policies/{name}/evaluate": {"post": {
            "summary": "Decide one request of any event, or a batch.",
            "parameters": [_NAME, {"name": "explain", "in": "query", "required": False,
                                   "schema": {"type": "boolean"}, "description": "Add the trace."}],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"oneOf": [_ref("EvaluateRequest"), _ref("Batch")]}}}},
            "responses": {
                "200": {"description": "The envelope, or `results` for a batch.",
                        "content": {"application/json": {"schema": {"oneOf": [_ref("Envelope"), _ref("BatchResults")]}}}},
                **_ERRORS,
                "404": _error("No such policy."),
                "503": _error("The policy exists on disk but has never loaded."),
            }}},
        "/v1/policies": {"get": {
            "summary": "Every policy, with its status and last error.",
            "responses": {"200": _json({"type": "object", "required": ["policies"],
                                        "properties": {"policies": {"type": "array", "items": _ref("PolicySummary")}}},
                                       "The policies.")}}},
        "/v1/policies/{name}": {"get": {
            "summary": "One policy and its rules; ETag is the file's sha256.",
            "parameters": [_NAME, {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}}],
            "responses": {"200": _json(_ref("PolicySummary"), "The policy."),
                          "304": {"description": "Unchanged since the ETag given."},
                          "404": _error("No such policy.")}}},
        "/v1/policies/validate": {"post": {
            "summary": "Check a policy without loading it.",
            "requestBody": {"required": True, "content": {
                **{media: {"schema": {"type": "string"}} for media in ("application/yaml", "text/yaml", "text/plain")},
                "application/json": {"schema": {
                    "type": "object", "required": ["policy"], "additionalProperties": False,
                    "properties": {"policy": {"type": "string", "description": "The policy file's YAML text."}}}}}},
            "responses": {"200": _json(_ref("Validation"), "Errors and warnings with line and column."), **_ERRORS}}},
        "/v1/reload": {"post": {
            "summary": "Reload the rules directory now, in every worker.",
            "security": [{"admin": []}, {}],
            "responses": {"200": _json(_ref("Reload"), "What changed."),
                          "401": _error("A token is configured and was not given."),
                          "403": _error("No token is configured and the caller is not on a loopback address.")}}},
        "/v1/simulate": {"post": {
            "summary": "Replay a tiny trace through loaded policies and predict the service KPIs (B19); larger runs are jobs.",
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SimulationRequest")}}},
            "responses": {"200": _json({"type": "object", "required": ["format", "runs"]},
                                       "The result (format fenliu-simulation/1): KPIs per policy and their differences."),
                          **_ERRORS,
                          "404": _error("A named policy is not loaded.")}}},
        "/v1/simulations": {"post": {
            "summary": "Queue a what-if run of any size as a job; it never slows decisions (B19).",
            "security": [{"admin": []}, {}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("SimulationRequest")}}},
            "responses": {"202": {**_json(_ref("SimulationJob"), "Queued; poll the Location."),
                                  "headers": {"Location": {"schema": {"type": "string"},
                                                           "description": "/v1/simulations/{job_id}"}}},
                          "400": _ERRORS["400"], "413": _ERRORS["413"], "415": _ERRORS["415"],
                          "401": _error("A token is configured and was not given."),
                          "403": _error("No token is configured and the caller is not on a loopback address."),
                          "404": _error("A named policy is not loaded."),
                          "429": {**_error("As many jobs are queued or running as the service takes (FENLIU_SIMULATION_QUEUE)."),
                                  "headers": {"Retry-After": {"schema": {"type": "integer"}}}}}}},
        "/v1/simulations/{job_id}": {
            "get": {"summary": "A job's status and progress, and its result once done.",
                    "parameters": [_JOB], "security": [{"admin": []}, {}],
                    "responses": {"200": _json(_ref("SimulationJob"), "The job."),
                                  "401": _error("A token is configured and was not given."),
                                  "403": _error("No token is configured and the caller is not on a loopback address."),
                                  "404": _error("No such job.")}},
            "delete": {"summary": "Cancel a queued or running job; a finished one is left as it is.",
                       "parameters": [_JOB], "security": [{"admin": []}, {}],
                       "responses": {"200": _json(_ref("SimulationJob"), "The job, cancelled or about to be."),
                                     "401": _error("A token is configured and was not given."),
                                     "403": _error("No token is configured and the caller is not on a loopback address."),
                                     "404": _error("No such job.")}}},
        "/healthz": {"get": {"summary": "The process is alive.",
                             "responses": {"200": _json({"type": "object"}, "Alive.")}}},
        "/readyz": {"get": {"summary": "The first load is done and some policy serves; files that never "
                                       "loaded are listed in `failed` without taking the others out of service.",
                            "responses": {"200": _json({"type": "object"}, "Ready."),
                                          "503": _json({"type": "object"}, "Still loading, or no policy serves.")}}},
        "/metrics": {"get": {"summary": "Prometheus metrics, summed over every worker.",
                             "responses": {"200": {"description": "Prometheus text format.",
                                                   "content": {"text/plain": {"schema": {"type": "string"}}}}}}},
        "/openapi.json": {"get": {"summary": "This document.",
                                  "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1.")}}},
    }


@cache
def _document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Fenliu", "version": "1",
                 "description": "Routing decisions for e-commerce customer service, from YAML policies."},
        "paths": _paths(),
        "components": {
            "schemas": {**_published("request.schema.json", "EvaluateRequest"),
                        **_published("simulation-trace.schema.json", "SimulationArrival"),
                        **_published("simulation-roster.schema.json", "SimulationRoster"),
                        **_RESPONSE_SCHEMAS},
            "securitySchemes": {"admin": {"type": "http", "scheme": "bearer",
                                          "description": "FENLIU_ADMIN_TOKEN, when one is configured."}},
        },
    }


def openapi_document() -> dict[str, Any]:
    return copy.deepcopy(_document())
