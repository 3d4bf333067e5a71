"""engine.logs.timestamps: stamps at the start of lines, and LogClock's rules for timing a log.

Expected epochs are computed here with datetime, never with the module under test.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta, timezone
from itertools import pairwise
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.logs.timestamps import LogClock, parse_timestamp

CASES = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "rlswarm" / "cases"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
UTC = timezone.utc


def utc(
    year: int,
    month: int,
    day: int,
    hour: int,
    minute: int,
    second: int,
    us: int = 0,
    tz: timezone = UTC,
) -> float:
    """Epoch of a wall time in `tz` (UTC by default)."""
    return datetime(year, month, day, hour, minute, second, us, tzinfo=tz).timestamp()


def east(hours: int, minutes: int = 0) -> timezone:
    sign = -1 if hours < 0 else 1
    return timezone(timedelta(hours=hours, minutes=sign * minutes))


# (line, year for yearless formats, expected epoch)
RECOGNISED: list[tuple[str, int, float]] = [
    # hydra job log (rgym / CodeZero eras)
    (
        "[2025-07-08 19:12:21,373][genrl.logging_utils.global_defs][INFO] - 🐝 Joining round: 7781",
        1970,
        utc(2025, 7, 8, 19, 12, 21, us=373000),
    ),
    # hivemind's own logger: no year, the caller's year fills it in
    (
        "Jun 27 04:10:43.681 [ERROR] [hivemind.dht.dht._run:130] [Errno 11] Resource",
        2025,
        utc(2025, 6, 27, 4, 10, 43, us=681000),
    ),
    ("Jun 27 04:10:43.681 [ERROR] x", 2023, utc(2023, 6, 27, 4, 10, 43, us=681000)),
    (
        "Jul 04 16:35:50.952 [INFO] Checking that identity",
        1970,
        utc(1970, 7, 4, 16, 35, 50, us=952000),
    ),
    ("Feb 29 12:00:00.5 leap", 2024, utc(2024, 2, 29, 12, 0, 0, us=500000)),
    # syslog / journald: day padded with a space, no fraction
    ("Jul  8 04:10:43 host python3[812]: hello", 2025, utc(2025, 7, 8, 4, 10, 43)),
    # swarm.log (hivemind_exp era), logging's default asctime
    (
        "2025-05-30 03:08:03,123 - INFO - hivemind_exp.trainer:302 - Joining round: 483",
        1970,
        utc(2025, 5, 30, 3, 8, 3, us=123000),
    ),
    # training_<animal>.log
    (
        "[purring_slimy_gecko] 2025-07-08 19:12:21,373 INFO: 🐝 Joining round: 7781",
        1970,
        utc(2025, 7, 8, 19, 12, 21, us=373000),
    ),
    # ISO 8601 / RFC 3339
    ("2025-07-08T19:12:21.373Z", 1970, utc(2025, 7, 8, 19, 12, 21, us=373000)),
    ("2025-07-08T19:12:21Z msg", 1970, utc(2025, 7, 8, 19, 12, 21)),
    ("2025-07-08t19:12:21z lower case", 1970, utc(2025, 7, 8, 19, 12, 21)),
    ("2025-07-08T19:12:21+02:00", 1970, utc(2025, 7, 8, 19, 12, 21, tz=east(2))),
    ("2025-07-08T19:12:21+0200 msg", 1970, utc(2025, 7, 8, 19, 12, 21, tz=east(2))),
    ("2025-07-08T19:12:21+02 msg", 1970, utc(2025, 7, 8, 19, 12, 21, tz=east(2))),
    ("2025-07-08T19:12:21-05:30 msg", 1970, utc(2025, 7, 8, 19, 12, 21, tz=east(-5, 30))),
    ("2025-07-08T19:12:21.5+05:45", 1970, utc(2025, 7, 8, 19, 12, 21, us=500000, tz=east(5, 45))),
    ("2025-07-08T00:30:00+01:00 day before in UTC", 1970, utc(2025, 7, 7, 23, 30, 0)),
    ("2025-07-08 19:12:21", 1970, utc(2025, 7, 8, 19, 12, 21)),
    ("2025-07-08 19:12:21 UTC", 1970, utc(2025, 7, 8, 19, 12, 21)),
    # fractions: `.` or `,`, 1 to 9 digits, extra digits ignored
    ("2025-07-08 19:12:21.1 x", 1970, utc(2025, 7, 8, 19, 12, 21, us=100000)),
    ("2025-07-08 19:12:21,25 x", 1970, utc(2025, 7, 8, 19, 12, 21, us=250000)),
    ("2025-07-08T19:12:21.123456Z", 1970, utc(2025, 7, 8, 19, 12, 21, us=123456)),
    ("2025-07-08T19:12:21.123456789Z", 1970, utc(2025, 7, 8, 19, 12, 21) + 0.123456789),
    ("2025-07-08T19:12:21.1234567891Z", 1970, utc(2025, 7, 8, 19, 12, 21) + 0.123456789),
    # bracketed, Go's log package
    ("[2025-07-08 19:12:21] starting", 1970, utc(2025, 7, 8, 19, 12, 21)),
    ("2025/07/08 19:12:21 failed to connect", 1970, utc(2025, 7, 8, 19, 12, 21)),
    ("2025/07/08 19:12:21.004512 dial", 1970, utc(2025, 7, 8, 19, 12, 21, us=4512)),
    # what may come before the stamp
    ("    2025-07-08 19:12:21,373 - INFO - indented", 1970, utc(2025, 7, 8, 19, 12, 21, us=373000)),
    ("> [2025-07-08 19:12:21,373][x][INFO] - quoted", 1970, utc(2025, 7, 8, 19, 12, 21, us=373000)),
    ("[node-3] [rank0]: 2025-07-08 19:12:21 two tags", 1970, utc(2025, 7, 8, 19, 12, 21)),
    (
        "swarm-cpu-1  | [2025-07-08 19:12:21,373][genrl][INFO] - compose",
        1970,
        utc(2025, 7, 8, 19, 12, 21, us=373000),
    ),
    # tqdm bar glued in front when the \r was lost (case 007)
    (
        " 10%|█         | 2/20 [24:33<3:32:56, 709.81s/it]Apr 04 07:38:41.041 [ERROR] "
        "[hivemind.dht.dht._run:131] [Errno 11] Resource temporarily unavailable",
        2025,
        utc(2025, 4, 4, 7, 38, 41, us=41000),
    ),
    (
        "Map: 100%|██████| 80/80 [00:00<00:00, 3386.91 examples/s]"
        "  0%|      | 0/20 [00:00<?, ?it/s]2025-07-08 19:12:21,373 - INFO - x",
        1970,
        utc(2025, 7, 8, 19, 12, 21, us=373000),
    ),
    # before 1970
    ("1969-12-31 23:59:59 old", 1970, -1.0),
]


@pytest.mark.parametrize(("line", "year", "expected"), RECOGNISED)
def test_recognised(line: str, year: int, expected: float) -> None:
    got = parse_timestamp(line, year)
    assert got is not None
    assert got == pytest.approx(expected, abs=1e-6)


def test_default_year_is_1970() -> None:
    assert parse_timestamp("Jan 01 00:00:10 x") == pytest.approx(10.0)


NOT_STAMPS = [
    "",
    "Round 2025-07 of",
    "Round 2025-07 of 12:30:45",
    "PyTorch version 2.7.1 available.",
    "2.7.1",
    "192.168.1.1",
    "/ip4/38.101.215.15/tcp/30011/p2p/QmQ2gEXo",
    "12:30",
    "12:30:45",
    "12:30:45 no date",
    "2025-07-08",
    "2025-07-08 19:12 no seconds",
    "2025-07-08T19:12Z",
    "20250708 19:12:21",
    "12025-07-08 19:12:21",
    "2025-07-08 19:12:211",
    "2025-07/08 19:12:21 mixed separators",
    "Jun 27",
    "June 27 04:10:43",
    "jun 27 04:10:43",
    "  0%|          | 0/20 [00:00<?, ?it/s]",
    "  train_runtime            = 0:20:22.63",
    "INFO:hivemind_exp.runner.grpo_runner:Starting training 2025-04-01 14:00:10 for 3.0 epochs",
    "hivemind.p2p.p2p_daemon_bindings.utils.P2PDaemonError: Daemon failed to start: "
    "2025/05/05 05:11:19 failed to connect to bootstrap peers",
    "    date: 'Thu, 29 May 2025 05:14:34 GMT',",
    "{'loss': 0.0, 'grad_norm': 7.092657089233398, 'epoch': 5.0}",
    "Traceback (most recent call last):",
    # impossible values
    "2025-13-08 19:12:21 month 13",
    "2025-00-08 19:12:21 month 0",
    "2025-02-30 19:12:21 no such day",
    "0000-01-01 00:00:00 year 0",
    "2025-07-08 24:00:00 hour 24",
    "2025-07-08 19:60:00 minute 60",
    "2025-07-08 19:12:61 second 61",
    "2025-07-08T19:12:21+24:00 offset",
    "2025-07-08T19:12:21+02:60 offset",
    "Jun 31 04:10:43.681 no such day",
]


@pytest.mark.parametrize("line", NOT_STAMPS)
def test_not_a_stamp(line: str) -> None:
    assert parse_timestamp(line, 2025) is None


def test_feb_29_needs_a_leap_year() -> None:
    assert parse_timestamp("Feb 29 12:00:00 x", 2025) is None
    assert parse_timestamp("Feb 29 12:00:00 x", 2024) == utc(2024, 2, 29, 12, 0, 0)


def test_first_stamp_in_the_line_wins() -> None:
    line = "[2025-07-08 19:12:21] 2025-07-09 10:00:00 later"
    assert parse_timestamp(line) == utc(2025, 7, 8, 19, 12, 21)


# ---------------------------------------------------------------- LogClock

HYDRA = "[{}][genrl.logging_utils.global_defs][INFO] - Starting round: 7782."


def hydra(when: datetime) -> str:
    return HYDRA.format(when.strftime("%Y-%m-%d %H:%M:%S,") + f"{when.microsecond // 1000:03d}")


def hivemind(when: datetime) -> str:
    return when.strftime("%b %d %H:%M:%S.") + f"{when.microsecond // 1000:03d} [INFO] x"


T0 = datetime(2025, 7, 8, 19, 12, 21, 373000)
E0 = T0.replace(tzinfo=UTC).timestamp()


def run(clock: LogClock, *blocks: list[str]) -> list[float]:
    times: list[float] = []
    for block in blocks:
        times += clock.push(block)
    return times + clock.flush()


def test_timed_and_untimed_lines() -> None:
    clock = LogClock(2025)
    lines = [hydra(T0), "Traceback:", "  File x", hydra(T0 + timedelta(seconds=5)), "tail"]
    assert clock.push(lines) == [E0, E0, E0, E0 + 5, E0 + 5]
    assert clock.timed
    assert clock.flush() == []


def test_leading_untimed_lines_are_held_until_a_stamp() -> None:
    clock = LogClock(2025)
    assert clock.push(["banner", "From Gensyn"]) == []
    assert clock.push(["more banner"]) == []
    assert not clock.timed
    assert clock.push([hydra(T0), "after"]) == [E0] * 5
    assert clock.timed


def test_held_lines_get_zero_after_max_lead() -> None:
    clock = LogClock(2025, max_lead=3)
    assert clock.push(["a", "b"]) == []
    assert clock.push(["c", "d"]) == [0.0, 0.0, 0.0, 0.0]
    assert clock.push(["e", hydra(T0), "f"]) == [0.0, E0, E0]
    assert clock.timed


def test_max_lead_zero_holds_nothing() -> None:
    clock = LogClock(2025, max_lead=0)
    assert clock.push(["a", hydra(T0)]) == [0.0, E0]


def test_negative_max_lead_is_refused() -> None:
    with pytest.raises(ValueError, match="max_lead"):
        LogClock(2025, max_lead=-1)


def test_flush_without_any_stamp_gives_zero() -> None:
    clock = LogClock(2025)
    assert clock.push(["no", "time", "here"]) == []
    assert clock.flush() == [0.0, 0.0, 0.0]
    assert not clock.timed
    assert clock.push(["still none"]) == [0.0]
    assert clock.flush() == []
    assert clock.push([hydra(T0)]) == [E0]
    assert clock.timed


def test_earlier_stamps_are_clamped() -> None:
    clock = LogClock(2025)
    later, earlier = T0 + timedelta(seconds=10), T0
    times = run(clock, [hydra(later), hydra(earlier), "x", hydra(T0 + timedelta(seconds=11))])
    assert times == [E0 + 10, E0 + 10, E0 + 10, E0 + 11]


def test_yearless_stamps_use_default_year() -> None:
    clock = LogClock(2023)
    assert run(clock, [hivemind(datetime(2025, 6, 27, 4, 10, 43))]) == [utc(2023, 6, 27, 4, 10, 43)]


def test_yearless_stamps_take_the_year_of_dated_lines() -> None:
    clock = LogClock(1999)
    lines = [hydra(T0), hivemind(T0 + timedelta(seconds=1))]
    assert run(clock, lines) == [E0, E0 + 1]


def test_yearless_year_rolls_from_december_to_january() -> None:
    clock = LogClock(2024)
    lines = [
        hivemind(datetime(2024, 12, 31, 23, 59, 58)),
        hivemind(datetime(2025, 1, 1, 0, 0, 1)),
        "untimed",
        hivemind(datetime(2025, 1, 1, 0, 0, 2)),
        hivemind(datetime(2025, 3, 1, 8, 0, 0)),
    ]
    assert run(clock, lines) == [
        utc(2024, 12, 31, 23, 59, 58),
        utc(2025, 1, 1, 0, 0, 1),
        utc(2025, 1, 1, 0, 0, 1),
        utc(2025, 1, 1, 0, 0, 2),
        utc(2025, 3, 1, 8, 0, 0),
    ]


def test_december_straggler_after_new_year_is_clamped_not_moved_a_year_on() -> None:
    clock = LogClock(2024)
    lines = [
        hivemind(datetime(2024, 12, 31, 23, 59, 59)),
        hivemind(datetime(2025, 1, 1, 0, 0, 1)),
        hivemind(datetime(2024, 12, 31, 23, 59, 59, 500000)),
        hivemind(datetime(2025, 1, 1, 0, 0, 3)),
    ]
    assert run(clock, lines) == [
        utc(2024, 12, 31, 23, 59, 59),
        utc(2025, 1, 1, 0, 0, 1),
        utc(2025, 1, 1, 0, 0, 1),
        utc(2025, 1, 1, 0, 0, 3),
    ]


def test_year_rolls_across_a_long_silence() -> None:
    clock = LogClock(2024)
    lines = [hivemind(datetime(2024, 11, 20, 10, 0, 0)), hivemind(datetime(2025, 2, 3, 9, 0, 0))]
    assert run(clock, lines) == [utc(2024, 11, 20, 10, 0, 0), utc(2025, 2, 3, 9, 0, 0)]


def test_impossible_stamp_counts_as_untimed() -> None:
    clock = LogClock(2025)
    lines = [hydra(T0), "[2025-13-01 00:00:00,000][x][INFO] - month 13", "Feb 30 00:00:00 x"]
    assert run(clock, lines) == [E0, E0, E0]


def test_line_holding_a_newline_is_one_line() -> None:
    clock = LogClock(2025)
    assert clock.push([hydra(T0)]) == [E0]
    later = hydra(T0 + timedelta(seconds=2))
    assert clock.push(["two\nparts", later, "x\n" + later]) == [E0, E0 + 2, E0 + 2]


def test_many_distinct_minutes() -> None:
    """More minutes than the caches hold: times stay exact."""
    whens = [T0 + timedelta(minutes=7 * i, seconds=i % 60) for i in range(6000)]
    clock = LogClock(2025)
    times = run(clock, [hydra(w) for w in whens], [hivemind(w + timedelta(days=30)) for w in whens])
    expected = [w.replace(tzinfo=UTC).timestamp() for w in whens]
    expected += [(w + timedelta(days=30)).replace(tzinfo=UTC).timestamp() for w in whens]
    assert times == pytest.approx(expected, abs=1e-6)


def test_block_and_line_by_line_agree() -> None:
    lines = [
        "banner",
        hydra(T0),
        "    indented 12:30:45 not a stamp",
        "[purring_slimy_gecko] 2025-07-08 19:12:30,001 INFO: tagged",
        "> 2025-07-08 19:12:31 quoted",
        " 5%|█ | 1/20 [00:01<00:19, 1.0s/it]Jul 08 19:12:32.000 [INFO] glued",
        "x" * 200 + " 19:12:40",
        "",
        hydra(T0 + timedelta(seconds=20)),
    ]
    one = LogClock(2025)
    by_line = [t for line in lines for t in one.push([line])] + one.flush()
    assert run(LogClock(2025), lines) == by_line
    assert by_line == [
        E0,
        E0,
        E0,
        utc(2025, 7, 8, 19, 12, 30, us=1000),
        utc(2025, 7, 8, 19, 12, 31),
        utc(2025, 7, 8, 19, 12, 32),
        utc(2025, 7, 8, 19, 12, 32),
        utc(2025, 7, 8, 19, 12, 32),
        E0 + 20,
    ]


# ---------------------------------------------------------------- the real corpus

KNOWN_TIMED = ("002", "007", "010", "027", "036", "039", "040", "053")


def corpus_files() -> list[Path]:
    return sorted(CASES.glob("*.log"))


def read_lines(path: Path) -> list[str]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [ANSI.sub("", line) for line in re.split(r"\r\n|\n|\r", text) if line]


@pytest.mark.skipif(not CASES.is_dir(), reason="corpus not present")
@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.name[:3])
def test_corpus_file(path: Path) -> None:
    lines = read_lines(path)
    clock = LogClock(2025)
    times: list[float] = []
    for start in range(0, len(lines), 7):  # small blocks, to cross block boundaries
        times += clock.push(lines[start : start + 7])
    times += clock.flush()
    assert len(times) == len(lines)
    assert all(a <= b for a, b in pairwise(times))
    stamped = [parse_timestamp(line, 2025) for line in lines]
    assert clock.timed == any(s is not None for s in stamped)
    if path.name[:3] in KNOWN_TIMED:
        assert clock.timed
        first = next(s for s in stamped if s is not None)
        assert times[0] == first
    else:
        assert times == [0.0] * len(lines)


@pytest.mark.skipif(not CASES.is_dir(), reason="corpus not present")
def test_corpus_known_stamps() -> None:
    files = {p.name[:3]: p for p in corpus_files()}
    assert {"002", "010", "036", "039", "040"} <= set(files)
    stall = LogClock(2025)
    times = run(stall, read_lines(files["010"]))
    assert times[0] == utc(2025, 7, 8, 22, 29, 12, us=56000)
    assert times[-1] == utc(2025, 7, 9, 17, 51, 26, us=411000)
    assert max(b - a for a, b in pairwise(times)) > 18 * 3600  # the 19 h silence
    glued = run(LogClock(2025), read_lines(files["007"]))
    assert set(glued) == {utc(2025, 4, 4, 7, 38, 41, us=41000)}
    animal = run(LogClock(2025), read_lines(files["040"]))
    assert animal[0] == utc(2025, 7, 8, 19, 7, 49, us=28000)


# ---------------------------------------------------------------- properties

PREFIXES = [
    "",
    "    ",
    "> ",
    "[x] ",
    "[worker] [rank0]: ",
    "svc-1  | ",
    " 5%|█ | 1/20 [00:01<00:19, 1.0s/it]",
    "[",
    "x ",
    "12:30:45 ",
]
STAMP_TEXT = st.builds(
    lambda prefix, when, fmt, tail: prefix + fmt(when) + tail,
    st.one_of(st.sampled_from(PREFIXES), st.text(max_size=4)),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2030, 12, 31)),
    st.sampled_from(
        [
            hydra,
            hivemind,
            lambda w: w.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            lambda w: w.strftime("%Y-%m-%d %H:%M:%S,%f - INFO - x"),
            lambda w: w.strftime("%Y/%m/%d %H:%M:%S+05:30"),
            lambda w: w.strftime("%Y-%m-%d %H:%M:%S-0800"),
        ]
    ),
    st.one_of(st.text(max_size=20), st.sampled_from(["", "1", ":", " 12:30:45", "Z"])),
)
LINE = st.one_of(st.text(max_size=80), STAMP_TEXT, st.sampled_from(NOT_STAMPS))


@given(st.text())
def test_random_text_never_raises(text: str) -> None:
    got = parse_timestamp(text)
    assert got is None or math.isfinite(got)


@settings(max_examples=200)
@given(st.lists(LINE, max_size=40), st.lists(st.integers(0, 40), max_size=5), st.integers(0, 5))
def test_clock_times_never_go_back(lines: list[str], cuts: list[int], max_lead: int) -> None:
    clock = LogClock(2020, max_lead=max_lead)
    bounds = [0, *sorted(min(c, len(lines)) for c in cuts), len(lines)]
    blocks = [lines[a:b] for a, b in pairwise(bounds)]
    times = run(clock, *blocks)
    assert len(times) == len(lines)
    assert all(a <= b for a, b in pairwise(times))
    one = LogClock(2020, max_lead=max_lead)
    assert times == run(one, *([line] for line in lines))


@settings(max_examples=200)
@given(st.lists(st.one_of(st.text(max_size=60), STAMP_TEXT), max_size=40))
def test_clock_is_the_running_max_of_dated_stamps(lines: list[str]) -> None:
    """With no yearless stamps, every time is the largest stamp so far (held lines: the first)."""
    lines = [line for line in lines if parse_timestamp(line, 2000) == parse_timestamp(line, 2004)]
    clock = LogClock(2020, max_lead=len(lines) + 1)
    times = run(clock, lines)
    stamps = [parse_timestamp(line) for line in lines]
    found = [s for s in stamps if s is not None]
    expected: list[float] = []
    last = found[0] if found else 0.0
    for s in stamps:
        last = last if s is None else max(last, s)
        expected.append(last)
    assert times == expected


def _segment(line: str) -> str:
    """A line as the splitter hands it on: no line ends, no escape codes."""
    return line.replace("\n", " ").replace("\r", " ").replace("\x1b", "")


@settings(max_examples=300)
@given(
    st.lists(st.one_of(LINE, STAMP_TEXT), min_size=1, max_size=40),
    st.integers(0, 40),
    st.sampled_from([math.inf, 1.0, 3600.0]),
    st.data(),
)
def test_times_at_gives_the_times_push_gives(
    lines: list[str], cut: int, gap: float, data: st.DataObject
) -> None:
    """Replay's fast path times chosen lines from the raw bytes of a block; they are the
    times `push` gives every line, the block cut anywhere, and so are the silences."""
    lines = [s for s in map(_segment, lines) if s]
    reference = LogClock(2020, max_lead=0)
    expected = reference.push(lines)
    clock = LogClock(2020, max_lead=0)
    points, silences, offset = [], [], 0
    for part in (lines[:cut], lines[cut:]):
        flat = "".join(line + "\n" for line in part).encode("utf-8")
        starts = [0]
        for line in part[:-1]:
            starts.append(starts[-1] + len(line.encode("utf-8")) + 1)
        chosen = sorted(data.draw(st.sets(st.sampled_from(starts))) if starts and part else [])
        got, quiet = clock.times_at(flat, chosen, gap)
        points += [(offset + starts.index(s), p) for s, p in zip(chosen, got, strict=True)]
        silences += [(offset + starts.index(s), before, t) for s, before, t in quiet]
        offset += len(part)
    previous = [0.0, *expected]
    assert [(i, (previous[i], expected[i])) for i, _ in points] == points
    jumps = [(i, previous[i], t) for i, t in enumerate(expected) if t - previous[i] >= gap]
    assert silences == jumps
    assert clock.timed == reference.timed
