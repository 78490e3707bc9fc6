"""Who may run admin operations (reloads, simulation jobs): one check, used by every such endpoint.

With `FENLIU_ADMIN_TOKEN` set, a caller must send `Authorization: Bearer <token>` (compared in
constant time, never logged or echoed). Without a token, only clients on a loopback address may:
an admin call from the network needs a token. Behind a proxy on the same host every client looks
local, so such deployments set a token.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
from collections.abc import Callable
from typing import TypeVar

from flask import current_app, jsonify, request

from .errors import ApiError

View = TypeVar("View", bound=Callable)


def is_loopback(address: str | None) -> bool:
    try:
        return address is not None and ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def check_admin():
    """None when the current request may run an admin operation, else the error answer to send."""
    token = current_app.extensions["fenliu"].settings.admin_token
    if token:
        offered = request.headers.get("Authorization", "")
        if hmac.compare_digest(offered.encode("utf-8"), f"Bearer {token}".encode("utf-8")):
            return None
        response = jsonify(ApiError(401, "unauthorized", "send Authorization: Bearer <FENLIU_ADMIN_TOKEN>").body())
        response.headers["WWW-Authenticate"] = 'Bearer realm="fenliu"'
        return response, 401
    if is_loopback(request.remote_addr):
        return None
    return jsonify(ApiError(403, "admin_loopback_only",
                            "admin operations without FENLIU_ADMIN_TOKEN are open to loopback clients only; "
                            "set the token on the server and send Authorization: Bearer <token>").body()), 403


def admin_only(view: View) -> View:
    """Decorates a Flask view: it runs only for callers `check_admin` accepts."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        refusal = check_admin()
        return refusal if refusal is not None else view(*args, **kwargs)

    return guarded  # type: ignore[return-value]
