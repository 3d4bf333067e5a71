"""Replay's fast path (`engine.logs.skim`) against the straightforward one: the same answers.

Each check replays one log both ways, with read blocks made small so that a log of a few
hundred lines crosses many of them, and compares everything the result holds: every
decision (time, rule, reason, summary, line, line number, context, values...), the tallies,
the line count, whether the log was timed, the bytes dropped from over-long lines.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from histories import compile_pack
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from engine.authoring.replay import ReplayResult, replay
from engine.logs import timestamps
from engine.logs.skim import lines_before, segments
from engine.match import prefilter as hsmatch
from engine.packs import loader as packs
from engine.packs.rule import RuleSet

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "rlswarm" / "cases"
SCALE = float(os.environ.get("RLSWARM_PROPERTY_SCALE", "1"))
pytestmark = pytest.mark.skipif(not hsmatch.available(), reason="hyperscan not installed")

PACK = r"""
signals:
  - name: round
    log: 'Joining round: (?P<value>\d+)'
rules:
  - id: hit
    severity: info
    log: 'HIT (?P<n>\d+)'
    cooldown: 0s
    context: 3
    summary: 'hit {n} at {time}'
  - id: error
    severity: error
    log: '(?i)\berror\b'
    count: 2
    within: 5m
    cooldown: 2m
  - id: anchored
    severity: warning
    log: '^\[?20\d\d-\d\d-\d\d \d\d:\d\d:\d\d,\d+\]?.*OOM'
    cooldown: 10m
  - id: chinese
    severity: warning
    log: '错误 (?P<what>\S+)'
    cooldown: 30s
    where: what != "skip"
  - id: round-high
    severity: warning
    metric: round > 5
    for: 1m
    cooldown: 0s
  - id: round-stuck
    severity: error
    absent: round
    for: 20m
    cooldown: 0s
  - id: stalled
    severity: critical
    absent: activity
    for: 30m
    cooldown: 0s
"""
FALLBACK_PACK = (
    PACK
    + r"""
  - id: nullable
    severity: info
    log: 'x*'
    cooldown: 1h
"""
)


@pytest.fixture(autouse=True)
def bulk_stamps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every sparse block reads its stamps in bulk (`engine.logs.stampvec`), however small."""
    monkeypatch.setattr(timestamps, "BULK_BYTES", 0)


def same(rules: RuleSet, log: Path, block_bytes: int) -> ReplayResult:
    """Replay `log` both ways, assert equal results; returns the fast one."""
    fast = replay(rules, [str(log)], year=2025, keep_all=True, block_bytes=block_bytes)
    plain = replay(rules, [str(log)], year=2025, keep_all=True, block_bytes=block_bytes, fast=False)
    assert fast.decisions == plain.decisions
    assert fast.tallies == plain.tallies
    lean = replay(rules, [str(log)], year=2025, block_bytes=block_bytes)  # context read lazily
    assert lean.decisions == [d for d in plain.decisions if d.notifies]
    assert lean.tallies == plain.tallies
    assert (fast.lines, fast.bytes, fast.timed, fast.dropped_bytes) == (
        plain.lines,
        plain.bytes,
        plain.timed,
        plain.dropped_bytes,
    )
    return fast


# --- random logs ------------------------------------------------------------------------------

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def stamp(kind: int, t: float) -> str:
    """`t` (seconds from 2025-01-01) written in one of the formats the clock reads, or none."""
    import datetime as dt

    when = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=t)
    ymd, hms, ms = when.strftime("%Y-%m-%d"), when.strftime("%H:%M:%S"), when.microsecond // 1000
    mon, day = MONTHS[when.month - 1], when.day
    return [
        "",
        f"[{ymd} {hms},{ms:03d}][genrl.logging][INFO] - ",
        f"{ymd} {hms},{ms:03d} - INFO - ",
        f"[timid_animal] {ymd} {hms},{ms:03d} INFO: ",
        f"{mon} {day:02d} {hms}.{ms:03d} [INFO] ",
        f"{ymd}T{hms}.{ms:03d}+02:00 ",
        f"{ymd.replace('-', '/')} {hms} ",
        f"{mon} {day:>2} {hms} host ",
        f"  [{ymd} {hms},{ms:03d}] indented ",
        f"svc-1  | {ymd} {hms},{ms:03d} ",
        f"\x1b[32m{ymd} {hms},{ms:03d}\x1b[0m ",
        f"{ymd} {hms} ",
        f"[ünïcode tag] {ymd} {hms},{ms:03d} ",
        f"{mon} {day:02d} {hms},{ms:03d} ",
        "2025-13-40 25:61:61,000 bad date ",
        f"{ymd} {hms}.{ms:03d}Z ",
    ][kind]


BODIES = [
    "HIT {n}",
    "all good, step {n}",
    "an ERROR happened",
    "Joining round: {n}",
    "错误 disk{n}",
    "错误 skip",
    "OOM killer {n}",
    "\x1b[31mERROR\x1b[0m coloured {n}",
    "\x1b]0;title {n}\x07 set title",
    "🐝 émoji HIT {n}",
    "train_runtime = 0:18:22.63",
    "loss=0.{n} ok",
    "",
]
ENDINGS = ["\n", "\n", "\n", "\r\n", "\r", "\n\n", "\r\r\n"]
GAPS = [0.0, 0.001, 0.4, 3.0, 61.0, 700.0, 2000.0, -5.0, -400.0, 3600.0 * 24 * 200]


@st.composite
def logs(draw: st.DrawFn) -> bytes:
    n = draw(st.integers(1, 160))
    t = draw(st.floats(0, 3600.0 * 24 * 360))
    out = []
    for i in range(n):
        t = max(0.0, t + draw(st.sampled_from(GAPS)))
        kind = draw(st.integers(0, 15))
        body = draw(st.sampled_from(BODIES)).format(n=draw(st.integers(0, 12)))
        line = (stamp(kind, t) + body).encode("utf-8") + draw(st.sampled_from(ENDINGS)).encode()
        if draw(st.integers(0, 40)) == 0:
            line = line[: len(line) // 2] + draw(st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0"]))
            line += b"\n"
        if i and draw(st.integers(0, 300)) == 0:
            line = b"x" * 70_000 + line
        out.append(line)
    return b"".join(out)


@pytest.mark.parametrize("bulk", [0, math.inf], ids=["bulk-stamps", "stamps-by-line"])
@pytest.mark.parametrize("pack", [PACK, FALLBACK_PACK], ids=["covered", "fallback"])
@settings(
    max_examples=int(150 * SCALE),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(log=logs(), block=st.sampled_from([64, 200, 1000, 4096, 1 << 20]))
def test_fast_replay_equals_the_straightforward_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pack: str, bulk: float, log: bytes, block: int
) -> None:
    monkeypatch.setattr(timestamps, "BULK_BYTES", bulk)
    path = tmp_path / "train.log"
    path.write_bytes(log)
    result = same(compile_pack(pack), path, block)
    event(f"sparse blocks: {'some' if result.sparse_blocks else 'none'}")
    if pack is FALLBACK_PACK:
        assert result.sparse_blocks == 0  # a pattern hyperscan does not cover: every line


# --- real logs --------------------------------------------------------------------------------


def _corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.log")) + sorted((ROOT / "tests" / "corpus_extra").glob("*.log"))


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the checkout")
@pytest.mark.parametrize("block", [97, 1024, 1 << 20])
def test_every_corpus_log_replays_the_same_both_ways(block: int) -> None:
    rules = packs.load_strict([ROOT / "rules"])
    sparse = sum(same(rules, log, block).sparse_blocks for log in _corpus())
    assert sparse > 0 or block > 8192  # the logs are small: the first block is never sparse


def _bench_log(tmp_path: Path, lines: int) -> Path:
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from genlog import generate  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(ROOT / "bench"))
    path = tmp_path / "bench.log"
    path.write_text("".join(generate(lines, seed=3)), encoding="utf-8")
    return path


@pytest.mark.parametrize("size", [10, 200])
def test_a_bench_log_replays_the_same_both_ways(tmp_path: Path, size: int) -> None:
    rules = packs.load_strict([ROOT / "bench" / "rules" / f"r{size}"])
    result = same(rules, _bench_log(tmp_path, 20_000), 64 * 1024)
    assert result.sparse_blocks >= 20 and result.lines >= 20_000
    assert any(d.notifies for d in result.decisions)


def test_the_shipped_stall_rule_fires_the_same_on_a_long_silence(tmp_path: Path) -> None:
    lines = [f"[2025-07-08 10:{m:02d}:00,000][genrl][INFO] - step {m}\n" for m in range(50)]
    lines += [f"[2025-07-08 12:{m:02d}:00,000][genrl][INFO] - step {m}\n" for m in range(50)]
    path = tmp_path / "gap.log"
    path.write_text("".join(lines))
    result = same(packs.load_strict([ROOT / "rules"]), path, 512)
    assert result.sparse_blocks > 0
    stalls = [d for d in result.decisions if d.rule == "training-stalled" and d.notifies]
    assert [(d.reason.value, d.t - stalls[0].t) for d in stalls] == [
        ("first", 0.0),
        ("resolved", 3600.0 + 11 * 60.0 - 30 * 60.0),  # 11:19 to 12:00, stalled since 10:49
    ]


@pytest.mark.parametrize(
    ("trouble", "why"),
    [
        (b"\xff", "not valid UTF-8"),
        (b"\x1b]0;a title\x07", "a title escape"),
        (b"y" * 70_000, "a line over the cap"),
    ],
)
def test_a_block_the_fast_path_cannot_take_goes_the_straightforward_way(
    tmp_path: Path, trouble: bytes, why: str
) -> None:
    good = b"[2025-07-08 10:00:00,000][genrl][INFO] - HIT 1\n"
    bad = b"[2025-07-08 10:00:01,000][genrl][INFO] - HIT 2 " + trouble + b"\n"
    path = tmp_path / "mixed.log"
    path.write_bytes(good * 400 + bad + good * 400)
    everywhere = tmp_path / "bad.log"
    everywhere.write_bytes(bad * 400)
    rules = compile_pack(PACK)
    assert same(rules, path, 4096).sparse_blocks > 0, why
    assert same(rules, everywhere, 4096).sparse_blocks == 0, why


def test_several_files_take_the_straightforward_way(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("2025-07-08T10:00:00Z HIT 1\n" * 100)
    b.write_text("2025-07-08T10:00:01Z HIT 2\n" * 100)
    result = replay(compile_pack(PACK), [str(a), str(b)], year=2025, block_bytes=256)
    assert result.sparse_blocks == 0 and result.lines == 200


def _lines(result: ReplayResult) -> Sequence[int | None]:
    return [d.line_no for d in result.decisions]


def test_line_numbers_and_context_survive_redraws_and_colour(tmp_path: Path) -> None:
    body = b"".join(
        b"[2025-07-08 10:00:%02d,000][x][INFO] - \x1b[1mstep\x1b[0m %d\r 50%%|##| 1/2\r\n"
        % (i % 60, i)
        for i in range(300)
    )
    path = tmp_path / "redraw.log"
    path.write_bytes(body + b"[2025-07-08 10:05:00,000][x][INFO] - HIT 7\n")
    result = same(compile_pack(PACK), path, 1000)
    (hit,) = [d for d in result.decisions if d.rule == "hit"]
    assert hit.line_no == 301 and result.sparse_blocks > 0
    assert hit.context == (
        " 50%|##| 1/2",
        "[2025-07-08 10:00:59,000][x][INFO] - step 299",
        " 50%|##| 1/2",
    )
    assert _lines(result)[-1] == 301


# --- the helpers ------------------------------------------------------------------------------

flats = st.lists(st.sampled_from([b"a", b"bb", b"\xc3\xa9", b"\n", b"\n", b"x" * 300]), max_size=60)


@given(parts=flats)
def test_segments_counts_the_non_empty_lines(parts: list[bytes]) -> None:
    flat = b"".join(parts) + b"\n"
    assert segments(flat) == len([p for p in flat.split(b"\n") if p])


@given(parts=flats, n=st.integers(0, 25), data=st.data())
def test_lines_before_are_the_last_non_empty_lines_before_a_line_start(
    parts: list[bytes], n: int, data: st.DataObject
) -> None:
    flat = b"".join(parts) + b"\n"
    starts = [0] + [i + 1 for i, c in enumerate(flat) if c == 10 and i + 1 < len(flat)]
    start = data.draw(st.sampled_from([*starts, len(flat)]))
    expected = [p.decode() for p in flat[:start].split(b"\n") if p][-n:] if n else []
    assert lines_before(flat, start, n) == expected
