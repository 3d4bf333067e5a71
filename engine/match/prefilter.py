"""Hyperscan as a prefilter for `engine.match.matcher`: which (line, pattern) pairs may match.

A pattern is not handed to hyperscan as written. Python's own parser (`re._parser`)
reads it, and each node becomes hyperscan syntax that matches *at least* what Python's
`re` matches there, so the prefilter never misses a line:

- a one-character node (literal, set, `.`, `\\d \\w \\s` and their negations, under
  `ignore_case` too) becomes an explicit set of code points computed by Python's `re`
  itself, so Unicode tables, case folding (`k` and the Kelvin sign, `s` and `ſ`) and
  `\\s` (which includes `\\x1c`) are Python's, not hyperscan's; a set with a large
  non-ASCII part is widened to all of non-ASCII, which hyperscan compiles far faster;
- lookarounds and `\\b \\B` are dropped, a backreference becomes "any text", atomic
  groups, possessive and lazy repeats become plain ones: each only widens the match;
- `^ \\A` and `$ \\Z` become hyperscan's multi-line anchors: a line of the block starts
  after a newline and ends before one;
- a pattern's end is trimmed to the shortest prefix any match must have (`x\\d+` to
  `x\\d`, `a(?: in b)?` to `a`), so hyperscan reports once per place, not per character.

The lines of a block are joined with newlines and scanned at once; a match is credited
to the line its last byte lies in. The caller confirms each candidate with the Python
regex, so a widened pattern costs time, never a wrong hit. A pattern that translates to
something nullable (it could match the empty string), or that hyperscan rejects even in
prefilter mode, is not covered: the caller runs it on every line.
"""

from __future__ import annotations

import hashlib
import re
import sys
import threading
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import accumulate
from pathlib import Path
from typing import Any

from engine.errors import Untranslatable
from engine.match import cache as hscache
from engine.match.charsets import (
    ASCII,
    NON_ASCII,
    SCANNABLE,
    SET_FLAGS,
    Ranges,
    char_set,
    intersect,
    normalize,
)
from engine.match.matcher import Matcher
from engine.packs.rule import Pattern

try:  # the parser behind `re`; private, so anything unexpected makes a pattern fall back
    from re import _parser as _sre  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse as _sre

_hs: Any
try:
    import hyperscan as _hs
except ImportError:  # pragma: no cover - exercised by forcing `accelerate=False`
    _hs = None

_SMALL_SET = 8  # non-ASCII ranges a set may keep exactly (the rest is widened)
_BUDGET = 100  # unrolled size past which a bounded repeat is widened to an unbounded one
_MAXREPEAT = getattr(_sre, "MAXREPEAT", 2**32 - 1)
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_CHAR_NODES = frozenset({"LITERAL", "NOT_LITERAL", "IN", "ANY"})


def available() -> bool:
    return _hs is not None


# --- translation ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Piece:
    """A translated node: hyperscan text, whether it can match empty, its `tail`, its size.

    The tail is a shorter form for the end of a pattern: it matches a non-empty prefix
    of every match of the node, so the pattern ends (and reports) sooner. The size counts
    the characters the text stands for once its bounded repeats are unrolled.
    """

    text: str
    nullable: bool
    tail: str
    size: int = 0


EMPTY = Piece("", True, "")


def widen(ranges: Ranges) -> Ranges:
    """`ranges` with a large non-ASCII part replaced by all of non-ASCII Unicode.

    Hyperscan compiles sets of hundreds of Unicode ranges (Python's `\\w`, say) into
    large automata, slowly; all of non-ASCII is a few UTF-8 byte patterns. Logs are
    mostly ASCII, so the wider set rarely adds a candidate.
    """
    high = intersect(ranges, NON_ASCII)
    if len(high) <= _SMALL_SET:
        return ranges
    return normalize((*intersect(ranges, ASCII), *NON_ASCII))


def _hs_char(code: int) -> str:
    return chr(code) if code < 0x80 and chr(code).isalnum() else f"\\x{{{code:x}}}"


def class_text(ranges: Ranges) -> str:
    if len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
        return _hs_char(ranges[0][0])
    parts = (_hs_char(lo) if lo == hi else f"{_hs_char(lo)}-{_hs_char(hi)}" for lo, hi in ranges)
    return "[" + "".join(parts) + "]"


def _group(text: str) -> str:
    return f"(?:{text})"


class Translator:
    """Python parse trees to hyperscan text.

    A node translates to None when it cannot match any character that UTF-8 can carry
    (a set of lone surrogates, say), and so neither can a sequence that needs it.
    """

    def __init__(self) -> None:
        self.anything = class_text(SCANNABLE) + "*"
        self._sets: dict[tuple[str, str, int], Piece | None] = {}

    def pattern(self, regex: re.Pattern[str]) -> Piece | None:
        parsed = _sre.parse(regex.pattern, int(regex.flags) & ~re.DEBUG)
        return self.sequence(list(parsed), int(parsed.state.flags))

    def sequence(self, items: Sequence[Any], flags: int) -> Piece | None:
        pieces: list[Piece] = []
        for op, av in items:
            piece = self.node(str(op), av, flags)
            if piece is None:
                return None
            pieces.append(piece)
        return _concat(pieces)

    def node(self, op: str, av: Any, flags: int) -> Piece | None:
        if op in _CHAR_NODES:
            return self.chars(op, av, flags)
        if op in _REPEATS:
            return self.repeat(av[0], av[1], av[2], flags)
        if op == "SUBPATTERN":
            return _wrap(self.sequence(av[3], (flags | av[1]) & ~av[2]))
        if op == "BRANCH":
            return self.branch([self.sequence(alt, flags) for alt in av[1]])
        if op == "GROUPREF_EXISTS":
            no = self.sequence(av[2], flags) if av[2] is not None else EMPTY
            return self.branch([self.sequence(av[1], flags), no])
        if op == "ATOMIC_GROUP":
            return _wrap(self.sequence(av, flags))
        if op == "AT":
            return self.anchor(str(av))
        if op in ("ASSERT", "ASSERT_NOT"):
            return EMPTY
        if op == "GROUPREF":
            return Piece(self.anything, True, "", 1)
        raise Untranslatable(op)

    def chars(self, op: str, av: Any, flags: int) -> Piece | None:
        key = (op, str(av), flags & (SET_FLAGS | re.DOTALL))
        if key not in self._sets:
            ranges = widen(intersect(char_set(op, av, flags), SCANNABLE))
            text = class_text(ranges) if ranges else ""
            self._sets[key] = Piece(text, False, text, 1) if ranges else None
        return self._sets[key]

    def repeat(self, low: int, high: int, item: Any, flags: int) -> Piece | None:
        inner = self.sequence(item, flags)
        if inner is None or high == 0:
            return None if low > 0 else EMPTY
        if not inner.text:
            return EMPTY
        body, copies = _group(inner.text), max(low if high >= _MAXREPEAT else high, 1)
        if inner.size * copies > _BUDGET:  # hyperscan would take minutes over it: X+ or X*
            low, high, copies = min(low, 1), _MAXREPEAT, 1
        size = inner.size * copies
        if low == 0 and high >= _MAXREPEAT:
            return Piece(body + "*", True, "", size)
        bound = f"{{{low},}}" if high >= _MAXREPEAT else f"{{{low},{high}}}"
        text = body + ("+" if bound == "{1,}" else "?" if bound == "{0,1}" else bound)
        if low == 0:
            return Piece(text, True, "", size)
        tail = (f"{body}{{{low - 1}}}" if low > 1 else "") + _group(inner.tail)
        return Piece(text, inner.nullable, tail, size)

    def branch(self, alternatives: Sequence[Piece | None]) -> Piece | None:
        alts = [a for a in alternatives if a is not None]
        if not alts:
            return None
        nullable, size = any(a.nullable for a in alts), sum(a.size for a in alts)
        texts = [a.text for a in alts if a.text]
        if not texts:
            return EMPTY
        text = _group("|".join(texts)) + ("?" if len(texts) < len(alts) else "")
        if nullable:
            return Piece(text, True, "", size)
        return Piece(text, False, _group("|".join(a.tail for a in alts)), size)

    def anchor(self, at: str) -> Piece:
        if at in ("AT_BEGINNING", "AT_BEGINNING_STRING"):
            return Piece("^", True, "")
        if at in ("AT_END", "AT_END_STRING"):
            return Piece("$", True, "")
        if at in ("AT_BOUNDARY", "AT_NON_BOUNDARY"):  # hyperscan's word characters differ
            return EMPTY
        raise Untranslatable(at)


def _wrap(piece: Piece | None) -> Piece | None:
    if piece is None or not piece.text:
        return piece
    return Piece(_group(piece.text), piece.nullable, _group(piece.tail), piece.size)


def _concat(pieces: Sequence[Piece]) -> Piece:
    text, size = "".join(p.text for p in pieces), sum(p.size for p in pieces)
    if all(p.nullable for p in pieces):
        return Piece(text, True, "", size)
    end = len(pieces)  # drop what may follow the last piece that must match something
    while pieces[end - 1].nullable:
        end -= 1
    head = "".join(p.text for p in pieces[: end - 1])
    return Piece(text, False, head + pieces[end - 1].tail, size)


# --- the database --------------------------------------------------------------------------

Expression = tuple[int, str, int]
"""A pattern's index, its hyperscan text and the flags it needs beyond the database's."""

_BASE_FLAGS = (_hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_UTF8) if _hs is not None else 0


def _compile(expressions: Sequence[Expression]) -> Any:
    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    db.compile(
        expressions=[text.encode() for _, text, _ in expressions],
        ids=[k for k, _, _ in expressions],
        elements=len(expressions),
        flags=[_BASE_FLAGS | extra for _, _, extra in expressions],
    )
    return db


def _compiles(text: str, extra: int) -> bool:
    try:
        _compile([(0, text, extra)])
    except _hs.error:
        return False
    return True


def _diagnose(expressions: Sequence[Expression]) -> tuple[list[Expression], set[int]]:
    """Each expression as it compiles alone (in prefilter mode if need be); those that don't."""
    usable, rejected = [], set()
    for k, text, _ in expressions:
        if _compiles(text, 0):
            usable.append((k, text, 0))
        elif _compiles(text, _hs.HS_FLAG_PREFILTER):
            usable.append((k, text, _hs.HS_FLAG_PREFILTER))
        else:
            rejected.add(k)
    return usable, rejected


def _cached(expressions: Sequence[Expression], cache: Path | None) -> tuple[Any, bool]:
    """`_compile`, through the on-disk cache of compiled databases (`engine.match.cache`)."""
    return hscache.database(
        _hs, cache, _hs.HS_MODE_BLOCK, expressions, _BASE_FLAGS, lambda: _compile(expressions)
    )


Built = tuple[Any, tuple[Expression, ...], set[int], bool]
"""A database, the expressions it holds, the patterns left out, whether it came from disk."""


def _build(expressions: list[Expression], cache: Path | None = None) -> Built:
    """The database of `expressions`, those it holds, and the patterns it had to leave out."""
    if not expressions:
        return None, (), set(), False
    try:
        return _with(expressions, set(), cache)
    except _hs.error:  # some expression is too much for hyperscan: find which
        usable, bad = _diagnose(expressions)
    try:
        return _with(usable, bad, cache) if usable else (None, (), bad, False)
    except _hs.error:  # each compiles alone but not all together: Python it is
        return None, (), {k for k, _, _ in expressions}, False


def _with(expressions: list[Expression], bad: set[int], cache: Path | None) -> Built:
    db, loaded = _cached(expressions, cache)
    return db, tuple(expressions), bad, loaded


def _translate(regexes: Sequence[re.Pattern[str]]) -> tuple[list[Expression], set[int]]:
    """The expressions of the patterns that translate to something non-nullable, and the
    patterns that do not (a pattern that cannot match UTF-8 text needs neither)."""
    translator = Translator()
    out, rejected = [], set()
    for k, regex in enumerate(regexes):
        try:
            piece = translator.pattern(regex)
        except Exception:  # the private parser's tree held a surprise: leave it to Python
            rejected.add(k)
            continue
        if piece is not None and piece.nullable:
            rejected.add(k)
        elif piece is not None:
            out.append((k, piece.tail, 0))
    return out, rejected


@cache
def _translator_version() -> str:
    """What a translation depends on besides the patterns: this module and Python's `re`."""
    source = Path(__file__).read_bytes()
    return hashlib.sha256(source).hexdigest()[:16] + " " + sys.version


def _translations(
    regexes: Sequence[re.Pattern[str]], cache: Path | None
) -> tuple[list[Expression], set[int]]:
    """`_translate`, kept in the cache directory (see `engine.match.cache.remembered`)."""
    parts = ["translate", _translator_version(), [(r.pattern, int(r.flags)) for r in regexes]]

    def make() -> list[Any]:
        expressions, rejected = _translate(regexes)
        return [expressions, sorted(rejected)]

    expressions, rejected = hscache.remembered(cache, parts, make)
    return [(int(k), str(text), int(extra)) for k, text, extra in expressions], set(rejected)


class Prefilter:
    """Candidate (line, pattern) pairs for a block of lines, from one hyperscan scan.

    `fallback` lists the patterns it does not cover: the caller runs those on every line.
    """

    def __init__(self, regexes: Sequence[re.Pattern[str]], cache: Path | None = None) -> None:
        self.stride = max(len(regexes), 1)
        expressions, rejected = _translations(regexes, cache)
        self._db, self.expressions, bad, self.from_cache = _build(expressions, cache)
        self.fallback = tuple(sorted(rejected | bad))
        self._lock = threading.Lock()  # the database has one scratch space

    def candidates(self, texts: Sequence[str]) -> list[tuple[int, int]] | None:
        """(line, pattern) pairs in that order, or None when the block is not valid UTF-8
        (a lone surrogate from a `surrogateescape` decoding)."""
        if not texts:
            return []
        try:
            buf = "\n".join(texts).encode("utf-8")
        except UnicodeEncodeError:
            return None
        if self._db is None:
            return []
        keys, newlines = self._scan(buf)
        if newlines != len(texts) - 1:  # a line holds a newline itself: count bytes instead
            keys = self._scan_by_length(buf, texts)
        return [divmod(key, self.stride) for key in sorted(keys)]

    def _scan(self, buf: bytes) -> tuple[set[int], int]:
        """`line * stride + pattern` keys, a line being what lies between newlines, and the
        number of newlines. Matches come in order of their end, so counting the newlines
        before each is one pass over the buffer in all."""
        found: set[int] = set()
        add, count, stride = found.add, buf.count, self.stride
        pos = line = 0

        def on_match(pattern: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            nonlocal pos, line
            if end - 1 < pos:  # out of order after all: count from the start
                pos = line = 0
            line += count(b"\n", pos, end - 1)
            pos = end - 1
            add(line * stride + pattern)

        with self._lock:
            self._db.scan(buf, match_event_handler=on_match)
        return found, line + count(b"\n", pos)

    def _scan_by_length(self, buf: bytes, texts: Sequence[str]) -> set[int]:
        starts = list(accumulate((len(t.encode("utf-8")) + 1 for t in texts), initial=0))
        found: set[int] = set()
        add, stride = found.add, self.stride

        def on_match(pattern: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            add((bisect_right(starts, end - 1) - 1) * stride + pattern)

        with self._lock:
            self._db.scan(buf, match_event_handler=on_match)
        return found

    def line_starts(self, flat: bytes) -> list[tuple[int, int]]:
        """(offset of the line's first byte, pattern) of the lines of `flat` that a pattern
        may match, in that order. `flat` must be valid UTF-8 (see `valid_utf8`); its lines
        are what lies between newlines, empty ones included."""
        if self._db is None:
            return []
        found: set[int] = set()
        add, rfind, stride = found.add, flat.rfind, self.stride
        pos = start = 0  # the last match's last byte, and where its line starts

        def on_match(pattern: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
            nonlocal pos, start
            last = end - 1
            if last >= pos:  # matches come in order of their end: look back to `pos` only
                newline = rfind(b"\n", pos, last)
                if newline >= 0:
                    start = newline + 1
            else:
                start = rfind(b"\n", 0, last) + 1
            pos = last
            add(start * stride + pattern)

        with self._lock:
            self._db.scan(flat, match_event_handler=on_match)
        return [divmod(key, stride) for key in sorted(found)]


@lru_cache(maxsize=16)
def prefilter(regexes: tuple[re.Pattern[str], ...], cache: Path | None) -> Prefilter:
    """The prefilter of these regexes, shared by the matchers that use them (a compiled
    regex equals another of the same pattern and flags); compiled once per machine when
    `cache` is a directory (see `engine.match.cache`)."""
    return Prefilter(regexes, cache)


def accelerated(patterns: Sequence[Pattern], cache: Path | None) -> Matcher:
    """A matcher of `patterns` with the hyperscan prefilter, or without one where hyperscan
    is not installed: the same hits either way. `cache` keeps compiled databases (the
    caller's choice, usually `engine.match.cache.default_dir()`; None keeps none)."""
    regexes = tuple(p.regex for p in patterns)
    found = prefilter(regexes, cache) if regexes and available() else None
    return Matcher(patterns, found)


# --- UTF-8 validity ------------------------------------------------------------------------

# A line of well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points past
# U+10FFFF) up to its first ill-formed sequence: what Python's strict decoder rejects.
_WELL_FORMED = (
    rb"(?:[\x00-\x09\x0b-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]"
    rb"|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]"
    rb"|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2})"
)
_ILL_FORMED = (
    rb"(?:[\x80-\xc1\xf5-\xff]|[\xc2-\xdf][^\x80-\xbf]"
    rb"|\xe0(?:[^\xa0-\xbf]|[\xa0-\xbf][^\x80-\xbf])"
    rb"|[\xe1-\xec\xee\xef](?:[^\x80-\xbf]|[\x80-\xbf][^\x80-\xbf])"
    rb"|\xed(?:[^\x80-\x9f]|[\x80-\x9f][^\x80-\xbf])"
    rb"|\xf0(?:[^\x90-\xbf]|[\x90-\xbf][^\x80-\xbf]|[\x90-\xbf][\x80-\xbf][^\x80-\xbf])"
    rb"|[\xf1-\xf3](?:[^\x80-\xbf]|[\x80-\xbf][^\x80-\xbf]|[\x80-\xbf]{2}[^\x80-\xbf])"
    rb"|\xf4(?:[^\x80-\x8f]|[\x80-\x8f][^\x80-\xbf]|[\x80-\x8f][\x80-\xbf][^\x80-\xbf]))"
)
_UTF8_LOCK = threading.Lock()


@cache
def _ill_formed_db() -> Any:
    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    flags = _hs.HS_FLAG_MULTILINE | _hs.HS_FLAG_SINGLEMATCH
    db.compile(expressions=[b"^" + _WELL_FORMED + b"*" + _ILL_FORMED], ids=[0], flags=[flags])
    return db


@cache
def _blank_db() -> Any:
    db = _hs.Database(mode=_hs.HS_MODE_BLOCK)
    db.compile(expressions=[b"\n\n"], ids=[0], flags=[0])
    return db


def newline_pairs(data: bytes) -> int:
    """How many newlines are directly followed by another (runs overlap: three make two),
    counted by hyperscan, which finds them much faster than `bytes.count` does."""
    if _hs is None:
        return sum(len(run) - 1 for run in re.findall(rb"\n+", data))
    found = [0]

    def on_match(_id: int, _start: int, _end: int, _flags: int, _ctx: object) -> None:
        found[0] += 1

    with _UTF8_LOCK:
        _blank_db().scan(data, match_event_handler=on_match)
    return found[0]


def valid_utf8(data: bytes) -> bool:
    """Whether `data` decodes as UTF-8 without a replacement (hyperscan scans it at memory
    speed; Python's decoder is the judge where hyperscan is missing)."""
    if data.isascii():
        return True
    if _hs is None or data[-1] >= 0x80:  # an ill-formed end has no byte after it to show it
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return False
        return True
    found: list[int] = []

    def on_match(_id: int, _start: int, end: int, _flags: int, _ctx: object) -> None:
        found.append(end)

    with _UTF8_LOCK:
        _ill_formed_db().scan(data, match_event_handler=on_match)
    return not found
