"""A plain-Python reading of the compiled conditions, with the meaning the compiler gives them.

The rule engine serves; this evaluator is the reference it is checked against in property tests,
and the explainer uses it to say which comparison of a rule failed. It reads only the subset of
durable_rules expressions the compiler emits: equality, `$neq`, `$lt` `$lte` `$gt` `$gte`,
`$ex` `$nex`, `$and` `$or`. A comparison on an absent field is false.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any, Callable

_ORDERINGS: dict[str, Callable[[Any, Any], bool]] = {
    "$lt": operator.lt, "$lte": operator.le, "$gt": operator.gt, "$gte": operator.ge, "$neq": operator.ne,
}


def holds(expression: dict[str, Any], facts: dict[str, Any]) -> bool:
    """Whether a compiled expression holds for the posted fields."""
    ((key, operand),) = expression.items()
    if key == "$and":
        return all(holds(part, facts) for part in operand)
    if key == "$or":
        return any(holds(part, facts) for part in operand)
    if key in ("$ex", "$nex"):
        ((name, _),) = operand.items()
        return (name in facts) == (key == "$ex")
    if key in _ORDERINGS:
        ((name, literal),) = operand.items()
        return name in facts and _same_kind(facts[name], literal) and _ORDERINGS[key](facts[name], literal)
    return key in facts and _same_kind(facts[key], operand) and facts[key] == operand


def _same_kind(value: Any, literal: Any) -> bool:
    # Python says True == 1; JSON and the rule engine do not.
    return isinstance(value, bool) == isinstance(literal, bool)


def matching(conditions: Sequence[dict[str, Any] | None], facts: dict[str, Any]) -> list[int]:
    """Ranks of every condition that holds, ascending: what `RuleMatcher.matching` must answer."""
    return [rank for rank, condition in enumerate(conditions) if condition is None or holds(condition, facts)]
