"""The multi-pattern matcher: a block of lines in, `(line index, pattern index, match)` out.

Replay and the live sources both call `Matcher.scan`; how it finds the hits
(one regex at a time here) may change underneath without touching callers.
Hits come out ordered by line, then by pattern index.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import NamedTuple

from engine.rule import Pattern, source_matches


class Hit(NamedTuple):
    line: int
    pattern: int
    match: re.Match[str]


class Matcher:
    def __init__(self, patterns: Sequence[Pattern]) -> None:
        self.patterns = tuple(patterns)
        self._by_source: dict[str, tuple[tuple[int, re.Pattern[str]], ...]] = {}

    def _for(self, source: str) -> tuple[tuple[int, re.Pattern[str]], ...]:
        active = self._by_source.get(source)
        if active is None:
            active = tuple(
                (k, p.regex)
                for k, p in enumerate(self.patterns)
                if source_matches(p.stream, source)
            )
            self._by_source[source] = active
        return active

    def scan(self, texts: Sequence[str], source: str) -> list[Hit]:
        hits: list[Hit] = []
        for k, regex in self._for(source):
            search = regex.search
            hits.extend(Hit(i, k, m) for i, text in enumerate(texts) if (m := search(text)))
        hits.sort(key=lambda h: (h.line, h.pattern))
        return hits
