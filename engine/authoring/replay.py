"""Backtest: run the rules over saved logs in log time and collect what would have been sent.

Files are read in blocks of about 1 MiB, so memory stays flat on multi-GB files. One file
goes the fast way (`engine.logs.skim`): hyperscan finds in the raw bytes the few lines a rule
may match, and only those are decoded, timed and fed to the core. The straightforward way,
kept as the reference and used for several files (merged line by line in log time) and
where hyperscan is missing, splits every line, times it from the timestamps in the lines
(`engine.logs.timestamps`) and feeds the core every line. Both give the same result.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from engine.core.engine import Engine
from engine.core.sparse import SparseBlock
from engine.logs.logfile import BLOCK_BYTES, STDIN, Progress, open_log
from engine.logs.reader import Reader
from engine.logs.skim import Lookout, Skim
from engine.match.cache import default_dir
from engine.match.prefilter import accelerated
from engine.model import Decision, LineBlock, Reason, Tick
from engine.packs.rule import RuleSet

__all__ = ["BLOCK_BYTES", "Progress", "ReplayResult", "RuleTally", "open_log", "replay"]


@dataclass
class RuleTally:
    """What became of one rule's occurrences (each counted in exactly one of notified, held,
    counting and silenced) and how many messages it sent."""

    occurrences: int = 0
    notified: int = 0  # sent at once: the first, or the first after the cooldown
    suppressed: int = 0  # held back by the cooldown (a digest or the next message tells them)
    counting: int = 0  # counted toward `count` within `within`, not (yet) enough to fire
    silenced: int = 0  # would have been sent, but a silence held it back
    messages: int = 0  # notifications sent: those above, digests, reminders, resolutions
    severity: str = ""  # of its decisions (for the alerts of no pack rule: rule-suspended)


@dataclass
class ReplayResult:
    decisions: list[Decision] = field(default_factory=list)
    tallies: dict[str, RuleTally] = field(default_factory=dict)
    lines: int = 0
    bytes: int = 0
    timed: bool = False
    dropped_bytes: int = 0
    sparse_blocks: int = 0  # blocks read the fast way
    overruns: dict[str, int] = field(default_factory=dict)  # `Engine.overruns`

    def add(self, decisions: Sequence[Decision], keep_all: bool) -> None:
        for d in decisions:
            tally = self.tallies.setdefault(d.rule, RuleTally(severity=d.severity.label))
            if d.reason in _OCCURRENCE:
                tally.occurrences += 1
            if d.notifies:
                tally.messages += 1
            if d.reason in (Reason.FIRST, Reason.COOLDOWN_ELAPSED):
                tally.notified += 1
            elif d.reason is Reason.SUPPRESSED:
                tally.suppressed += 1
            elif d.reason is Reason.COUNTING:
                tally.counting += 1
            elif d.reason is Reason.SILENCED:
                tally.silenced += 1
            if keep_all or d.notifies:
                self.decisions.append(d)


_OCCURRENCE = frozenset(
    {Reason.FIRST, Reason.COOLDOWN_ELAPSED, Reason.SUPPRESSED, Reason.SILENCED, Reason.COUNTING}
)


def default_year(name: str) -> int:
    """The year for timestamps that carry none: the file's modification year."""
    try:
        mtime = Path(name).stat().st_mtime if name != STDIN else None
    except OSError:
        mtime = None
    when = datetime.fromtimestamp(mtime, tz=timezone.utc) if mtime else datetime.now(timezone.utc)
    return when.year


def _merged(readers: Sequence[Reader]) -> Iterator[LineBlock]:
    """Blocks of several files merged line by line in time order (stable per file)."""

    def lines(reader: Reader, rank: int) -> Iterator[tuple[float, int, int, str, str]]:
        for block in reader.blocks():
            for t, n, text in zip(block.times, block.line_nos, block.texts, strict=True):
                yield t, rank, n, reader.name, text

    streams = [lines(r, i) for i, r in enumerate(readers)]
    run: list[tuple[float, int, int, str, str]] = []
    for item in heapq.merge(*streams):
        if run and (item[3] != run[0][3] or len(run) >= 4096):
            yield _as_block(run)
            run = []
        run.append(item)
    if run:
        yield _as_block(run)


def _as_block(run: list[tuple[float, int, int, str, str]]) -> LineBlock:
    return LineBlock(run[0][3], [r[4] for r in run], [r[0] for r in run], [r[2] for r in run])


def replay(
    rules: RuleSet,
    files: Sequence[str],
    *,
    host: str = "",
    project: str = "",
    year: int | None = None,
    keep_all: bool = False,
    progress: Progress | None = None,
    fast: bool = True,
    block_bytes: int = BLOCK_BYTES,
) -> ReplayResult:
    """Replay `files` through a fresh engine; the result lists what would have been sent.

    `fast=False` keeps to the straightforward reader (the reference the fast one is tested
    against); `block_bytes` is the read size (tests make it small to cross many blocks).
    """
    matcher = accelerated(rules.patterns, default_dir())
    engine = Engine(rules, host=host, project=project, matcher=matcher, lean=not keep_all)
    readers: Sequence[Reader | Skim]
    blocks: Iterator[LineBlock | SparseBlock]
    if fast and len(files) == 1:
        lookout = Lookout(matcher, rules.silence_gap, rules.context, len(rules.signals))
        first = files[0]
        skim = Skim(first, year or default_year(first), progress, block_bytes, lookout=lookout)
        readers, blocks = [skim], skim.blocks()
    else:
        plain = [Reader(f, year or default_year(f), progress, block_bytes) for f in files]
        readers, blocks = plain, plain[0].blocks() if len(plain) == 1 else _merged(plain)
    result = ReplayResult()
    for block in blocks:
        if isinstance(block, SparseBlock):
            result.lines += block.lines
            result.add(engine.feed_sparse(block), keep_all)
        else:
            result.lines += len(block.texts)
            result.add(engine.feed_lines(block), keep_all)
    if result.lines:  # timers left at the log's end (an empty log has no time to tick at)
        result.add(engine.feed(Tick(engine.now)), keep_all)
        result.add(engine.finish(), keep_all)
    result.bytes = sum(r.read_bytes for r in readers)
    result.timed = any(r.timed for r in readers)
    result.dropped_bytes = sum(r.splitter.dropped_bytes for r in readers)
    result.sparse_blocks = sum(r.sparse_blocks for r in readers if isinstance(r, Skim))
    result.overruns = dict(engine.overruns)
    return result
