"""Every error answer is JSON of one shape: {"error": {"code", "message", "details": [{path, message, suggestion}]}}.
The details are always made from issues by `fenliu.engine.errors.details`, never by hand."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from fenliu.engine.errors import Detail, FenliuError, Issue, details

log = logging.getLogger("fenliu.api")


class ApiError(FenliuError):
    """An answer other than success, with the status and the details a client can act on."""

    def __init__(self, status: int, code: str, message: str, issues: Iterable[Issue] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: list[Detail] = details(issues)

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return jsonify(error.body()), error.status

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        status = error.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        message = error.description or error.name
        allowed = getattr(error, "valid_methods", None)
        if status == 413:
            message = f"request body larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
        elif status == 404:
            message = f"no endpoint at {request.path}; every endpoint is listed in GET /openapi.json"
        elif status == 405:
            message = f"{request.method} is not allowed on {request.path}; use {', '.join(m for m in allowed or () if m != 'OPTIONS')}"
        response = jsonify(ApiError(status, code, message).body())
        if allowed:
            response.headers["Allow"] = ", ".join(allowed)
        return response, status

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        # Logged with its trace for the operator; the client gets no internals.
        log.exception("unexpected error")
        return jsonify(ApiError(500, "internal_error", "the service failed to answer; see its log").body()), 500
