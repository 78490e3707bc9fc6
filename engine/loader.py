"""Policy files → checked `PolicyDocument`s. Every problem is reported at once as file:line:column.

Three passes, each reporting everything it finds: YAML (syntax, duplicate keys, unsafe tags,
limits), the JSON Schema (shape), then meaning (facts, groups, parameters, reachability,
platform ranges) with a did-you-mean wherever a name was mistyped.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from .errors import PolicyError, PolicyIssue
from .events import EVENTS
from .facts import OPERATORS_BY_TYPE, FactSpec
from .model import (
    Action, AllOf, AnyOf, CapacityParams, Compare, Condition, Group, Not, Params, PolicyDocument, Rule, Where,
)
from .schema_errors import schema_issues
from .suggestions import did_you_mean
from .yaml_source import Path, YamlDocument, YamlLimits, parse_yaml

# What each platform allows (B2, B17): checked against `params`, never used to decide.
PLATFORM_LIMITS: dict[str, dict[str, int]] = {
    "kuaishou": {"capacity_max": 500, "auto_close_min": 5, "auto_close_max": 360},
    "douyin": {"capacity_max": 200},
    "taobao": {},
    "custom": {},
}

# Actions that can always be carried out: an unconditional rule with one of these ends the list.
ALWAYS_SUCCEED = {"offline_queue", "divert", "none", "close", "refuse", "keep", "reject", "candidates", "ordered",
                  "assign_many", "deny"}
# Options that every action's object form may carry, and those `route` turns into model fields.
ROUTE_OPTIONS = {"to", "among", "in", "for", "strategy", "ignore_capacity", "ignore_suspension", "exclude_main", "reason"}


@dataclass
class _Checker:
    document: YamlDocument
    issues: list[PolicyIssue] = field(default_factory=list)
    warnings: list[PolicyIssue] = field(default_factory=list)

    def error(self, path: Path, message: str, *, key: bool = False) -> None:
        self.issues.append(self.document.issue(path, message, key=key))

    def warn(self, path: Path, message: str) -> None:
        self.warnings.append(self.document.issue(path, message))

    def where(self, path: Path) -> Where:
        line, column = self.document.position(path)
        return Where(self.document.file, line, column)


def parse_policy(data: bytes | str, file: str, limits: YamlLimits = YamlLimits()) -> tuple[PolicyDocument, list[PolicyIssue]]:
    """Parse and check one policy; returns it with its warnings, or raises PolicyError with every error."""
    raw = data.encode("utf-8") if isinstance(data, str) else data
    document = parse_yaml(raw, file, limits)
    if not isinstance(document.data, dict):
        raise PolicyError([document.issue((), "a policy file must be a mapping with name, platform and rules")])
    issues = schema_issues(document, "policy.schema.json")
    if issues:
        raise PolicyError(issues)
    checker = _Checker(document)
    policy = _build(checker, document.data, hashlib.sha256(raw).hexdigest())
    if checker.issues:
        raise PolicyError(checker.issues, checker.warnings)
    return policy, sorted(checker.warnings)


def _build(checker: _Checker, data: dict, sha256: str) -> PolicyDocument:
    params = _params(checker, data.get("params", {}), data["platform"])
    groups = _groups(checker, data.get("groups", {}))
    rules = [_rule(checker, raw, ("rules", index), params, groups) for index, raw in enumerate(data["rules"])]
    _check_ids(checker, rules)
    ordered = sorted(rules, key=lambda rule: rule.priority)  # stable: file order breaks ties
    _check_reachable(checker, ordered)
    _check_ties(checker, ordered, {raw["id"] for raw in data["rules"] if "priority" in raw})
    version = data.get("version")
    return PolicyDocument(
        name=data["name"], platform=data["platform"], params=params, groups=groups, rules=tuple(ordered),
        file=checker.document.file, sha256=sha256, version=None if version is None else str(version),
        description=data.get("description", ""),
    )


def _params(checker: _Checker, raw: dict, platform: str) -> Params:
    defaults = Params()
    capacity_raw = raw.get("capacity", {})
    capacity = CapacityParams(
        min=capacity_raw.get("min", defaults.capacity.min),
        max=capacity_raw.get("max", defaults.capacity.max),
        presets=tuple(capacity_raw.get("presets", defaults.capacity.presets)),
        low_warning=capacity_raw.get("low_warning", defaults.capacity.low_warning),
    )
    params = Params(
        capacity=capacity,
        returning_window_hours=raw.get("returning_window_hours", defaults.returning_window_hours),
        auto_close_minutes=raw.get("auto_close_minutes", defaults.auto_close_minutes),
        auto_close_range=tuple(raw.get("auto_close_range", defaults.auto_close_range)),
        offline_message_ttl_days=raw.get("offline_message_ttl_days", defaults.offline_message_ttl_days),
        reply_sla_seconds=raw.get("reply_sla_seconds", defaults.reply_sla_seconds),
        extra=dict(raw.get("custom", {})),
    )
    limits = PLATFORM_LIMITS[platform]
    at = ("params", "capacity")
    if capacity.min > capacity.max:
        checker.error(at + ("min",), f"capacity.min {capacity.min} is above capacity.max {capacity.max}")
    if "capacity_max" in limits and capacity.max > limits["capacity_max"]:
        checker.error(at + ("max",), f"capacity.max {capacity.max} is outside {platform}'s range "
                                     f"1–{limits['capacity_max']} (B2)")
    for index, preset in enumerate(capacity.presets):
        if not capacity.min <= preset <= capacity.max:
            checker.error(at + ("presets", index), f"preset {preset} is outside capacity {capacity.min}–{capacity.max}")
    if capacity.low_warning > capacity.max:
        checker.error(at + ("low_warning",), f"low_warning {capacity.low_warning} is above capacity.max {capacity.max}")
    low, high = params.auto_close_range
    low, high = max(low, limits.get("auto_close_min", low)), min(high, limits.get("auto_close_max", high))
    if not low <= params.auto_close_minutes <= high:
        checker.error(("params", "auto_close_minutes"),
                      f"auto_close_minutes {params.auto_close_minutes:g} is outside the allowed {low}–{high} (B17)")
    return params


def _groups(checker: _Checker, raw: dict) -> tuple[Group, ...]:
    groups = []
    default_seen = None
    for name, spec in raw.items():
        at = ("groups", name)
        if default_seen is not None:
            checker.warn(at, f"group `{name}` comes after default group `{default_seen}`, so it only serves "
                             "agents' transfers and overflow, never a new conversation by itself")
        group = Group(name=name, description=spec.get("description", ""), entries=tuple(spec.get("entries", ())),
                      categories=tuple(spec.get("categories", ())), tags=tuple(spec.get("tags", ())),
                      default=spec.get("default", False))
        if not (group.default or group.entries or group.categories or group.tags):
            checker.warn(at, f"group `{name}` serves no entry, category or tag and is not the default")
        if group.default and default_seen is None:
            default_seen = name
        groups.append(group)
    return tuple(groups)


def _rule(checker: _Checker, raw: dict, at: Path, params: Params, groups: tuple[Group, ...]) -> Rule:
    event = EVENTS.get(raw.get("on", "route"))
    if event is None:
        checker.error(at + ("on",), f"unknown event `{raw['on']}`{did_you_mean(str(raw['on']), EVENTS)}; "
                                    f"known: {', '.join(EVENTS)}")
        event = EVENTS["route"]
    action = _action(checker, raw["then"], at + ("then",), event.name, event.actions, groups)
    when = _condition(checker, raw["when"], at + ("when",), event, params, groups) if "when" in raw else None
    return Rule(
        id=raw["id"], on=event.name, priority=raw.get("priority", 1000), when=when, then=action,
        where=checker.where(at), description=raw.get("description", ""), enabled=raw.get("enabled", True),
    )


def _action(checker: _Checker, raw: Any, at: Path, event: str, allowed: tuple[str, ...],
            groups: tuple[Group, ...]) -> Action:
    kind, options = (raw, {}) if isinstance(raw, str) else next(iter(raw.items()))
    if kind not in allowed:
        checker.error(at, f"action `{kind}` does not answer `{event}` events; use one of {', '.join(allowed)}")
    pool = options.get("among") or options.get("in")
    if pool not in (None, "shop", "group") and all(group.name != pool for group in groups):
        known = ["shop", "group", *(group.name for group in groups)]
        checker.error(at + (kind, "among" if "among" in options else "in"),
                      f"unknown group `{pool}`{did_you_mean(pool, known)}")
    if kind == "assign" and ("to" in options) == ("among" in options):
        checker.error(at + (kind,), "assign needs exactly one of `to` (a named agent) or `among` (a pool)")
    return Action(
        kind=kind,
        agent=options.get("for") if kind == "hold" else (options.get("to") if kind == "assign" else None),
        among=options.get("among"), strategy=options.get("strategy", "least_busy"),
        ignore_capacity=options.get("ignore_capacity", False), ignore_suspension=options.get("ignore_suspension", False),
        exclude_main=options.get("exclude_main", False), queue=options.get("in"),
        target=options.get("to") if kind == "divert" else None, reason=options.get("reason"),
        options={key: value for key, value in options.items() if key not in ROUTE_OPTIONS},
    )


def _condition(checker: _Checker, raw: dict, at: Path, event: Any, params: Params,
               groups: tuple[Group, ...]) -> Condition:
    if "all" in raw:
        return AllOf(tuple(_condition(checker, item, at + ("all", i), event, params, groups)
                           for i, item in enumerate(raw["all"])))
    if "any" in raw:
        return AnyOf(tuple(_condition(checker, item, at + ("any", i), event, params, groups)
                           for i, item in enumerate(raw["any"])))
    if "not" in raw:
        return Not(_condition(checker, raw["not"], at + ("not",), event, params, groups))
    op = next(key for key in raw if key != "fact")
    fact = raw["fact"]
    value = _resolve(checker, raw[op], at + (op,), params)
    spec = event.fact_spec(fact, groups)
    if spec is None:
        known = list(event.facts) + [f"groups.{g.name}.{c}" for g in groups for c in ("online", "eligible")]
        checker.error(at + ("fact",), f"unknown fact `{fact}` for `{event.name}` events{did_you_mean(fact, known)}")
    else:
        _check_comparison(checker, spec, op, value, at)
    return Compare(fact, op, value, checker.where(at))


def _resolve(checker: _Checker, value: Any, at: Path, params: Params) -> Any:
    if isinstance(value, dict) and "param" in value:
        resolved = params.lookup(value["param"])
        if resolved is None:
            checker.error(at + ("param",), f"unknown parameter `{value['param']}`{did_you_mean(value['param'], params.names())}")
        return resolved
    return value


_PYTHON_TYPE = {"bool": (bool,), "number": (int, float), "string": (str,), "list": (str,)}


def _check_comparison(checker: _Checker, spec: FactSpec, op: str, value: Any, at: Path) -> None:
    allowed = OPERATORS_BY_TYPE[spec.type]
    if op not in allowed:
        checker.error(at + (op,), f"`{op}` does not apply to {spec.type} fact `{spec.name}`; use {', '.join(allowed)}")
        return
    if op == "exists" or value is None:
        return
    values = value if isinstance(value, list) else [value]
    wanted = _PYTHON_TYPE[spec.type]
    for index, item in enumerate(values):
        where = at + ((op, index) if isinstance(value, list) else (op,))
        if not isinstance(item, wanted) or (spec.type == "number" and isinstance(item, bool)):
            checker.error(where, f"`{spec.name}` is a {spec.type} fact, so `{op}` needs a {spec.type}, not {item!r}")
        elif spec.values and item not in spec.values:
            checker.error(where, f"`{item}` is never a value of `{spec.name}`{did_you_mean(str(item), spec.values)}")


def _check_ids(checker: _Checker, rules: list[Rule]) -> None:
    first: dict[str, Rule] = {}
    for index, rule in enumerate(rules):
        if rule.id in first:
            checker.error(("rules", index, "id"), f"duplicate rule id `{rule.id}` (first used on line {first[rule.id].where.line})")
        first.setdefault(rule.id, rule)


def _check_reachable(checker: _Checker, ordered: list[Rule]) -> None:
    """A rule after an enabled, unconditional rule whose action always succeeds can never fire."""
    winner: dict[str, Rule] = {}
    for rule in ordered:
        blocker = winner.get(rule.on)
        if blocker is not None:
            checker.issues.append(PolicyIssue(rule.where.file, rule.where.line, rule.where.column,
                f"rule `{rule.id}` can never fire: rule `{blocker.id}` (line {blocker.where.line}) always applies "
                f"before it and its action always succeeds"))
        elif rule.enabled and rule.when is None and _always_succeeds(rule.then):
            winner[rule.on] = rule


def _always_succeeds(action: Action) -> bool:
    if action.kind == "queue":
        return action.queue in (None, "shop")
    return action.kind in ALWAYS_SUCCEED


def _check_ties(checker: _Checker, ordered: list[Rule], explicit: set[str]) -> None:
    """Two rules given the same priority on purpose are probably a mistake; unset priorities mean file order."""
    for before, after in zip(ordered, ordered[1:]):
        if before.on == after.on and before.priority == after.priority and {before.id, after.id} <= explicit:
            checker.warnings.append(PolicyIssue(after.where.file, after.where.line, after.where.column,
                f"rule `{after.id}` has the same priority ({after.priority}) as `{before.id}`; file order decides"))
