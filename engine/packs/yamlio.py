"""Strict YAML with line numbers.

`parse(text, path)` turns a document into plain dicts, lists and scalars, and
remembers the line of every mapping, sequence, key and item so that later
stages can point at the exact place. Duplicate keys, non-string keys, tags,
anchors and aliases, several documents, empty documents and nesting deeper
than MAX_DEPTH are errors; PyYAML's own errors become messages with a fix.

Documents are read with libyaml (yaml.CSafeLoader, the faster scanner) when PyYAML was built
with it and the text has none of the places where it reads differently from PyYAML's own
scanner (engine.packs.yamlloaders). Whenever that read finds any problem, or libyaml is missing,
the document is read again with the pure-Python loader and its problems are the ones
reported: users see the same messages on the same lines whichever loader is installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.errors import ConfigError, Problem
from engine.packs.yamlloaders import FAST, PURE, Loader, Watch, fast_may_differ
from engine.packs.yamlsyntax import syntax_problem

JsonPath = tuple[str | int, ...]
MAX_DEPTH = 100
MAX_FILE_BYTES = 2 * 2**20  # a YAML file of ours; PyYAML reads about 1 MB a second
_STANDARD = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset({"str", "int", "float", "bool", "null"})
_TYPED = {
    "int": ("a whole number", "3"),
    "float": ("a number", "1.5"),
    "bool": ("true or false", "true"),
}
_IMPLICIT = {"timestamp": "a date", **{k: v[0] for k, v in _TYPED.items()}}


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


def owner(data: Any, where: JsonPath) -> tuple[str | None, str]:
    """Who `where` belongs to: (the rule id, for Problem.rule; a prefix naming the signal)."""
    if len(where) < 2 or not isinstance(where[1], int) or not isinstance(data, dict):
        return None, ""
    items = data.get(where[0])
    item = items[where[1]] if isinstance(items, list) and where[1] < len(items) else None
    if not isinstance(item, dict):
        return None, ""
    if where[0] == "rules" and isinstance(item.get("id"), str):
        return str(item["id"]), ""
    if where[0] == "signals" and isinstance(item.get("name"), str):
        return None, f"signal '{item['name']}': "
    return None, ""


def _line(mark: Any) -> int:
    return mark.line + 1 if mark is not None else 1


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_STANDARD) :] if tag.startswith(_STANDARD) else tag


def _subject(where: JsonPath) -> str:
    return f"'{where[-1]}'" if where and isinstance(where[-1], str) else "this value"


def _allowed_tags(node: yaml.Node) -> frozenset[str]:
    if isinstance(node, yaml.MappingNode):
        return frozenset({"map"})
    if isinstance(node, yaml.SequenceNode):
        return frozenset({"seq"})
    return _SCALAR_TAGS


def _unreadable(node: yaml.Node, where: JsonPath, exc: Exception, explicit: bool) -> str:
    """Why a scalar cannot be read: a '!!int' tag on a word, or a date that does not exist."""
    value, subject = str(node.value), _subject(where)
    kind = str(node.tag).removeprefix(_STANDARD)
    if explicit and kind in _TYPED:
        what, sample = _TYPED[kind]
        example = f"'{where[-1]}: {sample}'" if subject != "this value" else f"'{sample}'"
        if not value:
            return f"{subject} is '!!{kind}' with no value; write {what}, e.g. {example}"
        return f"{subject} is '!!{kind} {value}', which is not {what}; write e.g. {example}"
    looks = f", which looks like {_IMPLICIT[kind]} but is not one" if kind in _IMPLICIT else ""
    reason = str(exc).splitlines()[0] if type(exc) is ValueError else ""
    why = f" ({reason})" if reason else ""
    return f"{subject} is '{value}'{looks}{why}; put it in quotes to use it as text"


class _Builder:
    """Plain data from a composed node tree; problems are kept with their path."""

    def __init__(self, explicit: dict[int, str]) -> None:
        self.lines: dict[JsonPath, int] = {}
        self.found: list[tuple[JsonPath, int, str]] = []
        self._explicit = explicit  # tags written in the text, by position
        self._scalars = yaml.SafeLoader("")

    def problems(self, path: str, data: Any) -> list[Problem]:
        out = []
        for where, line, message in self.found:
            rule, prefix = owner(data, where)
            out.append(Problem(path, line, prefix + message, rule, code="yaml"))
        return out

    def build(self, node: yaml.Node, where: JsonPath) -> Any:
        self.lines[where] = _line(node.start_mark)
        if not self._tag_ok(node, where):
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, where)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*where, i)) for i, item in enumerate(node.value)]
        return self._scalar(node, where)

    def _tag_ok(self, node: yaml.Node, where: JsonPath) -> bool:
        tag = self._explicit.get(node.start_mark.index)
        if tag is None or tag.removeprefix(_STANDARD) in _allowed_tags(node):
            return True
        message = f"YAML tags ('{_tag_name(tag)}') are not allowed; write the value itself"
        self._add(node, where, message)
        return False

    def _scalar(self, node: yaml.Node, where: JsonPath) -> Any:
        try:
            return self._scalars.construct_object(node, deep=True)
        except Exception as exc:  # PyYAML's constructors raise ValueError, IndexError...
            explicit = node.start_mark.index in self._explicit
            self._add(node, where, _unreadable(node, where, exc, explicit))
            return None

    def _mapping(self, node: yaml.MappingNode, where: JsonPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _STANDARD + "merge":
                self._add(key_node, where, "merge keys ('<<') are not allowed")
                continue
            key = self._key(key_node, where)
            if key is None:
                continue
            key_path: JsonPath = (*where, key)
            if key in out:
                first = self.lines.get(key_path, 0)
                msg = f"duplicate key '{key}' (first at line {first}); keep only one"
                self._add(key_node, where, msg)
                continue
            self.lines[key_path] = _line(key_node.start_mark)
            out[key] = self.build(value_node, key_path)
            self.lines[key_path] = _line(key_node.start_mark)
        return out

    def _key(self, node: yaml.Node, where: JsonPath) -> str | None:
        if not isinstance(node, yaml.ScalarNode):
            shape = "a mapping" if isinstance(node, yaml.MappingNode) else "a list"
            self._add(node, where, f"a key must be a name, not {shape}")
            return None
        if not self._tag_ok(node, where):
            return None
        try:
            key = self._scalars.construct_object(node, deep=True)
        except Exception:  # e.g. a date that does not exist: quoting fixes it too
            key = None
        if not isinstance(key, str):
            text = str(node.value)
            message = f"key '{text}' must be a string (quote it)"
            self._add(node, where, message if text else "a key is missing before ':'")
            return None
        return key

    def _add(self, node: yaml.Node, where: JsonPath, message: str) -> None:
        self.found.append((where, _line(node.start_mark), message))


# --- the text: events first (depth, aliases, tags, documents), then the node tree ------------


@dataclass
class _Scan:
    problems: list[Problem] = field(default_factory=list)
    documents: list[int] = field(default_factory=list)  # the line each document starts on
    explicit: dict[int, str] = field(default_factory=dict)  # position -> tag written there


def _scan(text: str, path: str, loader: Loader) -> _Scan:
    scan = _Scan()
    depth = 0
    watch = Watch(text) if loader is not PURE else None
    for event in yaml.parse(text, Loader=loader):
        if watch is not None:
            watch.see(event)
        line = _line(event.start_mark)
        if isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            depth += 1
            if depth > MAX_DEPTH:
                msg = f"not valid YAML: nested too deeply (more than {MAX_DEPTH} levels)"
                raise ConfigError([Problem(path, line, msg, code="yaml")])
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            msg = "anchors and aliases ('*name') are not allowed"
            scan.problems.append(Problem(path, line, msg, code="yaml"))
        elif isinstance(event, yaml.DocumentStartEvent):
            scan.documents.append(line)
        tag = getattr(event, "tag", None)
        if isinstance(tag, str) and tag != "!" and event.start_mark is not None:
            scan.explicit[event.start_mark.index] = tag
    return scan


def _empty(text: str, path: str) -> ConfigError:
    comments = any(line.strip().startswith("#") for line in text.splitlines())
    message = "the file has nothing but comments" if comments else "the file is empty"
    return ConfigError([Problem(path, 1, message, code="empty")])


def parse(text: str, path: str) -> Located:
    """Parse one YAML document; raise ConfigError with every problem found."""
    if FAST is not None and not fast_may_differ(text):
        try:
            return parse_with(text, path, FAST)
        except Exception:  # a problem, Unsure, or a text libyaml cannot take (a lone surrogate)
            pass  # the reference loader decides, and words and places the problems
    return parse_with(text, path, PURE)


def parse_with(text: str, path: str, loader: Loader) -> Located:
    """`parse` with the given loader and no second opinion; with FAST, also Unsure."""
    try:
        scan = _scan(text, path, loader)
        if scan.problems:
            raise ConfigError(scan.problems)
        if not scan.documents:
            raise _empty(text, path)
        if len(scan.documents) > 1:
            msg = "only one YAML document per file ('---' starts a second one)"
            raise ConfigError([Problem(path, scan.documents[1], msg, code="yaml")])
        node = yaml.compose(text, Loader=loader)
        if node is None:  # a stream with one document always has a node; for mypy
            raise _empty(text, path)
        builder = _Builder(scan.explicit)
        data = builder.build(node, ())
    except yaml.YAMLError as exc:
        raise ConfigError([syntax_problem(exc, text, path)]) from None
    except (RecursionError, MemoryError):  # MAX_DEPTH keeps this from happening
        msg = "not valid YAML: nested too deeply"
        raise ConfigError([Problem(path, 1, msg, code="yaml")]) from None
    if builder.found:
        raise ConfigError(builder.problems(path, data))
    return Located(path, data, builder.lines)


def read(path: Path) -> Located:
    """Read and parse a file; unreadable, too large or non-UTF-8 files become a ConfigError."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError(
            [Problem(str(path), 0, f"cannot read: {exc.strerror}", code="io")]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        msg = (
            f"the file is over {MAX_FILE_BYTES // 2**20} MiB, the most a file of rules, channels "
            "or tests may be; split it into several files"
        )
        raise ConfigError([Problem(str(path), 0, msg, code="limit")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        msg = f"not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise ConfigError([Problem(str(path), line, msg, code="io")]) from None
    return parse(text, str(path))
