"""A rule's pattern as the `regex` module runs it, matching exactly what Python's `re` matches.

Matching runs in the `regex` module: unlike `re`, it honours a time budget and lets other
threads run while it searches (see `engine.match.matcher`). Its syntax is `re`'s, but some
meanings differ at the edges: which characters `\\d`, `\\s` and `\\w` take (`re`'s `\\s`
has `\\x1c`), how `ignore_case` folds (`re` folds `ı` and `İ` to `i`), `\\B` in an empty
line. So the pattern is not handed over as written: `re`'s own parser reads it, and it is
written out again node by node with every character node as an explicit set of code
points computed by `re` itself (`engine.match.charsets`), `^ $` with the multi-line mode
that holds where they stand, and `\\b \\B` spelt out with lookarounds over `re`'s word
characters. Groups keep their numbers and names, so matches have the same groups.

A pattern whose parse tree holds a node this does not know is `Untranslatable`: it is run
by `re` itself (no budget; lint warns of such shapes).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

import regex

from engine.errors import Untranslatable
from engine.match.charsets import Ranges, all_chars, char_set, complement, intersect

try:  # the parser behind `re`; private, so anything unexpected means Untranslatable
    from re import _parser as _sre  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre

_MAXREPEAT = getattr(_sre, "MAXREPEAT", 2**32 - 1)
_CHARS = frozenset({"LITERAL", "NOT_LITERAL", "IN", "ANY"})
_ANY = r"[\s\S]"
_WORD = [("IN", [("CATEGORY", _sre.CATEGORY_WORD)])]


def exact(pattern: re.Pattern[str]) -> regex.Pattern[str]:
    """`pattern` for the `regex` module, with `re`'s meaning (see the module's doc)."""
    tree = _sre.parse(pattern.pattern, pattern.flags)
    names = {number: name for name, number in pattern.groupindex.items()}
    source = _Writer(names).sequence(list(tree), pattern.flags)
    return regex.compile(source, regex.VERSION0)


# Classes of the `regex` module near `re`'s big ones (`\w`, `\d`, `\s` and their
# complements): a set is written as one of these with the few code points where they differ
# (the two modules' Unicode versions differ, and `re`'s `\s` has `\x1c`-`\x1f`), since the
# `regex` module takes long to read a class of hundreds of ranges.
_NEAR = (r"[\p{L}\p{N}_]", r"[^\p{L}\p{N}_]", r"\p{Nd}", r"\P{Nd}", r"\s", r"\S")
_SHORT = 8  # a set of this many ranges or fewer is written out as it is


@cache
def regex_set(source: str) -> Ranges:
    """The code points that the one-character `source` matches in the `regex` module."""
    found = regex.finditer(f"(?:{source})+", all_chars(), regex.VERSION0)
    return tuple((m.start(), m.end() - 1) for m in found)


def _minus(a: Ranges, b: Ranges) -> Ranges:
    return intersect(a, complement(b))


def _code(code: int) -> str:
    char = chr(code)
    if char.isalnum():  # as it is: the `regex` module reads an escape slowly
        return char
    return f"\\x{code:02x}" if code < 0x100 else f"\\U{code:08x}"


def _ranges(ranges: Ranges) -> str:
    parts = (_code(lo) if lo == hi else f"{_code(lo)}-{_code(hi)}" for lo, hi in ranges)
    return "[" + "".join(parts) + "]"


@lru_cache(maxsize=1024)
def _class(ranges: Ranges) -> str:
    """A `regex` expression of one character among `ranges`."""
    if not ranges:
        return "(?!)"
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _code(ranges[0][0])
    if len(ranges) <= _SHORT:
        return _ranges(ranges)
    best, best_cost = _ranges(ranges), len(ranges)
    for near in _NEAR:
        theirs = regex_set(near)
        extra, missing = _minus(theirs, ranges), _minus(ranges, theirs)
        if len(extra) + len(missing) < best_cost:
            best_cost = len(extra) + len(missing)
            body = f"(?!{_ranges(extra)}){near}" if extra else near
            best = f"(?:{body}|{_ranges(missing)})" if missing else f"(?:{body})"
    return best


class _Writer:
    def __init__(self, names: dict[int, str]) -> None:
        self.names = names

    def sequence(self, items: list[Any], flags: int) -> str:
        return "".join(self.node(str(op), av, flags) for op, av in items)

    def node(self, op: str, av: Any, flags: int) -> str:
        if op in _CHARS:
            return _class(char_set(op, av, flags))
        if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, body = av
            bound = f"{{{low},}}" if high == _MAXREPEAT else f"{{{low},{high}}}"
            mode = {"MAX_REPEAT": "", "MIN_REPEAT": "?", "POSSESSIVE_REPEAT": "+"}[op]
            return f"(?:{self.sequence(list(body), flags)}){bound}{mode}"
        if op == "SUBPATTERN":
            group, add, remove, body = av
            inner = self.sequence(list(body), (flags | add) & ~remove)
            if group is None:
                return f"(?:{inner})"
            name = self.names.get(group)
            return f"(?P<{name}>{inner})" if name else f"({inner})"
        if op == "BRANCH":
            return "(?:" + "|".join(self.sequence(list(b), flags) for b in av[1]) + ")"
        if op in ("ASSERT", "ASSERT_NOT"):
            direction, body = av
            kind = {
                ("ASSERT", 1): "?=",
                ("ASSERT", -1): "?<=",
                ("ASSERT_NOT", 1): "?!",
                ("ASSERT_NOT", -1): "?<!",
            }[(op, direction)]
            return f"({kind}{self.sequence(list(body), flags)})"
        if op == "ATOMIC_GROUP":
            return f"(?>{self.sequence(list(av), flags)})"
        if op == "AT":
            return self.at(str(av), flags)
        if op == "GROUPREF":
            fold = "i" if flags & re.IGNORECASE else "-i"
            return f"(?{fold}:\\g<{av}>)"
        if op == "GROUPREF_EXISTS":
            group, yes, no = av
            no_text = "" if no is None else "|" + self.sequence(list(no), flags)
            return f"(?({group}){self.sequence(list(yes), flags)}{no_text})"
        raise Untranslatable(op)

    def at(self, where: str, flags: int) -> str:
        lines = "m" if flags & re.MULTILINE else "-m"
        if where == "AT_BEGINNING":
            return f"(?{lines}:^)"
        if where == "AT_END":
            return f"(?{lines}:$)"
        if where == "AT_BEGINNING_STRING":
            return r"\A"
        if where == "AT_END_STRING":
            return r"\Z"
        word = self.sequence(_WORD, flags)
        if where == "AT_BOUNDARY":
            return f"(?:(?<={word})(?!{word})|(?<!{word})(?={word}))"
        if where == "AT_NON_BOUNDARY":  # as re: never in an empty string
            nonempty = f"(?:(?<={_ANY})|(?={_ANY}))"
            return f"(?:(?<={word})(?={word})|(?<!{word})(?!{word}){nonempty})"
        raise Untranslatable(where)
