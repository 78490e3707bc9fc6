"""Evaluate requests: checked field by field (every bad field named by its path) and turned into typed structs.

`schemas/request.schema.json` publishes the same contract; tests hold the two in agreement. A
well-formed request (nearly every one) is decoded and checked straight into these structs by
msgspec; when that fails, the careful `Reader` below reads it again, field by field, to name every
bad field by its path, with a did-you-mean for unknown keys.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Annotated, Any, Callable, Literal, Protocol, TypeVar

import msgspec

from .errors import Issue, RequestError, field_issue
from .model import STATUSES
from .skills import MAX_LEVEL, MAX_SKILLS, MIN_LEVEL
from .suggestions import Hint, did_you_mean

ENTRIES = ("product_page", "order_page", "after_sales_page", "direct", "fan_group", "live", "other")
ROLES = ("main", "sub")
SENDERS = ("customer", "agent", "system")  # who sent a conversation's last message; system = auto-reply
MAX_ID_LENGTH = 256
MAX_COUNT = 1_000_000_000
MAX_PRIORITY = 10_000  # a queued conversation's priority (issue 17) is a number from -MAX_PRIORITY to MAX_PRIORITY
# Services' clocks drift: a past moment up to this far after `now` is taken as `now`; beyond, refused.
CLOCK_SKEW = timedelta(minutes=5)

T = TypeVar("T")
S = TypeVar("S", bound=msgspec.Struct)


ROUTABLE = ("online", "invisible")  # the statuses routing may give conversations to: invisible counts as online (B1)
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_LENGTH)]
Count = Annotated[int, msgspec.Meta(ge=0, lt=MAX_COUNT)]
Moment = Annotated[datetime, msgspec.Meta(tz=True)]
Priority = Annotated[float, msgspec.Meta(ge=-MAX_PRIORITY, le=MAX_PRIORITY)]
Skills = Annotated[dict[Id, Annotated[int, msgspec.Meta(ge=MIN_LEVEL, le=MAX_LEVEL)]], msgspec.Meta(max_length=MAX_SKILLS)]


class Agent(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One agent of a request: a typed struct, so that a well-formed list of agents (most of a
    request, up to thousands of them) is checked and built in one call of msgspec's C code.
    Nothing changes an agent after it is read. Untracked by the garbage collector (`gc=False`),
    which makes decoding a request faster: an agent holds only strings, numbers and a dict of
    them, so it can never be part of a reference cycle."""

    id: Id
    status: Literal[STATUSES]  # type: ignore[valid-type]  # the one list of statuses, as a Literal
    role: Literal[ROLES] = "sub"  # type: ignore[valid-type]
    suspended: bool = False
    max_sessions: Count | None = None
    active: Count = 0
    groups: tuple[Id, ...] = ()
    last_assigned_at: Moment | None = None
    skills: Skills = msgspec.field(default_factory=dict)  # skill → level 1–10 (issue 17)

    @property
    def logged_in(self) -> bool:
        return bool(self.status != "offline")  # `status` is a Literal built from STATUSES, Any to mypy

    @property
    def online(self) -> bool:
        return self.status in ROUTABLE


class LastContact(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    agent_id: Id = msgspec.field(name="id")
    at: Moment


class Customer(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: Id | None = None
    private_contact: bool = False
    tags: tuple[Id, ...] = ()
    last_agent: LastContact | None = None


class BaseConversation(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A conversation as every event that names one describes it."""

    id: Id | None = None
    entry: Literal[ENTRIES] = "other"  # type: ignore[valid-type]
    category: Id | None = None
    to_main: bool = False
    internal: bool = False


class Conversation(BaseConversation, frozen=True, forbid_unknown_fields=True):
    """Route's conversation, which may say since when it has waited, when routed again (issue 17)."""

    enqueued_at: Moment | None = None


class LastMessage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A conversation's last message (`close`, `order`): who sent it and when."""

    sender: Literal[SENDERS] = msgspec.field(name="from")  # type: ignore[valid-type]
    at: Moment


class Reader:
    """Reads fields out of untrusted JSON, collecting one issue per bad field instead of stopping."""

    def __init__(self) -> None:
        self.issues: list[Issue] = []

    def fail(self, path: str, message: str, hint: Hint = Hint()) -> None:
        self.issues.append(field_issue(path, message, hint.suggestion))

    def obj(self, value: Any, path: str) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        self.fail(path, f"must be an object, not {_json_type(value)}")
        return {}

    def unknown_keys(self, data: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
        for key in data:
            if key not in allowed:
                hint = did_you_mean(key, allowed)
                self.fail(_join(path, key), f"unknown field{hint}", hint)

    def field(self, data: dict[str, Any], key: str, path: str, check: Callable[[Any, str], T], default: T) -> T:
        if key not in data or (data[key] is None and default is None):
            return default
        return check(data[key], _join(path, key))

    def required(self, data: dict[str, Any], key: str, path: str, check: Callable[[Any, str], T], default: T) -> T:
        if key not in data:
            self.fail(_join(path, key), "is required")
            return default
        return check(data[key], _join(path, key))

    def string(self, value: Any, path: str) -> str:
        if isinstance(value, str) and 0 < len(value) <= MAX_ID_LENGTH:
            return value
        if isinstance(value, str):
            self.fail(path, f"must be 1 to {MAX_ID_LENGTH} characters long")
        else:
            self.fail(path, f"must be a string, not {_json_type(value)}")
        return ""

    def boolean(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        self.fail(path, f"must be true or false, not {_json_type(value)}")
        return False

    def count(self, value: Any, path: str) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < MAX_COUNT:
            return value
        self.fail(path, f"must be a whole number from 0 up to {MAX_COUNT - 1}, not {_shown(value)}")
        return 0

    def priority(self, value: Any, path: str) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) \
                and -MAX_PRIORITY <= value <= MAX_PRIORITY:
            return value
        self.fail(path, f"must be a number from -{MAX_PRIORITY} to {MAX_PRIORITY}, not {_json_type(value)}"
                        if not isinstance(value, (int, float)) or isinstance(value, bool) else
                        f"must be a number from -{MAX_PRIORITY} to {MAX_PRIORITY}")
        return 0

    def skills(self, value: Any, path: str) -> dict[str, int]:
        """An agent's skills (issue 17): skill name → level, a whole number from 1 to 10."""
        data = self.obj(value, path)
        if len(data) > MAX_SKILLS:
            self.fail(path, f"has {len(data)} skills, over the limit of {MAX_SKILLS}")
            return {}
        levels: dict[str, int] = {}
        for name, level in data.items():
            if not 0 < len(name) <= MAX_ID_LENGTH:
                self.fail(path, f"skill names must be 1 to {MAX_ID_LENGTH} characters long")
            elif isinstance(level, int) and not isinstance(level, bool) and MIN_LEVEL <= level <= MAX_LEVEL:
                levels[name] = level
            else:
                self.fail(_join(path, name), f"must be a whole number from {MIN_LEVEL} to {MAX_LEVEL}, not {_shown(level)}")
        return levels

    def choice(self, options: tuple[str, ...]) -> Callable[[Any, str], str]:
        def check(value: Any, path: str) -> str:
            if isinstance(value, str) and value in options:
                return value
            hint = did_you_mean(value, options) if isinstance(value, str) else Hint()
            self.fail(path, f"must be one of {', '.join(options)}, not {value!r}{hint}", hint)
            return options[0]

        return check

    def timestamp(self, value: Any, path: str) -> datetime:
        if isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                moment = None
            if moment is not None and moment.tzinfo is not None:
                return moment
            if moment is not None and "T" not in value.upper() and " " not in value:
                self.fail(path, f"`{value}` is a date: a moment needs a time and a time zone "
                                f"(for example {value}T10:00:00+08:00)")
                return _EPOCH
            if moment is not None:
                self.fail(path, "needs a time zone (for example 2026-11-23T10:00:00Z or +08:00)")
                return _EPOCH
        self.fail(path, "must be an ISO 8601 date-time such as 2026-11-23T10:00:00Z")
        return _EPOCH

    def now(self, data: dict[str, Any]) -> datetime:
        """The request's `now`; when it is missing or bad (and named), the epoch, against which
        `before` checks nothing."""
        return self.required(data, "now", "", self.timestamp, _EPOCH)

    def before(self, now: datetime | None) -> Callable[[Any, str], datetime]:
        """A timestamp that must not be later than `now` (a last contact, a queued or sent time)."""
        def check(value: Any, path: str) -> datetime:
            moment = self.timestamp(value, path)
            if now is None or now is _EPOCH or moment is _EPOCH:
                return moment
            settled = within_skew(moment, now)
            if settled is None:
                minutes = int(CLOCK_SKEW.total_seconds() // 60)
                self.fail(path, f"is after `now` ({value} > {now.isoformat()}); a past moment may lead `now` "
                                f"by at most {minutes} minutes of clock skew")
                return now
            return settled

        return check

    def strings(self, value: Any, path: str) -> tuple[str, ...]:
        if not isinstance(value, list):
            self.fail(path, f"must be a list of strings, not {_json_type(value)}")
            return ()
        return tuple(self.string(item, f"{path}[{index}]") for index, item in enumerate(value))

    def items(self, value: Any, path: str, limit: int) -> list[Any]:
        if not isinstance(value, list):
            self.fail(path, f"must be a list, not {_json_type(value)}")
            return []
        if len(value) > limit:
            self.fail(path, f"has {len(value)} items, over the limit of {limit}")
            return []
        return value

    def raise_if_failed(self) -> None:
        if self.issues:
            raise RequestError(self.issues)


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")
MAX_AGENTS = 5_000


def read_agents(reader: Reader, data: dict[str, Any], *, required: bool = True) -> tuple[Agent, ...]:
    raw = data.get("agents")
    if raw is None:
        if required:
            reader.fail("agents", "is required")
        return ()
    agents = well_formed_agents(raw)
    if agents is None:
        agents = tuple(read_agent(reader, item, f"agents[{index}]")
                       for index, item in enumerate(reader.items(raw, "agents", MAX_AGENTS)))
    seen: dict[str, int] = {}
    for index, agent in enumerate(agents):
        if agent.id in seen:
            reader.fail(f"agents[{index}].id", f"duplicates agents[{seen[agent.id]}].id `{agent.id}`")
        seen.setdefault(agent.id, index)
    return agents


def first_duplicate(agents: tuple[Agent, ...]) -> str | None:
    ids = [agent.id for agent in agents]
    if len(set(ids)) == len(ids):  # nearly always: one pass in C, no per-agent Python
        return None
    seen: set[str] = set()
    for agent in agents:
        if agent.id in seen:
            return agent.id
        seen.add(agent.id)
    return None


def settle_all(items: tuple[T, ...], settle: Callable[[T], T | None]) -> tuple[T, ...] | None:
    """Each item with its times settled by `settle` (within clock skew of `now` taken as `now`): the
    same tuple when none moved, None when one lies beyond."""
    settled = tuple(map(settle, items))
    if any(item is None for item in settled):
        return None
    if all(after is before for after, before in zip(settled, items)):
        return items
    return settled  # type: ignore[return-value]  # no None left


def checked_by_decoding(request: S) -> S:
    """The `checked` of an event whose request msgspec checks all of."""
    return request


class _WithAgents(Protocol):
    @property
    def agents(self) -> tuple[Agent, ...]: ...


A = TypeVar("A", bound=_WithAgents)


def checked_agents_unique(request: A) -> A | None:
    """The `checked` of an event whose only rule msgspec cannot check is that agent ids are unique.
    None sends the request to the careful reader, which names the duplicate."""
    return None if first_duplicate(request.agents) is not None else request


def within_skew(moment: datetime, now: datetime) -> datetime | None:
    """A past moment as the careful reader takes it: up to CLOCK_SKEW after `now` counts as `now`;
    None when it lies further ahead, which the careful reader refuses."""
    if moment <= now:
        return moment
    return now if moment - now <= CLOCK_SKEW else None


def well_formed_agents(raw: Any) -> tuple[Agent, ...] | None:
    """The agents, when every one is already well formed (nearly always); else None, and the
    careful reader names every bad field with its path."""
    if type(raw) is not list or len(raw) > MAX_AGENTS:
        return None
    try:
        return msgspec.convert(raw, tuple[Agent, ...])
    except msgspec.ValidationError:
        return None


def read_agent(reader: Reader, value: Any, path: str) -> Agent:
    data = reader.obj(value, path)
    reader.unknown_keys(data, ("id", "role", "status", "suspended", "max_sessions", "active", "groups",
                               "last_assigned_at", "skills"), path)
    return Agent(
        id=reader.required(data, "id", path, reader.string, ""),
        status=reader.required(data, "status", path, reader.choice(STATUSES), "offline"),
        role=reader.field(data, "role", path, reader.choice(ROLES), "sub"),
        suspended=reader.field(data, "suspended", path, reader.boolean, False),
        max_sessions=reader.field(data, "max_sessions", path, reader.count, None),
        active=reader.field(data, "active", path, reader.count, 0),
        groups=reader.field(data, "groups", path, reader.strings, ()),
        last_assigned_at=reader.field(data, "last_assigned_at", path, reader.timestamp, None),
        skills=reader.field(data, "skills", path, reader.skills, {}),
    )


def read_agent_event(reader: Reader, data: dict[str, Any],
                     agent_fields: tuple[str, ...]) -> tuple[datetime, dict[str, Any], str]:
    """The envelope of an event about one agent (`agent_settings`, `login`): `now`, its `agent` object and id."""
    reader.unknown_keys(data, ("event", "now", "agent"), "")
    now = reader.now(data)
    agent = reader.obj(data.get("agent"), "agent")
    reader.unknown_keys(agent, ("id", *agent_fields), "agent")
    return now, agent, reader.required(agent, "id", "agent", reader.string, "")


def read_customer(reader: Reader, value: Any, now: datetime | None, path: str = "customer") -> Customer:
    data = reader.obj(value, path)
    reader.unknown_keys(data, ("id", "private_contact", "tags", "last_agent"), path)
    last = None
    if data.get("last_agent") is not None:
        last_path = f"{path}.last_agent"
        raw = reader.obj(data["last_agent"], last_path)
        reader.unknown_keys(raw, ("id", "at"), last_path)
        last = LastContact(
            agent_id=reader.required(raw, "id", last_path, reader.string, ""),
            at=reader.required(raw, "at", last_path, reader.before(now), _EPOCH),
        )
    return Customer(
        id=reader.field(data, "id", path, reader.string, None),
        private_contact=reader.field(data, "private_contact", path, reader.boolean, False),
        tags=reader.field(data, "tags", path, reader.strings, ()),
        last_agent=last,
    )


CONVERSATION_FIELDS = ("id", "entry", "category", "to_main", "internal")


def read_conversation(reader: Reader, value: Any, path: str = "conversation") -> BaseConversation:
    data = reader.obj(value, path)
    reader.unknown_keys(data, CONVERSATION_FIELDS, path)
    return BaseConversation(**_conversation_fields(reader, data, path))


def read_waiting_conversation(reader: Reader, value: Any, now: datetime | None,
                              path: str = "conversation") -> Conversation:
    """Route's conversation, which may say since when it has waited (`enqueued_at`)."""
    data = reader.obj(value, path)
    reader.unknown_keys(data, (*CONVERSATION_FIELDS, "enqueued_at"), path)
    return Conversation(**_conversation_fields(reader, data, path),
                        enqueued_at=reader.field(data, "enqueued_at", path, reader.before(now), None))


def _conversation_fields(reader: Reader, data: dict[str, Any], path: str) -> dict[str, Any]:
    return {
        "id": reader.field(data, "id", path, reader.string, None),
        "entry": reader.field(data, "entry", path, reader.choice(ENTRIES), "other"),
        "category": reader.field(data, "category", path, reader.string, None),
        "to_main": reader.field(data, "to_main", path, reader.boolean, False),
        "internal": reader.field(data, "internal", path, reader.boolean, False),
    }


def read_last_message(reader: Reader, value: Any, path: str, now: datetime | None) -> LastMessage | None:
    """A conversation's `last_message` (`close`, `order`), a time within clock skew of `now` as `now`;
    None when it has no `at`, which is named as required."""
    data = reader.obj(value, path)
    reader.unknown_keys(data, ("from", "at"), path)
    sender = reader.required(data, "from", path, reader.choice(SENDERS), "customer")
    at = reader.required(data, "at", path, reader.before(now), None)
    return None if at is None else LastMessage(sender=sender, at=at)


def read_typed(data: dict[str, Any], struct: type[S], checked: Callable[[S], S | None],
               careful: Callable[[dict[str, Any]], S]) -> S:
    """An event's request checked and typed: msgspec converts a well-formed one (nearly every one) in
    one call; anything else, `careful` reads field by field and raises RequestError naming each bad field."""
    try:
        typed = checked(msgspec.convert(data, struct))
    except msgspec.ValidationError:
        typed = None
    return typed if typed is not None else careful(data)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(value: Any) -> str:
    """A number as written, so 2.0 shows why it is not a whole number (a long one cut short);
    anything else by its JSON type."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)[:24]
    return _json_type(value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number" if math.isfinite(value) else "a non-finite number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
