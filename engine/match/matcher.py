r"""The multi-pattern matcher: a block of lines in, `(line index, pattern index, match)` out.

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

Every search runs in the `regex` module, on the pattern as Python's `re` reads it
(`engine.match.exact`), with a time budget (`budget`, seconds per line): Python's `re` holds the
interpreter while it backtracks, so one bad pattern on one long line (`(a+)+$`,
`(\d+) ?of ?(\d+)` on 64 KiB of digits: seconds to minutes) would stop every thread of
`run`, the one that passes the training's output through included; the `regex` module
lets them run meanwhile and gives up at the budget.

The budget is the search's own time. The `regex` module's limit counts the process's CPU
time, every thread's, so on a busy machine a search of a short line can run out of it
while its thread waits for a core and `run`'s other threads (the pump, the senders) run.
A search that ran out of it with less than `OWN_SHARE` of the budget spent by its own
thread is tried again, its limit stretched by the share the other threads took, up to
`ATTEMPTS` tries in all (a slow pattern's first overrun is not measured, so it costs two
budgets). A search that still runs over counts as no match for that line, and
`take_overruns` tells the caller which pattern, on which line; a pattern that does so
`SUSPEND_AFTER` times is suspended (never tried again).

This module loads nothing native: the core builds the plain matcher from it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import regex

from engine.match.exact import exact
from engine.packs.rule import Pattern, source_matches

Indexed = tuple[tuple[int, re.Pattern[str]], ...]
Match = re.Match[str] | regex.Match[str]
BUDGET_S = 0.1  # the most one search of one line may take
SUSPEND_AFTER = 3  # searches over the budget before a pattern is suspended
OWN_SHARE = 0.5  # a search whose thread spent less than this share of the budget ran out of it
# through other threads' time, not its own: it is tried again
ATTEMPTS = 8  # tries of one search in all, while its own time stays below that share
MAX_STRETCH = 10.0  # the most a try's limit is stretched for the time other threads take


class Hit(NamedTuple):
    line: int
    pattern: int
    match: Match


@dataclass(frozen=True)
class Overrun:
    """A search of pattern `pattern` on line `line` (of the call's lines) that ran over the
    budget; `suspended`: it was the one that suspended the pattern."""

    pattern: int
    line: int
    text: str
    suspended: bool


def _order(hit: Hit) -> tuple[int, int]:
    return hit.line, hit.pattern


def naive_scan(texts: Sequence[str], patterns: Indexed) -> list[Hit]:
    """Every (index, regex) of `patterns` tried on every line, in hit order."""
    hits: list[Hit] = []
    for k, pattern in patterns:
        search = pattern.search
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


Search = Callable[..., Match | None]
"""`search(text, timeout=seconds)`: a match or None; TimeoutError past the budget."""


def _plain(pattern: re.Pattern[str]) -> Search:
    def search(text: str, timeout: float | None = None) -> Match | None:
        return pattern.search(text)

    return search


class _Active(NamedTuple):
    """The patterns a source's lines are seen by: all of them, and the fallback ones."""

    seen: frozenset[int]
    every: tuple[int, ...]
    slow: tuple[int, ...]


class Matcher:
    """The hits of `patterns` on blocks of lines; `prefilter`, when given, was built for
    the same patterns' regexes, in the same order. `budget`: seconds a search of one line
    may take (see the module's doc)."""

    def __init__(
        self,
        patterns: Sequence[Pattern],
        prefilter: Prefilter | None = None,
        budget: float = BUDGET_S,
    ) -> None:
        self.patterns = tuple(patterns)
        self._searches: list[Search | None] = [None] * len(self.patterns)
        self._prefilter = prefilter if self.patterns else None
        self._by_source: dict[str, _Active] = {}
        self.budget = budget
        self.suspended: set[int] = set()
        self._overran: dict[int, int] = {}
        self._overruns: list[Overrun] = []

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
                k for k, p in enumerate(self.patterns) if source_matches(p.stream, source)
            )
            seen = frozenset(every)
            slow = tuple(k for k in self.fallback if k in seen)
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
        seen, search = self._for(source).seen, self._search
        return [Hit(i, k, m) for i, k in pairs if k in seen and (m := search(k, i, texts[i]))]

    def scan(self, texts: Sequence[str], source: str) -> list[Hit]:
        active = self._for(source)
        candidates = self._prefilter.candidates(texts) if self._prefilter else None
        if candidates is None:
            return self._every(texts, active.every)
        seen, search = active.seen, self._search
        hits = [
            Hit(i, k, m) for i, k in candidates if k in seen and (m := search(k, i, texts[i]))
        ]
        if active.slow:
            hits.extend(self._every(texts, active.slow))
            hits.sort(key=_order)
        return hits

    def _compile(self, k: int) -> Search:
        """Pattern `k` for the `regex` module (`engine.match.exact`), made at its first
        search; one it cannot take runs in `re`, without a budget."""
        pattern = self.patterns[k].regex
        try:
            search: Search = exact(pattern).search
        except Exception:  # Untranslatable, or a form the regex module refuses
            search = _plain(pattern)
        self._searches[k] = search
        return search

    def warm(self) -> None:
        """Make every pattern's search now (any thread): the first search of a pattern
        otherwise makes it then, a few milliseconds each, and the first of all builds the
        character tables (a third of a second), when a flood may be under way."""
        for k, search in enumerate(self._searches):
            if search is None:
                self._compile(k)

    def take_overruns(self) -> list[Overrun]:
        """The searches over the budget since the last call (line numbers are those of the
        call they happened in: read this after each `scan` or `confirm`)."""
        overruns, self._overruns = self._overruns, []
        return overruns

    def _every(self, texts: Sequence[str], patterns: Sequence[int]) -> list[Hit]:
        """Each of `patterns` tried on every line, in hit order."""
        search = self._search
        hits = [
            Hit(i, k, m)
            for k in patterns
            for i, text in enumerate(texts)
            if (m := search(k, i, text))
        ]
        hits.sort(key=_order)
        return hits

    def _search(self, k: int, line: int, text: str) -> Match | None:
        if k in self.suspended:
            return None
        search = self._searches[k] or self._compile(k)
        try:
            return search(text, timeout=self.budget)
        except TimeoutError:
            pass
        try:
            return self._again(search, text)
        except TimeoutError:  # over the budget (or a machine too busy to tell): no match
            count = self._overran[k] = self._overran.get(k, 0) + 1
            if count >= SUSPEND_AFTER:
                self.suspended.add(k)
            self._overruns.append(Overrun(k, line, text, count >= SUSPEND_AFTER))
            return None

    def _again(self, search: Search, text: str) -> Match | None:
        """A search that ran out of the budget, tried again with its own time measured (only
        here: reading a thread's clock costs as much as a short search), each time with the
        limit stretched by how much of the process's time went to other threads in the try
        before; TimeoutError once a try spent `OWN_SHARE` of the budget itself, or after
        `ATTEMPTS` tries in all."""
        limit = self.budget
        for _ in range(ATTEMPTS - 1):
            own, spent = time.thread_time(), time.process_time()
            try:
                return search(text, timeout=limit)
            except TimeoutError:
                own, spent = time.thread_time() - own, time.process_time() - spent
            if own >= self.budget * OWN_SHARE:
                break  # the pattern's own cost
            limit = self.budget * min(MAX_STRETCH, spent / max(own, 1e-6))
        raise TimeoutError
