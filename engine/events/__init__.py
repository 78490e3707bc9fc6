"""The events a policy answers. Each module supplies its facts, how to read its request and how to
carry out its actions; which action applies is always the policy's rules' choice."""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Union

import msgspec

from ..facts import FactSpec
from ..model import Group
from . import agent_settings, close, dequeue, login, manual_assign, order, route, transfer
from .base import Decision, FallThrough, Situation


@dataclass(frozen=True)
class EventKind:
    name: str
    actions: tuple[str, ...]
    facts: dict[str, FactSpec]
    fallback: dict[str, Any]
    fact_spec: Callable[[str, tuple[Group, ...]], FactSpec | None]
    read: Callable[..., Situation]
    carry_out: Callable[..., Decision | FallThrough]
    # Events whose requests msgspec decodes straight from bytes: the struct, its remaining checks
    # (None: let the careful reader speak) and the facts of a checked struct.
    request: type | None = None
    checked: Callable[[Any], Any] | None = None
    situate: Callable[..., Situation] | None = None

    @classmethod
    def of(cls, module: ModuleType) -> "EventKind":
        return cls(module.NAME, module.ACTIONS, module.FACTS, module.FALLBACK, module.fact_spec,
                   module.read, module.carry_out, getattr(module, "REQUEST", None),
                   getattr(module, "checked", None), getattr(module, "situate", None))


EVENTS: dict[str, EventKind] = {kind.name: kind for kind in map(EventKind.of, [
    route, dequeue, transfer, close, agent_settings, order, login, manual_assign])}

_TYPED = {kind.request: kind for kind in EVENTS.values() if kind.request is not None}
# Each struct names its event in a required `event` field; a second typed event will need them
# tagged instead (`tag_field="event"`), the form msgspec takes for a union of structs.
_DECODER = msgspec.json.Decoder(Union[tuple(_TYPED)])


def decode_typed(body: bytes | str) -> tuple[EventKind, Any] | None:
    """A well-formed request of a typed event, decoded and checked in one pass; None for anything
    else (another event, a bad field, not JSON), which goes the careful way."""
    try:
        request = _DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    kind = _TYPED[type(request)]
    assert kind.checked is not None  # every typed event says what msgspec cannot check
    request = kind.checked(request)
    return None if request is None else (kind, request)


def typed_kind(request: Any) -> EventKind:
    """The event of a typed request struct."""
    return _TYPED[type(request)]


__all__ = ["decode_typed", "typed_kind", "EVENTS", "EventKind", "Decision", "FallThrough", "Situation"]
