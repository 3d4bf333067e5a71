"""The timestamp near the start of a log line: the forms recognised, and their reading.

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

Speed: the clock (`engine.logs.timestamps.LogClock`) joins a block of lines into one text
and lets the regex engine find, in C, the lines that start with a stamp or hold `:MM:SS`
somewhere (every stamp does); Python code runs only for those. The epoch of each
`date hour:minute` is cached, so a timed line costs a match, a dict lookup and a little
arithmetic.

The names without a leading underscore are shared with the clock (`timestamps`) and its
bulk reader (`stampvec`), which read the same forms.
"""

from __future__ import annotations

import re
from datetime import date

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
        start=1,
    )
}
_UNIX_ORDINAL = date(1970, 1, 1).toordinal()
_POW10: tuple[int, ...] = tuple(10**i for i in range(10))
HALF_YEAR = 183 * 86400.0
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
YEARLESS_GROUP = 6
LINE = re.compile(_PREFIX + _STAMP, re.VERBOSE | re.ASCII)
"""The stamp at the start of one line (used with `match`)."""
_TAG = r"(?:\[[^\]\n]{1,64}\][ \t:]*(?![ \t:]))"
SCAN = re.compile(
    r"\n(?:(?:|" + _TAG + ")" + _STAMP + r"[^\n]*|(?=[^\n]*:\d\d:\d\d))", re.VERBOSE | re.ASCII
)
"""Searched in `"\\n" + "\\n".join(lines)`: the `\\n` literal in front lets the engine skip to
line starts in C. A line that starts with a stamp, bare or after one `[tag]`, matches with its
groups up to its end, as `LINE` would match it; a line that only holds `:MM:SS` somewhere
matches empty (no groups) and is given to `LINE`."""
_TAG_ASCII = r"(?:\[[^\]\n\x80-\xff]{1,64}\][ \t:]*(?![ \t:]))"
SCAN_BYTES = re.compile(
    (r"\n(?:(?:|" + _TAG_ASCII + ")" + _STAMP + r"|(?=[^\n]*:\d\d:\d\d))").encode("ascii"),
    re.VERBOSE,
)
"""`SCAN` for bytes, used with `finditer`: it stops at the end of a stamp and the search
moves on to the next newline. A tag holding non-ASCII text goes to the `:MM:SS` branch, as
`{1,64}` counts bytes here and characters in `LINE`."""
assert LINE.groups == SCAN.groups == SCAN_BYTES.groups == 8

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


def read_dated(match: re.Match[str] | re.Match[bytes]) -> tuple[float, int] | None:
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


def read_yearless(match: re.Match[str] | re.Match[bytes], year: int) -> float | None:
    """UTC epoch of a yearless stamp (`Jun 27 04:10:43.681`) read in `year`, or None."""
    key, sec, frac = match.group(6, 7, 8)
    minute = _yearless_minute(key, year)
    seconds = _seconds(sec, frac)
    if minute is None or seconds is None:
        return None
    return minute + seconds


def is_yearless(match: re.Match[str] | re.Match[bytes]) -> bool:
    return (match.lastindex or 0) >= YEARLESS_GROUP


def parse_timestamp(line: str, year: int = 1970) -> float | None:
    """Seconds since the epoch (UTC) of the timestamp near the start of `line`, else None.

    Naive times are taken as UTC; an explicit offset (Z, +02:00, +0200) is honoured.
    `year` fills in formats that carry none (hivemind's `Jun 27 04:10:43.681`); `Feb 29`
    in a year that has none is no time. Impossible dates and times (month 13, `25:00:00`,
    offset `+2400`) give None.
    """
    match = LINE.match(line)
    if match is None:
        return None
    if is_yearless(match):
        return read_yearless(match, year)
    dated = read_dated(match)
    return None if dated is None else dated[0]
