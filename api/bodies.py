"""Reading request bodies strictly: the right content type, valid JSON, no NaN, bounded nesting."""
from __future__ import annotations

import json
from typing import Any

import msgspec
from flask import Request

from .errors import ApiError

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"})


# msgspec reads well-formed JSON about twice as fast as the standard library, and refuses NaN.
_DECODER = msgspec.json.Decoder()


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def json_body(request: Request) -> Any:
    mimetype = request.mimetype
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", f"send JSON with Content-Type: application/json, not {mimetype or 'nothing'}")
    data = request.get_data(cache=False)
    try:
        return _DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):
        pass  # off the fast path: the standard library says precisely what is wrong, or reads the rest
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise ApiError(400, "malformed_json", "body is nested too deeply") from None
    except ValueError as error:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {error}") from None


def yaml_body(request: Request) -> bytes:
    if request.mimetype not in YAML_TYPES:
        accepted = ", ".join(sorted(YAML_TYPES))
        raise ApiError(415, "unsupported_media_type", f"send the policy as YAML ({accepted}), not {request.mimetype or 'nothing'}")
    return request.get_data(cache=False)


def flag(request: Request, name: str) -> bool:
    raw = request.args.get(name, "false").lower()
    if raw not in ("true", "1", "false", "0", ""):
        raise ApiError(400, "bad_parameter", f"`{name}` must be true or false", [{"path": name, "message": f"got {raw!r}"}])
    return raw in ("true", "1", "")
