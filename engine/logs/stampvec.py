"""`LogClock.times_at` with numpy: the two common stamp forms read for a whole block at once.

A replayed log has a stamp on every other line, and reading each in Python is most of what
replay spends per line. Most are in one of two fixed-width forms at the very start of their line,
optionally after `[`:

* dated     `2025-07-08 19:12:21,373` (`-` or `/`, `T` or a space, no fraction or three
  digits, no offset)
* yearless  `Jul 08 04:10:43.681` (two-digit day, no fraction or three digits)

Those are recognised and computed here, column by column over all the block's lines; they
are exactly the stamps `SCAN_BYTES` would find first on such a line, read by `read_dated` and
`read_yearless` with the same float operations in the same order. Every other line that may
hold a stamp (a `[tag]` before it, an offset, indentation, syslog's `Jul  8`) is left to the
regex scan, run over a copy of the block in which the lines done here are marked. The two
are then merged in line order: a yearless stamp takes the year of the last dated stamp
before it, and the clock's time is the running maximum.

Whatever the bulk reading cannot vouch for gives None and `times_at` does it line by line:
a clock that has seen no stamp yet, and a yearless stamp more than half a year away from
the time before it (the year rolls over, or a straggler from before New Year).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from engine.logs.stamps import (
    HALF_YEAR,
    LINE,
    SCAN_BYTES,
    YEARLESS_GROUP,
    read_dated,
    read_yearless,
)

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

_WIDTH = 24  # the widest form read here: `YYYY-MM-DD HH:MM:SS,fff` and the byte after
_TAG_WIDTH = 66  # a `[tag]`'s text and its `]`, and one byte more
_PAD = bytes(_TAG_WIDTH + _WIDTH + 4)


def _byte_set(members: bytes) -> Bools:
    """A table that tells, indexed by a byte, whether it is one of `members`."""
    table = np.zeros(256, dtype=np.bool_)
    table[list(members)] = True
    return table


_STAMP_INITIAL = _byte_set(b"0123456789JFMASOND")  # what a stamp, dated or not, starts with
_TAG_GAP = _byte_set(b" \t:")
_DATE_TIME = _byte_set(b" Tt")
_DECIMAL = _byte_set(b".,")
_AFTER_DATED = ~_byte_set(b"0123456789.,Zz+-")  # may follow a stamp without a fraction
_AFTER_FRACTION = ~_byte_set(b"0123456789Zz+-")
_AFTER_YEARLESS = ~_byte_set(b"0123456789.,")
_UNIX_DAY = 719468  # days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar
_MONTHS = np.array(
    [int.from_bytes(m, "big") for m in b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()]
)
_MONTH_ORDER = np.argsort(_MONTHS)
_MONTH_SORTED = _MONTHS[_MONTH_ORDER]
_DAYS_IN = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


class Reading(NamedTuple):
    """What `times_at` gives, and the clock's state after the block."""

    points: list[tuple[float, float]]
    silences: list[tuple[int, float, float]]
    last: float
    year: int


class _Stamps(NamedTuple):
    """Stamps of a block in line order: where (a line's offset), when, whether yearless."""

    at: Ints
    time: Floats
    yearless: Bools


def read(flat: bytes, stops: Sequence[int], gap: float, last: float, year: int) -> Reading | None:
    """`times_at` over `flat` (whole lines, each ending with a newline), for a clock that
    has seen a stamp, whose time is `last` and year `year`; or None where only the
    line-by-line reading gives the right answer."""
    buf = b"".join((b"\n", flat, _PAD))  # a line at offset s of `flat` has its newline at s
    size = len(flat) + 1
    whole = np.frombuffer(buf, np.uint8)
    line_at = _stamp_lines(whole, size)  # the newline before each line that may hold a stamp
    stamp_at, readable = _stamp_starts(whole, line_at + 1)
    cols = whole[stamp_at[:, None] + np.arange(_WIDTH)]
    digit = (cols >= 48) & (cols <= 57)
    dated = readable & _dated_rows(cols, digit)
    yearless = readable & _yearless_rows(cols, digit)
    others = _scan(buf, line_at[~(dated | yearless)].tolist())
    d_at, d_time, d_year = _dated_times(cols[dated], line_at[dated])
    d_at, d_time, d_year = (
        np.concatenate([d_at, others.dated_at]),
        np.concatenate([d_time, others.dated_time]),
        np.concatenate([d_year, others.dated_year]),
    )
    order = np.argsort(d_at, kind="stable")
    d_at, d_time, d_year = d_at[order], d_time[order], d_year[order]
    y_at = line_at[yearless]
    y_year = _years_at(y_at, d_at, d_year, year)
    y_time = _yearless_times(cols[yearless], y_year)
    o_year = _years_at(others.yearless_at, d_at, d_year, year)
    o_time = np.array(
        [
            _yearless_or_nan(groups, int(y))
            for groups, y in zip(others.yearless_matches, o_year.tolist(), strict=True)
        ],
        dtype=np.float64,
    )
    stamps = _merge((d_at, d_time, False), (y_at, y_time, True), (others.yearless_at, o_time, True))
    running = np.maximum.accumulate(np.concatenate([[last], stamps.time]))
    before = running[:-1]
    far = (stamps.time < before - HALF_YEAR) | (stamps.time > before + HALF_YEAR)
    if bool(np.any(stamps.yearless & far)):
        return None
    return Reading(
        points=_points(stamps.at, running, stops),
        silences=_silences(stamps, running, gap),
        last=float(running[-1]),
        year=int(d_year[-1]) if len(d_year) else year,
    )


def numbering(
    stripped: bytes, flat: bytes, offsets: Sequence[int], first: int
) -> tuple[list[int], int, int]:
    """`engine.logs.skim`'s line numbers at `offsets` (ascending; the first line is number
    `first`), newlines of `stripped`, and non-empty lines of `flat` (`stripped` with each
    `\\r` made a newline): newlines not directly after another or at the start."""
    newlines = np.flatnonzero(np.frombuffer(stripped, np.uint8) == 10)
    numbers: list[int] = (np.searchsorted(newlines, offsets) + first).tolist()
    ends = newlines if flat is stripped else np.flatnonzero(np.frombuffer(flat, np.uint8) == 10)
    pairs = int(np.count_nonzero(np.diff(ends) == 1))
    lines = len(ends) - pairs - int(len(ends) > 0 and ends[0] == 0)
    return numbers, len(newlines), lines


def _dated_rows(cols: Any, digit: Any) -> Bools:
    """Lines whose stamp is `YYYY-MM-DD HH:MM:SS` (`-` or `/`, `T`, `t` or a space), with
    no fraction or three digits, no offset and no digit after: a real date and time."""
    sep = cols[:, 4]
    shape = (
        digit[:, [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18]].all(axis=1)
        & ((sep == 45) | (sep == 47))
        & (cols[:, 7] == sep)
        & _DATE_TIME[cols[:, 10]]
        & (cols[:, 13] == 58)
        & (cols[:, 16] == 58)
    )
    fraction = _DECIMAL[cols[:, 19]] & digit[:, 20:23].all(axis=1)
    ends = np.where(
        fraction,
        _AFTER_FRACTION[cols[:, 23]],
        _AFTER_DATED[cols[:, 19]],
    )
    rows: Bools = shape & ends
    some = np.flatnonzero(rows)
    v = cols[some].astype(np.int64) - 48
    year = v[:, 0] * 1000 + v[:, 1] * 100 + v[:, 2] * 10 + v[:, 3]
    real = _real(year, v[:, 5] * 10 + v[:, 6], v[:, 8] * 10 + v[:, 9])
    hour, minute, second = _clock_parts(v, 11)
    rows[some] = real & (hour <= 23) & (minute <= 59) & (second <= 60)
    return rows


def _yearless_rows(cols: Any, digit: Any) -> Bools:
    """Lines whose stamp is `Mon DD HH:MM:SS` with no fraction or three digits and no
    digit after, at a real time of day (the date is checked once its year is known)."""
    shape = (
        _is_month(cols)
        & (cols[:, 3] == 32)
        & digit[:, [4, 5, 7, 8, 10, 11, 13, 14]].all(axis=1)
        & (cols[:, 6] == 32)
        & (cols[:, 9] == 58)
        & (cols[:, 12] == 58)
    )
    fraction = _DECIMAL[cols[:, 15]] & digit[:, 16:19].all(axis=1)
    ends = np.where(fraction, ~digit[:, 19], _AFTER_YEARLESS[cols[:, 15]])
    rows: Bools = shape & ends
    some = np.flatnonzero(rows)
    hour, minute, second = _clock_parts(cols[some].astype(np.int64) - 48, 7)
    rows[some] = (hour <= 23) & (minute <= 59) & (second <= 60)
    return rows


def _month_code(cols: Any) -> Ints:
    """The first three bytes of each row as one number, as `_MONTHS` holds the names."""
    code: Ints = (
        (cols[:, 0].astype(np.int64) << 16) | (cols[:, 1].astype(np.int64) << 8) | cols[:, 2]
    )
    return code


def _is_month(cols: Any) -> Bools:
    code = _month_code(cols)
    found: Bools = _MONTH_SORTED[np.minimum(np.searchsorted(_MONTH_SORTED, code), 11)] == code
    return found


def _clock_parts(v: Any, at: int) -> tuple[Ints, Ints, Ints]:
    """`HH:MM:SS` starting at column `at` of digit values `v`."""
    two = [v[:, at + k] * 10 + v[:, at + k + 1] for k in (0, 3, 6)]
    return two[0], two[1], two[2]


def _real(year: Ints, month: Ints, day: Ints) -> Bools:
    """Whether these are dates `datetime.date` accepts."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    ok_month = (month >= 1) & (month <= 12)
    days = _DAYS_IN[np.where(ok_month, month, 0)] + (leap & (month == 2))
    real: Bools = (year >= 1) & ok_month & (day >= 1) & (day <= days)
    return real


def _epoch_minutes(year: Ints, month: Ints, day: Ints, hour: Ints, minute: Ints) -> Floats:
    """Seconds since 1970 of these minutes read as UTC, as `_minute_epoch` gives them."""
    y = year - (month <= 2)
    era = y // 400
    of_era = y - era * 400
    of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + of_era * 365 + of_era // 4 - of_era // 100 + of_year - _UNIX_DAY
    seconds: Floats = (days * 86400 + hour * 3600 + minute * 60).astype(np.float64)
    return seconds


def _fraction(v: Any, at: int, has: Bools) -> Floats:
    """The three fraction digits at column `at` as `int(frac) / 1000` gives them, else 0."""
    thousandths = v[:, at] * 100 + v[:, at + 1] * 10 + v[:, at + 2]
    part: Floats = np.where(has, thousandths.astype(np.float64) / 1000.0, 0.0)
    return part


def _dated_times(cols: Any, at: Ints) -> tuple[Ints, Floats, Ints]:
    """(where, time, year) of dated stamps; `dated`: `(minute + SS) + fraction`."""
    v = cols.astype(np.int64) - 48
    year = v[:, 0] * 1000 + v[:, 1] * 100 + v[:, 2] * 10 + v[:, 3]
    hour, minute, second = _clock_parts(v, 11)
    base = _epoch_minutes(year, v[:, 5] * 10 + v[:, 6], v[:, 8] * 10 + v[:, 9], hour, minute)
    has = _DECIMAL[cols[:, 19]] & ((cols[:, 20] >= 48) & (cols[:, 20] <= 57))
    return at, (base + second) + _fraction(v, 20, has), year


def _yearless_times(cols: Any, year: Ints) -> Floats:
    """Times of yearless stamps read in `year` (NaN: no such date, as `Feb 29` in most
    years); `yearless`: `minute + (SS + fraction)`."""
    v = cols.astype(np.int64) - 48
    month = _MONTH_ORDER[np.searchsorted(_MONTH_SORTED, _month_code(cols))] + 1
    day = v[:, 4] * 10 + v[:, 5]
    hour, minute, second = _clock_parts(v, 7)
    base = _epoch_minutes(year, month, day, hour, minute)
    has = _DECIMAL[cols[:, 15]]
    times: Floats = np.where(
        _real(year, month, day), base + (second + _fraction(v, 16, has)), np.nan
    )
    return times


def _years_at(at: Ints, d_at: Ints, d_year: Ints, year: int) -> Ints:
    """The year of the last dated stamp before each of `at` (`year` where none is)."""
    if not len(d_at):
        return np.full(len(at), year, dtype=np.int64)
    last = np.searchsorted(d_at, at) - 1
    years: Ints = np.where(last >= 0, d_year[np.maximum(last, 0)], year)
    return years


class _Others(NamedTuple):
    """Stamps the regex scan found on lines not read in bulk."""

    dated_at: Ints
    dated_time: Floats
    dated_year: Ints
    yearless_at: Ints
    yearless_matches: list[re.Match[bytes] | re.Match[str]]


def _stamp_lines(whole: Any, size: int) -> Ints:
    """Where the lines of `whole[:size]` that hold `:DD:DD` begin (their newline): every
    stamp has one, so no other line can match `SCAN_BYTES`."""
    span = max(size - 5, 0)  # where `:DD:DD` can begin
    colon = np.flatnonzero((whole[:span] == 58) & (whole[3 : 3 + span] == 58))
    held = colon[
        _digits(whole, colon + 1)
        & _digits(whole, colon + 2)
        & _digits(whole, colon + 4)
        & _digits(whole, colon + 5)
    ]
    newlines = np.flatnonzero(whole[:size] == 10)
    lines: Ints = newlines[np.searchsorted(newlines, held) - 1]
    return lines[np.concatenate(([True], lines[1:] != lines[:-1]))] if len(lines) else lines


def _digits(whole: Any, at: Ints) -> Bools:
    byte = whole[at]
    found: Bools = (byte >= 48) & (byte <= 57)
    return found


def _stamp_starts(whole: Any, starts: Ints) -> tuple[Ints, Bools]:
    """Where `SCAN_BYTES` would read the stamp of each line, and whether that is known here.

    On `[` it first tries the stamp after it (`\\[?`); when the next byte can start no stamp
    (no digit, no month's initial), the `[tag]` branch decides: the tag runs to the first
    `]` (1 to 64 bytes, no newline, ASCII), then come spaces, tabs or colons (at most one
    here), then the stamp, perhaps after a `[` of its own. Longer runs are left to the scan.
    """
    bracket = whole[starts] == 91
    second = whole[starts + 1]
    tagged = bracket & ~_STAMP_INITIAL[second]
    at = starts + bracket
    readable = np.ones(len(starts), dtype=np.bool_)
    if not tagged.any():
        return at, readable
    tag = whole[(starts[tagged] + 1)[:, None] + np.arange(_TAG_WIDTH)]
    close = tag == 93
    bad = (tag == 10) | (tag >= 128)
    end = np.where(close.any(axis=1), close.argmax(axis=1), _TAG_WIDTH)
    first_bad = np.where(bad.any(axis=1), bad.argmax(axis=1), _TAG_WIDTH)
    after = starts[tagged] + 2 + end  # the byte after `]`
    run = _TAG_GAP[whole[after]]
    stamp = after + run
    ok = (end >= 1) & (end <= 64) & (first_bad > end) & ~(run & _TAG_GAP[whole[after + 1]])
    at[tagged] = stamp + (whole[stamp] == 91)
    readable[tagged] = ok
    return at, readable


def _scan(buf: bytes, line_at: list[int]) -> _Others:
    """Read, as `times_at` does, the stamps `SCAN_BYTES` finds on these lines (given by
    their newline); the yearless ones wait for their year."""
    dated_at: list[int] = []
    dated_time: list[float] = []
    dated_year: list[int] = []
    yearless_at: list[int] = []
    yearless: list[re.Match[bytes] | re.Match[str]] = []
    scan = SCAN_BYTES.match
    for at in line_at:
        match: re.Match[bytes] | re.Match[str] | None = scan(buf, at)
        if match is None:
            continue
        if match.lastindex is None:  # `:MM:SS` somewhere: is there a prefixed stamp?
            match = LINE.match(buf[at + 1 : buf.index(b"\n", at + 1)].decode("utf-8"))
            if match is None:
                continue
        if (match.lastindex or 0) >= YEARLESS_GROUP:
            yearless_at.append(at)
            yearless.append(match)
            continue
        dated = read_dated(match)
        if dated is not None:
            dated_at.append(at)
            dated_time.append(dated[0])
            dated_year.append(dated[1])
    return _Others(
        np.array(dated_at, dtype=np.int64),
        np.array(dated_time, dtype=np.float64),
        np.array(dated_year, dtype=np.int64),
        np.array(yearless_at, dtype=np.int64),
        yearless,
    )


def _yearless_or_nan(match: re.Match[bytes] | re.Match[str], year: int) -> float:
    stamp = read_yearless(match, year)
    return float("nan") if stamp is None else stamp


def _merge(*parts: tuple[Ints, Floats, bool]) -> _Stamps:
    """The stamps of several kinds in line order, those that are no real time left out."""
    at = np.concatenate([p[0] for p in parts])
    time = np.concatenate([p[1] for p in parts])
    yearless = np.concatenate([np.full(len(p[0]), p[2]) for p in parts])
    order = np.argsort(at, kind="stable")
    keep = order[~np.isnan(time[order])]
    return _Stamps(at[keep], time[keep], yearless[keep])


def _points(at: Ints, running: Floats, stops: Sequence[int]) -> list[tuple[float, float]]:
    """(time before, time) of the lines at `stops`: the running maximum over the stamps of
    the lines before each, and over those up to it."""
    where = np.asarray(stops, dtype=np.int64)
    before = running[np.searchsorted(at, where, side="left")].tolist()
    upto = running[np.searchsorted(at, where, side="right")].tolist()
    return list(zip(before, upto, strict=True))


def _silences(stamps: _Stamps, running: Floats, gap: float) -> list[tuple[int, float, float]]:
    """(where, before, time) of each stamp that moves the time on by at least `gap`."""
    if gap == np.inf:
        return []
    before, after = running[:-1], running[1:]
    jumps = np.flatnonzero((stamps.time > before) & (after - before >= gap))
    return list(
        zip(
            stamps.at[jumps].tolist(),
            before[jumps].tolist(),
            after[jumps].tolist(),
            strict=True,
        )
    )
