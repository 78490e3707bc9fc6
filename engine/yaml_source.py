"""YAML text → plain data, remembering where every value came from so errors can name line and column.

Only YAML's core types are built (`yaml.safe_load`-level safety): tags that would build Python
objects are refused, duplicate keys are errors rather than silently overwritten, and limits on
size, depth and node count stop alias bombs and pathological nesting before they cost memory.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import Issue, PolicyError, file_issue
from .suggestions import Hint

# Where a value sits in a YAML document: the keys and indexes from the root (not a file path).
NodePath = tuple[str | int, ...]


@dataclass(frozen=True)
class YamlLimits:
    max_bytes: int = 1 << 20
    max_depth: int = 64
    max_nodes: int = 200_000


@dataclass
class YamlDocument:
    """The data of one YAML document, plus the position of each value and each mapping key."""

    file: str
    data: Any
    value_marks: dict[NodePath, tuple[int, int]] = field(default_factory=dict)
    key_marks: dict[NodePath, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: NodePath, *, key: bool = False) -> tuple[int, int]:
        """Line and column (1-based) of the value at `path`, or of the nearest enclosing value known."""
        marks = self.key_marks if key else self.value_marks
        probe = tuple(path)
        while probe:
            if probe in marks:
                return marks[probe]
            if not key and probe in self.key_marks:
                return self.key_marks[probe]
            probe = probe[:-1]
        return self.value_marks.get((), (1, 1))

    def issue(self, path: NodePath, message: str, *, key: bool = False, suggestion: str | None = None) -> Issue:
        line, column = self.position(path, key=key)
        return file_issue(self.file, line, column, message, suggestion)



@dataclass
class Findings:
    """The problems found in one document, each placed at the line and column of the value concerned:
    every check of a policy or test file adds to one, and all are reported at once."""

    document: YamlDocument
    issues: list[Issue] = field(default_factory=list)

    def error(self, path: NodePath, message: str, *, key: bool = False, hint: Hint = Hint()) -> None:
        self.issues.append(self.document.issue(path, message, key=key, suggestion=hint.suggestion))

_COLLECTION_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_SCALAR_AS_STRING = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:binary"}


class _Builder:
    def __init__(self, file: str, limits: YamlLimits) -> None:
        self.document = YamlDocument(file, None)
        self.limits = limits
        self.nodes = 0
        self.issues: list[Issue] = []
        self._scalars = yaml.SafeLoader("")

    def _mark(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def _fail(self, node: yaml.Node, message: str) -> None:
        line, column = self._mark(node)
        self.issues.append(file_issue(self.document.file, line, column, message))

    def build(self, node: yaml.Node, path: NodePath, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > self.limits.max_nodes:
            raise _TooBig(node, f"document has more than {self.limits.max_nodes} values (alias expansion counts)")
        if depth > self.limits.max_depth:
            raise _TooBig(node, f"document is nested deeper than {self.limits.max_depth} levels")
        self.document.value_marks.setdefault(path, self._mark(node))
        if not isinstance(node, yaml.ScalarNode) and node.tag not in _COLLECTION_TAGS:
            self._fail(node, f"tag `{node.tag}` is not allowed; only plain YAML values are")
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (index,), depth + 1) for index, item in enumerate(node.value)]
        return self._scalar(node)

    def _mapping(self, node: yaml.MappingNode, path: NodePath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                self._fail(key_node, "mapping keys must be plain scalars")
                continue
            # Keys are names, never YAML 1.1 booleans: `on:` must stay "on", not True.
            key = key_node.value
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._fail(key_node, "merge keys (`<<`) are not supported; write the keys out")
                continue
            if key in result:
                first_line, _ = self.document.key_marks[path + (key,)]
                self._fail(key_node, f"duplicate key `{key}` (first defined on line {first_line})")
                continue
            self.document.key_marks[path + (key,)] = self._mark(key_node)
            result[key] = self.build(value_node, path + (key,), depth + 1)
        return result

    def _scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag in _SCALAR_AS_STRING:
            return node.value
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError:
            self._fail(node, f"tag `{node.tag}` is not allowed; only plain YAML values are")
            return None


# libyaml's C parser when PyYAML was built with it: PyYAML's pure-Python scanner was most of the
# time of a reload. Its C composer is not used: it recurses and crashes on deeply nested input.
# libyaml has limits and wording of its own that differ between releases (0.2.5 refuses flow
# nesting past 1,000 while scanning ahead), so a file it refuses is parsed again by the pure-Python
# parser, which has none: every error is then found by Fenliu's limits or told in one wording.
_FAST_PARSER = getattr(yaml, "CSafeLoader", None)
_CAREFUL_PARSER = yaml.SafeLoader
_RESOLVER = yaml.resolver.Resolver()


class _TooDeep(Exception):
    def __init__(self, mark: yaml.Mark) -> None:
        self.mark = mark


def _compose(text: str, max_depth: int) -> yaml.Node | None:
    """`yaml.compose` for one document, iterative, refusing nesting deeper than `max_depth`."""
    if _FAST_PARSER is not None:
        try:
            return _compose_events(yaml.parse(text, Loader=_FAST_PARSER), max_depth)
        except yaml.YAMLError:
            pass
    return _compose_events(yaml.parse(text, Loader=_CAREFUL_PARSER), max_depth)


def _compose_events(events: Iterator[yaml.Event], max_depth: int) -> yaml.Node | None:
    anchors: dict[str, yaml.Node] = {}
    open_nodes: list[yaml.Node] = []
    root: yaml.Node | None = None
    documents = 0
    for event in events:
        if isinstance(event, yaml.DocumentStartEvent):
            documents += 1
            if documents > 1:
                raise yaml.composer.ComposerError(None, None, "a policy file holds a single document, "
                                                  "but another starts here", event.start_mark)
            continue
        if isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            node = open_nodes.pop()
            node.end_mark = event.end_mark
            continue
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in anchors:
                raise yaml.composer.ComposerError(None, None, f"found undefined alias {event.anchor}", event.start_mark)
            node = anchors[event.anchor]
        elif isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)):
            node = _new_node(event)
            if event.anchor is not None:
                if event.anchor in anchors:
                    raise yaml.composer.ComposerError(None, None, f"duplicate anchor &{event.anchor}",
                                                      event.start_mark)
                anchors[event.anchor] = node
        else:
            continue  # the stream's and the document's other boundaries
        _attach(open_nodes, node)
        if root is None:
            root = node
        if isinstance(node, yaml.CollectionNode) and not isinstance(event, yaml.AliasEvent):
            if len(open_nodes) >= max_depth:
                raise _TooDeep(event.start_mark)
            open_nodes.append(node)
    return root


def _new_node(event: yaml.ScalarEvent | yaml.CollectionStartEvent) -> yaml.Node:
    tag = event.tag
    if isinstance(event, yaml.ScalarEvent):
        if tag is None or tag == "!":
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)
        return yaml.ScalarNode(tag, event.value, event.start_mark, event.end_mark, style=event.style)
    kind = yaml.SequenceNode if isinstance(event, yaml.SequenceStartEvent) else yaml.MappingNode
    if tag is None or tag == "!":
        tag = _RESOLVER.resolve(kind, None, event.implicit)
    return kind(tag, [], event.start_mark, None, flow_style=event.flow_style)


def _attach(open_nodes: list[yaml.Node], node: yaml.Node) -> None:
    """Adds `node` to the collection being built: a sequence item, or half of a mapping pair."""
    if not open_nodes:
        return
    parent = open_nodes[-1]
    if isinstance(parent, yaml.SequenceNode):
        parent.value.append(node)
    elif parent.value and len(parent.value[-1]) == 1:
        parent.value[-1] = (parent.value[-1][0], node)
    else:
        parent.value.append((node,))


class _TooBig(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        self.node = node
        self.message = message


def parse_yaml(text: str | bytes, file: str, limits: YamlLimits = YamlLimits()) -> YamlDocument:
    """Parse one YAML document; raise PolicyError listing every syntax or structure problem found."""
    size = len(text.encode("utf-8") if isinstance(text, str) else text)
    if size > limits.max_bytes:
        raise PolicyError([file_issue(file, 1, 1, f"file is {size} bytes, over the limit of {limits.max_bytes}")])
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PolicyError([file_issue(file, 1, 1, f"file is not valid UTF-8 (byte {error.start})")]) from None
    if "\x00" in text:
        raise PolicyError([file_issue(file, 1, 1, "file contains NUL bytes: it is binary, not YAML")])
    try:
        root = _compose(text, limits.max_depth)
    except _TooDeep as error:
        raise PolicyError([file_issue(file, error.mark.line + 1, error.mark.column + 1,
                                       f"document is nested deeper than {limits.max_depth} levels")]) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise PolicyError([file_issue(file, line, column, f"YAML syntax: {error.problem or error}")]) from None
    except yaml.YAMLError as error:
        raise PolicyError([file_issue(file, 1, 1, f"YAML: {error}")]) from None
    builder = _Builder(file, limits)
    if root is None:
        raise PolicyError([file_issue(file, 1, 1, "file is empty")])
    try:
        builder.document.data = builder.build(root, (), 0)
    except _TooBig as error:
        line, column = error.node.start_mark.line + 1, error.node.start_mark.column + 1
        raise PolicyError([file_issue(file, line, column, error.message)]) from None
    if builder.issues:
        raise PolicyError(builder.issues)
    return builder.document
