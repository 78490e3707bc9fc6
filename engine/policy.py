"""A loaded, compiled policy and the one way to ask it for a decision: `Policy.evaluate(request)`.

Evaluation: read the request → derive facts → ask the rule engine which rules' conditions hold
→ carry out those rules' actions in priority order until one can be → the envelope.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from . import jsonio
from .decision_ids import new_decision_id
from .compiler import FieldTable, LimitExceeded, compile_condition, leaf_expressions
from .durable import RuleMatcher
from .errors import EngineError, Issue, MalformedBody, PolicyError, RequestError, field_issue, file_issue
from .events import EVENTS, Decision, EventKind, FallThrough, Situation, decode_typed, typed_kind
from .explain import Leaves, explain_condition
from .loader import parse_policy
from .memo import MatchMemo
from .model import PolicyDocument, Rule
from .suggestions import did_you_mean
from .yaml_source import YamlLimits


@dataclass
class CompiledEvent:
    """The enabled rules of one event, in the order they are tried, on one rule-engine ruleset."""

    kind: EventKind
    rules: list[Rule]
    conditions: list[dict[str, Any] | None]
    leaves: list[Leaves]
    table: FieldTable
    matcher: RuleMatcher
    memo: MatchMemo

    def post(self, situation: Situation) -> dict[str, Any]:
        """Step 2: the facts these rules test, under the short keys the ruleset was compiled with."""
        return self.table.post(situation.facts)

    def matching(self, posted: dict[str, Any]) -> set[int]:
        """Step 3: the ranks of the rules whose conditions hold (the memo asks durable_rules on a miss)."""
        return set(self.memo.matching(posted))


class PolicyVersion(TypedDict):
    name: str
    version: str
    sha256: str


class Step(TypedDict):
    """One rule of the trace: tried in priority order; `held` is None for a disabled rule."""

    rule: str
    priority: int
    held: bool | None
    outcome: str


class Envelope(TypedDict):
    """What `Policy.evaluate` answers, in Python as over HTTP (`Envelope` in the OpenAPI document)."""

    decision: dict[str, Any]  # action, rule and reason, then the fields of the event's action
    warnings: list[dict[str, Any]]  # each with `code` and `message`
    policy: PolicyVersion
    decision_id: str
    trace: NotRequired[list[Step]]  # only with explain=True


@dataclass(frozen=True)
class Evaluation:
    """One evaluated request body: its event, the request as read (a typed struct, or the decoded
    JSON when it went the careful way) and the envelope."""

    event: str
    request: Any
    envelope: Envelope


class Policy:
    def __init__(self, document: PolicyDocument, warnings: list[Issue] | None = None) -> None:
        self.document = document
        self.warnings = warnings or []
        self._events = self._compile(document)

    @property
    def name(self) -> str:
        return self.document.name

    @property
    def sha256(self) -> str:
        return self.document.sha256

    @property
    def version(self) -> str:
        return self.document.version or self.document.sha256[:12]

    def _compile(self, document: PolicyDocument) -> dict[str, CompiledEvent]:
        compiled: dict[str, CompiledEvent] = {}
        issues: list[Issue] = []
        for name, kind in EVENTS.items():
            rules = document.answering(name)
            if not rules:
                continue
            table = FieldTable()
            conditions, leaves = [], []
            for rule in rules:
                try:
                    conditions.append(compile_condition(rule.when, table))
                    leaves.append(_leaves(rule, table))
                except LimitExceeded as error:
                    where = error.compare.where if error.compare else rule.where
                    issues.append(file_issue(where.file, where.line, where.column, f"rule `{rule.id}`: {error.message}"))
            if not issues:
                try:
                    matcher = RuleMatcher(f"{document.name}.{name}", conditions)
                except EngineError as error:
                    where = rules[0].where
                    issues.append(file_issue(where.file, where.line, where.column, f"`{name}` rules: {error}"))
                    continue
                compiled[name] = CompiledEvent(kind, rules, conditions, leaves, table, matcher,
                                               MatchMemo(matcher, conditions))
        if issues:
            for event in compiled.values():
                event.matcher.close()
            raise PolicyError(issues)
        return compiled

    def compiled(self, event: str) -> CompiledEvent | None:
        return self._events.get(event)

    def close(self) -> None:
        """Free the rule engine's memory for this policy; it cannot evaluate afterwards."""
        for event in self._events.values():
            event.memo.close()
            event.matcher.close()

    def evaluate(self, request: Any, *, explain: bool = False) -> Envelope:
        """Decide one request of any event; raises RequestError naming each bad field.

        The steps below are the whole decision, in order; `bench/stages.py` times each one."""
        kind, situation = self.situate(request)
        return self._decide(kind, situation, explain)

    def _decide(self, kind: EventKind, situation: Situation, explain: bool) -> Envelope:
        trace: list[Step] | None = [] if explain else None
        envelope = self.envelope(kind, *self._outcome(kind, situation, trace))
        if trace is not None:
            envelope["trace"] = self._with_disabled(kind.name, trace)
        return envelope

    def _outcome(self, kind: EventKind, situation: Situation, trace: list[Step] | None) -> tuple[Decision | None, str]:
        """Steps 2 to 4: the decision of the first matching rule that could be carried out, and its id."""
        compiled = self._events.get(kind.name)
        if compiled is None:
            return None, "default"
        posted = compiled.post(situation)
        return self.carry_out(compiled, situation, posted, compiled.matching(posted), trace)

    def situate(self, request: Any) -> tuple[EventKind, Situation]:
        """Step 1: the request read and checked, and the facts its event derives from it."""
        kind = _event_of(request)
        return kind, kind.read(request, self.document)

    def carry_out(self, compiled: CompiledEvent, situation: Situation, posted: dict[str, Any], matched: set[int],
                  trace: list[Step] | None = None) -> tuple[Decision | None, str]:
        """Step 4: the matching rules' actions in priority order until one can be carried out."""
        for rank, rule in enumerate(compiled.rules):
            if rank not in matched:
                if trace is not None:
                    reason = explain_condition(compiled.leaves[rank], posted, situation.facts)
                    trace.append(_step(rule, False, reason))
                continue
            outcome = compiled.kind.carry_out(rule.then, situation, self.document)
            if isinstance(outcome, FallThrough):
                if trace is not None:
                    trace.append(_step(rule, True, f"fell through: {outcome.reason}"))
                continue
            if trace is not None:
                trace.append(_step(rule, True, "decided"))
            return outcome, rule.id
        return None, "default"

    def envelope(self, kind: EventKind, decision: Decision | None, rule_id: str) -> Envelope:
        """Step 5: the answer as the caller receives it."""
        return {
            "decision": _fields(kind, decision, rule_id),
            "warnings": list(decision.warnings) if decision else [],
            "policy": {"name": self.name, "version": self.version, "sha256": self.sha256},
            "decision_id": new_decision_id(),
        }

    def evaluate_typed(self, body: bytes | str, *, explain: bool = False) -> Evaluation | None:
        """The fast way: a well-formed body of an event with typed structs, decoded and checked in
        one pass; None for anything else, which `evaluate_body` reads the careful way."""
        typed = decode_typed(body)
        if typed is None:
            return None
        kind, request = typed
        return Evaluation(kind.name, request, self._decide(kind, kind.situate(request, self.document), explain))

    def evaluate_body(self, body: bytes | str, *, explain: bool = False) -> Evaluation:
        """`evaluate` of a request body, decoded once; raises RequestError naming each bad field
        (MalformedBody when it is not JSON)."""
        evaluation = self.evaluate_typed(body, explain=explain)
        if evaluation is not None:
            return evaluation
        try:
            decoded = jsonio.decode(body)
        except jsonio.MalformedJson as error:
            raise MalformedBody([field_issue("", str(error))]) from None
        envelope = self.evaluate(decoded, explain=explain)
        return Evaluation(decoded["event"], decoded, envelope)

    def evaluate_json(self, body: bytes | str, *, explain: bool = False) -> bytes:
        """`evaluate`, bytes to bytes: the body decoded once, the envelope encoded once."""
        return jsonio.encode(self.evaluate_body(body, explain=explain).envelope)

    def decide(self, request: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The decision and its warnings for a typed request built by trusted code (the simulator):
        no reading, no checks, and no envelope, whose version and decision id nobody reads there."""
        kind = typed_kind(request)
        decision, rule_id = self._outcome(kind, kind.situate(request, self.document), None)
        return _fields(kind, decision, rule_id), list(decision.warnings) if decision else []

    def _with_disabled(self, event: str, trace: list[Step]) -> list[Step]:
        if any(rule.event == event for rule in self.document.builtins):
            return trace  # the built-in answer: the policy has no enabled rule of this event to show
        tried = {step["rule"] for step in trace}
        last = trace[-1]["rule"] if trace and trace[-1]["outcome"] == "decided" else None
        steps: list[Step] = []
        for rule in self.document.rules_for(event):
            if rule.id in tried:
                steps.append(next(step for step in trace if step["rule"] == rule.id))
            elif not rule.enabled and (last is None or rule.priority <= _priority(self.document, last)):
                steps.append({"rule": rule.id, "priority": rule.priority, "held": None, "outcome": "disabled"})
        return steps


def _fields(kind: EventKind, decision: Decision | None, rule_id: str) -> dict[str, Any]:
    """The decision as answered: its fields and the deciding rule, or the event's fallback."""
    fields = dict(decision.fields) if decision else {**kind.fallback, "reason": "no rule decided"}
    fields["rule"] = rule_id
    return fields


def _leaves(rule: Rule, table: FieldTable) -> Leaves:
    leaves: Leaves = []
    if rule.when is not None:
        leaf_expressions(rule.when, table, lambda compare, expression: leaves.append((compare, expression)))
    return leaves


def _priority(document: PolicyDocument, rule_id: str) -> int:
    return next(rule.priority for rule in document.rules if rule.id == rule_id)


def _step(rule: Rule, held: bool, outcome: str) -> Step:
    return {"rule": rule.id, "priority": rule.priority, "held": held, "outcome": outcome}


def _event_of(request: Any) -> EventKind:
    if not isinstance(request, dict):
        raise RequestError([field_issue("", "the request must be a JSON object")])
    name = request.get("event")
    if name is None:
        raise RequestError([field_issue("event", f"is required: one of {', '.join(EVENTS)}")])
    if not isinstance(name, str) or name not in EVENTS:
        hint = did_you_mean(str(name), EVENTS)
        raise RequestError([field_issue("event", f"unknown event `{name}`{hint}; known: {', '.join(EVENTS)}",
                                        hint.suggestion)])
    return EVENTS[name]


def load_policy(path: str | Path, limits: YamlLimits = YamlLimits(), *, served_as: str | None = None) -> Policy:
    """Read, check and compile one policy file; raises PolicyError listing every problem.

    `served_as`: the name the service would serve it under, which its `name` must be."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PolicyError([file_issue(str(path), 1, 1, f"cannot read: {error.strerror or error}")]) from None
    document, warnings = parse_policy(data, str(path), limits, served_as=served_as)
    return Policy(document, warnings)
