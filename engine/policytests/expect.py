"""Does an envelope hold what a case expects? Each expected path is compared and every difference named."""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from ..policy import Envelope


_MISSING = object()


@dataclass(frozen=True)
class Mismatch:
    path: str
    expected: Any
    actual: Any
    hint: str = ""

    def __str__(self) -> str:
        return f"{self.path}: expected {show(self.expected)}, got {show(self.actual)}{self.hint}"


def show(value: Any) -> str:
    if value is _MISSING:
        return "nothing (no such field)"
    return json.dumps(value, ensure_ascii=False, default=str)


def mismatches(expect: dict[str, Any], envelope: Envelope) -> list[Mismatch]:
    found = []
    for path, expected in expect.items():
        actual = _at(envelope, path)
        if path == "warnings":
            ok, actual = _warnings_hold(expected, actual)
        else:
            ok = matches(expected, actual)
        if not ok:
            found.append(Mismatch(path, expected, actual, _path_hint(envelope, path) if actual is _MISSING else ""))
    return found


def _path_hint(envelope: Envelope, path: str) -> str:
    """A did-you-mean for a mistyped path such as `decision.agentid`, from the paths the envelope has."""
    parent, _, last = path.rpartition(".")
    node = _at(envelope, parent) if parent else envelope
    if not isinstance(node, dict):
        return ""
    # Only a near-miss of spelling (agentid, agent-id): a field the decision lacks is no typo.
    prefix = f"{parent}." if parent else ""
    close = difflib.get_close_matches(last, list(node), n=1, cutoff=0.8)
    return f"; did you mean `{prefix}{close[0]}`?" if close else ""


def matches(expected: Any, actual: Any) -> bool:
    """A mapping matches when every key it names matches; a list element by element; anything else by equality."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            matches(value, actual.get(key, _MISSING)) for key, value in expected.items())
    if isinstance(expected, list):
        return (isinstance(actual, list) and len(actual) == len(expected)
                and all(matches(e, a) for e, a in zip(expected, actual)))
    if _number(expected) and _number(actual):
        return bool(expected == actual)
    # True == 1 in Python; a policy test must not confuse them.
    return type(expected) is type(actual) and expected == actual


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _warnings_hold(expected: Any, actual: Any) -> tuple[bool, Any]:
    """`warnings: [code, ...]` must all be present; `warnings: []` means none. Codes are shown when codes were asked."""
    if not isinstance(expected, list) or not isinstance(actual, list):
        return matches(expected, actual), actual
    shown = [warning.get("code") for warning in actual] if all(isinstance(e, str) for e in expected) else actual
    if not expected:
        return not actual, shown
    return all(any(_warning_is(e, warning) for warning in actual) for e in expected), shown


def _warning_is(expected: Any, warning: dict[str, Any]) -> bool:
    return warning.get("code") == expected if isinstance(expected, str) else matches(expected, warning)


def _at(envelope: Any, path: str) -> Any:
    node = envelope
    for step in path.split("."):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list) and step.isdigit() and int(step) < len(node):
            node = node[int(step)]
        else:
            return _MISSING
    return node
