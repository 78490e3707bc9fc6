"""Request bytes in, answer bytes out: one decoder and one encoder for the engine and the HTTP layer.

msgspec reads well-formed JSON about twice as fast as the standard library and refuses NaN;
orjson writes several times faster than it. Off the fast path, the standard library says
precisely what is wrong with a body, or reads what msgspec does not (integers past 64 bits).
"""
from __future__ import annotations

import json
from typing import Any

import msgspec
import orjson

from .errors import FenliuError

_DECODER = msgspec.json.Decoder()


class MalformedJson(FenliuError, ValueError):
    """The body is not JSON; the message says where and why."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def decode(data: bytes | str) -> Any:
    try:
        return _DECODER.decode(data)
    except (msgspec.DecodeError, RecursionError):
        pass
    try:
        return json.loads(data, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise MalformedJson(f"body is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}") from None
    except RecursionError:
        raise MalformedJson("body is nested too deeply") from None
    except ValueError as error:
        raise MalformedJson(f"body is not valid JSON: {error}") from None


def encode(value: Any) -> bytes:
    """UTF-8 JSON. A lone surrogate (valid as a JSON escape, not in UTF-8) is written escaped."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        return json.dumps(value).encode("ascii")
