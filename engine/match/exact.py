"""A rule's pattern as the `regex` module runs it, matching exactly what Python's `re` matches.

Matching runs in the `regex` module: unlike `re`, it honours a time budget and lets other
threads run while it searches (see `engine.match.matcher`). Its syntax is `re`'s, but some
meanings differ at the edges: which characters `\\d`, `\\s` and `\\w` take (`re`'s `\\s`
has `\\x1c`; the two modules know different Unicode versions), how `ignore_case` folds
(`re` folds `ı` and `İ` to `i`), `\\B` in an empty line. So the pattern is not handed over
as written: `re`'s own parser reads it, and it is written out again node by node, every
character node as the set of code points `re` itself matches (`engine.match.charsets`),
`^ $` with the multi-line mode that holds where they stand, and `\\b \\B` as look-arounds
over `re`'s word characters (one look-around where a neighbour is known to be a word
character or not). Groups keep their numbers and names, so matches have the same groups.

Written so exactly, some patterns search several times slower than the `regex` module's
own reading; `Exact` keeps a second, fast writing for the lines without any of the rare
characters on which the two differ (see there).

A pattern whose parse tree holds a node this does not know is `Untranslatable`: it is run
by `re` itself (no budget; lint warns of such shapes).
"""

from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import Any

import regex

from engine.errors import Untranslatable
from engine.match.charsets import (
    ASCII,
    SET_FLAGS,
    Ranges,
    all_chars,
    char_set,
    complement,
    intersect,
    normalize,
)

try:  # the parser behind `re`; private, so anything unexpected means Untranslatable
    from re import _parser as _sre  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre

_MAXREPEAT = getattr(_sre, "MAXREPEAT", 2**32 - 1)
_CHARS = frozenset({"LITERAL", "NOT_LITERAL", "IN", "ANY"})
_ANY = r"[\s\S]"
_WORD = [("IN", [("CATEGORY", _sre.CATEGORY_WORD)])]
_BOUNDARIES = frozenset({"AT_BOUNDARY", "AT_NON_BOUNDARY"})


class Exact:
    """`pattern` as the `regex` module runs it, with `re`'s meaning: `search` as `re`'s.

    Two writings of it: `full` spells out every set that differs from the `regex` module's
    own anywhere, which makes some searches several times slower; `fast` uses the `regex`
    module's own classes, folding and `\\b` where they differ only on rare characters
    (letters and digits newer than this Python's Unicode, `\\x1c`-`\\x1f`, `İ` and `ı` under
    `ignore_case`, ...), collected in `differ`. A line holding none of those is searched
    with `fast`, any other with `full` (made the first time one comes)."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self._tree = list(_sre.parse(pattern.pattern, pattern.flags))
        self._names = {number: name for name, number in pattern.groupindex.items()}
        writer = _Writer(self._names, fast=True)
        self.fast = regex.compile(writer.sequence(self._tree, pattern.flags), regex.VERSION0)
        self.differ = normalize(pair for ranges in writer.differ for pair in ranges)
        self._guard: frozenset[str] | None = _chars(self.differ) if self.differ else None
        self._full: regex.Pattern[str] | None = None

    @property
    def full(self) -> regex.Pattern[str]:
        if self._full is None:
            source = _Writer(self._names, fast=False).sequence(self._tree, self.pattern.flags)
            self._full = regex.compile(source, regex.VERSION0)
        return self._full

    def search(self, text: str, timeout: float | None = None) -> regex.Match[str] | None:
        """The first match in `text`, as `pattern.search`; TimeoutError after `timeout`."""
        guard = self._guard
        if guard is None or text.isascii() or guard.isdisjoint(text):
            return self.fast.search(text, timeout=timeout)
        return self.full.search(text, timeout=timeout)


@lru_cache(maxsize=64)
def _chars(ranges: Ranges) -> frozenset[str]:
    """The characters of `ranges` (a few thousand at most here): a set tells whether a line
    holds one of them ten times faster than a regex of the ranges."""
    return frozenset(chr(code) for lo, hi in ranges for code in range(lo, hi + 1))


def exact(pattern: re.Pattern[str]) -> Exact:
    """`pattern` for the `regex` module, with `re`'s meaning (see the module's doc);
    `Untranslatable` (or the `regex` module's error) when it cannot be written so."""
    return Exact(pattern)


# Classes of the `regex` module near `re`'s big ones (`\w`, `\d`, `\s` and their
# complements), as the inside of a set and whether it is negated: a big set is written as
# one of these with the few code points where they differ (the two modules' Unicode
# versions differ, and `re`'s `\s` has `\x1c`-`\x1f`), since the `regex` module takes long
# to read a set of hundreds of ranges.
_NEAR = (
    (r"\p{L}\p{N}_", False),
    (r"\p{L}\p{N}_", True),
    (r"\p{Nd}", False),
    (r"\p{Nd}", True),
    (r"\s", False),
    (r"\s", True),
)
_SHORT = 8  # a set of this many ranges or fewer is written out as it is
_ATOM = re.compile(
    r"\\x[0-9a-f]{2}|\\U[0-9a-f]{8}|\w|\[(?:[^\]\\]|\\.)*\]|\\[sSdDwW]|\\[pP]\{\w+\}"
)  # what a repeat takes without a group around it (which would make it slower)


@cache
def regex_set(source: str) -> Ranges:
    """The code points that the one-character `source` matches in the `regex` module."""
    found = regex.finditer(f"(?:{source})+", all_chars(), regex.VERSION0)
    return tuple((m.start(), m.end() - 1) for m in found)


def _minus(a: Ranges, b: Ranges) -> Ranges:
    return intersect(a, complement(b))


def _either(a: Ranges, b: Ranges) -> Ranges:
    return normalize((*a, *b))


def _code(code: int) -> str:
    char = chr(code)
    if char.isalnum():  # as it is: the `regex` module reads an escape slowly
        return char
    return f"\\x{code:02x}" if code < 0x100 else f"\\U{code:08x}"


def _inside(ranges: Ranges) -> str:
    return "".join(_code(lo) if lo == hi else f"{_code(lo)}-{_code(hi)}" for lo, hi in ranges)


def _ranges(ranges: Ranges) -> str:
    return f"[{_inside(ranges)}]"


@lru_cache(maxsize=4096)
def _folds(code: int, flags: int) -> Ranges:
    """Where the literal `code` under `ignore_case` matches other characters in `re` than
    in the `regex` module written `(?i:c)` (which does not relate `ı` or `İ` to `i`)."""
    ours, theirs = char_set("LITERAL", code, flags), regex_set(f"(?i:{_code(code)})")
    return _either(_minus(ours, theirs), _minus(theirs, ours))


def _edge(items: list[Any], flags: int, last: bool) -> Ranges | None:
    """The characters the one node of `items` can start (or with `last`, end) with, when it
    takes at least one; None when that is not known or it may take none."""
    if len(items) != 1:
        return None
    op, av = str(items[0][0]), items[0][1]
    if op in _CHARS:
        return char_set(op, av, flags & SET_FLAGS)
    if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") and av[0] >= 1:
        body = list(av[2])
        return _edge(body[-1:] if last else body[:1], flags, last)
    if op == "SUBPATTERN":
        inner = (flags | av[1]) & ~av[2]
        body = list(av[3])
        return _edge(body[-1:] if last else body[:1], inner, last)
    if op == "BRANCH":
        sides = [_edge(list(b)[-1:] if last else list(b)[:1], flags, last) for b in av[1]]
        if any(side is None for side in sides):
            return None
        return normalize(pair for side in sides if side for pair in side)
    return None


def _literals(run: list[str], flags: int) -> str:
    text = "".join(run)
    return f"(?i:{text})" if flags & re.IGNORECASE else text


@lru_cache(maxsize=1024)
def _class(ranges: Ranges, fast: bool) -> tuple[str, Ranges]:
    """A `regex` expression of one character among `ranges`, and (`fast`) the characters
    it differs on, none of them ASCII."""
    if not ranges:
        return "(?!)", ()
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _code(ranges[0][0]), ()
    if len(ranges) <= _SHORT:
        return _ranges(ranges), ()
    best, best_cost = _ranges(ranges), len(ranges)
    quick: tuple[str, Ranges] | None = None
    for inner, negated in _NEAR:
        near = f"[^{inner}]" if negated else f"[{inner}]"
        theirs = regex_set(near)
        extra, missing = _minus(theirs, ranges), _minus(ranges, theirs)
        if fast:
            merged = not negated and len(missing) <= _SHORT
            differ = extra if merged else _either(extra, missing)
            if not intersect(differ, ASCII) and (quick is None or len(differ) < len(quick[1])):
                quick = (f"[{inner}{_inside(missing)}]" if merged else near), differ
        if len(extra) + len(missing) < best_cost:
            best_cost = len(extra) + len(missing)
            body = f"(?!{_ranges(extra)}){near}" if extra else near
            best = f"(?:{body}|{_ranges(missing)})" if missing else f"(?:{body})"
    return quick or (best, ())


class _Writer:
    def __init__(self, names: dict[int, str], fast: bool) -> None:
        self.names = names
        self.fast = fast
        self.differ: list[Ranges] = []  # where the `fast` writing is not `re`'s

    def chars(self, ranges: Ranges) -> str:
        text, differ = _class(ranges, self.fast)
        if differ:
            self.differ.append(differ)
        return text

    def literal(self, code: int, flags: int) -> bool:
        """Whether `code` can be written as itself (under `ignore_case`, in `(?i:...)`): as
        text, which the `regex` module searches much faster than a run of sets."""
        if not flags & re.IGNORECASE:
            return True
        differ = _folds(code, flags & SET_FLAGS)
        if not differ:
            return True
        if self.fast and not intersect(differ, ASCII):
            self.differ.append(differ)
            return True
        return False

    def sequence(self, items: list[Any], flags: int) -> str:
        out: list[str] = []
        run: list[str] = []  # literal characters written as text
        for i, (op, av) in enumerate(items):
            if str(op) == "LITERAL" and self.literal(av, flags):
                run.append(_code(av))
                continue
            if run:
                out.append(_literals(run, flags))
                run = []
            if str(op) == "AT" and str(av) in _BOUNDARIES:
                prev = _edge(items[i - 1 : i], flags, last=True)
                after = _edge(items[i + 1 : i + 2], flags, last=False)
                out.append(self.boundary(str(av) == "AT_BOUNDARY", prev, after, flags))
                continue
            out.append(self.node(str(op), av, flags))
        if run:
            out.append(_literals(run, flags))
        return "".join(out)

    def node(self, op: str, av: Any, flags: int) -> str:
        if op in _CHARS:
            return self.chars(char_set(op, av, flags))
        if op in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, body = av
            bound = {(0, 1): "?", (0, _MAXREPEAT): "*", (1, _MAXREPEAT): "+"}.get((low, high))
            if bound is None:
                bound = f"{{{low},}}" if high == _MAXREPEAT else f"{{{low},{high}}}"
            mode = {"MAX_REPEAT": "", "MIN_REPEAT": "?", "POSSESSIVE_REPEAT": "+"}[op]
            inner = self.sequence(list(body), flags)
            atom = inner if _ATOM.fullmatch(inner) else f"(?:{inner})"
            return f"{atom}{bound}{mode}"
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
        raise Untranslatable(where)

    def boundary(self, at: bool, prev: Ranges | None, after: Ranges | None, flags: int) -> str:
        """`\\b` (`at`) or `\\B` between nodes that take characters of `prev` and of `after`
        (None: not known). Where one side is known to be a word character or not, one
        look-around says it: much faster to search than the whole form, which tests both
        sides at every position of the line."""
        word_set = char_set(*_WORD[0], flags & SET_FLAGS)
        word = self.chars(word_set)
        for side, ahead in ((after, True), (prev, False)):
            if side is None:
                continue
            is_word = _minus(side, word_set) == ()
            if not is_word and intersect(side, word_set):
                continue  # word characters and others: not known
            other_is_word = is_word != at  # \b: the other side differs; \B: the same
            look = (
                ("?<=" if other_is_word else "?<!") if ahead else ("?=" if other_is_word else "?!")
            )
            return f"({look}{word})"
        if at:
            return f"(?:(?<={word})(?!{word})|(?<!{word})(?={word}))"
        nonempty = f"(?:(?<={_ANY})|(?={_ANY}))"  # as re: \B never matches an empty string
        return f"(?:(?<={word})(?={word})|(?<!{word})(?!{word}){nonempty})"
