"""`fenliu fmt`: a policy in canonical form, comments kept.

Canonical: top-level keys in the order a policy reads (name, platform, timezone, version,
description, params, hours, groups, rules); each rule's keys as id, description, event, priority,
enabled, when, then, the deprecated `on` renamed `event` (YAML 1.1 tools read `on` as true);
rules in the order they are tried (by priority, file order among equals), so reading the file
top to bottom is reading the evaluation order.

ruamel.yaml keeps a comment line after the value it follows, not before the entry it
introduces, so reordering entries as they are would tear each comment from its rule. Comment
lines are therefore first lifted onto the entry that follows them, the entries reordered, and
the comments put back where ruamel writes them.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark
from ruamel.yaml.tokens import CommentToken

from ..errors import PolicyError, file_issue
from ..loader import EVENT_KEY, OLD_EVENT_KEY
from ..yaml_source import parse_yaml

TOP_LEVEL = ("name", "platform", "timezone", "version", "description", "params", "hours", "groups", "rules")
# `priority` before `enabled`: switching a rule on or off then edits the line after its priority,
# the way the shipped policies and their tests have always written it.
RULE_KEYS = ("id", "description", EVENT_KEY, "priority", "enabled", "when", "then")
DEFAULT_PRIORITY = 1000

Collection = CommentedMap | CommentedSeq
Lines = list[CommentToken]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap long descriptions
    yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def format_file(path: Path) -> tuple[str, str]:
    """A policy file's text and its canonical form; PolicyError when it is not readable YAML."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise PolicyError([file_issue(str(path), 1, 1, f"cannot read: {error}")]) from None
    before = parse_yaml(text, str(path))
    formatted = format_policy(text)
    # A guard on the comment surgery: the canonical form must say exactly what the file said.
    if not same_meaning(_renamed(before.data), parse_yaml(formatted, str(path)).data):
        raise PolicyError([file_issue(str(path), 1, 1, "cannot be formatted without changing what it says; "
                                                         "left as it is")])
    return text, formatted


def format_policy(text: str) -> str:
    """The canonical form of a policy's text; the text itself when already canonical."""
    root = _yaml().load(text)
    if not isinstance(root, CommentedMap):
        return text
    rules = root.get("rules")
    if isinstance(rules, CommentedSeq):
        for rule in rules:
            if isinstance(rule, CommentedMap):
                _rename_key(rule, OLD_EVENT_KEY, EVENT_KEY)
    trailing = _lift(root)
    _reorder(root, TOP_LEVEL)
    if isinstance(rules, CommentedSeq):
        for rule in rules:
            if isinstance(rule, CommentedMap):
                _reorder(rule, RULE_KEYS)
        _sort_rules(rules)
    _place(root, None)
    _append_trailing(root, trailing)
    out = io.StringIO()
    _yaml().dump(root, out)
    return out.getvalue()


def _rename_key(mapping: CommentedMap, old: str, new: str) -> None:
    """Rename a key in place, keeping its position and its comments; not when both are written."""
    if old not in mapping or new in mapping:
        return
    position = list(mapping).index(old)
    comments = mapping.ca.items.pop(old, None)
    mapping.insert(position, new, mapping.pop(old))
    if comments is not None:
        mapping.ca.items[new] = comments


def _renamed(data: Any) -> Any:
    """What a policy says with `on` spelled `event`: the meaning `fmt` must keep."""
    if not isinstance(data, dict) or not isinstance(data.get("rules"), list):
        return data
    rules = [{(EVENT_KEY if key == OLD_EVENT_KEY and EVENT_KEY not in rule else key): value
              for key, value in rule.items()} if isinstance(rule, dict) else rule for rule in data["rules"]]
    return {**data, "rules": rules}


# ---- lifting: every comment line onto the entry it introduces ------------------------------------
#
# After lifting, `ca.items[key][1]` of every block collection holds the lines above that entry
# (blank lines included), and post-value tokens hold only what follows a value on its own line.

def _entries(node: Collection) -> list[Any]:
    return list(node.keys()) if isinstance(node, CommentedMap) else list(range(len(node)))


def _slot(node: Collection, key: Any) -> list[Any]:
    slot = list(node.ca.items.get(key) or [])
    return slot + [None] * (4 - len(slot))


def _is_block(value: Any) -> bool:
    return isinstance(value, (CommentedMap, CommentedSeq)) and len(value) > 0 and not value.fa.flow_style()


def _lift(node: Collection, nested: bool = False) -> Lines:
    """Lift the comment lines inside `node`; returns the lines after its last entry, for its parent to place."""
    post = 2 if isinstance(node, CommentedMap) else 0
    carried: Lines = []
    for index, key in enumerate(_entries(node)):
        slot = _slot(node, key)
        value = node[key]
        above = list(slot[1] or [])
        # The file's own header stays the root's; a nested collection's opening lines belong to its first entry.
        if index == 0 and (nested or isinstance(node, CommentedSeq)) and node.ca.comment:
            above = list(node.ca.comment[1] or []) + above
            node.ca.comment = None
        slot[1] = carried + above
        if _is_block(value):
            first = list(slot[3] or [])
            slot[3] = None
            if first:
                # The lines above a nested collection's first entry: parsed onto this key, they belong to that entry.
                value.ca.comment = [None, first]
            carried = _lift(value, nested=True)
        else:
            slot[post], carried = _split_post(slot[post])
            if isinstance(value, (CommentedMap, CommentedSeq)):
                carried += _lift_flow(value)
        node.ca.items[key] = slot
    # Lines after a block list's last item when that item is a flow collection: they introduce what follows.
    carried += [token for token in node.ca.end or [] if isinstance(token, CommentToken)]
    node.ca.end = []
    return carried


def _lift_flow(node: Collection) -> Lines:
    """A comment after a flow collection may be parsed onto its last entry; it belongs after the collection."""
    entries = _entries(node)
    if not entries:
        return []
    post = 2 if isinstance(node, CommentedMap) else 0
    slot = _slot(node, entries[-1])
    slot[post], lines = _split_post(slot[post])
    node.ca.items[entries[-1]] = slot
    return lines


def _split_post(token: CommentToken | None) -> tuple[CommentToken | None, Lines]:
    """A post-value token is the rest of the value's line and then whole lines; split the two."""
    if token is None:
        return None, []
    same_line, newline, rest = token.value.partition("\n")
    kept = CommentToken(same_line + newline, token.start_mark) if same_line.strip() else None
    return kept, [_line(text) for text in rest.splitlines(keepends=True)]


def _line(text: str) -> CommentToken:
    body = text.lstrip(" ")
    if not body.strip():
        return CommentToken("\n", CommentMark(0))
    return CommentToken(body if body.endswith("\n") else body + "\n", CommentMark(len(text) - len(body)))


# ---- reordering ---------------------------------------------------------------------------------

def _reorder(mapping: CommentedMap, order: tuple[str, ...]) -> None:
    """Known keys in `order`, then any others in their own order."""
    rank = {key: index for index, key in enumerate(order)}
    for key in sorted(mapping, key=lambda key: rank.get(key, len(order))):
        mapping.move_to_end(key)


def _sort_rules(rules: CommentedSeq) -> None:
    order = sorted(range(len(rules)), key=lambda index: _raw_priority(rules[index]))  # stable among equals
    items = [rules[index] for index in order]
    slots = [_slot(rules, index) for index in order]
    comments = rules.ca.comment
    list.__setitem__(rules, slice(None), items)
    rules.ca.items.clear()
    for index, slot in enumerate(slots):
        rules.ca.items[index] = slot
    rules.ca.comment = comments


# ---- placing: comment lines back where ruamel writes them -----------------------------------------

def _place(node: Collection, parent_slot: list[Any] | None) -> None:
    """Write each entry's lifted lines where the emitter expects them."""
    for index, key in enumerate(_entries(node)):
        slot = _slot(node, key)
        value = node[key]
        if _is_block(value):
            _place(value, slot)
        above = list(slot[1] or [])
        if isinstance(node, CommentedSeq):
            above += _first_key_lines(value)
            if index == 0:
                _above_first_item(node, parent_slot, above)
                above = []
        slot[1] = above or None
        node.ca.items[key] = slot


def _first_key_lines(item: Any) -> Lines:
    """Lines above a list item's first key would print between `-` and the key: they go above the item."""
    if not isinstance(item, CommentedMap) or not item:
        return []
    first = next(iter(item))
    slot = _slot(item, first)
    lines, slot[1] = slot[1] or [], None
    item.ca.items[first] = slot
    return lines


def _above_first_item(seq: CommentedSeq, parent_slot: list[Any] | None, lines: Lines) -> None:
    """Above a nested list's first item is where its parent key keeps it; a top-level list keeps it itself."""
    if parent_slot is not None:
        parent_slot[3] = lines or None
        seq.ca.comment = None
    else:
        seq.ca.comment = [None, lines] if lines else None


def _append_trailing(root: CommentedMap, lines: Lines) -> None:
    """Comment lines at the very end of the file stay at the end, after whatever entry is now last."""
    if not lines:
        return
    node: Any = root
    while _is_block(node):
        key = _entries(node)[-1]
        if not _is_block(node[key]):
            post = 2 if isinstance(node, CommentedMap) else 0
            slot = _slot(node, key)
            same_line = slot[post].value if slot[post] is not None else "\n"
            text = same_line + "".join(" " * token.column + token.value if token.value.strip() else "\n"
                                       for token in lines)
            slot[post] = CommentToken(text, CommentMark(0))
            node.ca.items[key] = slot
            return
        node = node[key]


def same_meaning(before: Any, after: Any) -> bool:
    """Whether two readings of a policy say the same thing, rule order apart from ties (what fmt may change)."""
    def canonical(data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("rules"), list):
            return {**data, "rules": sorted(data["rules"], key=_raw_priority)}
        return data

    return bool(canonical(before) == canonical(after))


def _raw_priority(rule: Any) -> int:
    value = rule.get("priority", DEFAULT_PRIORITY) if isinstance(rule, dict) else DEFAULT_PRIORITY
    return value if isinstance(value, int) else DEFAULT_PRIORITY
