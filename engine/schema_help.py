"""Editor help written into the published schemas from the catalogues, so it cannot drift from the engine:
the facts a condition may test (with their meaning and events) and the fields of a test case's request.

`python -m fenliu.engine.schema_help` rewrites `schemas/policy.schema.json` and
`schemas/policy-test.schema.json`; a test fails when they are not current.
"""
from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

from fenliu.schemas import load_schema

from .events import EVENTS
from .facts import COUNTERS


def fact_help() -> dict[str, Any]:
    """The `fact` of a comparison: every fact with its events and meaning, and `groups.<name>.<counter>`."""
    facts: dict[str, tuple[list[str], str]] = {}
    for kind in EVENTS.values():
        for spec in kind.facts.values():
            facts.setdefault(spec.name, ([], spec.description))[0].append(kind.name)
    names = sorted(facts)
    counters = "|".join(COUNTERS)
    return {
        "type": "string",
        "description": "A fact of the rule's event (see docs/facts.md), e.g. customer.hours_since_last_agent.",
        "anyOf": [
            {"enum": names,
             "markdownEnumDescriptions": [f"**{', '.join(facts[name][0])}** — {facts[name][1]}" for name in names]},
            {"pattern": rf"^groups\.[^.]+\.({counters})$",
             "description": "route: head counts of one named group of `groups`: " + "; ".join(
                 f"`{counter}` {text}" for counter, text in COUNTERS.items())},
            {"description": "any other name is reported by `fenliu check` with a did-you-mean"},
        ],
        "defaultSnippets": [{"label": f"groups.<name>.{counter}", "description": f"one named group: {text}",
                             "body": f"groups.${{1:name}}.{counter}"} for counter, text in COUNTERS.items()],
    }


def request_field_help() -> dict[str, Any]:
    """Every field a request of some event may carry, described as in the request contract."""
    request = load_schema("request.schema.json")
    fields: dict[str, tuple[list[str], dict[str, Any]]] = {}
    for event in EVENTS:
        for name, spec in request["$defs"][event]["properties"].items():
            if name not in ("event", "agents"):
                fields.setdefault(name, ([], spec))[0].append(event)
    return {name: {"description": f"{', '.join(events)}: {_describe(spec)}"} for name, (events, spec) in fields.items()}


def _describe(spec: dict[str, Any]) -> str:
    text = spec.get("description", "")
    inner = spec.get("properties") or spec.get("items", {}).get("properties") or {}
    if inner:
        parts = [f"`{key}`" + (f" ({value['description'].rstrip('.')})" if "description" in value else "")
                 for key, value in inner.items()]
        text = (text + " " if text else "") + "Fields: " + ", ".join(parts) + "."
    return text or "see schemas/request.schema.json"


def current_policy_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(json.dumps(load_schema("policy.schema.json")))
    schema["$defs"]["condition"]["oneOf"][0]["properties"]["fact"] = fact_help()
    return schema


def current_test_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(json.dumps(load_schema("policy-test.schema.json")))
    properties = schema["$defs"]["request"]["properties"]
    schema["$defs"]["request"]["properties"] = {**{key: properties[key] for key in ("event", "agents")},
                                                **request_field_help()}
    return schema


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    folder = files("fenliu.schemas")
    for name, schema in (("policy.schema.json", current_policy_schema()), ("policy-test.schema.json", current_test_schema())):
        with open(str(folder.joinpath(name)), "w", encoding="utf-8") as out:
            out.write(render(schema))
