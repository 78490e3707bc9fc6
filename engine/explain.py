"""Why a rule's condition did not hold, in words, for `explain` traces.

Each comparison is checked on its own compiled expression by the plain-Python oracle, so the
explanation describes exactly what the rule engine saw.
"""
from __future__ import annotations

import json
from typing import Any

from .model import Compare
from .oracle import holds

Leaves = list[tuple[Compare, dict[str, Any]]]


def explain_condition(leaves: Leaves, posted: dict[str, Any], facts: dict[str, Any]) -> str:
    failing = [_describe(compare, facts) for compare, expression in leaves if not holds(expression, posted)]
    return "condition false: " + "; ".join(failing[:4]) if failing else "condition false"


def _describe(compare: Compare, facts: dict[str, Any]) -> str:
    actual = facts.get(compare.fact)
    shown = "absent" if actual is None else json.dumps(list(actual) if isinstance(actual, tuple) else actual, ensure_ascii=False)
    return f"{compare.fact} is {shown}, wanted {compare.op} {json.dumps(compare.value, ensure_ascii=False)}"
