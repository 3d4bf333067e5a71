"""Replay's fast path: a log read in raw blocks, only the lines that matter decoded.

A block of whole lines (about 1 MiB, cut where `Splitter` cuts) is ANSI-stripped as bytes
and scanned once by hyperscan for the lines a pattern may match (`Matcher.candidates`); the
clock reads the stamps in the raw bytes (`LogClock.times_at`); only the candidates are
decoded, and the engine gets them with their times and the silences as a `SparseBlock`.
The alert context (the lines before a match) is decoded when a match asks for it.

A block the fast path cannot take as it is goes the straightforward way, decoded, split and
timed line by line, with the same results: a block that is not valid UTF-8 (the decoder
would put replacement characters in), holds a line over the cap or a terminal title escape
(which can span lines), comes while leading untimed lines are held, or whose source a
pattern sees that hyperscan does not cover. Until the first timestamp, the straightforward
way takes the log a few kilobytes at a time, so that the rest of the first block can go fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from engine.core.sparse import SparseBlock
from engine.logs.lines import Splitter, strip_ansi_bytes
from engine.logs.reader import Held, LogFile
from engine.logs.timestamps import BULK_BYTES, LogClock, Point, bulk_reader
from engine.match import prefilter as hsmatch
from engine.match.matcher import Matcher
from engine.model import LineBlock

_TITLE = re.compile(rb"\x1b\]")  # a terminal title escape (a regex: `in` is slower here)
LEAD_BYTES = 8192  # until the clock has a first stamp, lines go the straightforward way
_LINE_GUESS = 160  # bytes per line to decode at first when looking back for context


def segments(flat: bytes) -> int:
    """How many non-empty lines `flat` (ending with a newline) holds, without splitting it:
    each ends at a newline that follows something else."""
    return flat.count(b"\n") - hsmatch.newline_pairs(flat) - flat.startswith(b"\n")


def lines_before(flat: bytes, start: int, n: int) -> list[str]:
    """Up to `n` non-empty lines of `flat` that end before offset `start` (a line start),
    decoding a window of a few lines' bytes and widening it until it holds enough."""
    stop = start - 1  # the newline that ends the line before
    if n <= 0 or stop <= 0:
        return []
    width = _LINE_GUESS * n
    while True:
        low = max(0, stop - width)
        if low:
            newline = flat.find(b"\n", low, stop)
            if newline < 0:  # the window is inside the line before: widen it
                width *= 4
                continue
            low = newline + 1  # whole lines only
        lines = [line for line in flat[low:stop].decode("utf-8").split("\n") if line]
        if len(lines) >= n or low == 0:
            return lines[-n:]
        width *= 4


@dataclass(frozen=True)
class Lookout:
    """What the fast path needs to know of the rules: the matcher (and its prefilter), the
    shortest silence of output a rule waits for (`RuleSet.silence_gap`: a jump in time at
    least this long is a point of its own), how many lines of context a match takes
    (`RuleSet.context`: the blocks' tails hold at least that many), how many of the
    matcher's patterns, first, are signals' (the rest are rules'), and a matcher of the
    rules' patterns alone."""

    matcher: Matcher
    silence_gap: float
    context: int
    signals: int = 0
    rules_only: Matcher | None = None  # the rules' patterns alone, for `hasty_candidates`


Pairs = list[tuple[int, int]]
"""(offset of a line's first byte, pattern) pairs, as `Matcher.candidates` gives them."""


HASTY_TAIL_BYTES = 8 * 1024  # where a run that sheds load looks for the signals' lines


def hasty_candidates(flat: bytes, lookout: Lookout) -> Pairs | None:
    """The candidates a run that sheds load reads in `flat`: every line a rule may match,
    and of each signal its last line in the last `HASTY_TAIL_BYTES`. Two passes (the rules'
    patterns alone over all of it, every pattern over its tail) instead of one over all:
    a signal that matches every line (a progress bar) would otherwise name a million lines
    to Python, one at a time."""
    rules_only, signals = lookout.rules_only, lookout.signals
    if rules_only is None or not signals:
        found = lookout.matcher.candidates(flat)
        return None if found is None else ruled(found, signals)[0]
    ruling = rules_only.candidates(flat)
    if ruling is None:
        return None
    cut = max(0, len(flat) - HASTY_TAIL_BYTES)
    cut = flat.rfind(b"\n", 0, cut) + 1 if cut else 0  # a line's start
    tail = lookout.matcher.candidates(flat[cut:]) or []
    last: dict[int, int] = {}
    for start, k in tail:
        if k < signals:
            last[k] = cut + start
    picked = {(start, k + signals) for start, k in ruling}
    picked.update((start, k) for k, start in last.items())
    return sorted(picked)


def ruled(found: Pairs, signals: int) -> tuple[Pairs, int]:
    """What a run that sheds load keeps of the candidate lines: every line a rule may match,
    and of the lines only signals may match, the last of each signal (what `absent` rules
    and the metrics go by); the pairs of the kept lines, and how many lines were left out."""
    last: dict[int, int] = {}
    keep: set[int] = set()
    for start, k in found:
        if k >= signals:
            keep.add(start)
        elif last.get(k, -1) < start:
            last[k] = start
    keep.update(last.values())
    lines = {start for start, _ in found}
    return [(start, k) for start, k in found if start in keep], len(lines - keep)


@dataclass(frozen=True)
class Shed:
    """A region of whole lines with only the lines `ruled` keeps: the others are emptied, their
    `\\n` kept, so that lines keep their numbers; `skipped` counts the lines emptied."""

    data: bytes
    skipped: int


def shed(region: bytes, lookout: Lookout) -> Shed | None:
    """`region` (whole lines, each ending at `\\n` or `\\r`) as a `Shed`, or None where the
    prefilter cannot tell which lines a rule may match: a title escape (it can span lines)."""
    if _TITLE.search(region):
        return None
    if not hsmatch.valid_utf8(region):  # as the lines would be decoded
        region = region.decode("utf-8", "replace").encode("utf-8")
    stripped = strip_ansi_bytes(region)
    flat = stripped.replace(b"\r", b"\n")
    kept = hasty_candidates(flat, lookout)
    if kept is None:
        return None
    starts = sorted({start for start, _ in kept})
    out: list[bytes] = []
    pos = 0
    for start in starts:
        out.append(b"\n" * stripped.count(b"\n", pos, start))
        end = flat.index(b"\n", start)
        out.append(stripped[start : end + 1])  # the line and its own end, \r or \n
        pos = end + 1
    out.append(b"\n" * stripped.count(b"\n", pos))
    return Shed(b"".join(out), segments(flat) - len(starts))


@dataclass
class Skim(LogFile):
    """One log file as timed blocks, sparse where it can: `LineBlock`s and `SparseBlock`s."""

    lookout: Lookout = field(kw_only=True)
    sparse_blocks: int = 0  # how many blocks went the fast way (for tests and benchmarks)

    def blocks(self) -> Iterator[LineBlock | SparseBlock]:
        clock = LogClock(self.year)
        held = Held(self.name, clock)
        for chunk in self.chunks():
            texts: list[str] = []
            numbers: list[int] = []
            region = self.splitter.begin(chunk, texts, numbers)
            yield from held.add(texts, numbers)
            if region:
                yield from self._region(region, clock, held)
            self.splitter.finish()
        yield from held.add(*self.splitter.flush())
        yield from held.flush()
        self.timed = clock.timed

    def _region(
        self, region: bytes, clock: LogClock, held: Held
    ) -> Iterator[LineBlock | SparseBlock]:
        if not clock.released and len(region) > LEAD_BYTES and not _TITLE.search(region):
            cut = region.find(b"\n", LEAD_BYTES) + 1  # a few lines first, to find a stamp
            if 0 < cut < len(region):
                yield from self._region(region[:cut], clock, held)
                region = region[cut:]
        sparse = None
        if clock.released and self.lookout.matcher.covers(self.name):
            sparse = self._sparse(region, clock)
        if sparse is None:
            texts: list[str] = []
            numbers: list[int] = []
            self.splitter.lines(region, texts, numbers)
            yield from held.add(texts, numbers)
            return
        self.splitter.skip(region, sparse.newlines)
        self.sparse_blocks += 1
        if sparse.lines:
            yield sparse

    def _sparse(self, region: bytes, clock: LogClock) -> SparseBlock | None:
        return skim_region(self.name, region, self.splitter, self.lookout, clock.times_at)


Timing = Callable[[bytes, Sequence[int], float], tuple[list[Point], list[tuple[int, float, float]]]]
"""Times of lines of a region: as `LogClock.times_at` gives them (replay), or the time the
chunk was read (the live pipeline)."""


def skim_region(
    source: str,
    region: bytes,
    splitter: Splitter,
    lookout: Lookout,
    timing: Timing,
    tail: int = 0,
    hasty: bool = False,
) -> SparseBlock | None:
    """A region of whole lines (as `Splitter.begin` returns it, before `skip`) seen through
    its candidates (`hasty`: only those `hasty_candidates` reads), or None where the fast
    path cannot take it (see the module's doc). The block's `tail` holds at least `tail`
    lines (and what the engine keeps)."""
    if _TITLE.search(region) or not splitter.fits(region) or not hsmatch.valid_utf8(region):
        return None
    stripped = strip_ansi_bytes(region)
    flat = stripped.replace(b"\r", b"\n")
    found = hasty_candidates(flat, lookout) if hasty else lookout.matcher.candidates(flat)
    if found is None:
        return None
    first_line_no = splitter.line_no
    first = len(flat) - len(flat.lstrip(b"\n"))
    end = len(flat)  # the end of the last non-empty line (`rstrip` would copy the block)
    while end and flat[end - 1] == 10:
        end -= 1
    last = flat.rfind(b"\n", 0, end) + 1
    candidates = sorted({start for start, _ in found if flat[start : start + 1] != b"\n"})
    stops = sorted({first, last, *candidates})
    times, silences = timing(flat, stops, lookout.silence_gap)
    at = dict(zip(stops, times, strict=True))
    at.update((start, (before, t)) for start, before, t in silences)
    points = sorted({*candidates, *(start for start, _, _ in silences)})
    index = {start: i for i, start in enumerate(points)}
    is_candidate = set(candidates)
    texts = [
        flat[s : flat.index(b"\n", s)].decode("utf-8") if s in is_candidate else "" for s in points
    ]
    line_nos, newlines, lines = _numbering(stripped, flat, points, first_line_no)
    pairs = [(index[start], k) for start, k in found if start in is_candidate]
    before: Callable[[int, int], list[str]] = lambda i, n: lines_before(flat, points[i], n)  # noqa: E731
    return SparseBlock(
        source=source,
        lines=lines,
        newlines=newlines,
        first=at[first][1],
        end_before=at[last][0],
        end=at[last][1],
        texts=texts,
        times=[at[s][1] for s in points],
        befores=[at[s][0] for s in points],
        line_nos=line_nos,
        pairs=pairs,
        before=before,
        tail=lines_before(flat, len(flat), max(tail, lookout.context)),
        every_line=lambda: _every_line(stripped, first_line_no),
    )


def _numbering(
    stripped: bytes, flat: bytes, points: list[int], first: int
) -> tuple[list[int], int, int]:
    """The numbers of the lines starting at `points` (`first`: that of the region's
    first), how many `\\n` the region holds, and how many non-empty lines (`segments`)."""
    vector = bulk_reader()
    if vector is not None and len(flat) >= BULK_BYTES:
        counted: tuple[list[int], int, int] = vector.numbering(stripped, flat, points, first)
        return counted
    line_nos, line, at = [], first, 0
    for s in points:
        line += stripped.count(b"\n", at, s)
        at = s
        line_nos.append(line)
    return line_nos, stripped.count(b"\n"), segments(flat)


def _every_line(stripped: bytes, first_line_no: int) -> tuple[list[str], list[int]]:
    """Every line of a region and its number, as `Splitter.lines` would give them."""
    texts: list[str] = []
    numbers: list[int] = []
    for i, line in enumerate(stripped.decode("utf-8").split("\n")):
        for part in line.split("\r") if "\r" in line else (line,):
            if part:
                texts.append(part)
                numbers.append(first_line_no + i)
    return texts, numbers
