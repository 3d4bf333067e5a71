"""engine.logs.stampvec: the bulk reading of stamps gives exactly what `LogClock.times_at` gives
line by line: the same points, silences, time and year, float for float."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.logs import stampvec, timestamps
from engine.logs.lines import strip_ansi_bytes
from engine.logs.timestamps import LogClock, parse_timestamp

CASES = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "rlswarm" / "cases"
EPOCH = datetime(1970, 1, 1)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def epoch(w: datetime) -> float:
    return (w - EPOCH).total_seconds()


def dated(w: datetime, sep: str = "-", mid: str = " ", frac: str = ",373") -> str:
    return f"{w.year:04d}{sep}{w.month:02d}{sep}{w.day:02d}{mid}{w:%H:%M:%S}{frac}"


def yearless(w: datetime, frac: str = ".681", day: str = "") -> str:
    return f"{MONTHS[w.month - 1]} {day or f'{w.day:02d}'} {w:%H:%M:%S}{frac}"


WHEN = st.datetimes(min_value=datetime(2024, 12, 20), max_value=datetime(2025, 1, 10))
FRACTION = st.sampled_from(["", ",373", ".373", ",37", ".3", ",3731", ".373123456789", ",", "."])
TAG = st.one_of(
    st.sampled_from(["timid_untamed_condor", "x", "a" * 64, "a" * 65, "rank0", "é", "J", "1"]),
    st.text(alphabet="ab]:[ \t\n-é", max_size=6),
)
GAP = st.sampled_from(["", " ", "  ", "\t", ":", ": ", " [", "["])
TAIL = st.sampled_from(
    ["", "[INFO] - x", " INFO x", "Z", "z", "+02:00", "-0800", "1", "7 x", " 12:30:45", ":01:02"]
)
BAD_DATE = st.sampled_from(
    [
        "2025-02-29 10:00:00",  # no such day this year
        "2024-02-29 10:00:00",  # but this one
        "2025-13-01 10:00:00",
        "2025-00-10 10:00:00",
        "2025-04-31 10:00:00",
        "2025-01-01 24:00:00",
        "2025-01-01 23:60:00",
        "2025-01-01 23:59:60",
        "2025-01-01 23:59:61",
        "0000-01-01 00:00:00",
        "2025-01-01T10:00:00",
        "2025/01/01 10:00:00",
        "2025-01/01 10:00:00",
        "Feb 29 10:00:00.000",
        "Feb 30 10:00:00",
        "Jun 31 10:00:00",
        "Jan 00 10:00:00",
        "Jan  5 10:00:00",
        "Jan 5 10:00:00",
        "Dec 31 23:59:60.999",
        "Jan 01 24:00:00",
    ]
)


@st.composite
def lines(draw: st.DrawFn) -> str:
    when = draw(WHEN)
    stamp = draw(
        st.one_of(
            st.builds(
                dated, st.just(when), st.sampled_from("-/"), st.sampled_from(" Tt"), FRACTION
            ),
            st.builds(yearless, st.just(when), FRACTION),
            BAD_DATE,
        )
    )
    shape = draw(st.integers(0, 5))
    if shape == 0:
        head = ""
    elif shape == 1:
        head = "["
    elif shape == 2:
        head = "[" + draw(TAG) + "]" + draw(GAP)
    elif shape == 3:
        head = draw(st.sampled_from(["  ", "> ", "svc-1  | ", "[a] [b] ", "x "]))
    elif shape == 4:
        return draw(st.sampled_from(["", "no stamp", "took 0:18:22.63", "12:30:45", "[x]"]))
    else:
        return draw(st.text(alphabet="[]:0123456789JanDec -,.\t", max_size=30))
    return head + stamp + draw(TAIL)


def _flat(texts: list[str]) -> bytes:
    segments = [t.replace("\r", " ").replace("\x1b", "") for t in texts]
    return "".join(s + "\n" for s in segments if "\n" not in s and s).encode("utf-8")


def _primed(year: int, first: float | None) -> LogClock:
    clock = LogClock(year, max_lead=0)
    if first is not None:
        clock.push([dated(EPOCH + timedelta(seconds=first), frac="")])
    return clock


def _line_by_line(clock: LogClock, flat: bytes, stops: list[int], gap: float) -> tuple[object, ...]:
    points, silences = clock.times_at(flat, stops, gap, bulk=False)
    return points, silences, clock._last, clock._year


def _starts(flat: bytes) -> list[int]:
    return [0] + [i + 1 for i, b in enumerate(flat[:-1]) if b == 10]


@settings(max_examples=400, deadline=None)
@given(
    st.lists(lines(), min_size=1, max_size=60),
    st.sampled_from([math.inf, 1.0, 3600.0, 20 * 86400.0]),
    st.sampled_from([1.0, epoch(datetime(2024, 12, 31, 23, 0)), 1.0e9]),
    st.data(),
)
def test_bulk_reading_is_the_line_by_line_reading(
    texts: list[str],
    gap: float,
    first: float,
    data: st.DataObject,
) -> None:
    flat = _flat(texts)
    if not flat:
        return
    starts = _starts(flat)
    stops = sorted(data.draw(st.sets(st.sampled_from(starts))))
    reference = _primed(2020, first)
    expected = _line_by_line(reference, flat, stops, gap)
    clock = _primed(2020, first)
    got = stampvec.read(flat, stops, gap, clock._last, clock._year)
    if got is not None:
        assert (got.points, got.silences, got.last, got.year) == expected


def test_bulk_reading_covers_the_common_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hydra, hivemind and `[tag] ` stamps are read in bulk; the scan sees only the rest."""
    w = datetime(2025, 7, 8, 19, 12, 21, 373000)
    texts = []
    for i in range(300):
        t = w + timedelta(seconds=i)
        texts += [
            f"[{dated(t)}][genrl][INFO] - round {i}",
            f"{yearless(t)} [INFO] [hivemind.averaging] x",
            f"[timid_untamed_condor] {dated(t)} INFO: y",
            "  train_runtime = 0:18:22.63",
            "{'loss': 0.1}",
        ]
    flat = _flat(texts)
    scanned: list[int] = []
    scan = stampvec._scan

    def counting(buf: bytes, line_at: list[int]) -> object:
        scanned.extend(line_at)
        return scan(buf, line_at)

    monkeypatch.setattr(stampvec, "_scan", counting)
    stops = _starts(flat)[::7]
    clock = _primed(2020, 1.0)
    got = stampvec.read(flat, stops, 0.5, clock._last, clock._year)
    assert got is not None
    assert len(scanned) == 300  # only the `0:18:22` lines
    expected = _line_by_line(clock, flat, stops, 0.5)
    assert (got.points, got.silences, got.last, got.year) == expected
    assert len(got.silences) == 300


def test_a_new_year_in_yearless_stamps_is_left_to_the_line_by_line_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    texts = [yearless(datetime(2024, 12, 31, 23, 59, 58)), yearless(datetime(2025, 1, 1, 0, 0, 1))]
    flat = _flat(texts * 3)
    clock = _primed(2024, epoch(datetime(2024, 12, 31, 23, 0)))
    assert stampvec.read(flat, [0], math.inf, clock._last, clock._year) is None
    monkeypatch.setattr(timestamps, "BULK_BYTES", 0)
    points, _ = clock.times_at(flat, _starts(flat)[-1:], math.inf)
    assert points == [(epoch(datetime(2025, 1, 1, 0, 0, 1)) + 0.681,) * 2]
    assert clock._year == 2025


def test_epoch_of_every_kind_of_date() -> None:
    """The calendar arithmetic agrees with `datetime.date` from year 1 to 9999."""
    days = np.arange(date(1, 1, 1).toordinal(), date(9999, 12, 31).toordinal() + 1, 37)
    real = [date.fromordinal(int(d)) for d in days]
    year = np.array([d.year for d in real])
    month = np.array([d.month for d in real])
    day = np.array([d.day for d in real])
    zero = np.zeros(len(real), dtype=np.int64)
    got = stampvec._epoch_minutes(year, month, day, zero + 23, zero + 59)
    unix = date(1970, 1, 1).toordinal()
    assert got.tolist() == [
        float((d.toordinal() - unix) * 86400 + 23 * 3600 + 59 * 60) for d in real
    ]
    assert stampvec._real(year, month, day).all()
    assert not stampvec._real(
        np.array([2025, 2024, 2100, 2000]), np.array([2, 2, 2, 2]), np.array([29, 30, 29, 30])
    ).any()
    assert stampvec._real(np.array([2024, 2000]), np.array([2, 2]), np.array([29, 29])).all()


def _first_stamp(flat: bytes) -> float:
    """The first stamp of a log read in 2025: where replay's clock would stand."""
    stamps = (parse_timestamp(line, 2025) for line in flat.decode("utf-8").splitlines())
    return next((s for s in stamps if s is not None), 0.0)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("*.log")) or ["none"])
def test_corpus_logs_read_the_same_in_bulk(case: str) -> None:
    paths = list(CASES.glob(case))
    if not paths:
        pytest.skip("corpus not found beside the project")
    raw = strip_ansi_bytes(paths[0].read_bytes())
    flat = raw.replace(b"\r", b"\n")
    flat = flat[: flat.rfind(b"\n") + 1]
    try:
        flat.decode("utf-8")
    except UnicodeDecodeError:
        pytest.skip("not UTF-8: replay takes it line by line")
    starts = _starts(flat)
    stops = starts[:: max(1, len(starts) // 300)]
    for gap in (math.inf, 60.0):
        clock = _primed(2025, _first_stamp(flat))
        last, year = clock._last, clock._year
        expected = _line_by_line(clock, flat, stops, gap)
        got = stampvec.read(flat, stops, gap, last, year)
        assert got is not None  # none of these crosses a new year in yearless stamps
        assert (got.points, got.silences, got.last, got.year) == expected


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from([b"a", b"\n", b"\r", b"\xc3\xa9", b"x" * 10]), max_size=60), st.data()
)
def test_numbering_counts_as_the_splitter_does(parts: list[bytes], data: st.DataObject) -> None:
    stripped = b"".join(parts) + b"\n"
    flat = stripped.replace(b"\r", b"\n")
    starts = [0] + [i + 1 for i, b in enumerate(flat[:-1]) if b == 10]
    points = sorted(data.draw(st.sets(st.sampled_from(starts))))
    numbers, newlines, lines = stampvec.numbering(stripped, flat, points, 7)
    assert numbers == [7 + stripped.count(b"\n", 0, p) for p in points]
    assert newlines == stripped.count(b"\n")
    assert lines == len([s for s in flat.split(b"\n") if s])
