"""The policy model: what a loaded policy file means, independent of YAML and of the rule engine."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import timezone, tzinfo
from typing import Any, Union

from .business_hours import BusinessHours
from .skills import SkillRequirement

Scalar = Union[str, int, float, bool]

COMPARISONS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "exists", "contains")
STRATEGIES = ("least_busy", "fewest_active", "round_robin", "most_proficient")
STATUSES = ("online", "invisible", "break", "offline")


@dataclass(frozen=True)
class Where:
    """Where a model element was written, for errors and traces."""

    file: str
    line: int
    column: int


@dataclass(frozen=True)
class Compare:
    """`fact` `op` `value`; `value` is already resolved when it referred to a parameter."""

    fact: str
    op: str
    value: Any
    where: Where

    def describe(self) -> str:
        return f"{self.fact} {self.op} {self.value!r}"


@dataclass(frozen=True)
class AllOf:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class Not:
    item: "Condition"


Condition = Union[Compare, AllOf, AnyOf, Not]


def tested_facts(condition: Condition | None) -> set[str]:
    """The facts a condition compares."""
    if condition is None:
        return set()
    if isinstance(condition, Compare):
        return {condition.fact}
    if isinstance(condition, Not):
        return tested_facts(condition.item)
    return set().union(*map(tested_facts, condition.items))


@dataclass(frozen=True)
class Action:
    """What a rule does when its condition holds; `kind` names one of the ACTIONS below."""

    kind: str
    agent: str | None = None          # assign/hold to a named agent: last_agent | main
    among: str | None = None          # assign among a pool: shop | group | <group name>
    strategy: str = "least_busy"
    ignore_capacity: bool = False
    ignore_suspension: bool = False
    exclude_main: bool = False
    queue: str | None = None          # queue: shop | group | <group name>
    target: str | None = None         # divert: where to
    reason: str | None = None         # an operator's own words for the decision
    options: dict[str, Any] = field(default_factory=dict)  # event-specific settings


@dataclass(frozen=True)
class Rule:
    id: str
    event: str
    priority: int
    when: Condition | None
    then: Action
    where: Where
    description: str = ""
    enabled: bool = True


@dataclass(frozen=True)
class Group:
    """An agent group and which conversations it serves: by entry point, product category or buyer tag."""

    name: str
    description: str = ""
    entries: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    default: bool = False
    require: SkillRequirement | None = None  # what its conversations need, whoever takes them (issue 17)

    def serves(self, entry: str, category: str | None, tags: tuple[str, ...]) -> bool:
        return (
            self.default
            or entry in self.entries
            or (category is not None and category in self.categories)
            or any(tag in self.tags for tag in tags)
        )


@dataclass(frozen=True)
class CapacityParams:
    min: int = 1
    max: int = 500
    presets: tuple[int, ...] = (20, 50, 100, 200)
    low_warning: int = 5


@dataclass(frozen=True)
class Params:
    """The platform's constants; rules refer to them as `{param: name}` so operators edit numbers, not rules."""

    capacity: CapacityParams = CapacityParams()
    returning_window_hours: float = 72
    auto_close_minutes: float = 20
    auto_close_range: tuple[int, int] = (5, 360)
    offline_message_ttl_days: float | None = None  # None: offline messages never expire (Kuaishou, Taobao)
    reply_sla_seconds: float = 180
    buyer_timeout_minutes: float | None = None   # Douyin: the shop's own close timers (B17), when set
    agent_timeout_minutes: float | None = None
    extra: dict[str, Scalar] = field(default_factory=dict)

    def lookup(self, name: str) -> Scalar | None:
        if name in self.extra:
            return self.extra[name]
        if name in ("capacity.min", "capacity.max", "capacity.low_warning"):
            bound: int = getattr(self.capacity, name.split(".")[1])
            return bound
        value = getattr(self, name, None)
        return value if isinstance(value, (int, float, str, bool)) else None

    def names(self) -> list[str]:
        return [
            "capacity.min", "capacity.max", "capacity.low_warning", "returning_window_hours", "auto_close_minutes",
            *(["offline_message_ttl_days"] if self.offline_message_ttl_days is not None else []),
            "reply_sla_seconds", "buyer_timeout_minutes", "agent_timeout_minutes", *self.extra,
        ]


@dataclass(frozen=True)
class PolicyDocument:
    """A policy as written: everything the loader checked, before it is compiled."""

    name: str
    platform: str
    params: Params
    groups: tuple[Group, ...]
    rules: tuple[Rule, ...]
    file: str
    sha256: str
    version: str | None = None
    description: str = ""
    timezone: tzinfo = timezone.utc     # the shop's: time.hour and time.weekday are read in it
    builtins: tuple[Rule, ...] = ()     # the platform's answers to the events `rules` leaves out
    hours: BusinessHours | None = None  # the shop's opening hours, for `shop.open` (issue 17)

    def group(self, name: str) -> Group | None:
        return self._groups.get(name)

    @cached_property
    def _groups(self) -> dict[str, Group]:
        return {group.name: group for group in self.groups}

    def group_serving(self, entry: str, category: str | None, tags: tuple[str, ...]) -> Group | None:
        """The conversation's group (B9): the first that serves its entry, category or buyer tags."""
        return next((group for group in self.groups if group.serves(entry, category, tags)), None)

    def rules_for(self, event: str) -> list[Rule]:
        """The rules answering `event`, in the order they are tried: priority, then file order."""
        return [rule for rule in self.rules if rule.event == event]

    @cached_property
    def _tested(self) -> dict[str, frozenset[str]]:
        tested: dict[str, set[str]] = {}
        for rule in (*self.rules, *self.builtins):
            tested.setdefault(rule.event, set()).update(tested_facts(rule.when))
        return {event: frozenset(names) for event, names in tested.items()}

    @cached_property
    def _asked(self) -> dict[tuple[str, tuple[str, ...]], bool]:
        return {}

    @cached_property
    def _under(self) -> dict[tuple[str, str], frozenset[str]]:
        return {}

    def tested_under(self, event: str, prefix: str) -> frozenset[str]:
        """The last parts of the facts of `event` tested under `prefix` (`shop` → {"online", "open"}):
        which of a family of facts to derive."""
        keys = self._under.get((event, prefix))
        if keys is None:
            start = prefix + "."
            keys = self._under[(event, prefix)] = frozenset(
                name[len(start):] for name in self._tested.get(event, ()) if name.startswith(start))
        return keys

    def tests(self, event: str, prefixes: tuple[str, ...]) -> bool:
        """Whether any rule of `event` tests a fact starting with one of `prefixes`: the facts that cost
        a pass over every agent are derived only for a policy that asks (a trace explains only those too)."""
        asked = self._asked.get((event, prefixes))
        if asked is None:
            asked = self._asked[(event, prefixes)] = any(
                name.startswith(prefixes) for name in self._tested.get(event, ()))
        return asked

    def answering(self, event: str) -> list[Rule]:
        """The rules that answer `event`: the enabled rules of the policy, else the platform's built-in answer."""
        return [rule for rule in self.rules_for(event) if rule.enabled] or [
            rule for rule in self.builtins if rule.event == event]
