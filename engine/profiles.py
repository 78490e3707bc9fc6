"""Platform profiles: what each platform allows and how it answers an event a policy leaves out.

One YAML file per platform in `platforms/` (`kuaishou.yaml`, `douyin.yaml`, …), so adding a
platform is adding a file. The loader checks `params` against a profile's `limits`, fills the
params a policy leaves out from its `params`, and answers every event the policy writes no rules
for with the profile's built-in answer (`builtin.<name>` in the decision).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any

from .yaml_source import YamlDocument, parse_yaml

BUILTIN_PREFIX = "builtin."


@dataclass(frozen=True)
class BuiltinAnswer:
    """A platform's answer to one event, written as rules of the policy language."""

    event: str
    name: str
    description: str
    rules: tuple[dict[str, Any], ...]
    cases: tuple[dict[str, Any], ...]

    @property
    def rule_id(self) -> str:
        return BUILTIN_PREFIX + self.name


@dataclass(frozen=True)
class Limits:
    capacity: tuple[int, int] | None = None
    unlimited: bool = True
    auto_close_minutes: tuple[int, int] | None = None


@dataclass(frozen=True)
class PlatformProfile:
    name: str
    description: str
    timezone: str
    limits: Limits
    params: dict[str, Any]
    answers: dict[str, BuiltinAnswer]
    document: YamlDocument  # where each built-in rule was written, for traces and errors

    @property
    def file(self) -> str:
        return self.document.file


def _read(name: str) -> PlatformProfile:
    resource = files(__package__).joinpath("platforms", f"{name}.yaml")
    document = parse_yaml(resource.read_bytes(), f"platforms/{name}.yaml")
    data = document.data
    limits = data.get("limits", {})
    return PlatformProfile(
        name=data["platform"], description=data["description"], timezone=data["timezone"],
        limits=Limits(
            capacity=tuple(limits["capacity"]) if "capacity" in limits else None,
            unlimited=limits.get("unlimited", True),
            auto_close_minutes=tuple(limits["auto_close_minutes"]) if "auto_close_minutes" in limits else None,
        ),
        params=data.get("params", {}),
        answers={event: BuiltinAnswer(event, answer["name"], answer["description"], tuple(answer["rules"]),
                                      tuple(answer.get("cases", ())))
                 for event, answer in data["answers"].items()},
        document=document,
    )


@cache
def platform_names() -> tuple[str, ...]:
    return tuple(sorted(entry.name.removesuffix(".yaml") for entry in files(__package__).joinpath("platforms").iterdir()
                        if entry.name.endswith(".yaml")))


@cache
def profile(name: str) -> PlatformProfile:
    """The profile of a platform named in `platform_names()`."""
    return _read(name)
