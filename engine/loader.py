"""Policy files → checked `PolicyDocument`s. Every problem is reported at once as file:line:column.

Three passes, each reporting everything it finds: YAML (syntax, duplicate keys, unsafe tags,
limits), the JSON Schema (shape), then meaning (facts, groups, parameters, reachability,
platform ranges) with a did-you-mean wherever a name was mistyped.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .business_hours import DAYS, BusinessHours, parse_interval
from .errors import Issue, PolicyError, file_issue
from .events import EVENTS
from .facts import OPERATORS_BY_TYPE, FactSpec
from .model import (
    Action, AllOf, AnyOf, CapacityParams, Compare, Condition, Group, Not, Params, PolicyDocument, Rule, Where,
)
from .overflow import SHOP, OverflowStep
from .profiles import BUILTIN_PREFIX, PlatformProfile, profile
from .schema_errors import schema_problems
from .skills import MAX_LEVEL, MIN_LEVEL, RELAX_KEYS, RelaxStep, SkillRequirement
from .shop_time import shop_timezone
from .suggestions import Hint, did_you_mean
from .yaml_source import Findings, NodePath, YamlLimits, parse_yaml

# The rule key naming its event. `on` was its first spelling: YAML 1.1 tools (PyYAML, yq, most CI
# validators) read `on` as the boolean true, so it is still read, with a warning, and `fmt` renames it.
EVENT_KEY, OLD_EVENT_KEY = "event", "on"

# Actions that can always be carried out: an unconditional rule with one of these ends the list.
ALWAYS_SUCCEED = {"offline_queue", "divert", "none", "close", "refuse", "keep", "reject", "candidates", "ordered",
                  "assign_many", "deny"}
# Options that every action's object form may carry, and those `route` turns into model fields.
ROUTE_OPTIONS = {"to", "among", "in", "for", "strategy", "ignore_capacity", "ignore_suspension", "exclude_main", "reason"}


@dataclass
class _Checker(Findings):
    warnings: list[Issue] = field(default_factory=list)

    def warn(self, path: NodePath, message: str) -> None:
        self.warnings.append(self.document.issue(path, message))

    def where(self, path: NodePath) -> Where:
        line, column = self.document.position(path)
        return Where(self.document.file, line, column)


def parse_policy(data: bytes | str, file: str, limits: YamlLimits = YamlLimits(), *,
                 served_as: str | None = None) -> tuple[PolicyDocument, list[Issue]]:
    """Parse and check one policy; returns it with its warnings, or raises PolicyError with every error.

    `served_as` is the name the service would serve the file under (its file name without .yaml):
    the policy's `name` must be it. Schema errors do not hide the meaning checks of the parts
    that have none, so one run reports everything.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    document = parse_yaml(raw, file, limits)
    if not isinstance(document.data, dict):
        raise PolicyError([document.issue((), "a policy file must be a mapping with name, platform and rules")])
    problems = schema_problems(document, "policy.schema.json")
    checker = _Checker(document, [issue for _, issue in problems])
    policy = _build(checker, _valid_parts(document.data, [path for path, _ in problems]), hashlib.sha256(raw).hexdigest())
    if served_as is not None and "name" in document.data and document.data["name"] != served_as:
        checker.error(("name",), f"name `{document.data['name']}` differs from the file name `{served_as}.yaml`: "
                                 f"the service serves a policy only from <name>.yaml; rename the file or write "
                                 f"`name: {served_as}`")
    if checker.issues:
        raise PolicyError(checker.issues, checker.warnings)
    return policy, sorted(checker.warnings)


def _valid_parts(data: dict[str, Any], broken: list[NodePath]) -> dict[str, Any]:
    """The policy less the parts the schema refused, so the meaning checks can still run on the rest."""
    def spoiled(prefix: NodePath) -> bool:
        return any(path[:len(prefix)] == prefix for path in broken)

    valid = {key: value for key, value in data.items() if not spoiled((key,))}
    if "platform" not in valid:
        valid["platform"] = "custom"
    rules = data.get("rules")
    valid["rules"] = [rule for index, rule in enumerate(rules) if not spoiled(("rules", index))] \
        if isinstance(rules, list) else []
    valid["_rule_paths"] = [("rules", index) for index, _ in enumerate(rules) if not spoiled(("rules", index))] \
        if isinstance(rules, list) else []
    valid["_sound_conditions"] = [
        (rule, ("rules", index)) for index, rule in enumerate(rules)
        if spoiled(("rules", index)) and isinstance(rule, dict) and "when" in rule and OLD_EVENT_KEY not in rule
        and not spoiled(("rules", index, "when")) and not spoiled(("rules", index, EVENT_KEY))
    ] if isinstance(rules, list) else []
    return valid


def _build(checker: _Checker, data: dict[str, Any], sha256: str) -> PolicyDocument:
    platform = profile(data["platform"])
    params = _params(checker, data.get("params", {}), platform)
    groups = _groups(checker, data.get("groups", {}))
    rules = [_rule(checker, raw, at, params, groups) for raw, at in zip(data["rules"], data["_rule_paths"])]
    _check_sound_conditions(checker, data["_sound_conditions"], params, groups)
    if "hours" not in checker.document.data:
        _check_no_hours_needed(checker, rules)
    _check_ids(checker, rules, data["_rule_paths"])
    ordered = sorted(rules, key=lambda rule: rule.priority)  # stable: file order breaks ties
    _check_reachable(checker, ordered)
    _check_ties(checker, ordered, {raw["id"] for raw in data["rules"] if "priority" in raw})
    version = data.get("version")
    builtins = _builtins(checker, platform, ordered, params, groups, complete="rules" in data and not checker.issues)
    return PolicyDocument(
        name=data.get("name", ""), platform=platform.name, params=params, groups=groups, rules=tuple(ordered),
        file=checker.document.file, sha256=sha256, version=None if version is None else str(version),
        description=data.get("description", ""), builtins=builtins,
        timezone=_timezone(checker, data.get("timezone"), platform),
        hours=_hours(checker, data["hours"]) if "hours" in data else None,
    )


def _check_sound_conditions(checker: _Checker, rules: list[tuple[dict[str, Any], NodePath]], params: Params,
                            groups: tuple[Group, ...]) -> None:
    """A rule the schema refused (a mistyped action, a missing `then`) still has its condition's facts
    and params checked when the condition and the event are sound: one run reports them all."""
    for raw, at in rules:
        event = EVENTS.get(raw.get(EVENT_KEY, "route"))
        if event is not None:
            _condition(checker, raw["when"], at + ("when",), event, params, groups)


def _timezone(checker: _Checker, raw: str | None, platform: PlatformProfile) -> Any:
    zone, problem, hint = shop_timezone(raw if raw is not None else platform.timezone)
    if problem:
        checker.error(("timezone",), problem, hint=hint)
    return zone


def _hours(checker: _Checker, raw: dict[str, Any]) -> BusinessHours:
    """`hours`: weekly intervals per day (a day left out is closed) and dated exceptions replacing a day."""
    def intervals(items: list[Any], at: NodePath) -> tuple[tuple[int, int], ...]:
        parsed: list[tuple[int, int]] = []
        for index, text in enumerate(items):
            interval = parse_interval(text)
            if interval is None:
                checker.error(at + (index,), f"`{text}` is not an interval of one day: write HH:MM-HH:MM with the "
                                             "start before the end, such as 09:00-18:00 (24:00 ends the day)")
            else:
                parsed.append(interval)
        return tuple(parsed)

    weekly_raw = raw.get("weekly", {})
    for day in weekly_raw:
        if day not in DAYS:
            checker.error(("hours", "weekly", day), f"unknown day `{day}`{did_you_mean(str(day), DAYS)}; "
                                                    f"days are {', '.join(DAYS)}", key=True)
    weekly = tuple(intervals(weekly_raw.get(day, []), ("hours", "weekly", day)) for day in DAYS)
    exceptions: dict[date, tuple[tuple[int, int], ...]] = {}
    for index, item in enumerate(raw.get("exceptions", [])):
        at = ("hours", "exceptions", index)
        try:
            day = date.fromisoformat(str(item["date"]))
        except ValueError:
            checker.error(at + ("date",), f"`{item['date']}` is not a date: write YYYY-MM-DD, such as 2026-11-11")
            continue
        if day in exceptions:
            checker.error(at + ("date",), f"{day} has two exceptions: write one, with all of that day's hours")
        exceptions[day] = intervals(item.get("hours", []), at + ("hours",))
    return BusinessHours(weekly, exceptions)


def _check_no_hours_needed(checker: _Checker, rules: list[Rule]) -> None:
    """`shop.open` means nothing without `hours`: refuse rather than let it never hold."""
    for rule in rules:
        for compare in _compares(rule.when):
            if compare.fact == "shop.open":
                checker.issues.append(file_issue(
                    compare.where.file, compare.where.line, compare.where.column, "`shop.open` needs the policy's opening hours: add `hours: {weekly: {mon: [09:00-18:00], …}}`",
                    "add `hours: {weekly: {mon: [09:00-18:00], …}}`"))


def _compares(condition: Condition | None) -> list[Compare]:
    if condition is None:
        return []
    if isinstance(condition, Compare):
        return [condition]
    if isinstance(condition, Not):
        return _compares(condition.item)
    return [compare for item in condition.items for compare in _compares(item)]


def _builtins(checker: _Checker, platform: PlatformProfile, rules: list[Rule], params: Params,
              groups: tuple[Group, ...], complete: bool) -> tuple[Rule, ...]:
    """The platform's answer to each event no enabled rule answers, and a warning naming it."""
    answered = {rule.event for rule in rules if rule.enabled}
    builtins: list[Rule] = []
    for event, answer in platform.answers.items():
        if event in answered:
            continue
        if complete:
            checker.warn(("rules",), f"no rule answers `{event}` events, so the built-in answer `{answer.rule_id}` "
                                     f"does: {answer.description}; write `event: {event}` rules to decide otherwise")
        builtins += builtin_rules(platform, event, params, groups)
    return tuple(builtins)


def builtin_rules(platform: PlatformProfile, event: str, params: Params, groups: tuple[Group, ...]) -> list[Rule]:
    """One built-in answer as rules named `builtin.<name>`. A rule needing a parameter the policy has
    not set (Douyin's shop-configured timeouts) is left out: that timer is not in use."""
    answer = platform.answers[event]
    checker = _Checker(platform.document)
    rules = []
    for index, raw in enumerate(answer.rules):
        if not usable(raw, params):
            continue
        rule = _rule(checker, {**raw, EVENT_KEY: event}, ("answers", event, "rules", index), params, groups)
        rules.append(Rule(id=answer.rule_id, event=event, priority=index, when=rule.when, then=rule.then,
                          where=rule.where, description=rule.description))
    if checker.issues:  # a fault of the profile, never of the policy
        raise PolicyError(checker.issues)
    return rules


def usable(raw_rule: dict[str, Any], params: Params) -> bool:
    """Whether every parameter a rule compares with has a value in `params`."""
    return all(params.lookup(name) is not None for name in _param_names(raw_rule.get("when")))


def _param_names(condition: Any) -> list[str]:
    if isinstance(condition, dict):
        return [name for key, value in condition.items()
                for name in ([value["param"]] if isinstance(value, dict) and "param" in value else _param_names(value))]
    if isinstance(condition, list):
        return [name for item in condition for name in _param_names(item)]
    return []


def platform_params(platform: PlatformProfile) -> Params:
    """The params of a policy that writes none: the platform's."""
    return _params(_Checker(platform.document), {}, platform)


def _params(checker: _Checker, written: dict[str, Any], platform: PlatformProfile) -> Params:
    defaults = Params()
    raw = {**platform.params, **written, "capacity": {**platform.params.get("capacity", {}), **written.get("capacity", {})}}
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
        buyer_timeout_minutes=raw.get("buyer_timeout_minutes"), agent_timeout_minutes=raw.get("agent_timeout_minutes"),
        extra=dict(raw.get("custom", {})),
    )
    limits = platform.limits
    at = ("params", "capacity")
    if capacity.min > capacity.max:
        checker.error(at + ("min",), f"capacity.min {capacity.min} is above capacity.max {capacity.max}")
    if limits.capacity is not None:
        low_limit, high_limit = limits.capacity
        for key, value in (("min", capacity.min), ("max", capacity.max)):
            if not low_limit <= value <= high_limit:
                checker.error(at + (key,), f"capacity.{key} {value} is outside {platform.name}'s range "
                                           f"{low_limit}–{high_limit} (B2)")
    for index, preset in enumerate(capacity.presets):
        if not capacity.min <= preset <= capacity.max:
            checker.error(at + ("presets", index), f"preset {preset} is outside capacity {capacity.min}–{capacity.max}")
    if capacity.low_warning > capacity.max:
        checker.error(at + ("low_warning",), f"low_warning {capacity.low_warning} is above capacity.max {capacity.max}")
    low, high = params.auto_close_range
    if limits.auto_close_minutes is not None:
        low, high = max(low, limits.auto_close_minutes[0]), min(high, limits.auto_close_minutes[1])
    if not low <= params.auto_close_minutes <= high:
        checker.error(("params", "auto_close_minutes"),
                      f"auto_close_minutes {params.auto_close_minutes:g} is outside the allowed {low}–{high} (B17)")
    return params


def _groups(checker: _Checker, raw: dict[str, Any]) -> tuple[Group, ...]:
    groups = []
    default_seen = None
    for name, spec in raw.items():
        at = ("groups", name)
        if default_seen is not None:
            checker.warn(at, f"group `{name}` comes after default group `{default_seen}`, so it only serves "
                             "agents' transfers and overflow, never a new conversation by itself")
        group = Group(name=name, description=spec.get("description", ""), entries=tuple(spec.get("entries", ())),
                      categories=tuple(spec.get("categories", ())), tags=tuple(spec.get("tags", ())),
                      default=spec.get("default", False), require=_requirement(checker, spec, at))
        if not (group.default or group.entries or group.categories or group.tags):
            checker.warn(at, f"group `{name}` serves no entry, category or tag and is not the default")
        if group.default and default_seen is None:
            default_seen = name
        groups.append(group)
    return tuple(groups)


def _rule(checker: _Checker, raw: dict[str, Any], at: NodePath, params: Params, groups: tuple[Group, ...]) -> Rule:
    key = _event_key(checker, raw, at)
    event = EVENTS.get(raw.get(key, "route"))
    if event is None:
        hint = did_you_mean(str(raw[key]), EVENTS)
        checker.error(at + (key,), f"unknown event `{raw[key]}`{hint}; known: {', '.join(EVENTS)}", hint=hint)
        event = EVENTS["route"]
    if str(raw["id"]).startswith(BUILTIN_PREFIX):
        checker.error(at + ("id",), f"rule ids starting `{BUILTIN_PREFIX}` name the platform's built-in answers; "
                                    "choose another id")
    action = _action(checker, raw["then"], at + ("then",), event.name, event.actions, groups)
    when = _condition(checker, raw["when"], at + ("when",), event, params, groups) if "when" in raw else None
    return Rule(
        id=raw["id"], event=event.name, priority=raw.get("priority", 1000), when=when, then=action,
        where=checker.where(at), description=raw.get("description", ""), enabled=raw.get("enabled", True),
    )


def _event_key(checker: _Checker, raw: dict[str, Any], at: NodePath) -> str:
    if OLD_EVENT_KEY not in raw:
        return EVENT_KEY
    if EVENT_KEY in raw:
        checker.error(at + (OLD_EVENT_KEY,), "`on` is the old spelling of `event`: write only `event`")
    else:
        checker.warnings.append(checker.document.issue(at + (OLD_EVENT_KEY,), (
            "`on:` is deprecated: YAML 1.1 tools (PyYAML, yq, most CI validators) read it as `true:`; "
            "write `event:` (`fenliu fmt` rewrites it)"), key=True))
    return OLD_EVENT_KEY


def _action(checker: _Checker, raw: Any, at: NodePath, event: str, allowed: tuple[str, ...],
            groups: tuple[Group, ...]) -> Action:
    kind, options = (raw, {}) if isinstance(raw, str) else next(iter(raw.items()))
    if kind not in allowed:
        checker.error(at, f"action `{kind}` does not answer `{event}` events; use one of {', '.join(allowed)}")
    pool = options.get("among") or options.get("in")
    if pool not in (None, "shop", "group") and all(group.name != pool for group in groups):
        known = ["shop", "group", *(group.name for group in groups)]
        hint = did_you_mean(pool, known)
        checker.error(at + (kind, "among" if "among" in options else "in"), f"unknown group `{pool}`{hint}", hint=hint)
    if kind == "assign" and ("to" in options) == ("among" in options):
        checker.error(at + (kind,), "assign needs exactly one of `to` (a named agent) or `among` (a pool)")
    extra = {key: value for key, value in options.items() if key not in ROUTE_OPTIONS | {"require", "relax"}}
    if "overflow" in options:
        extra["overflow"] = _overflow(checker, options["overflow"], at + (kind, "overflow"), groups)
    requirement = _requirement(checker, options, at + (kind,))
    if requirement is not None:
        extra["require"] = requirement
    if kind == "assign" and "to" in options and "require" in options:
        checker.error(at + (kind, "require"), "`require` chooses among a pool, and `to` names the agent: "
                                              "write `among: …` with `require`, or remove `require`")
    if options.get("strategy") == "most_proficient" and "to" not in options:
        _check_proficiency_ranked(checker, options, at + (kind, "strategy"), groups)
    if "ageing_per_minute" in options and options.get("order", "fifo") != "priority":
        checker.error(at + (kind, "ageing_per_minute"), "ageing counts only when the queue is ordered by score: "
                                                        "add `order: priority`, or remove `ageing_per_minute`")
    return Action(
        kind=kind,
        agent=options.get("for") if kind == "hold" else (options.get("to") if kind == "assign" else None),
        among=options.get("among"), strategy=options.get("strategy", "least_busy"),
        ignore_capacity=options.get("ignore_capacity", False), ignore_suspension=options.get("ignore_suspension", False),
        exclude_main=options.get("exclude_main", False), queue=options.get("in"),
        target=options.get("to") if kind == "divert" else None, reason=options.get("reason"),
        options=extra,
    )


def _overflow(checker: _Checker, raw: list[Any], at: NodePath, groups: tuple[Group, ...]) -> tuple[OverflowStep, ...]:
    """Overflow steps, each naming groups of the policy (or `shop`), in the order their waits pass."""
    names = [group.name for group in groups]
    steps: list[OverflowStep] = []
    for index, item in enumerate(raw):
        for key, known in (("to", [SHOP, *names]), ("from", names)):
            if key in item and item[key] not in known:
                checker.error(at + (index, key), f"unknown group `{item[key]}`{did_you_mean(str(item[key]), known)}")
        _check_after(checker, item["after_seconds"], steps[-1].after_seconds if steps else None, at + (index,))
        steps.append(OverflowStep(item["after_seconds"], item["to"], item.get("from")))
    return tuple(steps)


def _check_after(checker: _Checker, after: float, before: float | None, at: NodePath) -> None:
    """Timed steps (overflow, relax) come in the order their waits pass."""
    if before is not None and after <= before:
        checker.error(at + ("after_seconds",), f"after_seconds {after:g} does not come after the step before "
                                               f"({before:g}): list the steps in the order the waits pass")


def _requirement(checker: _Checker, spec: dict[str, Any], at: NodePath) -> SkillRequirement | None:
    """`require` (skills at minimum levels) and the `relax` steps beside it, on a group or an assign action.

    A relax step only loosens: it names skills `require` names, each at a lower level than the one
    in force, or drops them; a skill dropped stays dropped."""
    if "require" not in spec:
        if "relax" in spec:
            checker.error(at + ("relax",), "`relax` loosens the `require` beside it, and there is none: "
                                           "add `require: {skill: level}` or remove `relax`")
        return None
    require: dict[str, int] = spec["require"]
    for name in require:
        if name in RELAX_KEYS:
            checker.error(at + ("require", name), f"`{name}` cannot name a skill: relax steps use it as a key; "
                                                  "rename the skill", key=True)
    levels = dict(require)
    dropped: dict[str, int] = {}  # skill → the step that dropped it
    steps: list[RelaxStep] = []
    for index, item in enumerate(spec.get("relax", ())):
        step_at = at + ("relax", index)
        if "after_seconds" not in item:  # not left to the schema, so a mistyped key gets its did-you-mean below
            checker.error(step_at, "a relax step needs `after_seconds`: the wait from which it applies")
        else:
            _check_after(checker, item["after_seconds"], steps[-1].after_seconds if steps else None, step_at)
        lowered: list[tuple[str, int]] = []
        for name, level in item.items():
            if name in RELAX_KEYS or not _relaxable(checker, name, require, dropped, step_at + (name,), key=True):
                continue
            if not MIN_LEVEL <= level <= MAX_LEVEL:
                checker.error(step_at + (name,), f"level {level} of `{name}` is outside {MIN_LEVEL}–{MAX_LEVEL}")
            elif level >= levels[name]:
                checker.error(step_at + (name,), f"`{name}: {level}` does not relax: `{name}` needs {levels[name]} "
                                                 "until this step; a relax step lowers a level (or drops the skill)")
            else:
                lowered.append((name, level))
                levels[name] = level
        drop = tuple(dict.fromkeys(name for offset, name in enumerate(item.get("drop", ()))
                                   if _relaxable(checker, name, require, dropped, step_at + ("drop", offset))))
        for name in drop:
            dropped[name] = index
            levels.pop(name, None)
        if set(item) == {"after_seconds"}:
            checker.error(step_at, "this step relaxes nothing: give a skill of `require` a lower level "
                                   "(`refund: 3`) or `drop: [refund]`")
        if "after_seconds" in item:
            steps.append(RelaxStep(item["after_seconds"], tuple(lowered), drop))
    return SkillRequirement(tuple(require.items()), tuple(steps))


def _relaxable(checker: _Checker, name: str, require: dict[str, int], dropped: dict[str, int], at: NodePath, *,
               key: bool = False) -> bool:
    """Whether a relax step may name `name`: a skill `require` names that no earlier step dropped."""
    if name in dropped:
        checker.error(at, f"`{name}` was dropped at step {dropped[name] + 1} already", key=key)
        return False
    if name not in require:
        hint = did_you_mean(name, [*require, *(RELAX_KEYS if key else ())])
        checker.error(at, f"`{name}` is not a skill of `require` ({', '.join(require)}): a relax step loosens "
                          f"only what `require` asks{hint}", key=key, hint=hint)
        return False
    return True


def _check_proficiency_ranked(checker: _Checker, options: dict[str, Any], at: NodePath,
                              groups: tuple[Group, ...]) -> None:
    """`most_proficient` ranks by the skills a requirement names: without one it would be least_busy in disguise."""
    if "require" in options:
        return
    pool = options.get("among") or options.get("in")
    reachable = [group for group in groups if pool in (None, "group", group.name)]
    if not any(group.require is not None for group in reachable):
        where = "group `" + pool + "`" if pool not in (None, "shop", "group") else (
            "the shop" if pool == "shop" else "any group")
        checker.error(at, f"`most_proficient` ranks by the skills a `require` names, and neither this action nor "
                          f"{where} requires any: add `require: {{skill: level}}` here or to the group, "
                          "or choose another strategy")


def _condition(checker: _Checker, raw: dict[str, Any], at: NodePath, event: Any, params: Params,
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
        message, hint = _unknown_fact(fact, event, groups)
        checker.error(at + ("fact",), message, hint=hint)
    else:
        _check_comparison(checker, spec, op, value, at)
    return Compare(fact, op, value, checker.where(at))


def _unknown_fact(fact: str, event: Any, groups: tuple[Group, ...]) -> tuple[str, Hint]:
    owners = [other.name for other in EVENTS.values() if other.fact_spec(fact, groups) is not None]
    if owners:
        return (f"`{fact}` is a fact of `{owners[0]}` events, not `{event.name}`: add `event: {owners[0]}` to this "
                f"rule, or test a fact of `{event.name}` (docs/facts.md)"), Hint()
    known = list(event.facts) + [f"groups.{g.name}.{c}" for g in groups for c in ("online", "eligible")]
    hint = did_you_mean(fact, known)
    if hint.name is None:  # mistyped, and another event's: `queue.lenght` in a route rule
        elsewhere = {name: other.name for other in EVENTS.values() for name in other.facts}
        near = did_you_mean(fact, elsewhere)
        if near.name is not None:
            # No suggestion to apply: writing `queue.length` into a route rule would still be wrong.
            return (f"unknown fact `{fact}` for `{event.name}` events; `{near.name}` is a fact of "
                    f"`{elsewhere[near.name]}` events (docs/facts.md)"), Hint()
    return f"unknown fact `{fact}` for `{event.name}` events{hint}", hint


def _resolve(checker: _Checker, value: Any, at: NodePath, params: Params) -> Any:
    if isinstance(value, dict) and "param" in value:
        resolved = params.lookup(value["param"])
        if resolved is None:
            hint = did_you_mean(value["param"], params.names())
            checker.error(at + ("param",), f"unknown parameter `{value['param']}`{hint}", hint=hint)
        return resolved
    return value


_PYTHON_TYPE = {"bool": (bool,), "number": (int, float), "string": (str,), "list": (str,)}


def _check_comparison(checker: _Checker, spec: FactSpec, op: str, value: Any, at: NodePath) -> None:
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
            hint = did_you_mean(str(item), spec.values)
            checker.error(where, f"`{item}` is never a value of `{spec.name}`{hint}", hint=hint)
        elif spec.type == "number" and spec.never_holds(op, float(item)):
            low, high = spec.span or (0, None)
            taken = f"{low:g}–{high:g}" if high is not None else f"{low:g} or more"
            checker.error(where, f"`{spec.name}` is always {taken}, so `{op} {item:g}` never holds")



def _check_ids(checker: _Checker, rules: list[Rule], paths: list[NodePath]) -> None:
    first: dict[str, Rule] = {}
    for rule, at in zip(rules, paths):
        if rule.id in first:
            checker.error(at + ("id",), f"duplicate rule id `{rule.id}` (first used on line {first[rule.id].where.line})")
        first.setdefault(rule.id, rule)


def _check_reachable(checker: _Checker, ordered: list[Rule]) -> None:
    """A rule after an enabled, unconditional rule whose action always succeeds can never fire."""
    winner: dict[str, Rule] = {}
    for rule in ordered:
        blocker = winner.get(rule.event)
        if blocker is not None:
            checker.issues.append(file_issue(rule.where.file, rule.where.line, rule.where.column,
                f"rule `{rule.id}` can never fire: rule `{blocker.id}` (line {blocker.where.line}) always applies "
                f"before it and its action always succeeds"))
        elif rule.enabled and rule.when is None and _always_succeeds(rule.then):
            winner[rule.event] = rule


def _always_succeeds(action: Action) -> bool:
    if action.kind == "queue":
        return action.queue in (None, "shop")
    return action.kind in ALWAYS_SUCCEED


def _check_ties(checker: _Checker, ordered: list[Rule], explicit: set[str]) -> None:
    """Two rules given the same priority on purpose are probably a mistake; unset priorities mean file order."""
    for before, after in zip(ordered, ordered[1:]):
        if before.event == after.event and before.priority == after.priority and {before.id, after.id} <= explicit:
            checker.warnings.append(file_issue(after.where.file, after.where.line, after.where.column,
                f"rule `{after.id}` has the same priority ({after.priority}) as `{before.id}`; file order decides"))
