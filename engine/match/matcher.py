"""The multi-pattern matcher: a block of lines in, `(line index, pattern index, match)` out.

Replay and the live pipeline both call `Matcher.scan`; how it finds the hits may change
underneath without touching callers. Hits come out ordered by line, then by pattern
index, and are exactly those of trying every pattern's Python regex on every line
(`naive_scan`, which is what a matcher without a prefilter does).

A matcher built by `engine.match.prefilter.accelerated` has a hyperscan prefilter: one
scan of the whole block names the few (line, pattern) pairs that may match, and only
those are tried with the Python regex, which then gives the match and its groups. The
patterns the prefilter does not cover, and blocks it cannot scan, take the pure-Python
path. Replay's fast path (`engine.logs.skim`) asks the prefilter for `candidates` in raw
bytes instead and has only those lines `confirm`ed.

This module loads nothing native: the core builds the plain matcher from it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from engine.packs.rule import Pattern, source_matches

Indexed = tuple[tuple[int, re.Pattern[str]], ...]


class Hit(NamedTuple):
    line: int
    pattern: int
    match: re.Match[str]


def _order(hit: Hit) -> tuple[int, int]:
    return hit.line, hit.pattern


def naive_scan(texts: Sequence[str], patterns: Indexed) -> list[Hit]:
    """Every (index, regex) of `patterns` tried on every line, in hit order."""
    hits: list[Hit] = []
    for k, regex in patterns:
        search = regex.search
        hits.extend(Hit(i, k, m) for i, text in enumerate(texts) if (m := search(text)))
    hits.sort(key=_order)
    return hits


class Prefilter(Protocol):
    """What the matcher asks of a prefilter (`engine.match.prefilter.Prefilter`)."""

    @property
    def fallback(self) -> tuple[int, ...]:
        """The patterns it does not cover: tried on every line."""
        ...

    def candidates(self, texts: Sequence[str]) -> list[tuple[int, int]] | None:
        """(line, pattern) pairs that may match, in that order (None: cannot scan these)."""
        ...

    def line_starts(self, flat: bytes) -> list[tuple[int, int]]:
        """(offset of a line's first byte, pattern) pairs that may match, in that order."""
        ...


class _Active(NamedTuple):
    """The patterns a source's lines are seen by: all of them, and the fallback ones."""

    seen: frozenset[int]
    every: Indexed
    slow: Indexed


class Matcher:
    """The hits of `patterns` on blocks of lines; `prefilter`, when given, was built for
    the same patterns' regexes, in the same order."""

    def __init__(self, patterns: Sequence[Pattern], prefilter: Prefilter | None = None) -> None:
        self.patterns = tuple(patterns)
        self._regexes = tuple(p.regex for p in self.patterns)
        self._prefilter = prefilter if self.patterns else None
        self._by_source: dict[str, _Active] = {}

    @property
    def accelerated(self) -> bool:
        return self._prefilter is not None

    @property
    def fallback(self) -> tuple[int, ...]:
        """The patterns tried on every line (all of them without acceleration)."""
        if self._prefilter is None:
            return tuple(range(len(self.patterns)))
        return self._prefilter.fallback

    def _for(self, source: str) -> _Active:
        active = self._by_source.get(source)
        if active is None:
            every = tuple(
                (k, p.regex)
                for k, p in enumerate(self.patterns)
                if source_matches(p.stream, source)
            )
            seen = frozenset(k for k, _ in every)
            slow = tuple((k, self._regexes[k]) for k in self.fallback if k in seen)
            active = self._by_source[source] = _Active(seen, every, slow)
        return active

    def covers(self, source: str) -> bool:
        """Whether the prefilter names every line a pattern seeing `source` may match, so
        that the other lines need not be looked at (`candidates`, then `confirm`)."""
        return self._prefilter is not None and not self._for(source).slow

    def candidates(self, flat: bytes) -> list[tuple[int, int]] | None:
        """(offset of the line's first byte, pattern) of the lines of `flat` a pattern may
        match, in that order; `flat` is valid UTF-8 whose lines end with `\\n`. None
        without the prefilter."""
        return self._prefilter.line_starts(flat) if self._prefilter else None

    def confirm(
        self, texts: Sequence[str], pairs: Sequence[tuple[int, int]], source: str
    ) -> list[Hit]:
        """The hits among (line, pattern) `pairs` (ordered so) that `candidates` named."""
        regexes, seen = self._regexes, self._for(source).seen
        return [Hit(i, k, m) for i, k in pairs if k in seen and (m := regexes[k].search(texts[i]))]

    def scan(self, texts: Sequence[str], source: str) -> list[Hit]:
        active = self._for(source)
        candidates = self._prefilter.candidates(texts) if self._prefilter else None
        if candidates is None:
            return naive_scan(texts, active.every)
        regexes, seen = self._regexes, active.seen
        hits = [
            Hit(i, k, m) for i, k in candidates if k in seen and (m := regexes[k].search(texts[i]))
        ]
        if active.slow:
            hits.extend(naive_scan(texts, active.slow))
            hits.sort(key=_order)
        return hits
