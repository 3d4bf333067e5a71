"""A stretch of lines of which only the few the engine must look at are given.

`engine.skim` builds these from raw log bytes; `Engine.feed_sparse` takes one where
`feed_lines` would take every line of the stretch, with the same decisions as a result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SparseBlock:
    """Consecutive lines of one source, seen through a few *points*.

    The points are, in line order, the lines the prefilter says a pattern may match
    (`pairs` names them with the patterns) and the lines whose time jumps by at least
    the shortest `absent: activity` hold over the line before (a silence). Every other
    line of the stretch is one no pattern matches and after which no silence begins.

    `befores[i]` is the time of the line before point `i`, `times[i]` its own; `texts`
    and `line_nos` are those of the point (empty text for a silence that is no candidate).
    `first` is the time of the stretch's first line, `end_before` and `end` those of the
    line before its last one and of its last one. `before(i, n)` gives up to `n` lines
    that precede point `i` inside the stretch (the engine keeps the rest); `tail` is the
    stretch's last lines, as many as the engine keeps for alert context.
    """

    source: str
    lines: int
    first: float
    end_before: float
    end: float
    texts: Sequence[str]
    times: Sequence[float]
    befores: Sequence[float]
    line_nos: Sequence[int]
    pairs: Sequence[tuple[int, int]]
    before: Callable[[int, int], Sequence[str]]
    tail: Sequence[str]
