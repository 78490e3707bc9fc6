"""The only module that touches durable_rules: one compiled ruleset per policy event.

durable_rules 2.0.28 crashes, hangs and leaks when driven through its `Host`, so this module
talks to its C binding directly and keeps to what was measured safe:

- no host, hence no dispatcher or timer threads; one process-wide lock around every call,
  because the C code has no locks of its own and never releases the GIL;
- the request's facts are asserted as a *fact*, so every rule whose condition holds fires (an
  event would stop at the first), under a fresh session id that is always deleted afterwards;
- every rule carries a positive guard (`GUARD_FIELD == 1`): a rule of negative conditions alone
  would match the engine's own state fact and loop forever;
- a catch-all rule at the lowest priority, so every fact is handled: deleting the state of an
  unhandled one frees uninitialised memory in the C code;
- no Python actions run inside the engine (the names of the fired rules are all that is read),
  so no exception can be swallowed into the session state;
- ruleset names are unique per process, and `close()` frees the ruleset, which the Python host
  never does: reloading a policy 1,000 times keeps memory flat.
"""
from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Sequence
from typing import Any

import durable_rules_engine

from .errors import EngineError

GUARD_FIELD = "g"
CATCH_ALL = "catch_all"
CATCH_ALL_PRIORITY = 65535

# Re-entrant because a matcher collected by the garbage collector closes itself, and collection
# can happen between two engine calls of the same thread.
_ENGINE_LOCK = threading.RLock()
_ruleset_numbers = itertools.count()
_session_numbers = itertools.count()


def _rule_name(rank: int) -> str:
    return f"r{rank}"


def _ruleset_definition(conditions: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    guard = {GUARD_FIELD: 1}
    definition: dict[str, Any] = {}
    for rank, condition in enumerate(conditions):
        expression = guard if condition is None else {"$and": [guard, condition]}
        definition[_rule_name(rank)] = {"all": [{"m": expression}], "pri": rank}
    definition[CATCH_ALL] = {"all": [{"m": guard}], "pri": CATCH_ALL_PRIORITY}
    return definition


def _fired_rule(message: str) -> str:
    # A message is `{"<rule name>":{...}}`; rule names are ours and never contain quotes.
    return message[2:message.index('"', 2)]


class RuleMatcher:
    """Answers which of a list of conditions hold for a flat dict of facts.

    `conditions[i]` is a durable_rules expression, or None for "always"; rank `i` is the rule's
    place in the order the policy tries rules, and its priority in the engine.
    """

    def __init__(self, name: str, conditions: Sequence[dict[str, Any] | None]) -> None:
        if len(conditions) >= CATCH_ALL_PRIORITY:
            raise EngineError(f"{name}: too many rules ({len(conditions)})")
        self.name = name
        self._ranks = {_rule_name(rank): rank for rank in range(len(conditions))}
        definition = json.dumps(_ruleset_definition(conditions), ensure_ascii=False)
        unique_name = f"{name}#{next(_ruleset_numbers)}"
        with _ENGINE_LOCK:
            try:
                self._handle: int | None = durable_rules_engine.create_ruleset(unique_name, definition)
            except durable_rules_engine.error as error:
                raise EngineError(f"{name}: the rule engine refused the ruleset: {error}") from error

    def matching(self, facts: dict[str, Any]) -> list[int]:
        """Ranks of every condition that holds for `facts`, ascending."""
        session = str(next(_session_numbers))
        fact = json.dumps({**facts, "sid": session, GUARD_FIELD: 1}, ensure_ascii=False)
        fired: list[str] = []
        with _ENGINE_LOCK:
            handle = self._open_handle()
            try:
                code, state = durable_rules_engine.assert_fact(handle, fact)
            except durable_rules_engine.error as error:
                raise EngineError(f"{self.name}: the rule engine refused the facts: {error}") from error
            if code != 0:
                raise EngineError(f"{self.name}: the rule engine did not take the facts (code {code})")
            try:
                started = durable_rules_engine.start_action_for_state(handle, state)
                message = started[1] if started else None
                while message:
                    fired.append(_fired_rule(message))
                    message = durable_rules_engine.complete_and_start_action(handle, state)
            except durable_rules_engine.error as error:
                raise EngineError(f"{self.name}: the rule engine failed: {error}") from error
            finally:
                durable_rules_engine.delete_state(handle, session)
        if not fired or fired[-1] != CATCH_ALL:
            raise EngineError(f"{self.name}: the catch-all rule did not fire; fired {fired}")
        # A rule with `$or` fires once per alternative that holds.
        return sorted({self._ranks[name] for name in fired[:-1]})

    def _open_handle(self) -> int:
        if self._handle is None:
            raise EngineError(f"{self.name}: matcher used after close()")
        return self._handle

    def close(self) -> None:
        """Free the ruleset in the C engine; safe to call more than once."""
        with _ENGINE_LOCK:
            if self._handle is not None:
                durable_rules_engine.delete_ruleset(self._handle)
                self._handle = None

    def __del__(self) -> None:
        # A policy dropped without close() must not leak its ruleset for the process's lifetime.
        if getattr(self, "_handle", None) is not None:
            self.close()
