"""`fenliu new`: a complete policy for a platform, every event written out, and its test file.

The rules are the platform's built-in answers (engine/platforms/<platform>.yaml), so a new policy
starts out deciding exactly as the platform does, and every case of its test file passes.
"""
from __future__ import annotations

from typing import Any

import yaml

from .events import EVENTS
from .loader import EVENT_KEY, platform_params, usable
from .policytests.formatting import format_policy
from .profiles import profile

CLOCK = "2026-11-23T10:00:00+08:00"


def new_policy(name: str, platform_name: str) -> tuple[str, str]:
    """The text of `<name>.yaml` and of `<name>.test.yaml`."""
    platform = profile(platform_name)
    params = platform_params(platform)
    rules: list[dict[str, Any]] = []
    cases: list[dict[str, Any]] = []
    for event in EVENTS:
        answer = platform.answers[event]
        written = [raw for raw in answer.rules if usable(raw, params)]
        ids = {raw["id"] for raw in written}
        rules += [{"id": raw["id"], "description": raw["description"],
                   **({EVENT_KEY: event} if event != "route" else {}),
                   **{key: raw[key] for key in ("when", "then") if key in raw}} for raw in written]
        cases += [{"name": case["name"], "request": case["request"],
                   "expect": {**case["expect"], "decision.rule": case["rule"]}}
                  for case in answer.cases if case["rule"] in ids]
    policy = {"name": name, "platform": platform.name, "timezone": platform.timezone,
              "description": f"{platform.description}: the platform's own behaviour, every event written out.",
              "params": platform.params, "rules": rules}
    suite = {"policy": f"{name}.yaml", "description": f"The cases of the {platform.name} platform's behaviour.",
             "clock": CLOCK, "cases": cases}
    header = f"# A {platform.description} policy, written by `fenliu new` from engine/platforms/{platform.name}.yaml.\n"
    return header + format_policy(_dump(policy)), _dump(suite)


def _dump(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)
