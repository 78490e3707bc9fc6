"""Reading request bodies strictly: the right content type, valid JSON, no NaN, bounded nesting."""
from __future__ import annotations

from typing import Any

from flask import Request

from fenliu.engine import jsonio
from fenliu.engine.errors import field_issue

from .errors import ApiError

YAML_TYPES = frozenset({"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain"})


def json_body(request: Request) -> Any:
    mimetype = request.mimetype
    if mimetype != "application/json" and not (mimetype.startswith("application/") and mimetype.endswith("+json")):
        raise ApiError(415, "unsupported_media_type", f"send JSON with Content-Type: application/json, not {mimetype or 'nothing'}")
    try:
        return jsonio.decode(request.get_data(cache=False))
    except jsonio.MalformedJson as error:
        raise ApiError(400, "malformed_json", str(error)) from None


def yaml_body(request: Request) -> bytes:
    if request.mimetype not in YAML_TYPES:
        accepted = ", ".join(sorted(YAML_TYPES))
        raise ApiError(415, "unsupported_media_type", f"send the policy as YAML ({accepted}), not {request.mimetype or 'nothing'}")
    return request.get_data(cache=False)


def flag(request: Request, name: str) -> bool:
    raw = request.args.get(name, "false").lower()
    if raw not in ("true", "1", "false", "0", ""):
        raise ApiError(400, "bad_parameter", f"`{name}` must be true or false", [field_issue(name, f"got {raw!r}")])
    return raw in ("true", "1", "")
