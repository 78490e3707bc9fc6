"""`$variables` of table-driven cases: each row of a case fills in its template."""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from typing import Any

from ..yaml_source import NodePath

_VARIABLE = re.compile(r"\$(\$|[A-Za-z_][A-Za-z0-9_]*)")


@dataclass
class Filled:
    """A template with a row's values in, the variables it used and those it named but the row lacks."""

    value: Any
    used: set[str] = field(default_factory=set)
    missing: list[tuple[NodePath, str]] = field(default_factory=list)


def fill(template: Any, values: dict[str, Any], at: NodePath = ()) -> Filled:
    result = Filled(None)
    result.value = _fill(template, values, at, result)
    return result


def _fill(template: Any, values: dict[str, Any], at: NodePath, result: Filled) -> Any:
    if isinstance(template, dict):
        return {key: _fill(item, values, at + (key,), result) for key, item in template.items()}
    if isinstance(template, list):
        return [_fill(item, values, at + (index,), result) for index, item in enumerate(template)]
    if not isinstance(template, str):
        return template
    whole = _VARIABLE.fullmatch(template)
    if whole and whole.group(1) != "$":
        # A lone `$max` keeps the row value's type, so `max_sessions: $max` stays a number.
        return copy.deepcopy(_lookup(whole.group(1), values, at, result, template))
    return _VARIABLE.sub(lambda match: _text(match.group(1), values, at, result), template)


def _text(name: str, values: dict[str, Any], at: NodePath, result: Filled) -> str:
    if name == "$":
        return "$"
    value = _lookup(name, values, at, result, f"${name}")
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _lookup(name: str, values: dict[str, Any], at: NodePath, result: Filled, written: str) -> Any:
    if name in values:
        result.used.add(name)
        return values[name]
    result.missing.append((at, name))
    return written
