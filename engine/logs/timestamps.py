"""Log time: a clock that gives every line of a log a time, from the stamps in the lines.

The stamp forms are those of `engine.logs.stamps`. A long block read as bytes is timed in
bulk by `engine.logs.stampvec` (with numpy), line by line otherwise, with the same times.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from types import ModuleType

from engine.logs.stamps import (
    HALF_YEAR,
    LINE,
    SCAN,
    SCAN_BYTES,
    YEARLESS_GROUP,
    Point,
    is_yearless,
    parse_timestamp,
    read_dated,
    read_yearless,
)

__all__ = ["BULK_BYTES", "LogClock", "Point", "bulk_reader", "parse_timestamp"]


BULK_BYTES = 65536
"""`times_at` reads a block at least this long in bulk (`engine.logs.stampvec`) where numpy is
installed; a shorter one costs less line by line."""


def bulk_reader() -> ModuleType | None:
    """`engine.logs.stampvec`, or None where numpy is missing."""
    try:
        from engine.logs import stampvec
    except ImportError:  # no numpy: line by line
        return None
    return stampvec


class LogClock:
    """Gives every line of one log a time, in order.

    - a line with a timestamp gets it;
    - a line without one gets the time of the previous timed line;
    - times never go backwards: an earlier timestamp than the last one is clamped to the
      last one (interleaved sources, clock steps);
    - yearless stamps (hivemind, syslog) are read in the year of the latest stamp that
      carried one, else in `default_year`; one that would fall more than half a year before
      the previous time moves the year forward for good (December -> January, also across a
      long silence), one that would fall more than half a year after it is read in the year
      before (a straggler from before New Year, then clamped);
    - lines before the first timestamp get the first timestamp found later: the caller gives
      lines in order and gets times back in order, so LogClock holds back untimed leading
      lines (at most `max_lead` of them) until it sees a timestamp; if none comes within
      `max_lead` lines (or at `flush()`), the held lines get time 0.0 and so do all later
      untimed lines until a timestamp is seen.

    `timed` tells whether any timestamp was seen at all.

    The clock keeps no lines, only a count of the held ones. The times returned by `push`
    and `flush` always belong to the oldest lines pushed and not yet timed, in order: the
    caller keeps its own lists parallel to what it pushed and takes the first `len(times)`
    entries off them. After `flush` every line pushed has had exactly one time.
    """

    def __init__(self, default_year: int, max_lead: int = 1000) -> None:
        if max_lead < 0:
            raise ValueError(f"max_lead must be >= 0, got {max_lead}")
        self._year = default_year
        self._max_lead = max_lead
        self._held = 0  # leading untimed lines not yet given a time
        self._released = max_lead == 0  # no more holding: a stamp was seen, or we gave up
        self._seen = False
        self._last = 0.0

    @property
    def timed(self) -> bool:
        return self._seen

    def push(self, lines: Sequence[str]) -> list[float]:
        """Times for the lines that can be timed now, in order.

        Possibly fewer than given, when leading untimed lines are held back; they come out on
        a later push or flush. The times returned belong to the oldest lines not yet timed.
        """
        out: list[float] = []
        start = 0 if self._released else self._lead(lines, out)
        if start < len(lines):
            self._run(lines if start == 0 else lines[start:], out)
        return out

    def flush(self) -> list[float]:
        """Times for the held leading lines (0.0: no timestamp came); call at end of input."""
        return [] if self._released else self._give_up()

    def _lead(self, lines: Sequence[str], out: list[float]) -> int:
        """Hold untimed leading lines; returns the index of the first line not yet handled."""
        for index, line in enumerate(lines):
            stamp = self._line_time(line)
            if stamp is None:
                self._held += 1
                if self._held >= self._max_lead:
                    out += self._give_up()
                    return index + 1
                continue
            out += [stamp] * (self._held + 1)
            self._held = 0
            self._released = True
            self._last = stamp
            return index + 1
        return len(lines)

    def _give_up(self) -> list[float]:
        held, self._held, self._released = self._held, 0, True
        return [self._last] * held

    def _run(self, lines: Sequence[str], out: list[float]) -> None:
        """The steady state: every line gets a time at once.

        Line i of the block starts at the i-th newline of `text`; `SCAN` stops only at lines
        that may carry a stamp, so the Python loop runs per timed line, not per line.
        """
        text = "\n" + "\n".join(lines)
        if text.count("\n") != len(lines):  # a line holds a newline of its own
            for line in lines:
                self._run_one(line, out)
            return
        search = SCAN.search
        last = self._last
        done = 0  # lines before this one have their time in `out`
        pos = 0  # where line `done` starts (its newline)
        scan = 0  # where to search next
        while (found := search(text, scan)) is not None:
            start = found.start()
            if found.lastindex is None:  # `:MM:SS` somewhere: is there a prefixed stamp?
                end = text.find("\n", start + 1)
                scan = len(text) if end < 0 else end
                line_match = LINE.match(text, start + 1)
                if line_match is None:
                    continue
                found = line_match
            else:
                scan = found.end()
            if (found.lastindex or 0) < YEARLESS_GROUP:
                dated = read_dated(found)
                if dated is None:  # not a real time (month 13): an untimed line
                    continue
                stamp, self._year = dated
                self._seen = True
            else:
                yearless = self._time(found, last)
                if yearless is None:
                    continue
                stamp = yearless
            if start != pos:
                untimed = text.count("\n", pos, start)
                out += [last] * untimed
                done += untimed
            if stamp > last:
                last = stamp
            out.append(last)
            done += 1
            pos = scan
        if done < len(lines):
            out += [last] * (len(lines) - done)
        self._last = last

    @property
    def released(self) -> bool:
        """Whether no leading untimed line is held back: every line pushed has its time."""
        return self._released

    def times_at(
        self, flat: bytes, stops: Sequence[int], gap: float = math.inf, *, bulk: bool = True
    ) -> tuple[list[Point], list[tuple[int, float, float]]]:
        """Move the clock over the lines of `flat` and give the times of some of them.

        `flat` holds whole lines as `push` would get them, but as bytes: valid UTF-8,
        ANSI-stripped, each segment ending with a newline (a `\\r` turned into one). `stops`
        are offsets in `flat` of line starts, ascending; the answer has a `Point` for each,
        and the silences: (offset, before, time) of every line whose time is at least `gap`
        after the line before's. Only a released clock can do this (see `released`); the
        times are exactly those `push` would give, though only the stamped lines are seen.
        """
        assert self._released, "leading untimed lines are held: push them first"
        vector = bulk_reader() if bulk and self._seen and len(flat) >= BULK_BYTES else None
        if vector is not None:
            reading = vector.read(flat, stops, gap, self._last, self._year)
            if reading is not None:
                self._last, self._year = reading.last, reading.year
                return reading.points, reading.silences
        buf = b"\n" + flat  # the line at offset s of `flat` has its newline at s in `buf`
        points: list[Point] = []
        silences: list[tuple[int, float, float]] = []
        last = before = self._last
        stamped = -1  # where the last stamp was
        pending = iter(stops)
        stop = next(pending, math.inf)
        for found in SCAN_BYTES.finditer(buf):
            at = found.start()
            while stop < at:
                points.append((before if stop == stamped else last, last))
                stop = next(pending, math.inf)
            index = found.lastindex
            stamp: float | None
            if index is not None and index < YEARLESS_GROUP:  # most stamps: `_time`, inlined
                dated = read_dated(found)
                if dated is None:
                    continue
                stamp, self._year = dated
                self._seen = True
            elif index is not None:
                stamp = self._time(found, last)
            else:  # `:MM:SS` somewhere: is there a prefixed stamp?
                line = buf[at + 1 : buf.index(b"\n", at + 1)].decode("utf-8")
                line_match = LINE.match(line)
                stamp = None if line_match is None else self._time(line_match, last)
            if stamp is None:
                continue
            before, stamped = last, at
            if stamp > last:
                last = stamp
                if last - before >= gap:
                    silences.append((at, before, last))
        while stop != math.inf:
            points.append((before if stop == stamped else last, last))
            stop = next(pending, math.inf)
        self._last = last
        return points, silences

    def _run_one(self, line: str, out: list[float]) -> None:
        stamp = self._line_time(line)
        if stamp is not None and stamp > self._last:
            self._last = stamp
        out.append(self._last)

    def _line_time(self, line: str) -> float | None:
        match = LINE.match(line)
        return None if match is None else self._time(match, self._last)

    def _time(self, match: re.Match[str] | re.Match[bytes], last: float) -> float | None:
        """The unclamped time of a matched stamp; notes its year and that a stamp was seen."""
        if is_yearless(match):
            stamp = self._yearless(match, last)
            if stamp is None:
                return None
        else:
            dated = read_dated(match)
            if dated is None:
                return None
            stamp, self._year = dated
        self._seen = True
        return stamp

    def _yearless(self, match: re.Match[str] | re.Match[bytes], last: float) -> float | None:
        stamp = read_yearless(match, self._year)
        if stamp is None or not self._seen:
            return stamp
        if stamp < last - HALF_YEAR:
            self._year += 1
            return read_yearless(match, self._year)
        if stamp > last + HALF_YEAR:
            return read_yearless(match, self._year - 1)
        return stamp
