"""An exact, bounded memo in front of the rule engine.

Which rules hold depends only on where each posted field falls relative to the literals the
compiled conditions compare it with: below, equal to or above each number; one of the strings
or booleans named, or another; present or absent. The compiler wrote every literal, so the memo
reads them from the compiled expressions themselves and keys each request on that abstraction.
Requests of the same kind of situation (a busy shop repeats a few dozen) ask durable_rules once.
A value of another kind than a field's literals is keyed exactly. The request readers check the
kind of every fact, so none is ever posted; durable_rules' own answers to one vary from post to
post (measured: `$lte 60` on the string "other" holds on some posts and not on others), and the
memo keeps the first.
"""
from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

MEMO_CAPACITY = 4096
_ORDERINGS = ("$neq", "$lt", "$lte", "$gt", "$gte")
_PRESENCE = ("$ex", "$nex")
_OTHER = object()


class Matcher(Protocol):
    def matching(self, facts: dict[str, Any]) -> list[int]: ...


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _exact(value: Any) -> Any:
    return (_kind(value), tuple(value) if isinstance(value, list) else value)


def _always(value: Any) -> Any:
    return True


@dataclass
class _FieldLiterals:
    """The literals one field is compared with, by kind."""

    values: set[Any] = field(default_factory=set[Any])
    kinds: set[Any] = field(default_factory=set[Any])
    cuts: list[Any] = field(default_factory=list[Any])
    # A key that is equal for two values exactly when every comparison of this field agrees; set by seal().
    region: Callable[[Any], Any] = _always

    def add(self, literal: Any) -> None:
        self.values.add((_kind(literal), literal))
        self.kinds.add(_kind(literal))

    def seal(self) -> None:
        self.cuts = sorted(value for kind, value in self.values if kind == "number")
        self.region = self._keyer()

    def _keyer(self) -> Callable[[Any], Any]:
        """`region`, written for the field's one kind of literal: it runs for every tested field of
        every decision. A value of another kind, or a field compared with literals of several
        kinds, is keyed exactly."""
        if not self.kinds:
            return _always
        if len(self.kinds) > 1:
            return _exact
        if self.kinds == {"number"}:
            cuts, count = self.cuts, len(self.cuts)

            def numeric(value: Any) -> Any:
                if type(value) is int or type(value) is float:
                    index = bisect_left(cuts, value)
                    return 2 * index + (index < count and cuts[index] == value)
                return _exact(value)
            return numeric
        named = {value for _, value in self.values}
        literal_type = type(next(iter(named)))

        def categorical(value: Any) -> Any:
            if type(value) is literal_type:
                return value if value in named else _OTHER
            return _exact(value)
        return categorical


def field_literals(conditions: Sequence[dict[str, Any] | None]) -> dict[str, _FieldLiterals]:
    """Every posted field the compiled conditions test, with the literals they compare it with."""
    fields: dict[str, _FieldLiterals] = {}

    def visit(expression: dict[str, Any]) -> None:
        ((key, operand),) = expression.items()
        if key in ("$and", "$or"):
            for part in operand:
                visit(part)
        elif key in _PRESENCE:
            ((name, _),) = operand.items()
            fields.setdefault(name, _FieldLiterals())
        elif key in _ORDERINGS:
            ((name, literal),) = operand.items()
            fields.setdefault(name, _FieldLiterals()).add(literal)
        else:
            fields.setdefault(key, _FieldLiterals()).add(operand)

    for condition in conditions:
        if condition is not None:
            visit(condition)
    for literals in fields.values():
        literals.seal()
    return fields


class MatchMemo:
    """`matching(posted)` as the matcher answers it, asked of the matcher once per situation kind."""

    def __init__(self, matcher: Matcher, conditions: Sequence[dict[str, Any] | None], capacity: int = MEMO_CAPACITY) -> None:
        self._matcher = matcher
        self._keyers = [(name, literals.region) for name, literals in sorted(field_literals(conditions).items())]
        self._capacity = capacity
        self._answers: dict[tuple[Any, ...], tuple[int, ...]] = {}
        self._closed = False
        self.misses = 0

    def key(self, posted: dict[str, Any]) -> tuple[Any, ...]:
        return tuple([region(posted[name]) if name in posted else None for name, region in self._keyers])

    def close(self) -> None:
        """Forget every answer; from now on the matcher is asked, and refuses once it is closed."""
        self._closed = True
        self._answers.clear()

    def matching(self, posted: dict[str, Any]) -> list[int]:
        if self._closed:
            return self._matcher.matching(posted)
        key = self.key(posted)
        answer = self._answers.get(key)
        if answer is None:
            answer = tuple(self._matcher.matching(posted))
            self.misses += 1
            if len(self._answers) >= self._capacity:
                # Bounded: a stream of ever-new situations costs a refill, never memory.
                self._answers.clear()
            self._answers[key] = answer
        return list(answer)
