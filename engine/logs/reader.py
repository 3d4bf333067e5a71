"""A saved log read in blocks and timed line by line: the straightforward reader.

`Reader` splits every line of a `LogFile` and times it from the stamps
(`engine.logs.timestamps`): the reference that replay's fast path (`engine.logs.skim.Skim`,
another `LogFile`) is held to, and what replay uses for several files at once. Lines wait
in `Held` until the clock can time them (leading lines before the first stamp).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from engine.logs.lines import Splitter
from engine.logs.logfile import BLOCK_BYTES, Progress, open_log, read_block
from engine.logs.timestamps import LogClock
from engine.model import LineBlock


@dataclass
class LogFile:
    """A log file (or `-`, stdin) read in blocks of bytes: what both readers share."""

    name: str
    year: int
    progress: Progress | None = None
    block_bytes: int = BLOCK_BYTES
    splitter: Splitter = field(default_factory=Splitter)
    read_bytes: int = 0
    timed: bool = False

    def chunks(self) -> Iterator[bytes]:
        """The file's bytes in blocks of `block_bytes`, the progress told after each."""
        with open_log(self.name) as stream:
            while chunk := read_block(stream, self.block_bytes, self.name):
                self.read_bytes += len(chunk)
                yield chunk
                if self.progress:
                    self.progress(self.read_bytes)



@dataclass
class Reader(LogFile):
    """One log file as a sequence of timed line blocks."""

    def blocks(self) -> Iterator[LineBlock]:
        clock = LogClock(self.year)
        held = Held(self.name, clock)
        for chunk in self.chunks():
            yield from held.add(*self.splitter.feed(chunk))
        yield from held.add(*self.splitter.flush())
        yield from held.flush()
        self.timed = clock.timed


@dataclass
class Held:
    """Lines on the straightforward path wait here until the clock can time them."""

    source: str
    clock: LogClock
    texts: list[str] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)

    def add(self, texts: list[str], numbers: list[int]) -> Iterator[LineBlock]:
        self.texts += texts
        self.numbers += numbers
        yield from self._timed(self.clock.push(texts))

    def flush(self) -> Iterator[LineBlock]:
        yield from self._timed(self.clock.flush())

    def _timed(self, times: list[float]) -> Iterator[LineBlock]:
        if times:
            n = len(times)
            yield LineBlock(self.source, self.texts[:n], times, self.numbers[:n])
            del self.texts[:n], self.numbers[:n]
