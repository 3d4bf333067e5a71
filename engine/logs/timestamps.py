"""Log time: the timestamp near the start of a line, and a clock that times every line of a log.

Recognised at the start of a line, also after indentation or `> ` quote marks, a docker
compose `service-1  | `, tqdm bars glued on when their `\\r` was lost, or up to two `[tags]`:

* hydra            `[2025-07-08 19:12:21,373][genrl.logging_utils.global_defs][INFO] - ...`
* logging asctime  `2025-05-30 03:08:03,123 - INFO - ...`, `[animal] 2025-07-08 19:12:21,373 ...`
* ISO 8601         `2025-07-08T19:12:21.373Z`, `...T19:12:21+02:00`, `...+0200`, `...+02`
* Go log, bracket  `2025/07/08 19:12:21 ...`, `[2025-07-08 19:12:21] ...`
* hivemind, syslog `Jun 27 04:10:43.681 [ERROR] ...`, `Jul  8 04:10:43 host ...` (no year)

Seconds are required; a fraction may follow after `.` or `,` (1-9 digits are used, more are
ignored). A timestamp further into the message (`INFO:...:Starting training 2025-04-01
14:00:10`, `Daemon failed to start: 2025/05/05 05:11:19 ...`) is not the line's time.

Speed: `LogClock` joins a block of lines into one text and lets the regex engine find, in C,
the lines that start with a stamp or hold `:MM:SS` somewhere (every stamp does); Python code
runs only for those. The epoch of each `date hour:minute` is cached, so a timed line costs a
match, a dict lookup and a little arithmetic.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date
from types import ModuleType

__all__ = ["LogClock", "parse_timestamp"]

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()
_POW10: tuple[int, ...] = tuple(10**i for i in range(10))
_HALF_YEAR = 183 * 86400.0
_CACHE_MAX = 4096

# What may come before a stamp. Each part is lazy (a bare stamp is tried first) and none can
# match a newline. Indentation is made possessive with a lookahead so that it is not undone.
_PREFIX = r"""
    [ \t>]*(?![ \t>])                                   # indentation, "> " quote marks
    (?:[\w.@-]{1,64}[ ]+\|[ ]*(?![ ]))??                # docker compose "service-1  | "
    (?:                                                 # tqdm bars that lost their \r
        [ \t]*(?:[^:|\n\[\]]{1,40}:[ ])?\d{1,3}%\|[^|\n]*\|[^|\n\[\]]*\[[^\]\n]*\]
    ){0,4}?
    (?:\[[^\]\n]{1,64}\][ \t:]*(?![ \t:])){0,2}?        # [logger tag] [rank0]:
"""
# Groups: 1 `YYYY-MM-DD HH:MM`, 2 date separator, 3 seconds, 4 fraction, 5 offset;
# 6 `Mon DD HH:MM`, 7 seconds, 8 fraction. A yearless match has lastindex >= 6.
# `(?:X|)` rather than `(?:X)?`: the regex engine runs a branch faster than a repeat.
_STAMP = r"""
    \[?
    (?:
        (\d{4}([-/])\d\d\2\d\d[Tt ]\d\d:\d\d):(\d\d)(?:[.,](\d{1,9})\d*|)
        (?:([Zz]|[+-]\d\d(?::?\d\d|))|)
      | ((?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[ ]{1,2}\d{1,2}[ ]\d\d:\d\d)
        :(\d\d)(?:[.,](\d{1,9})\d*|)
    )
    (?!\d)
"""
_YEARLESS_GROUP = 6
_LINE = re.compile(_PREFIX + _STAMP, re.VERBOSE | re.ASCII)
"""The stamp at the start of one line (used with `match`)."""
_TAG = r"(?:\[[^\]\n]{1,64}\][ \t:]*(?![ \t:]))"
_SCAN = re.compile(
    r"\n(?:(?:|" + _TAG + ")" + _STAMP + r"[^\n]*|(?=[^\n]*:\d\d:\d\d))", re.VERBOSE | re.ASCII
)
"""Searched in `"\\n" + "\\n".join(lines)`: the `\\n` literal in front lets the engine skip to
line starts in C. A line that starts with a stamp, bare or after one `[tag]`, matches with its
groups up to its end, as `_LINE` would match it; a line that only holds `:MM:SS` somewhere
matches empty (no groups) and is given to `_LINE`."""
_TAG_ASCII = r"(?:\[[^\]\n\x80-\xff]{1,64}\][ \t:]*(?![ \t:]))"
_SCAN_BYTES = re.compile(
    (r"\n(?:(?:|" + _TAG_ASCII + ")" + _STAMP + r"|(?=[^\n]*:\d\d:\d\d))").encode("ascii"),
    re.VERBOSE,
)
"""`_SCAN` for bytes, used with `finditer`: it stops at the end of a stamp and the search
moves on to the next newline. A tag holding non-ASCII text goes to the `:MM:SS` branch, as
`{1,64}` counts bytes here and characters in `_LINE`."""
assert _LINE.groups == _SCAN.groups == _SCAN_BYTES.groups == 8

Point = tuple[float, float]
"""(time of the line before, time of the line)."""

_DATED: dict[str | bytes, tuple[float, int]] = {}
"""`YYYY-MM-DD HH:MM` (as written, text or bytes) -> (epoch of that minute read as UTC, year)."""
_YEARLESS: dict[tuple[int, str | bytes], float] = {}
"""(year, `Mon DD HH:MM` as written) -> epoch of that minute read as UTC."""


def _minute_epoch(year: int, month: int, day: int, hour: int, minute: int) -> float | None:
    if hour > 23 or minute > 59:
        return None
    try:
        days = date(year, month, day).toordinal() - _UNIX_ORDINAL
    except ValueError:
        return None
    return float(days * 86400 + hour * 3600 + minute * 60)


def _dated_minute(key: str | bytes) -> tuple[float, int] | None:
    """Epoch and year of `YYYY-MM-DD HH:MM` (not cached yet), or None if it is no real time."""
    year = int(key[0:4])
    base = _minute_epoch(year, int(key[5:7]), int(key[8:10]), int(key[11:13]), int(key[14:16]))
    if base is None:
        return None
    if len(_DATED) >= _CACHE_MAX:
        _DATED.clear()
    hit = _DATED[key] = (base, year)
    return hit


def _yearless_minute(key: str | bytes, year: int) -> float | None:
    """Epoch of `Mon DD HH:MM` in `year`, or None if it is no real time (`Feb 29`, `Jun 31`)."""
    hit = _YEARLESS.get((year, key))
    if hit is not None:
        return hit
    day, hour_minute = key[3:].split()
    month = _MONTHS[key[:3] if isinstance(key, str) else key[:3].decode("ascii")]
    base = _minute_epoch(year, month, int(day), int(hour_minute[:2]), int(hour_minute[3:]))
    if base is None:
        return None
    if len(_YEARLESS) >= _CACHE_MAX:
        _YEARLESS.clear()
    _YEARLESS[(year, key)] = base
    return base


def _seconds(sec: str | bytes, frac: str | bytes | None) -> float | None:
    """`SS` plus the fraction; 60 is allowed for a leap second."""
    whole = int(sec)
    if whole > 60:
        return None
    if frac is None:
        return float(whole)
    return whole + int(frac) / _POW10[len(frac)]


def _offset(zone: str | bytes) -> float | None:
    """Seconds east of UTC of `Z`, `+HH`, `+HHMM` or `+HH:MM`; None if out of range."""
    if isinstance(zone, bytes):
        zone = zone.decode("ascii")
    if zone in ("Z", "z"):
        return 0.0
    hours = int(zone[1:3])
    minutes = int(zone[-2:]) if len(zone) > 3 else 0
    if hours > 23 or minutes > 59:
        return None
    east = float(hours * 3600 + minutes * 60)
    return -east if zone[0] == "-" else east


def _dated(match: re.Match[str] | re.Match[bytes]) -> tuple[float, int] | None:
    """(UTC epoch, year as written) of a stamp that carries its date, or None."""
    key, sec, frac, zone = match.group(1, 3, 4, 5)
    minute = _DATED.get(key) or _dated_minute(key)
    whole = int(sec)
    if minute is None or whole > 60:
        return None
    stamp = minute[0] + whole
    if frac is not None:
        stamp += int(frac) / _POW10[len(frac)]
    if zone is not None:
        east = _offset(zone)
        if east is None:
            return None
        stamp -= east
    return stamp, minute[1]


def _yearless(match: re.Match[str] | re.Match[bytes], year: int) -> float | None:
    """UTC epoch of a yearless stamp (`Jun 27 04:10:43.681`) read in `year`, or None."""
    key, sec, frac = match.group(6, 7, 8)
    minute = _yearless_minute(key, year)
    seconds = _seconds(sec, frac)
    if minute is None or seconds is None:
        return None
    return minute + seconds


def _is_yearless(match: re.Match[str] | re.Match[bytes]) -> bool:
    return (match.lastindex or 0) >= _YEARLESS_GROUP


def parse_timestamp(line: str, year: int = 1970) -> float | None:
    """Seconds since the epoch (UTC) of the timestamp near the start of `line`, else None.

    Naive times are taken as UTC; an explicit offset (Z, +02:00, +0200) is honoured.
    `year` fills in formats that carry none (hivemind's `Jun 27 04:10:43.681`); `Feb 29`
    in a year that has none is no time. Impossible dates and times (month 13, `25:00:00`,
    offset `+2400`) give None.
    """
    match = _LINE.match(line)
    if match is None:
        return None
    if _is_yearless(match):
        return _yearless(match, year)
    dated = _dated(match)
    return None if dated is None else dated[0]


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

        Line i of the block starts at the i-th newline of `text`; `_SCAN` stops only at lines
        that may carry a stamp, so the Python loop runs per timed line, not per line.
        """
        text = "\n" + "\n".join(lines)
        if text.count("\n") != len(lines):  # a line holds a newline of its own
            for line in lines:
                self._run_one(line, out)
            return
        search = _SCAN.search
        last = self._last
        done = 0  # lines before this one have their time in `out`
        pos = 0  # where line `done` starts (its newline)
        scan = 0  # where to search next
        while (found := search(text, scan)) is not None:
            start = found.start()
            if found.lastindex is None:  # `:MM:SS` somewhere: is there a prefixed stamp?
                end = text.find("\n", start + 1)
                scan = len(text) if end < 0 else end
                line_match = _LINE.match(text, start + 1)
                if line_match is None:
                    continue
                found = line_match
            else:
                scan = found.end()
            if (found.lastindex or 0) < _YEARLESS_GROUP:
                dated = _dated(found)
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
        for found in _SCAN_BYTES.finditer(buf):
            at = found.start()
            while stop < at:
                points.append((before if stop == stamped else last, last))
                stop = next(pending, math.inf)
            index = found.lastindex
            stamp: float | None
            if index is not None and index < _YEARLESS_GROUP:  # most stamps: `_time`, inlined
                dated = _dated(found)
                if dated is None:
                    continue
                stamp, self._year = dated
                self._seen = True
            elif index is not None:
                stamp = self._time(found, last)
            else:  # `:MM:SS` somewhere: is there a prefixed stamp?
                line = buf[at + 1 : buf.index(b"\n", at + 1)].decode("utf-8")
                line_match = _LINE.match(line)
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
        match = _LINE.match(line)
        return None if match is None else self._time(match, self._last)

    def _time(self, match: re.Match[str] | re.Match[bytes], last: float) -> float | None:
        """The unclamped time of a matched stamp; notes its year and that a stamp was seen."""
        if _is_yearless(match):
            stamp = self._yearless(match, last)
            if stamp is None:
                return None
        else:
            dated = _dated(match)
            if dated is None:
                return None
            stamp, self._year = dated
        self._seen = True
        return stamp

    def _yearless(self, match: re.Match[str] | re.Match[bytes], last: float) -> float | None:
        stamp = _yearless(match, self._year)
        if stamp is None or not self._seen:
            return stamp
        if stamp < last - _HALF_YEAR:
            self._year += 1
            return _yearless(match, self._year)
        if stamp > last + _HALF_YEAR:
            return _yearless(match, self._year - 1)
        return stamp
