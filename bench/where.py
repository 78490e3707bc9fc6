"""How a profile names a function, `engine/request.py:read_agents`, from a frame or from the function
itself: the report names the functions it follows by the objects, so a rename or a move fails at
import instead of silently dropping a row."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import CodeType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def where(path: str, function: str) -> str:
    """`file:function`, the file relative to the repository, site-packages or the standard library."""
    if path.startswith(str(ROOT) + "/") and "/site-packages/" not in path:
        path = path[len(str(ROOT)) + 1:]
    elif "/site-packages/" in path:
        path = path.split("/site-packages/", 1)[1]
    elif "/lib/python3" in path:
        path = "stdlib/" + path.split("/lib/python3", 1)[1].split("/", 1)[-1]
    return f"{path}:{function}"


def where_of(function: Callable[..., Any] | CodeType) -> str:
    code = function if isinstance(function, CodeType) else function.__code__
    return where(code.co_filename, code.co_name)


def nested(outer: Callable[..., Any], name: str) -> CodeType:
    """The code of a function defined inside `outer` (a closure such as a Flask hook)."""
    return next(const for const in outer.__code__.co_consts if isinstance(const, CodeType) and const.co_name == name)
