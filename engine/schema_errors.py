"""jsonschema's errors rewritten for people editing YAML: one message per problem, at its line and column.

A document is first checked by jsonschema-rs, which tells valid from invalid several hundred times
faster than jsonschema and so keeps a reload of a large policy fast; only a document it refuses is
walked by jsonschema, the authority on errors, whose error tree the explanations below read.

A failed `oneOf` (conditions, actions) is traced into the branch the author evidently meant,
chosen by the key they wrote, so they read "unknown key `lte`; did you mean `le`?" rather
than "is not valid under any of the given schemas".
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from functools import lru_cache

import jsonschema
import jsonschema_rs
from jsonschema.exceptions import ValidationError

from fenliu.schemas import load_schema

from .errors import Issue
from .suggestions import Hint, did_you_mean
from .yaml_source import NodePath, YamlDocument

# Words people write for a key of the language, when spelling is no guide (`if` for `when`), and
# the operators of other rule languages (MongoDB, json-rules-engine), whose nearest spelling may be
# the wrong operator (`lte` is as close to `lt` as to `le`). They win over the nearest spelling.
SYNONYMS = {"if": "when", "condition": "when", "conditions": "when", "do": "then", "action": "then",
            "on": "event", "trigger": "event", "order": "priority",
            "lte": "le", "gte": "ge", "neq": "ne", "nin": "not_in", "equal": "eq", "notEqual": "ne",
            "lessThan": "lt", "lessThanInclusive": "le", "greaterThan": "gt", "greaterThanInclusive": "ge",
            "notIn": "not_in"}
# Actions that take options, as an operator would write them.
ACTION_EXAMPLES = {"assign": "assign: {among: shop}", "queue": "queue: {in: shop}",
                   "divert": "divert: {to: backup-team}", "hold": "hold: {for: main}"}

_JSON_TYPES = {"object": "a mapping", "array": "a list", "string": "a string", "number": "a number",
               "integer": "a whole number", "boolean": "true or false", "null": "null"}


@lru_cache(maxsize=None)
def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(name))


@lru_cache(maxsize=None)
def _quick_check(name: str) -> jsonschema_rs.Validator:
    return jsonschema_rs.validator_for(load_schema(name))


def surely_valid(data: object, schema_name: str) -> bool:
    """jsonschema-rs's verdict: True only when the document is valid; False sends it to jsonschema."""
    try:
        return bool(_quick_check(schema_name).is_valid(data))
    except ValueError:  # a value JSON has no form for, such as a number as a mapping key
        return False


def schema_issues(document: YamlDocument, schema_name: str) -> list[Issue]:
    return sorted({issue for _, issue in schema_problems(document, schema_name)})


def schema_problems(document: YamlDocument, schema_name: str) -> list[tuple[NodePath, Issue]]:
    """Every schema error as the path of the value it concerns and the issue to report there."""
    if surely_valid(document.data, schema_name):
        return []
    problems: dict[Issue, NodePath] = {}
    for error in validator(schema_name).iter_errors(document.data):
        for path, message, on_key, hint in _explain(error):
            problems.setdefault(document.issue(path, message, key=on_key, suggestion=hint.suggestion),
                                tuple(error.absolute_path))
    return sorted(((path, issue) for issue, path in problems.items()), key=lambda item: item[1])


def _explain(error: ValidationError) -> Iterator[tuple[NodePath, str, bool, Hint]]:
    """Each problem an error stands for: the path of the value, the message, whether the key (not
    the value) is to blame, and the hint of a mistyped name."""
    path = tuple(error.absolute_path)
    instance, kind = error.instance, error.validator
    if kind == "oneOf":
        yield from _explain_choice(error)
    elif kind == "additionalProperties":
        known = list(error.schema.get("properties", {}))
        for key in sorted(set(instance) - set(known)):
            hint = Hint(SYNONYMS[key]) if SYNONYMS.get(key) in known else did_you_mean(key, known)
            yield path + (key,), f"unknown key `{key}`{hint}", True, hint
    elif kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield path, f"missing required key `{missing}`", False, Hint()
    elif kind == "enum" and instance in ACTION_EXAMPLES:
        yield path, f"`{instance}` needs its options: write `{ACTION_EXAMPLES[instance]}`", False, Hint()
    elif kind == "enum":
        options = [str(option) for option in error.validator_value]
        hint = did_you_mean(str(instance), options)
        yield path, f"`{instance}` is not one of: {', '.join(options)}{hint}", False, hint
    elif kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        yield path, f"expected {' or '.join(_JSON_TYPES.get(str(w), str(w)) for w in wanted)}, got {_describe(instance)}", False, Hint()
    elif kind == "pattern":
        allowed = error.schema.get("patternMessage", "letters, digits, - and _")
        yield path, f"`{instance}` is not a valid name here: use {allowed}", False, Hint()
    elif kind == "anyOf" and any("$ref" in branch and "param_ref" in branch["$ref"] for branch in error.validator_value):
        yield path, f"expected a number or `{{param: NAME}}`, got {_describe(instance)}", False, Hint()
    elif kind in ("minProperties", "maxProperties") and "fact" in instance:
        yield path, "a comparison needs `fact` and exactly one operator (eq, ne, lt, le, gt, ge, in, not_in, exists, contains)", False, Hint()
    elif kind in ("minProperties", "maxProperties"):
        yield path, "`then` needs exactly one action", False, Hint()
    else:
        yield path, _plain(error), False, Hint()


def _explain_choice(error: ValidationError) -> Iterator[tuple[NodePath, str, bool, Hint]]:
    """Pick the oneOf branch the author meant from the keys they wrote, and report that branch's errors."""
    path = tuple(error.absolute_path)
    instance = error.instance
    branches = error.schema["oneOf"]
    meant = None
    if isinstance(instance, dict):
        for index, branch in enumerate(branches):
            signature = set(branch.get("required", [])) or set(branch.get("properties", {}))
            if signature & set(instance):
                meant = index
                break
    elif isinstance(instance, str):
        meant = next((i for i, b in enumerate(branches) if "enum" in b), None)
    if meant is None:
        message, hint = _choice_help(error.schema, instance)
        yield path, message, False, hint
        return
    for sub in error.context:
        if sub.schema_path and sub.schema_path[0] == meant:
            yield from _explain(sub)


def _choice_help(schema: dict[str, Any], instance: object) -> tuple[str, Hint]:
    if "action" in schema.get("description", "").lower() or any("enum" in b for b in schema["oneOf"]):
        names = sorted({*schema["oneOf"][0]["enum"], *schema["oneOf"][1]["properties"]})
        if isinstance(instance, dict) and instance:
            key = next(iter(instance))
            hint = did_you_mean(key, names)
            return f"unknown action `{key}`{hint}", hint
        return f"`then` must name one action: {', '.join(names)}", Hint()
    if isinstance(instance, dict) and instance:
        key = next(iter(instance))
        hint = did_you_mean(key, ["fact", "all", "any", "not"])
        return (f"unknown condition key `{key}`{hint}: "
                "a condition is `{fact: NAME, OP: VALUE}`, `all: [...]`, `any: [...]` or `not: {...}`"), hint
    return "a condition is `{fact: NAME, OP: VALUE}`, `all: [...]`, `any: [...]` or `not: {...}`", Hint()


def _describe(value: object) -> str:
    if value is None:
        return "nothing (null)"
    for python_type, name in ((bool, "boolean"), (int, "number"), (float, "number"), (str, "string"),
                              (list, "list"), (dict, "mapping")):
        if isinstance(value, python_type):
            return f"a {name} ({json.dumps(value, ensure_ascii=False, default=str)[:40]})"
    return type(value).__name__


def _plain(error: ValidationError) -> str:
    message: str = error.message
    return message.replace("'", "`")
