"""Reading requests strictly: the right content type, valid JSON, no NaN, bounded nesting; and the
request itself without Flask's proxy, for the evaluate path."""
from __future__ import annotations

import re
from typing import Any

import msgspec
from flask import Request, request

from fenliu.engine import jsonio
from fenliu.engine.errors import field_issue

from .errors import ApiError

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"})


def current_request() -> Request:
    """The request itself, not Flask's proxy to it: on the evaluate path each read through the
    proxy costs about a microsecond, and a decision reads it a dozen times."""
    return request._get_current_object()  # type: ignore[attr-defined, no-any-return]


def json_bytes(request: Request) -> bytes:
    """The body of a JSON request, not yet decoded; 415 for any other content type."""
    if request.environ.get("CONTENT_TYPE") == "application/json":  # what clients send: no header parsing
        return request.get_data(cache=False)
    mimetype = request.mimetype
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", f"send JSON with Content-Type: application/json, not {mimetype or 'nothing'}")
    return request.get_data(cache=False)


def json_body(request: Request) -> Any:
    try:
        return jsonio.decode(json_bytes(request))
    except jsonio.MalformedJson as error:
        raise ApiError(400, "malformed_json", str(error)) from None


class _Batch(msgspec.Struct):
    """`{"requests": [...]}` with no `event`: each request kept as its own undecoded JSON."""

    requests: list[msgspec.Raw]
    event: msgspec.Raw = msgspec.Raw()


class _AnyRequests(msgspec.Struct):
    """A body with `requests` of any kind: to say why it is not a batch."""

    requests: msgspec.Raw
    event: msgspec.Raw = msgspec.Raw()


_BATCH = msgspec.json.Decoder(_Batch)
_ANY_REQUESTS = msgspec.json.Decoder(_AnyRequests)
_BATCH_START = re.compile(rb'\s*\{\s*"requests"\s*:')


def starts_as_batch(body: bytes) -> bool:
    """`{"requests": ...` first, as clients write a batch; only a hint of which reading to try first."""
    return _BATCH_START.match(body) is not None


def batch_items(body: bytes) -> list[bytes] | None:
    """The requests of a batch body, each as its own JSON text; None when the body is not a batch
    (an evaluate request, or not JSON: the careful reading says which)."""
    try:
        batch = _BATCH.decode(body)
    except (msgspec.DecodeError, RecursionError):
        _refuse_requests_not_a_list(body)
        return None
    if len(batch.event):
        return None
    return [bytes(item) for item in batch.requests]


def _refuse_requests_not_a_list(body: bytes) -> None:
    try:
        loose = _ANY_REQUESTS.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return
    if not len(loose.event):
        found = type(jsonio.decode(bytes(loose.requests))).__name__
        raise ApiError(400, "invalid_request", "`requests` must be a list of evaluate requests",
                       [field_issue("requests", f"got {found}")])


def yaml_body(request: Request) -> bytes:
    if request.mimetype not in YAML_TYPES:
        accepted = ", ".join(sorted(YAML_TYPES))
        raise ApiError(415, "unsupported_media_type", f"send the policy as YAML ({accepted}), not {request.mimetype or 'nothing'}")
    return request.get_data(cache=False)


def flag(request: Request, name: str) -> bool:
    if not request.query_string:  # nearly every call: parsing no query string still costs a decision's share
        return False
    raw = request.args.get(name, "false").lower()
    if raw not in ("true", "1", "false", "0", ""):
        raise ApiError(400, "bad_parameter", f"`{name}` must be true or false", [field_issue(name, f"got {raw!r}")])
    return raw in ("true", "1", "")
