"""A stretch of lines of which only the few the engine must look at are given.

`engine.logs.skim` builds these from raw log bytes; `Engine.feed_sparse` takes one where
`feed_lines` would take every line of the stretch, with the same decisions as a result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar, overload

from engine.model import LineBlock


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
    stretch's last lines, at least as many as the engine keeps for alert context.
    `every_line()` decodes all the lines and their numbers, for whoever wants them after all.
    `lines` counts the non-empty lines (segments) of the stretch, `newlines` its `\\n`s.
    """

    source: str
    lines: int
    newlines: int
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
    every_line: Callable[[], tuple[list[str], list[int]]]

    def as_lines(self, times: Callable[[int], list[float]]) -> LineBlock:
        """The stretch as a `LineBlock` whose lines are decoded only when first looked at
        (its length is known without): for observers that count lines or read a few.
        `times(n)` gives the times of its `n` lines."""
        every = _Once(self.every_line)
        return LineBlock(
            self.source,
            Lazy(self.lines, lambda: every()[0]),
            Lazy(self.lines, lambda: times(self.lines)),
            Lazy(self.lines, lambda: every()[1]),
        )


T = TypeVar("T")


class _Once(Generic[T]):
    def __init__(self, make: Callable[[], T]) -> None:
        self._make: Callable[[], T] | None = make
        self._value: T | None = None

    def __call__(self) -> T:
        if self._make is not None:
            self._value, self._make = self._make(), None
        return self._value  # type: ignore[return-value]


class Lazy(Sequence[T]):
    """A sequence of known length whose items are made on first access."""

    def __init__(self, length: int, make: Callable[[], Sequence[T]]) -> None:
        self._length = length
        self._items = _Once(make)

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[T]: ...
    def __getitem__(self, index: int | slice) -> T | Sequence[T]:
        return self._items()[index]
