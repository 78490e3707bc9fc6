"""Policy conditions → durable_rules expressions over a small flat dict of fields.

durable_rules has no `not` and no `in`, and its comparisons have their own treatment of missing
fields, so conditions are put in negation normal form here with one meaning throughout: a
comparison on a fact that is absent is false, `exists` tests presence, and `not` flips the
whole. Facts are renamed to short fields (`f0`, `f1` …) and only the fields a policy uses are
posted, because the cost of a post grows with its JSON. Membership in long lists and in list
facts is computed in Python as boolean fields: cheaper, and clear of the engine's literal limits.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from .errors import FenliuError
from .model import AllOf, AnyOf, Compare, Condition, Not, Scalar

# Limits of durable_rules 2.0.28 that hang or crash its C code; refused here with a clear error.
MAX_LITERALS_PER_FIELD = 200   # ~512 distinct literals on one field hangs createRuleset
MAX_FIELDS = 200               # 255 properties per event, guard included
MAX_IN_LIST_INLINE = 16        # longer `in` lists become one computed boolean field
MAX_COMPARISONS_PER_RULE = 64

_NEGATED = {"$lt": "$gte", "$lte": "$gt", "$gt": "$lte", "$gte": "$lt"}
_DURABLE_OP = {"lt": "$lt", "le": "$lte", "gt": "$gt", "ge": "$gte"}

Expression = dict[str, Any]


class LimitExceeded(FenliuError):
    """A policy past what the rule engine can safely hold; carries the condition to blame."""

    def __init__(self, compare: Compare | None, message: str) -> None:
        super().__init__(message)
        self.compare = compare
        self.message = message


@dataclass(frozen=True)
class Field:
    """One posted field: a fact's value, or a boolean computed from it (membership)."""

    name: str
    fact: str
    members: frozenset[Scalar] | None = None

    def value(self, facts: dict[str, Any]) -> Any:
        fact_value = facts.get(self.fact)
        if fact_value is None or self.members is None:
            return fact_value
        if isinstance(fact_value, (list, tuple)):
            return any(item in self.members for item in fact_value)
        return fact_value in self.members


@dataclass
class FieldTable:
    """Allocates fields and produces the flat dict to post for one request."""

    fields: dict[tuple[Any, ...], Field] = field(default_factory=dict)
    literals: dict[str, set[Any]] = field(default_factory=dict)

    def plain(self, fact: str) -> str:
        return self._field((fact, None), fact, None).name

    def membership(self, fact: str, members: frozenset[Scalar]) -> str:
        return self._field((fact, members), fact, members).name

    def _field(self, key: tuple[Any, ...], fact: str, members: frozenset[Scalar] | None) -> Field:
        if key not in self.fields:
            if len(self.fields) >= MAX_FIELDS:
                raise LimitExceeded(None, f"policy tests more than {MAX_FIELDS} distinct facts and lists")
            self.fields[key] = Field(f"f{len(self.fields)}", fact, members)
        return self.fields[key]

    def literal(self, name: str, value: Any, compare: Compare) -> Any:
        seen = self.literals.setdefault(name, set())
        seen.add((type(value).__name__, value))
        if len(seen) > MAX_LITERALS_PER_FIELD:
            raise LimitExceeded(compare, f"`{compare.fact}` is compared with more than {MAX_LITERALS_PER_FIELD} "
                                         "distinct values across the policy")
        return value

    def post(self, facts: dict[str, Any]) -> dict[str, Any]:
        posted = {}
        for item in self.fields.values():
            value = item.value(facts)
            if value is not None:
                posted[item.name] = value
        return posted


def compile_condition(condition: Condition | None, table: FieldTable) -> Expression | None:
    """The durable expression of a rule's `when`; None when the rule is unconditional."""
    if condition is None:
        return None
    counter = [0]
    return _compile(condition, False, table, counter)


def _compile(condition: Condition, negate: bool, table: FieldTable, counter: list[int]) -> Expression:
    if isinstance(condition, Not):
        return _compile(condition.item, not negate, table, counter)
    if isinstance(condition, (AllOf, AnyOf)):
        conjunction = isinstance(condition, AllOf) != negate
        parts = [_compile(item, negate, table, counter) for item in condition.items]
        if len(parts) == 1:
            return parts[0]
        return {"$and" if conjunction else "$or": parts}
    counter[0] += 1
    if counter[0] > MAX_COMPARISONS_PER_RULE:
        raise LimitExceeded(condition, f"rule has more than {MAX_COMPARISONS_PER_RULE} comparisons")
    return _compare(condition, negate, table)


def _compare(compare: Compare, negate: bool, table: FieldTable) -> Expression:
    op, value = compare.op, compare.value
    if op == "exists":
        name = table.plain(compare.fact)
        present = bool(value) != negate
        return {"$ex" if present else "$nex": {name: 1}}
    if op == "contains" or (op in ("in", "not_in") and len(value) > MAX_IN_LIST_INLINE):
        members = frozenset([value] if op == "contains" else value)
        name = table.membership(compare.fact, members)
        member = op != "not_in"
        return _or_absent({name: not member}, name) if negate else {name: member}
    name = table.plain(compare.fact)
    if op in ("in", "not_in"):
        literals = [table.literal(name, item, compare) for item in value]
        if (op == "in") != negate:
            return _any_of([{name: item} for item in literals])
        inequalities = _all_of([{"$neq": {name: item}} for item in literals])
        return _or_absent(inequalities, name) if negate else _present_and(inequalities, name)
    literal = table.literal(name, value, compare)
    if op == "eq":
        return {name: literal} if not negate else _or_absent({"$neq": {name: literal}}, name)
    if op == "ne":
        return _present_and({"$neq": {name: literal}}, name) if not negate else {name: literal}
    durable_op = _DURABLE_OP[op]
    if negate:
        return _or_absent({_NEGATED[durable_op]: {name: literal}}, name)
    return {durable_op: {name: literal}}


def _or_absent(expression: Expression, name: str) -> Expression:
    return {"$or": [expression, {"$nex": {name: 1}}]}


def _present_and(expression: Expression, name: str) -> Expression:
    return {"$and": [{"$ex": {name: 1}}, expression]}


def _any_of(parts: list[Expression]) -> Expression:
    return parts[0] if len(parts) == 1 else {"$or": parts}


def _all_of(parts: list[Expression]) -> Expression:
    return parts[0] if len(parts) == 1 else {"$and": parts}


def leaf_expressions(condition: Condition, table: FieldTable, visit: Callable[[Compare, Expression], None]) -> None:
    """Calls `visit` with each comparison and its own expression, for explaining a decision."""
    if isinstance(condition, Compare):
        visit(condition, _compare(condition, False, table))
    elif isinstance(condition, Not):
        leaf_expressions(condition.item, table, visit)
    else:
        for item in condition.items:
            leaf_expressions(item, table, visit)
