"""A loaded, compiled policy and the one way to ask it for a decision: `Policy.evaluate(request)`.

Evaluation: read the request → derive facts → ask the rule engine which rules' conditions hold
→ carry out those rules' actions in priority order until one can be → the envelope.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, TypedDict

from . import jsonio
from .compiler import FieldTable, LimitExceeded, compile_condition, leaf_expressions
from .durable import RuleMatcher
from .errors import EngineError, Issue, PolicyError, RequestError, field_issue, file_issue
from .events import EVENTS, Decision, EventKind, FallThrough
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
        """Decide one request of any event; raises RequestError naming each bad field."""
        kind = _event_of(request)
        situation = kind.read(request, self.document)
        compiled = self._events.get(kind.name)
        trace: list[Step] = []
        decision: Decision | None = None
        rule_id = "default"
        if compiled is not None:
            posted = compiled.table.post(situation.facts)
            matched = set(compiled.memo.matching(posted))
            for rank, rule in enumerate(compiled.rules):
                if rank not in matched:
                    if explain:
                        reason = explain_condition(compiled.leaves[rank], posted, situation.facts)
                        trace.append(_step(rule, False, reason))
                    continue
                outcome = kind.carry_out(rule.then, situation, self.document)
                if isinstance(outcome, FallThrough):
                    trace.append(_step(rule, True, f"fell through: {outcome.reason}"))
                    continue
                decision, rule_id = outcome, rule.id
                trace.append(_step(rule, True, "decided"))
                break
        fields = dict(decision.fields) if decision else {**kind.fallback, "reason": "no rule decided"}
        fields["rule"] = rule_id
        envelope: Envelope = {
            "decision": fields,
            "warnings": list(decision.warnings) if decision else [],
            "policy": {"name": self.name, "version": self.version, "sha256": self.sha256},
            "decision_id": uuid.uuid4().hex,
        }
        if explain:
            envelope["trace"] = self._with_disabled(kind.name, trace)
        return envelope

    def evaluate_json(self, body: bytes | str, *, explain: bool = False) -> bytes:
        """`evaluate`, bytes to bytes: the body decoded once, the envelope encoded once."""
        try:
            request = jsonio.decode(body)
        except jsonio.MalformedJson as error:
            raise RequestError([field_issue("", str(error))]) from None
        return jsonio.encode(self.evaluate(request, explain=explain))

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
