"""Broken policies: every error class is reported as file:line:column, all at once, with a hint."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from fenliu.engine import PolicyError, load_policy
from fenliu.engine.loader import parse_policy

BROKEN = Path(__file__).parent / "policies" / "broken"
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (.+)$", re.M)


def expectations(path: Path) -> list[tuple[int, int, str]]:
    return [(int(line), int(column), text) for line, column, text in EXPECT.findall(path.read_text(encoding="utf-8"))]


@pytest.mark.parametrize("path", sorted(BROKEN.glob("*.yaml")), ids=lambda p: p.stem)
def test_each_broken_policy_reports_every_expected_error_at_its_line_and_column(path):
    expected = expectations(path)
    assert expected, f"{path.name} states no expectations"
    with pytest.raises(PolicyError) as caught:
        load_policy(path)
    found = caught.value.errors
    for line, column, text in expected:
        assert any(e["line"] == line and e["column"] == column and text in e["message"] for e in found), (
            f"expected {line}:{column} {text!r}; got:\n{caught.value}")
    assert all(e["file"] == str(path) for e in found)


def test_errors_render_as_file_line_column_message():
    with pytest.raises(PolicyError) as caught:
        load_policy(BROKEN / "duplicate_key.yaml")
    assert str(caught.value).endswith("duplicate_key.yaml:4:1: duplicate key `platform` (first defined on line 3)")


def test_unreadable_file_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")


@pytest.mark.parametrize("data,message", [
    (b"\xff\xfe\x00bad", "not valid UTF-8"),
    (b"name: a\x00", "binary"),
    (b"", "empty"),
    (b"- just\n- a list\n", "must be a mapping"),
])
def test_unusable_bytes_are_rejected_with_a_reason(data, message):
    with pytest.raises(PolicyError, match=message):
        parse_policy(data, "x.yaml")


def test_deep_nesting_is_refused_before_it_costs_anything():
    deep = "name: " + "[" * 5000 + "]" * 5000
    with pytest.raises(PolicyError, match="nested"):
        parse_policy(deep, "deep.yaml")


def test_equal_explicit_priorities_warn_but_load(tmp_path):
    path = tmp_path / "ties.yaml"
    path.write_text("name: ties\nplatform: custom\nrules:\n"
                    "  - {id: a, priority: 5, when: {fact: conversation.internal, eq: true}, then: none}\n"
                    "  - {id: b, priority: 5, then: offline_queue}\n", encoding="utf-8")
    policy = load_policy(path)
    assert [w.message for w in policy.warnings if "built-in answer" not in w.message] == [
        "rule `b` has the same priority (5) as `a`; file order decides"]
    policy.close()


def _first_error(text: str) -> dict:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.encode("utf-8"), "p.yaml")
    return caught.value.errors[0]


@pytest.mark.parametrize("text, line, words", [
    ("name: a\n---\nname: b\n", 2, "single document"),
    ("name: *nowhere\n", 1, "undefined alias"),
    ("a: &x 1\nb: &x 2\n", 2, "duplicate anchor"),
    ("? [a, b]\n: 1\n", 1, "plain scalars"),
])
def test_yaml_structure_errors_point_at_their_line(text, line, words):
    error = _first_error(text)
    assert error["line"] == line and words in error["message"]


def test_anchors_and_aliases_resolve_in_a_valid_policy():
    """B9: a group's entry list written once and reused by alias loads as if written out twice."""
    text = (Path(__file__).parent.parent / "rules" / "douyin.yaml").read_text(encoding="utf-8")
    text = text.replace("    entries: [after_sales_page, order_page]\n",
                        "    entries: &aftersale [after_sales_page, order_page]\n  returns:\n    entries: *aftersale\n", 1)
    document, _ = parse_policy(text.encode("utf-8"), "d.yaml")
    entries = {group.name: group.entries for group in document.groups}
    assert entries["returns"] == entries["aftersale"] == ("after_sales_page", "order_page")
