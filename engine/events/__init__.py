"""The events a policy answers. Each module supplies its facts, how to read its request and how to
carry out its actions; which action applies is always the policy's rules' choice."""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Union

import msgspec

from ..facts import FactSpec
from ..model import Group, PolicyDocument
from ..request import read_typed
from . import agent_settings, close, dequeue, login, manual_assign, order, route, transfer
from .base import Decision, FallThrough, Situation


@dataclass(frozen=True)
class EventKind:
    name: str
    actions: tuple[str, ...]
    facts: dict[str, FactSpec]
    fallback: dict[str, Any]
    # Facts whose names come from the policy (a group's head counts), beside the fixed `facts`.
    policy_facts: Callable[[str, tuple[Group, ...]], FactSpec | None] | None
    carry_out: Callable[..., Decision | FallThrough]
    # The request msgspec decodes straight from bytes, what msgspec cannot check of it (None: let the
    # careful reader speak), the reader that names every bad field, and the facts of a checked request.
    request: type
    checked: Callable[[Any], Any]
    read_carefully: Callable[[dict[str, Any]], Any]
    situate: Callable[..., Situation]

    @classmethod
    def of(cls, module: ModuleType) -> "EventKind":
        return cls(module.NAME, module.ACTIONS, module.FACTS, module.FALLBACK, getattr(module, "POLICY_FACTS", None),
                   module.carry_out, module.REQUEST, module.checked, module.read_carefully, module.situate)

    def fact_spec(self, name: str, policy_groups: tuple[Group, ...]) -> FactSpec | None:
        found = self.facts.get(name)
        if found is None and self.policy_facts is not None:
            return self.policy_facts(name, policy_groups)
        return found

    def read_request(self, data: dict[str, Any]) -> Any:
        """The request checked and typed; raises RequestError naming every bad field."""
        return read_typed(data, self.request, self.checked, self.read_carefully)

    def read(self, data: dict[str, Any], policy: PolicyDocument) -> Situation:
        """The facts of a request that came as decoded JSON."""
        return self.situate(self.read_request(data), policy)


EVENTS: dict[str, EventKind] = {kind.name: kind for kind in map(EventKind.of, [
    route, dequeue, transfer, close, agent_settings, order, login, manual_assign])}

_TYPED = {kind.request: kind for kind in EVENTS.values()}
# Each struct is tagged with its event's name in `event`: msgspec picks the struct by it.
_DECODER = msgspec.json.Decoder(Union[tuple(_TYPED)])


def decode_typed(body: bytes | str) -> tuple[EventKind, Any] | None:
    """A well-formed request, decoded and checked in one pass; None for anything else (an unknown
    event, a bad field, not JSON), which goes the careful way."""
    try:
        request = _DECODER.decode(body)
    except (msgspec.DecodeError, RecursionError):
        return None
    kind = _TYPED[type(request)]
    request = kind.checked(request)
    return None if request is None else (kind, request)


def typed_kind(request: Any) -> EventKind:
    """The event of a typed request struct."""
    return _TYPED[type(request)]


__all__ = ["decode_typed", "typed_kind", "EVENTS", "EventKind", "Decision", "FallThrough", "Situation"]
