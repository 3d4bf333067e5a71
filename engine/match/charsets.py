"""Sets of code points, exactly as Python's `re` decides them, for one-character nodes.

`char_set(op, av, flags)` is what a node of `re`'s parse tree (a literal, a set, `.`, a
class like `\\d`) matches under `flags`, as sorted inclusive ranges: computed by running
`re` itself over every code point, so Unicode tables and case folding are Python's. The
hyperscan translation (`engine.match.prefilter`) and the matcher's exact engine
(`engine.match.exact`) both build on it. Pure: no I/O; results are memoised per process.
"""

from __future__ import annotations

import re
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from functools import cache, lru_cache
from typing import Any

from engine.errors import Untranslatable

Ranges = tuple[tuple[int, int], ...]
"""Sorted, disjoint, inclusive code point ranges."""

MAX_CODE = 0x10FFFF
ASCII: Ranges = ((0, 0x7F),)
# Surrogates cannot occur in strictly encoded UTF-8, so no hyperscan set contains them.
SCANNABLE: Ranges = ((0, 0xD7FF), (0xE000, MAX_CODE))
NON_ASCII: Ranges = ((0x80, 0xD7FF), (0xE000, MAX_CODE))
_CATEGORIES = {
    "CATEGORY_DIGIT": r"\d",
    "CATEGORY_NOT_DIGIT": r"\D",
    "CATEGORY_SPACE": r"\s",
    "CATEGORY_NOT_SPACE": r"\S",
    "CATEGORY_WORD": r"\w",
    "CATEGORY_NOT_WORD": r"\W",
}
SET_FLAGS = re.IGNORECASE | re.ASCII  # what decides which characters a set matches


def normalize(pairs: Iterable[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(pairs):
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return tuple(out)


def complement(ranges: Ranges) -> Ranges:
    out, at = [], 0
    for lo, hi in ranges:
        if lo > at:
            out.append((at, lo - 1))
        at = hi + 1
    if at <= MAX_CODE:
        out.append((at, MAX_CODE))
    return tuple(out)


def intersect(a: Ranges, b: Ranges) -> Ranges:
    out = []
    for lo, hi in a:
        j = max(bisect_right(b, (lo, MAX_CODE + 1)) - 1, 0)  # the last range of b from <= lo
        while j < len(b) and b[j][0] <= hi:
            if b[j][1] >= lo:
                out.append((max(lo, b[j][0]), min(hi, b[j][1])))
            j += 1
    return tuple(out)


def runs(codes: Iterable[int]) -> Ranges:
    return normalize((c, c) for c in codes)


@cache
def all_chars() -> str:
    """Every code point, in order: a run of matches over it is a range of code points."""
    return array("I", range(MAX_CODE + 1)).tobytes().decode("utf-32-le", "surrogatepass")


@cache
def python_set(source: str, flags: int) -> Ranges:
    """The code points that the one-character regex `source` matches, by Python's `re`."""
    found = re.finditer(f"(?:{source})+", all_chars(), flags)
    return tuple((m.start(), m.end() - 1) for m in found)


@cache
def cased() -> str:
    """The characters that have another case: the only ones `ignore_case` can widen to."""
    chars, out = all_chars(), list[str]()
    for at in range(0, len(chars), 256):  # most blocks of code points have no case at all
        chunk = chars[at : at + 256]
        if chunk.lower() != chunk or chunk.upper() != chunk:
            out.extend(c for c in chunk if c.lower() != c or c.upper() != c)
    return "".join(out)


@cache
def _uncased() -> Ranges:
    return complement(runs(map(ord, cased())))


@lru_cache(maxsize=4096)
def _cased_matches(source: str, flags: int) -> Ranges:
    return runs(ord(m.group()) for m in re.finditer(source, cased(), flags))


def _char(code: int) -> str:
    return f"\\U{code:08x}"


def _item_source(op: str, av: Any) -> str:
    if op == "LITERAL":
        return _char(av)
    if op == "RANGE":
        return f"{_char(av[0])}-{_char(av[1])}"
    if op == "CATEGORY" and str(av) in _CATEGORIES:
        return _CATEGORIES[str(av)]
    raise Untranslatable(f"set item {op}")


def _item_set(op: str, av: Any, flags: int) -> Ranges:
    if op == "LITERAL":
        return ((av, av),)
    if op == "RANGE":
        return ((av[0], av[1]),)
    return python_set(_item_source(op, av), flags & re.ASCII)


def _in_parts(items: Any) -> tuple[bool, list[tuple[str, Any]]]:
    pairs = [(str(op), av) for op, av in items]
    negate = bool(pairs) and pairs[0][0] == "NEGATE"
    return negate, pairs[1:] if negate else pairs


def _case_sensitive_set(op: str, av: Any, flags: int) -> Ranges:
    if op == "LITERAL":
        return ((av, av),)
    if op == "NOT_LITERAL":
        return complement(((av, av),))
    if op == "ANY":
        return ((0, MAX_CODE),) if flags & re.DOTALL else complement(((10, 10),))
    negate, items = _in_parts(av)
    union = normalize(r for op2, av2 in items for r in _item_set(op2, av2, flags))
    return complement(union) if negate else union


def _node_source(op: str, av: Any) -> str:
    if op == "LITERAL":
        return _char(av)
    if op == "NOT_LITERAL":
        return f"[^{_char(av)}]"
    negate, items = _in_parts(av)
    return "[" + "^" * negate + "".join(_item_source(o, a) for o, a in items) + "]"


def char_set(op: str, av: Any, flags: int) -> Ranges:
    """Exactly the characters a one-character node matches under `flags`, as Python decides.

    Under `ignore_case` only characters that have another case can differ from the
    case-sensitive set; those few are asked of Python's `re` one by one.
    """
    flags &= SET_FLAGS | re.DOTALL
    exact = _case_sensitive_set(op, av, flags)
    if op == "ANY" or not flags & re.IGNORECASE:
        return exact
    widened = _cased_matches(_node_source(op, av), flags & SET_FLAGS)
    return normalize((*intersect(exact, _uncased()), *widened))
