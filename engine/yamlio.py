"""Strict YAML with line numbers.

`parse(text, path)` turns a document into plain dicts, lists and scalars, and
remembers the line of every mapping, sequence, key and item so that later
stages can point at the exact place. Duplicate keys, non-string keys, anchors
and aliases, several documents and empty documents are errors.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError, Problem

JsonPath = tuple[str | int, ...]


@dataclass
class Located:
    """A parsed document and the 1-based line of every path inside it."""

    path: str
    data: Any
    lines: dict[JsonPath, int] = field(default_factory=dict)

    def line_of(self, where: JsonPath) -> int:
        """The line of `where`, or of its nearest ancestor that has one."""
        for cut in range(len(where), -1, -1):
            line = self.lines.get(where[:cut])
            if line is not None:
                return line
        return 1


class _Builder:
    def __init__(self, path: str) -> None:
        self.path = path
        self.lines: dict[JsonPath, int] = {}
        self.problems: list[Problem] = []
        self._scalars = yaml.SafeLoader("")

    def build(self, node: yaml.Node, where: JsonPath) -> Any:
        self.lines[where] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, where)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*where, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, where)

    def _scalar(self, node: yaml.Node, where: JsonPath) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except yaml.YAMLError as exc:
            self.problems.append(self._problem(node, f"unreadable value: {exc}"))
            return None

    def _mapping(self, node: yaml.MappingNode, where: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(self._problem(key_node, "merge keys ('<<') are not allowed"))
                continue
            key = self._scalar(key_node, where)
            if not isinstance(key, str):
                text = getattr(key_node, "value", key)
                msg = f"key {text!r} must be a string (quote it)"
                self.problems.append(self._problem(key_node, msg))
                continue
            key_path: JsonPath = (*where, key)
            if key in out:
                first = self.lines.get(key_path, 0)
                msg = f"duplicate key '{key}' (first at line {first}); keep only one"
                self.problems.append(self._problem(key_node, msg))
                continue
            self.lines[key_path] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, key_path)
            self.lines[key_path] = key_node.start_mark.line + 1
        return out

    def _problem(self, node: yaml.Node, message: str) -> Problem:
        return Problem(self.path, node.start_mark.line + 1, message, code="yaml")


def _reject_aliases(text: str, path: str) -> Iterator[Problem]:
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else 1
            yield Problem(path, line, "anchors and aliases ('*name') are not allowed", code="yaml")


def parse(text: str, path: str) -> Located:
    """Parse one YAML document; raise ConfigError with every problem found."""
    try:
        problems = list(_reject_aliases(text, path))
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ConfigError(
            [Problem(path, line, f"not valid YAML: {exc.problem}", code="yaml")]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(path, 1, f"not valid YAML: {exc}", code="yaml")]) from None
    if problems:
        raise ConfigError(problems)
    if len(nodes) != 1:
        if not nodes:
            raise ConfigError([Problem(path, 1, "the file is empty", code="empty")])
        line = nodes[1].start_mark.line + 1
        msg = "only one YAML document per file ('---' starts a second one)"
        raise ConfigError([Problem(path, line, msg, code="yaml")])
    builder = _Builder(path)
    data = builder.build(nodes[0], ())
    if builder.problems:
        raise ConfigError(builder.problems)
    return Located(path, data, builder.lines)


def read(path: Path) -> Located:
    """Read and parse a file; unreadable or non-UTF-8 files become a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [Problem(str(path), 1, f"not UTF-8 text: {exc.reason}", code="io")]
        ) from None
    except OSError as exc:
        raise ConfigError(
            [Problem(str(path), 0, f"cannot read: {exc.strerror}", code="io")]
        ) from None
    return parse(text, str(path))
