"""The core's lifecycle as tables: a pack, a history `[(t, observation)]`, the exact decisions.

Each case replays its history through a fresh `Engine` and compares the whole
list of `(t, rule, reason, group, count, since, duration_s)` rows. The same
histories are also fed with runs of lines as `LineBlock`s: the block and the
single-line paths must decide exactly the same things.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pytest
from histories import (
    TICK,
    History,
    Line,
    Row,
    as_row,
    event,
    feed_in_blocks,
    feed_one_by_one,
    make_engine,
    metrics,
    row,
    table_diff,
)

from engine.core.engine import Engine
from engine.model import LineBlock, LogLine, Reason, Silence, Tick

FIRST = Reason.FIRST
ELAPSED = Reason.COOLDOWN_ELAPSED
DIGEST = Reason.DIGEST
REPEAT = Reason.REPEAT
RESOLVED = Reason.RESOLVED
SUPPRESSED = Reason.SUPPRESSED
PENDING = Reason.PENDING
COUNTING = Reason.COUNTING
SILENCED = Reason.SILENCED
CANCELLED = Reason.CANCELLED
INHIBITED = Reason.INHIBITED
GATHERING = Reason.GATHERING

BOOM = Line("BOOM")


def pack(*rules: str, signals: str = "", defaults: str = "") -> str:
    """A pack from rule snippets written as the lines after `- `, indented by 4."""
    parts = []
    if defaults:
        parts.append("defaults:\n" + defaults)
    if signals:
        parts.append("signals:\n" + signals)
    parts.append("rules:\n" + "".join(f"  - {r.strip()}\n" for r in rules))
    return "\n".join(parts)


LOG = pack(
    """id: boom
    severity: error
    log: 'BOOM'"""
)
LOG_1M = pack(
    """id: boom
    severity: error
    log: 'BOOM'
    cooldown: 1m"""
)
LOG_NO_COOLDOWN = pack(
    """id: boom
    severity: error
    log: 'BOOM'
    cooldown: '0'"""
)
LOG_BY_GPU = pack(
    """id: oom
    severity: error
    log: 'GPU (?P<gpu>\\d+) out of memory'
    group_by: 'gpu{gpu}'"""
)
COUNT_2_IN_1M = pack(
    """id: nan
    severity: error
    log: 'loss=nan'
    count: 2
    within: 1m"""
)
COUNT_3_IN_1M = pack(
    """id: nan
    severity: error
    log: 'loss=nan'
    count: 3
    within: 1m"""
)
COUNT_BY_NODE = pack(
    """id: nan
    severity: error
    log: 'node (?P<node>\\w+) loss=nan'
    count: 2
    within: 1m
    group_by: '{node}'"""
)
CRASH = pack(
    """id: crash
    severity: critical
    event: exit
    where: code != 0"""
)
MEM = pack(
    """id: mem
    severity: warning
    metric: mem_percent > 85
    for: 2m"""
)
MEM_NOW = pack(
    """id: mem
    severity: warning
    metric: mem_percent > 85"""
)
MEM_HYSTERESIS = pack(
    """id: mem
    severity: warning
    metric: mem_percent > 85
    resolve: mem_percent < 80"""
)
MEM_REPEAT = pack(
    """id: mem
    severity: warning
    metric: mem_percent > 85
    repeat: 10m"""
)
MEM_AND_SWAP = pack(
    """id: mem
    severity: warning
    metric: mem_percent > 85 and swap_percent > 10"""
)
STALLED = pack(
    """id: stalled
    severity: error
    absent: activity
    for: 30m"""
)
STALLED_1M = pack(
    """id: stalled
    severity: error
    absent: activity
    for: 1m"""
)
PROGRESS = "  - name: progress\n    log: 'step \\d+'\n"
NO_PROGRESS = pack(
    """id: stuck
    severity: error
    absent: progress
    for: 10m""",
    signals=PROGRESS,
)


@dataclass(frozen=True)
class Case:
    id: str
    pack: str
    history: History
    expected: Sequence[Row]
    silences: Sequence[Silence] = ()
    bug: str = ""  # when set: the case shows a bug; strict xfail with this reason


KEY_WAIT = pack(
    """id: key
    severity: warning
    log: 'Waiting for key'
    unless:
      log: 'key activated'
      within: 3m"""
)
KEY_WAIT_COUNTED = pack(
    """id: key
    severity: warning
    log: 'Waiting for key'
    count: 2
    within: 1m
    unless:
      log: 'key activated'
      within: 3m"""
)
WAIT, ACTIVATED = Line("Waiting for key"), Line("key activated")
NAN, NAN_IN_FILE = Line("loss=nan"), Line("loss=nan", "logs/swarm_launcher.log")
ERR_COUNT = pack(
    "id: errs\n    severity: error\n    metric: errs >= 2",
    signals="  - name: errs\n    log: 'ERR'\n",
)

CRASH_FOLDS = pack(
    """id: oom
    severity: critical
    log: 'CUDA out of memory'""",
    """id: launcher-error
    severity: critical
    log: 'An error was detected'
    inhibited_by: {severity: critical, before: 5m}""",
    """id: exception
    severity: critical
    log: 'Error: '
    inhibited_by: {severity: critical, after: 10s}""",
    """id: crashed
    severity: critical
    event: exit
    where: code != 0
    inhibited_by: {severity: critical, labels: {incident: crash}}""",
    """id: disk
    severity: critical
    log: 'No space left'
    labels: {incident: crash}""",
    """id: warn
    severity: warning
    log: 'slow'""",
)
OOM, LAUNCHER, EXC = Line("CUDA out of memory"), Line("An error was detected"), Line("Error: x")
CRASH_GATHERS = pack(
    """id: oom
    severity: critical
    log: 'CUDA out of memory'""",
    """id: launcher-error
    severity: critical
    log: 'An error was detected'
    inhibited_by: {severity: critical, before: 5m, gather: 15s}""",
    """id: exception
    severity: critical
    log: 'Error: '
    inhibited_by: {severity: critical, after: 10s, gather: 15s}""",
    """id: crashed
    severity: critical
    event: exit
    where: code != 0
    inhibited_by: {severity: critical, gather: 15s}""",
    """id: restart-me
    severity: critical
    log: 'restart me'
    action: restart""",
    """id: warn
    severity: warning
    log: 'slow'""",
)

TRACEBACKS = pack(
    """id: cut
    severity: error
    event: exception
    where: cut_off
    cooldown: '0'""",
    """id: done
    severity: error
    event: exception
    where: not cut_off
    cooldown: '0'""",
)


def traceback(*lines: str, source: str = "stdout") -> list[tuple[float, Line]]:
    """The lines of one traceback, all at time 0."""
    return [(0, Line(text, source)) for text in lines]


TB_START, TB_FRAME = (
    "Traceback (most recent call last):",
    '  File "/x/vllm/worker.py", line 9, in run',
)

CASES: list[Case] = [
    # --- log rules: first occurrence and cooldown (default 5m) ---------------------------
    Case(
        "log-first-match-notifies-first",
        LOG,
        [(0, Line("all good")), (5, BOOM), (6, Line("boo")), (7, Line("boom"))],
        [row(5, "boom", FIRST)],
    ),
    Case(
        "log-match-1ms-before-cooldown-is-suppressed-then-digested",
        LOG,
        [(0, BOOM), (299.999, BOOM), (300, TICK)],
        [
            row(0, "boom", FIRST),
            row(299.999, "boom", SUPPRESSED),
            row(300, "boom", DIGEST, count=1, since=299.999),
        ],
    ),
    Case(
        "log-match-exactly-at-cooldown-end-notifies",
        LOG,
        [(0, BOOM), (300, BOOM)],
        [row(0, "boom", FIRST), row(300, "boom", ELAPSED)],
    ),
    Case(
        "log-match-long-after-cooldown-notifies",
        LOG,
        [(0, BOOM), (4000, BOOM), (4299.999, BOOM)],
        [row(0, "boom", FIRST), row(4000, "boom", ELAPSED), row(4299.999, "boom", SUPPRESSED)],
    ),
    Case(
        "digest-counts-every-suppressed-since-the-first",
        LOG,
        [(0, BOOM), (10, BOOM), (20, BOOM), (30, BOOM), (1000, TICK)],
        [
            row(0, "boom", FIRST),
            row(10, "boom", SUPPRESSED),
            row(20, "boom", SUPPRESSED),
            row(30, "boom", SUPPRESSED),
            row(300, "boom", DIGEST, count=3, since=10),
        ],
    ),
    Case(
        "digest-is-timed-at-cooldown-end-even-when-next-observation-is-later",
        LOG,
        [(0, BOOM), (10, BOOM), (1000, BOOM)],
        [
            row(0, "boom", FIRST),
            row(10, "boom", SUPPRESSED),
            row(300, "boom", DIGEST, count=1, since=10),
            row(1000, "boom", ELAPSED),
        ],
    ),
    Case(
        "digest-not-due-1ms-before-cooldown-end",
        LOG,
        [(0, BOOM), (10, BOOM), (299.999, TICK)],
        [row(0, "boom", FIRST), row(10, "boom", SUPPRESSED)],
    ),
    Case(
        "digest-starts-a-new-cooldown",
        LOG,
        [(0, BOOM), (10, BOOM), (599.999, BOOM), (600, TICK), (900, BOOM)],
        [
            row(0, "boom", FIRST),
            row(10, "boom", SUPPRESSED),
            row(300, "boom", DIGEST, count=1, since=10),
            row(599.999, "boom", SUPPRESSED),
            row(600, "boom", DIGEST, count=1, since=599.999),
            row(900, "boom", ELAPSED),
        ],
    ),
    Case(
        "match-at-exact-digest-time-comes-after-the-digest-and-is-suppressed",
        LOG,
        [(0, BOOM), (10, BOOM), (300, BOOM), (600, TICK)],
        [
            row(0, "boom", FIRST),
            row(10, "boom", SUPPRESSED),
            row(300, "boom", DIGEST, count=1, since=10),
            row(300, "boom", SUPPRESSED),
            row(600, "boom", DIGEST, count=1, since=300),
        ],
    ),
    Case(
        "no-digest-when-nothing-was-suppressed",
        LOG,
        [(0, BOOM), (300, TICK), (5000, TICK)],
        [row(0, "boom", FIRST)],
    ),
    Case(
        "cooldown-option-1m",
        LOG_1M,
        [(0, BOOM), (30, BOOM), (60, TICK), (119.999, BOOM), (180, BOOM)],
        [
            row(0, "boom", FIRST),
            row(30, "boom", SUPPRESSED),
            row(60, "boom", DIGEST, count=1, since=30),
            row(119.999, "boom", SUPPRESSED),
            row(120, "boom", DIGEST, count=1, since=119.999),
            row(180, "boom", ELAPSED),
        ],
    ),
    Case(
        "cooldown-from-pack-defaults",
        pack("id: boom\n    severity: error\n    log: 'BOOM'", defaults="  cooldown: 10m\n"),
        [(0, BOOM), (300, BOOM), (600, TICK), (1200, BOOM)],
        [
            row(0, "boom", FIRST),
            row(300, "boom", SUPPRESSED),
            row(600, "boom", DIGEST, count=1, since=300),
            row(1200, "boom", ELAPSED),
        ],
    ),
    Case(
        "cooldown-zero-notifies-every-match",
        LOG_NO_COOLDOWN,
        [(0, BOOM), (0, BOOM), (0.001, BOOM), (1000, TICK)],
        [row(0, "boom", FIRST), row(0, "boom", ELAPSED), row(0.001, "boom", ELAPSED)],
    ),
    Case(
        "two-rules-on-one-line-have-separate-cooldowns",
        pack(
            "id: boom\n    severity: error\n    log: 'BOOM'",
            "id: any\n    severity: info\n    log: 'B'\n    cooldown: 1m",
        ),
        [(0, BOOM), (60, BOOM)],
        [
            row(0, "boom", FIRST),
            row(0, "any", FIRST),
            row(60, "boom", SUPPRESSED),
            row(60, "any", ELAPSED),
        ],
    ),
    # --- group_by ------------------------------------------------------------------------
    Case(
        "group-by-keeps-a-cooldown-per-group",
        LOG_BY_GPU,
        [
            (0, Line("GPU 0 out of memory")),
            (10, Line("GPU 1 out of memory")),
            (20, Line("GPU 0 out of memory")),
            (300, Line("GPU 1 out of memory")),
        ],
        [
            row(0, "oom", FIRST, group="gpu0"),
            row(10, "oom", FIRST, group="gpu1"),
            row(20, "oom", SUPPRESSED, group="gpu0"),
            row(300, "oom", DIGEST, group="gpu0", count=1, since=20),
            row(300, "oom", SUPPRESSED, group="gpu1"),
        ],
    ),
    Case(
        "group-by-on-event-fields",
        pack("id: exc\n    severity: error\n    event: exception\n    group_by: '{type}'"),
        [
            (0, event("exception", type="ValueError")),
            (1, event("exception", type="KeyError")),
            (2, event("exception", type="ValueError")),
        ],
        [
            row(0, "exc", FIRST, group="ValueError"),
            row(1, "exc", FIRST, group="KeyError"),
            row(2, "exc", SUPPRESSED, group="ValueError"),
        ],
    ),
    # --- event rules and where -------------------------------------------------------------
    Case(
        "event-where-filters-on-fields",
        CRASH,
        [
            (0, event("exit", code=0)),
            (10, event("exit", code=1)),
            (20, event("exit")),
            (30, event("start")),
            (400, event("exit", code=137)),
        ],
        [row(10, "crash", FIRST), row(400, "crash", ELAPSED)],
    ),
    Case(
        "event-inside-cooldown-is-suppressed-and-digested",
        CRASH,
        [(0, event("exit", code=1)), (60, event("exit", code=2)), (300, TICK)],
        [
            row(0, "crash", FIRST),
            row(60, "crash", SUPPRESSED),
            row(300, "crash", DIGEST, count=1, since=60),
        ],
    ),
    Case(
        "log-where-numeric-capture-is-a-number",
        pack("id: loss\n    severity: error\n    log: 'loss=(?P<loss>\\S+)'\n    where: loss > 5"),
        [
            (0, Line("loss=3")),
            (1, Line("loss=10")),  # compared as numbers: 10 > 5 (as text '10' < '5')
            (2, Line("loss=abc")),
        ],
        [row(1, "loss", FIRST)],
    ),
    Case(
        "log-where-text-capture",
        pack(
            "id: lvl\n    severity: error\n    log: '(?P<level>[A-Z]+): '\n"
            "    where: level == 'ERROR'"
        ),
        [(0, Line("INFO: fine")), (1, Line("ERROR: bad"))],
        [row(1, "lvl", FIRST)],
    ),
    Case(
        "log-where-over-current-metrics",
        pack("id: boom\n    severity: error\n    log: 'BOOM'\n    where: mem_percent > 90"),
        [
            (0, BOOM),  # not yet sampled: the condition cannot hold
            (1, metrics(mem_percent=50)),
            (2, BOOM),
            (3, metrics(mem_percent=95)),
            (4, BOOM),
        ],
        [row(4, "boom", FIRST)],
    ),
    # --- count / within ---------------------------------------------------------------------
    Case(
        "count-fires-on-the-nth-match",
        COUNT_3_IN_1M,
        [(0, Line("loss=nan")), (10, Line("loss=nan")), (20, Line("loss=nan"))],
        [row(0, "nan", COUNTING), row(10, "nan", COUNTING), row(20, "nan", FIRST)],
    ),
    Case(
        "count-match-exactly-within-earlier-is-outside-the-window",
        COUNT_2_IN_1M,
        [(0, Line("loss=nan")), (60, Line("loss=nan"))],
        [row(0, "nan", COUNTING), row(60, "nan", COUNTING)],
    ),
    Case(
        "count-match-1ms-less-than-within-earlier-is-inside",
        COUNT_2_IN_1M,
        [(0, Line("loss=nan")), (59.999, Line("loss=nan"))],
        [row(0, "nan", COUNTING), row(59.999, "nan", FIRST)],
    ),
    Case(
        "count-window-slides",
        COUNT_3_IN_1M,
        [(t, Line("loss=nan")) for t in (0, 30, 60, 61)],
        [
            row(0, "nan", COUNTING),
            row(30, "nan", COUNTING),
            row(60, "nan", COUNTING),  # 0 is exactly 1m earlier: out
            row(61, "nan", FIRST),
        ],
    ),
    Case(
        "count-window-is-cleared-when-it-fires-then-gated-by-cooldown",
        COUNT_2_IN_1M,
        [
            (0, Line("loss=nan")),
            (1, Line("loss=nan")),
            (2, Line("loss=nan")),
            (3, Line("loss=nan")),
            (400, TICK),
        ],
        [
            row(0, "nan", COUNTING),
            row(1, "nan", FIRST),
            row(2, "nan", COUNTING),
            row(3, "nan", SUPPRESSED),
            row(301, "nan", DIGEST, count=1, since=3),
        ],
    ),
    Case(
        "count-after-cooldown-notifies-elapsed",
        COUNT_2_IN_1M,
        [(t, Line("loss=nan")) for t in (0, 1, 400, 401)],
        [
            row(0, "nan", COUNTING),
            row(1, "nan", FIRST),
            row(400, "nan", COUNTING),
            row(401, "nan", ELAPSED),
        ],
    ),
    Case(
        "count-windows-are-per-group",
        COUNT_BY_NODE,
        [
            (0, Line("node a loss=nan")),
            (1, Line("node b loss=nan")),
            (2, Line("node a loss=nan")),
            (3, Line("node b loss=nan")),
        ],
        [
            row(0, "nan", COUNTING, group="a"),
            row(1, "nan", COUNTING, group="b"),
            row(2, "nan", FIRST, group="a"),
            row(3, "nan", FIRST, group="b"),
        ],
    ),
    Case(
        "count-on-events",
        pack("id: again\n    severity: warning\n    event: restart\n    count: 2\n    within: 10m"),
        [(0, event("restart")), (600, event("restart")), (1199.999, event("restart"))],
        [row(0, "again", COUNTING), row(600, "again", COUNTING), row(1199.999, "again", FIRST)],
    ),
    Case(
        "count-ignores-matches-filtered-by-where",
        pack(
            "id: slow\n    severity: warning\n    log: 'step took (?P<s>\\d+)s'\n"
            "    where: s > 10\n    count: 2\n    within: 1m"
        ),
        [(0, Line("step took 20s")), (1, Line("step took 2s")), (2, Line("step took 30s"))],
        [row(0, "slow", COUNTING), row(2, "slow", FIRST)],
    ),
    # --- metric rules -------------------------------------------------------------------------
    Case(
        "metric-for-pending-then-first-at-exactly-t0-plus-for",
        MEM,
        [(0, metrics(mem_percent=90)), (60, metrics(mem_percent=95)), (120, TICK)],
        [row(0, "mem", PENDING), row(120, "mem", FIRST)],
    ),
    Case(
        "metric-for-not-due-1ms-before",
        MEM,
        [(0, metrics(mem_percent=90)), (119.999, TICK)],
        [row(0, "mem", PENDING)],
    ),
    Case(
        "metric-for-timer-fires-at-due-time-when-next-observation-is-later",
        MEM,
        [(0, metrics(mem_percent=90)), (1000, TICK)],
        [row(0, "mem", PENDING), row(120, "mem", FIRST)],
    ),
    Case(
        "metric-false-1ms-before-due-goes-back-to-inactive-silently",
        MEM,
        [(0, metrics(mem_percent=90)), (119.999, metrics(mem_percent=50)), (1000, TICK)],
        [row(0, "mem", PENDING)],
    ),
    Case(
        "metric-false-exactly-at-due-fires-then-resolves",
        MEM,
        [(0, metrics(mem_percent=90)), (120, metrics(mem_percent=50))],
        [row(0, "mem", PENDING), row(120, "mem", FIRST), row(120, "mem", RESOLVED, duration_s=120)],
    ),
    Case(
        "metric-pending-again-after-falling-back",
        MEM,
        [
            (0, metrics(mem_percent=90)),
            (60, metrics(mem_percent=50)),
            (100, metrics(mem_percent=90)),
            (219.999, TICK),
            (220, TICK),
        ],
        [row(0, "mem", PENDING), row(100, "mem", PENDING), row(220, "mem", FIRST)],
    ),
    Case(
        "metric-without-for-fires-at-once-and-resolves",
        MEM_NOW,
        [(t, metrics(mem_percent=m)) for t, m in ((0, 50), (10, 90), (50, 50))],
        [row(10, "mem", FIRST), row(50, "mem", RESOLVED, duration_s=40)],
    ),
    Case(
        "metric-for-zero-fires-at-once",
        pack("id: mem\n    severity: warning\n    metric: mem_percent > 85\n    for: 0s"),
        [(10, metrics(mem_percent=90))],
        [row(10, "mem", FIRST)],
    ),
    Case(
        "metric-resolved-duration-counts-from-pending-start",
        MEM,
        [(0, metrics(mem_percent=90)), (200, metrics(mem_percent=50))],
        [row(0, "mem", PENDING), row(120, "mem", FIRST), row(200, "mem", RESOLVED, duration_s=200)],
    ),
    Case(
        "metric-resolve-hysteresis-keeps-firing-until-resolve-holds",
        MEM_HYSTERESIS,
        [
            (0, metrics(mem_percent=90)),
            (10, metrics(mem_percent=82)),
            (20, metrics(mem_percent=80)),
            (30, metrics(mem_percent=79.9)),
        ],
        [row(0, "mem", FIRST), row(30, "mem", RESOLVED, duration_s=30)],
    ),
    Case(
        "metric-name-not-yet-sampled-changes-nothing",
        MEM_AND_SWAP,
        [
            (0, metrics(mem_percent=90)),
            (10, metrics(cpu_percent=5)),
            (20, metrics(swap_percent=20)),
        ],
        [row(20, "mem", FIRST)],
    ),
    Case(
        "metric-resolve-over-a-name-not-yet-sampled-keeps-firing",
        pack(
            "id: mem\n    severity: warning\n    metric: mem_percent > 85\n"
            "    resolve: swap_percent < 5"
        ),
        [
            (0, metrics(mem_percent=90)),
            (10, metrics(mem_percent=50)),  # condition false, resolve not decidable yet
            (20, metrics(swap_percent=1)),
        ],
        [row(0, "mem", FIRST), row(20, "mem", RESOLVED, duration_s=20)],
    ),
    Case(
        "metric-samples-merge-into-current-values",
        MEM_AND_SWAP,
        [
            (0, metrics(mem_percent=90, swap_percent=20)),
            (10, metrics(cpu_percent=1)),
            (20, metrics(swap_percent=5)),
        ],
        [row(0, "mem", FIRST), row(20, "mem", RESOLVED, duration_s=20)],
    ),
    Case(
        "metric-repeat-reminds-every-repeat-after-last-notification",
        MEM_REPEAT,
        [(0, metrics(mem_percent=90)), (1300, metrics(mem_percent=50))],
        [
            row(0, "mem", FIRST),
            row(600, "mem", REPEAT),
            row(1200, "mem", REPEAT),
            row(1300, "mem", RESOLVED, duration_s=1300),
        ],
    ),
    Case(
        "metric-repeat-not-due-1ms-before-and-stops-on-resolve",
        MEM_REPEAT,
        [(0, metrics(mem_percent=90)), (599.999, metrics(mem_percent=50)), (5000, TICK)],
        [row(0, "mem", FIRST), row(599.999, "mem", RESOLVED, duration_s=599.999)],
    ),
    Case(
        "metric-over-a-signal-counted-from-log-lines",
        pack(
            "id: errors\n    severity: error\n    metric: nccl_errors >= 2",
            signals="  - name: nccl_errors\n    log: 'NCCL error'\n",
        ),
        [(0, Line("NCCL error 1")), (5, Line("fine")), (10, Line("NCCL error 2"))],
        [row(10, "errors", FIRST)],
    ),
    Case(
        "metric-over-a-signal-value-from-log-lines",
        pack(
            "id: late\n    severity: info\n    metric: round > 100",
            signals="  - name: round\n    log: 'Joining round: (?P<value>\\d+)'\n",
        ),
        [(t, Line(f"Joining round: {r}")) for t, r in ((0, 99), (10, 101), (20, 7))],
        [row(10, "late", FIRST), row(20, "late", RESOLVED, duration_s=10)],
    ),
    Case(
        "metric-fires-again-after-cooldown",
        MEM_NOW,
        [(t, metrics(mem_percent=m)) for t, m in ((0, 90), (10, 50), (400, 90))],
        [row(0, "mem", FIRST), row(10, "mem", RESOLVED, duration_s=10), row(400, "mem", ELAPSED)],
    ),
    Case(
        "metric-flapping-inside-cooldown-is-suppressed-with-its-resolution",
        MEM_NOW,
        [
            (0, metrics(mem_percent=90)),
            (10, metrics(mem_percent=50)),
            (20, metrics(mem_percent=90)),
            (30, metrics(mem_percent=50)),
        ],
        [
            row(0, "mem", FIRST),
            row(10, "mem", RESOLVED, duration_s=10),
            row(20, "mem", SUPPRESSED),
            row(30, "mem", SUPPRESSED, duration_s=10),
        ],
    ),
    # --- absent rules ---------------------------------------------------------------------------
    Case(
        "absent-fires-at-exactly-last-seen-plus-for",
        STALLED,
        [(0, Line("step 1")), (1799.999, TICK), (1800, TICK)],
        [row(1800, "stalled", FIRST)],
    ),
    Case(
        "absent-is-armed-by-the-first-observation-of-any-kind",
        STALLED,
        [(100, metrics(cpu_percent=5)), (1899.999, TICK), (1900, TICK)],
        [row(1900, "stalled", FIRST)],
    ),
    Case(
        "absent-line-1ms-before-due-restarts-the-wait",
        STALLED,
        [(0, TICK), (1799.999, Line("step 1")), (3599.998, TICK), (3599.999, TICK)],
        [row(3599.999, "stalled", FIRST)],
    ),
    Case(
        "absent-timer-fires-at-due-time-and-resolves-when-seen-again",
        STALLED,
        [(0, Line("step 1")), (5000, Line("step 2"))],
        [row(1800, "stalled", FIRST), row(5000, "stalled", RESOLVED, duration_s=5000)],
    ),
    Case(
        "absent-line-exactly-at-due-fires-then-resolves",
        STALLED_1M,
        [(0, Line("a")), (60, Line("b")), (119.999, TICK)],
        [row(60, "stalled", FIRST), row(60, "stalled", RESOLVED, duration_s=60)],
    ),
    Case(
        "absent-repeat-reminds-while-silent",
        pack("id: stalled\n    severity: error\n    absent: activity\n    for: 1m\n    repeat: 2m"),
        [(0, Line("a")), (400, Line("b"))],
        [
            row(60, "stalled", FIRST),
            row(180, "stalled", REPEAT),
            row(300, "stalled", REPEAT),
            row(400, "stalled", RESOLVED, duration_s=400),
        ],
    ),
    Case(
        "absent-of-a-signal-comes-due-inside-a-run-of-lines",
        NO_PROGRESS,
        [(0, Line("step 1")), (500, Line("step 2")), (700, Line("x")), (1200, Line("y"))],
        [row(1100, "stuck", FIRST)],
    ),
    Case(
        "absent-of-a-signal-ignores-other-lines",
        NO_PROGRESS,
        [(0, Line("step 1")), (500, Line("noise")), (600, TICK), (700, Line("step 2"))],
        [row(600, "stuck", FIRST), row(700, "stuck", RESOLVED, duration_s=700)],
    ),
    Case(
        "absent-activity-counts-heartbeats",
        STALLED,
        [
            (0, Line("step 1")),
            (1000, event("heartbeat", batches=5)),
            (2799.999, TICK),
            (2800, TICK),
            (2900, event("heartbeat", batches=6)),
        ],
        [row(2800, "stalled", FIRST), row(2900, "stalled", RESOLVED, duration_s=1900)],
    ),
    Case(
        "absent-exit-resolves-a-firing-rule-and-suspends-it",
        STALLED,
        [(0, Line("step 1")), (2000, event("exit", code=0)), (9000, TICK)],
        [row(1800, "stalled", FIRST), row(2000, "stalled", RESOLVED, duration_s=2000)],
    ),
    Case(
        "absent-exit-before-firing-suspends-it",
        STALLED,
        [(0, Line("step 1")), (100, event("exit", code=0)), (9000, TICK)],
        [],
    ),
    Case(
        "absent-start-rearms-from-its-time",
        STALLED,
        [
            (0, Line("step 1")),
            (100, event("exit", code=0)),
            (5000, event("start", pid=1)),
            (6799.999, TICK),
            (6800, TICK),
        ],
        [row(6800, "stalled", FIRST)],
    ),
    Case(
        "absent-flapping-inside-cooldown-is-suppressed-with-its-resolution",
        STALLED_1M,
        [(0, Line("a")), (70, Line("b")), (140, Line("c"))],
        [
            row(60, "stalled", FIRST),
            row(70, "stalled", RESOLVED, duration_s=70),
            row(130, "stalled", SUPPRESSED),
            row(140, "stalled", SUPPRESSED, duration_s=70),
        ],
    ),
    # --- silences -----------------------------------------------------------------------------
    Case(
        "silence-window-is-start-inclusive-end-exclusive",
        LOG_NO_COOLDOWN,
        [(99.999, BOOM), (100, BOOM), (150, BOOM), (199.999, BOOM), (200, BOOM)],
        [
            row(99.999, "boom", FIRST),
            row(100, "boom", SILENCED),
            row(150, "boom", SILENCED),
            row(199.999, "boom", SILENCED),
            row(200, "boom", ELAPSED),
        ],
        silences=[Silence("boom", 100, 200)],
    ),
    Case(
        "silence-of-one-group-leaves-the-others",
        LOG_BY_GPU,
        [(0, Line("GPU 0 out of memory")), (1, Line("GPU 1 out of memory"))],
        [row(0, "oom", SILENCED, group="gpu0"), row(1, "oom", FIRST, group="gpu1")],
        silences=[Silence("oom", 0, 100, group="gpu0")],
    ),
    Case(
        "silence-of-another-rule-changes-nothing",
        LOG,
        [(0, BOOM)],
        [row(0, "boom", FIRST)],
        silences=[Silence("other", 0, 100)],
    ),
    Case(
        "silence-covers-a-metric-firing",
        MEM,
        [(0, metrics(mem_percent=90)), (200, TICK)],
        [row(0, "mem", PENDING), row(120, "mem", SILENCED)],
        silences=[Silence("mem", 100, 130)],
    ),
    Case(
        "silence-covers-an-absent-firing",
        STALLED_1M,
        [(0, Line("a")), (100, TICK)],
        [row(60, "stalled", SILENCED)],
        silences=[Silence("stalled", 0, 1000)],
    ),
    Case(
        "silence-covers-a-repeat",
        MEM_REPEAT,
        [(0, metrics(mem_percent=90)), (1300, TICK)],
        [row(0, "mem", FIRST), row(600, "mem", SILENCED), row(1200, "mem", REPEAT)],
        silences=[Silence("mem", 500, 700)],
    ),
    Case(
        "silence-covers-a-resolution",
        MEM_NOW,
        [(0, metrics(mem_percent=90)), (50, metrics(mem_percent=50))],
        [row(0, "mem", FIRST), row(50, "mem", SILENCED, duration_s=50)],
        silences=[Silence("mem", 40, 60)],
    ),
    Case(
        "silence-covers-a-digest",
        LOG,
        [(0, BOOM), (10, BOOM), (400, TICK)],
        [
            row(0, "boom", FIRST),
            row(10, "boom", SUPPRESSED),
            row(300, "boom", SILENCED, count=1, since=10),
        ],
        silences=[Silence("boom", 250, 350)],
    ),
    Case(
        "silence-does-not-turn-a-suppressed-match-into-silenced",
        LOG,
        [(0, BOOM), (60, BOOM), (400, TICK)],
        [row(0, "boom", FIRST), row(60, "boom", SUPPRESSED), row(300, "boom", DIGEST, since=60)],
        silences=[Silence("boom", 50, 100)],
    ),
    # --- unless: an occurrence waits for the line that makes it normal ------------------------
    Case(
        "unless-followed-within-is-cancelled",
        KEY_WAIT,
        [(0, WAIT), (5, WAIT), (60, ACTIVATED), (400, TICK)],
        [
            row(0, "key", PENDING),
            row(5, "key", PENDING),
            row(60, "key", CANCELLED, count=2, since=0),
        ],
    ),
    Case(
        "unless-not-followed-fires-when-within-ends",
        KEY_WAIT,
        [(0, WAIT), (10, WAIT), (300, TICK)],
        [row(0, "key", PENDING), row(10, "key", PENDING), row(180, "key", FIRST)],
    ),
    Case(
        "unless-follower-exactly-at-within-is-too-late",
        KEY_WAIT,
        [(0, WAIT), (180, ACTIVATED)],
        [row(0, "key", PENDING), row(180, "key", FIRST)],
    ),
    Case(
        "unless-follower-before-the-line-does-not-count",
        KEY_WAIT,
        [(0, ACTIVATED), (10, WAIT), (300, TICK)],
        [row(10, "key", PENDING), row(190, "key", FIRST)],
    ),
    Case(
        "unless-a-new-wait-after-a-cancelled-one",
        KEY_WAIT,
        [(0, WAIT), (30, ACTIVATED), (100, WAIT), (400, TICK)],
        [
            row(0, "key", PENDING),
            row(30, "key", CANCELLED),
            row(100, "key", PENDING),
            row(280, "key", FIRST),
        ],
    ),
    Case(
        "unless-follower-on-another-source-counts",
        KEY_WAIT,
        [(0, WAIT), (20, Line("key activated", "logs/yarn.log")), (400, TICK)],
        [row(0, "key", PENDING), row(20, "key", CANCELLED)],
    ),
    Case(
        "unless-exit-cancels-the-wait",
        KEY_WAIT,
        [(0, WAIT), (10, event("exit", code=1)), (400, TICK)],
        [row(0, "key", PENDING), row(10, "key", CANCELLED)],
    ),
    Case(
        "unless-firing-goes-through-the-cooldown",
        KEY_WAIT,
        [(0, WAIT), (200, WAIT), (600, TICK)],
        [
            row(0, "key", PENDING),
            row(180, "key", FIRST),
            row(200, "key", PENDING),
            row(380, "key", SUPPRESSED),
            row(480, "key", DIGEST, since=380),
        ],
    ),
    Case(
        "unless-waits-after-count-is-reached",
        KEY_WAIT_COUNTED,
        [(0, WAIT), (10, WAIT), (300, TICK)],
        [row(0, "key", COUNTING), row(10, "key", PENDING), row(190, "key", FIRST)],
    ),
    # --- one line through two sources is one occurrence ---------------------------------------
    Case(
        "same-line-on-two-sources-counts-once",
        COUNT_2_IN_1M,
        [(0, NAN), (0.5, NAN_IN_FILE), (10, NAN)],
        [row(0, "nan", COUNTING), row(10, "nan", FIRST)],
    ),
    Case(
        "same-line-file-first-counts-once",
        COUNT_2_IN_1M,
        [(0, NAN_IN_FILE), (0.2, NAN), (10, NAN_IN_FILE)],
        [row(0, "nan", COUNTING), row(10, "nan", FIRST)],
    ),
    Case(
        "same-line-twice-on-one-source-counts-twice",
        COUNT_2_IN_1M,
        [(0, NAN), (0.5, NAN)],
        [row(0, "nan", COUNTING), row(0.5, "nan", FIRST)],
    ),
    Case(
        "same-text-on-two-sources-5s-apart-counts-twice",
        COUNT_2_IN_1M,
        [(0, NAN), (5, NAN_IN_FILE)],
        [row(0, "nan", COUNTING), row(5, "nan", FIRST)],
    ),
    Case(
        "a-third-copy-counts-again",
        COUNT_2_IN_1M,
        [(0, NAN), (0.1, NAN_IN_FILE), (0.2, NAN), (0.3, NAN_IN_FILE)],
        [row(0, "nan", COUNTING), row(0.2, "nan", FIRST)],
    ),
    Case(
        "a-counting-signal-counts-a-twin-once",
        ERR_COUNT,
        [(0, Line("ERR")), (0.1, Line("ERR", "logs/swarm_launcher.log")), (1, Line("ERR"))],
        [row(1, "errs", FIRST)],
    ),
    # --- a restart --------------------------------------------------------------------------
    Case(
        "count-window-does-not-carry-over-a-restart",
        COUNT_2_IN_1M,
        [
            (0, event("start", pid=1, attempt=1)),
            (10, NAN),
            (20, event("exit", code=1)),
            (30, event("start", pid=2, attempt=2)),
            (40, NAN),
            (50, NAN),
        ],
        [row(10, "nan", COUNTING), row(40, "nan", COUNTING), row(50, "nan", FIRST)],
    ),
    # --- inhibited_by: the generic alerts of one crash fold into its cause -------------------
    Case(
        "a-cause-before-folds-what-follows",
        CRASH_FOLDS,
        [(0, OOM), (2, LAUNCHER), (300, LAUNCHER)],
        [
            row(0, "oom", FIRST),
            row(2, "launcher-error", INHIBITED),
            row(300, "launcher-error", FIRST),
        ],
    ),
    Case(
        "an-occurrence-waits-after-for-a-cause",
        CRASH_FOLDS,
        [(0, EXC), (3, OOM), (60, TICK)],
        [row(0, "exception", PENDING), row(3, "oom", FIRST), row(10, "exception", INHIBITED)],
    ),
    Case(
        "no-cause-within-after-fires-when-the-wait-ends",
        CRASH_FOLDS,
        [(0, EXC), (10, OOM)],
        [row(0, "exception", PENDING), row(10, "exception", FIRST), row(10, "oom", FIRST)],
    ),
    Case(
        "the-exit-ends-the-wait-for-a-cause",  # run may end right after it: nothing is lost
        CRASH_FOLDS,
        [(0, EXC), (2, event("exit", code=0))],
        [row(0, "exception", PENDING), row(2, "exception", FIRST)],
    ),
    Case(
        "the-exit-ends-the-wait-with-the-exits-own-alerts-as-causes",
        CRASH_FOLDS,
        [(0, EXC), (2, event("exit", code=1))],
        [row(0, "exception", PENDING), row(2, "crashed", FIRST), row(2, "exception", INHIBITED)],
    ),
    Case(
        "a-generic-alert-that-waits-stands-for-the-next-ones",
        CRASH_FOLDS,
        [(0, EXC), (1, LAUNCHER), (20, TICK)],
        [
            row(0, "exception", PENDING),
            row(1, "launcher-error", INHIBITED),
            row(10, "exception", FIRST),
        ],
    ),
    Case(
        "a-cause-below-the-severity-does-not-fold",
        CRASH_FOLDS,
        [(0, Line("slow")), (1, LAUNCHER)],
        [row(0, "warn", FIRST), row(1, "launcher-error", FIRST)],
    ),
    Case(
        "labels-select-the-causes",
        CRASH_FOLDS,
        [
            (0, OOM),
            (1, event("exit", code=1)),
            (400, Line("No space left")),
            (401, event("exit", code=1)),
        ],
        [
            row(0, "oom", FIRST),
            row(1, "crashed", FIRST),
            row(400, "disk", FIRST),
            row(401, "crashed", INHIBITED),
        ],
    ),
    Case(
        "a-cause-held-by-its-cooldown-still-folds",
        CRASH_FOLDS,
        [(0, OOM), (100, LAUNCHER), (200, OOM), (201, LAUNCHER), (400, TICK)],
        [
            row(0, "oom", FIRST),
            row(100, "launcher-error", INHIBITED),
            row(200, "oom", SUPPRESSED),
            row(201, "launcher-error", INHIBITED),
            row(300, "oom", DIGEST, since=200),
        ],
    ),
    Case(
        "a-cause-longer-ago-than-before-does-not-fold",
        CRASH_FOLDS,
        [(0, OOM), (300, LAUNCHER)],
        [row(0, "oom", FIRST), row(300, "launcher-error", FIRST)],
    ),
    # --- gather: a cause's one notification carries what it folds and the exit -------------
    Case(
        "a-cause-gathers-until-the-exit",
        CRASH_GATHERS,
        [(0, OOM), (1, LAUNCHER), (2, event("exit", code=143))],
        [
            row(0, "oom", GATHERING),
            row(1, "launcher-error", INHIBITED),
            row(2, "crashed", INHIBITED),
            row(0, "oom", FIRST, folded=("launcher-error", "crashed")),
        ],
    ),
    Case(
        "a-cause-gathers-until-its-time-is-up",  # the training went on: sent with what came
        CRASH_GATHERS,
        [(0, OOM), (1, LAUNCHER), (60, TICK), (61, event("exit", code=1))],
        [
            row(0, "oom", GATHERING),
            row(1, "launcher-error", INHIBITED),
            row(0, "oom", FIRST, folded=("launcher-error",)),
            row(61, "crashed", INHIBITED),
        ],
    ),
    Case(
        "a-generic-alert-that-waits-gathers-what-it-stood-for",
        CRASH_GATHERS,
        [(0, EXC), (1, LAUNCHER), (2, event("exit", code=1))],
        [
            row(0, "exception", PENDING),
            row(1, "launcher-error", INHIBITED),
            row(2, "crashed", INHIBITED),
            row(2, "exception", GATHERING),
            row(2, "exception", FIRST, folded=("launcher-error", "crashed")),
        ],
    ),
    Case(
        "a-cause-folds-a-generic-alert-that-waited",
        CRASH_GATHERS,
        [(0, EXC), (1, LAUNCHER), (3, OOM), (4, event("exit", code=1))],
        [
            row(0, "exception", PENDING),
            row(1, "launcher-error", INHIBITED),
            row(3, "oom", GATHERING),
            row(4, "crashed", INHIBITED),
            row(4, "exception", INHIBITED),
            row(3, "oom", FIRST, folded=("crashed", "exception", "launcher-error")),
        ],
    ),
    Case(
        "a-cause-with-an-action-does-not-wait",  # what is done about it is not delayed
        CRASH_GATHERS,
        [(0, Line("restart me")), (1, LAUNCHER)],
        [row(0, "restart-me", FIRST), row(1, "launcher-error", INHIBITED)],
    ),
    Case(
        "an-alert-no-inhibition-covers-does-not-wait",
        CRASH_GATHERS,
        [(0, Line("slow")), (1, LAUNCHER), (30, TICK)],
        [
            row(0, "warn", FIRST),
            row(1, "launcher-error", GATHERING),
            row(1, "launcher-error", FIRST),
        ],
    ),
    # --- tracebacks: one `exception` event each ---------------------------------------------
    Case(
        "a-prefixed-traceback-is-one-event-when-it-settles",
        TRACEBACKS,
        [
            *traceback(
                "[rank0]: Traceback (most recent call last):",
                '[rank0]:   File "/x/train.py", line 3, in main',
                "[rank0]:     step()",
                "[rank0]: RuntimeError: boom",
            ),
            (10, TICK),
        ],
        [row(1, "done", FIRST)],
    ),
    Case(
        "a-chained-traceback-is-one-event",
        TRACEBACKS,
        [
            *traceback(
                TB_START,
                TB_FRAME,
                "KeyError: 'question'",
                "During handling of the above exception, another exception occurred:",
                TB_START,
                '  File "/x/b.py", line 2, in g',
                "RuntimeError: boom",
            ),
            (10, TICK),
        ],
        [row(1, "done", FIRST)],
    ),
    Case(
        "a-traceback-without-its-last-line-is-cut-off-after-the-time-limit",
        TRACEBACKS,
        [*traceback(TB_START, TB_FRAME), (2, Line("other output")), (10, TICK)],
        [row(5, "cut", FIRST)],
    ),
    Case(
        "a-new-traceback-cuts-off-the-open-one",
        TRACEBACKS,
        [*traceback(TB_START, TB_FRAME, TB_START, TB_FRAME, "ValueError: x"), (10, TICK)],
        [row(0, "cut", FIRST), row(1, "done", FIRST)],
    ),
    Case(
        "the-exit-cuts-off-an-open-traceback",
        TRACEBACKS,
        [*traceback(TB_START, TB_FRAME), (2, event("exit", code=137)), (10, TICK)],
        [row(2, "cut", FIRST)],
    ),
    Case(
        "a-traceback-on-console-and-file-is-one-event",
        TRACEBACKS,
        [
            *traceback(TB_START, TB_FRAME, "ValueError: x"),
            *traceback(TB_START, TB_FRAME, "ValueError: x", source="logs/swarm_launcher.log"),
            (10, TICK),
        ],
        [row(1, "done", FIRST)],
    ),
    Case(
        "frames-without-a-first-line-are-a-traceback-whose-head-was-cut",
        TRACEBACKS,
        [*traceback(TB_FRAME, "ValueError: x"), (10, TICK)],
        [row(1, "done", FIRST)],
    ),
    Case(
        "frames-alone-are-a-cut-off-traceback",
        TRACEBACKS,
        [*traceback(TB_FRAME, TB_FRAME), (10, TICK)],
        [row(5, "cut", FIRST)],
    ),
    Case(
        "a-logged-stack-is-no-traceback-and-a-traceback-after-it-is-one",
        TRACEBACKS,
        [
            *traceback("Stack (most recent call last):", TB_FRAME, TB_FRAME),
            (10, TICK),
            *traceback("INFO: next", "Stack (most recent call last):", TB_FRAME, TB_START),
            *traceback(TB_FRAME, "ValueError: x"),
            (20, TICK),
        ],
        [row(11, "done", FIRST)],
    ),
    # --- time going backwards ---------------------------------------------------------------
    Case(
        "backwards-line-is-clamped-to-engine-time",
        LOG,
        [(100, BOOM), (50, BOOM), (400, BOOM)],
        [
            row(100, "boom", FIRST),
            row(100, "boom", SUPPRESSED),
            row(400, "boom", DIGEST, count=1, since=100),
            row(400, "boom", SUPPRESSED),
        ],
    ),
    Case(
        "backwards-sample-is-clamped",
        MEM,
        [(100, TICK), (50, metrics(mem_percent=90)), (219.999, TICK), (220, TICK)],
        [row(100, "mem", PENDING), row(220, "mem", FIRST)],
    ),
    Case(
        "backwards-event-and-tick-are-clamped",
        CRASH,
        [(100, TICK), (50, event("exit", code=1)), (10, TICK), (399.999, event("exit", code=1))],
        [row(100, "crash", FIRST), row(399.999, "crash", SUPPRESSED)],
    ),
    Case(
        "backwards-count-window-uses-clamped-times",
        COUNT_2_IN_1M,
        [(100, Line("loss=nan")), (0, Line("loss=nan"))],
        [row(100, "nan", COUNTING), row(100, "nan", FIRST)],
    ),
    # --- block feeding inside one LineBlock: timers come due between lines -------------------
    Case(
        "gap-inside-a-run-of-lines-fires-and-resolves-absent-activity",
        STALLED_1M,
        [(0, Line("a")), (30, Line("b")), (89, Line("c")), (150, Line("d")), (160, Line("e"))],
        [row(149, "stalled", FIRST), row(150, "stalled", RESOLVED, duration_s=61)],
    ),
    Case(
        "digest-comes-due-between-lines-of-a-run",
        LOG,
        [(0, BOOM), (10, BOOM), (200, Line("x")), (310, Line("y")), (320, BOOM)],
        [
            row(0, "boom", FIRST),
            row(10, "boom", SUPPRESSED),
            row(300, "boom", DIGEST, count=1, since=10),
            row(320, "boom", SUPPRESSED),
        ],
    ),
    Case(
        "metric-for-comes-due-between-lines-of-a-run",
        pack(
            "id: errs\n    severity: error\n    metric: errs >= 1\n    for: 1m",
            signals="  - name: errs\n    log: 'ERR'\n",
        ),
        [(0, Line("ERR")), (30, Line("x")), (90, Line("y"))],
        [row(0, "errs", PENDING), row(60, "errs", FIRST)],
    ),
]


def _params() -> list[object]:
    return [
        pytest.param(c, id=c.id, marks=[pytest.mark.xfail(strict=True, reason=c.bug)] * bool(c.bug))
        for c in CASES
    ]


def _replay(case: Case) -> list[Row]:
    engine = make_engine(case.pack, case.silences)
    return [as_row(d) for d in feed_one_by_one(engine, case.history)]


@pytest.mark.parametrize("case", _params())
def test_lifecycle(case: Case) -> None:
    diff = table_diff(case.expected, _replay(case))
    if diff:
        pytest.fail(diff, pytrace=False)


_LINE_CASES = [c for c in CASES if any(isinstance(step, Line) for _, step in c.history)]


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in _LINE_CASES])
def test_blocks_decide_like_single_lines(case: Case) -> None:
    """Runs of lines fed as one LineBlock give exactly the decisions of line-by-line feeding."""
    single = feed_one_by_one(make_engine(case.pack, case.silences), case.history)
    blocks = feed_in_blocks(make_engine(case.pack, case.silences), case.history)
    assert table_diff([as_row(d) for d in single], [as_row(d) for d in blocks]) == ""
    assert blocks == single  # every field, context and values included


def test_the_end_of_a_replay_sends_what_gathers() -> None:
    """A replayed log that ends within a cause's `gather` still sends it, with its folds."""
    engine = make_engine(CRASH_GATHERS)
    fed = feed_one_by_one(engine, [(0, OOM), (1, LAUNCHER), (5, TICK)])
    assert [d.reason for d in fed] == [GATHERING, INHIBITED]
    [sent] = engine.finish()
    assert (sent.rule, sent.reason, sent.t) == ("oom", FIRST, 0)
    assert [(f.rule, f.reason, f.inhibited_by) for f in sent.folded] == [
        ("launcher-error", INHIBITED, "oom")
    ]


def test_the_exit_a_cause_gathers_carries_its_facts() -> None:
    engine = make_engine(CRASH_GATHERS)
    history = [(0, OOM), (2, event("exit", code=143, signal=15, runtime_s=40.0))]
    *_, sent = feed_one_by_one(engine, history)
    [crashed] = sent.folded
    assert crashed.kind is not None and crashed.kind.value == "event"
    assert (crashed.values["code"], crashed.values["signal"]) == (143, 15)


def test_table_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


# --- context: preceding lines of the same source ---------------------------------------------


def _context_engine(context: int | None) -> Engine:
    option = f"\n    context: {context}" if context is not None else ""
    rule = f"id: boom\n    severity: error\n    log: 'BOOM'\n    cooldown: '0'{option}"
    return make_engine(pack(rule))


def _lines(texts: Sequence[str], source: str = "stdout", t0: float = 0) -> list[LogLine]:
    return [LogLine(t0 + i, source, text, i + 1) for i, text in enumerate(texts)]


def _block(lines: Sequence[LogLine]) -> LineBlock:
    return LineBlock(
        lines[0].source, [x.text for x in lines], [x.t for x in lines], [x.line_no for x in lines]
    )


def test_context_defaults_to_twenty_preceding_lines() -> None:
    engine = _context_engine(None)
    texts = [f"line {i}" for i in range(30)]
    decisions = [d for line in _lines([*texts, "BOOM"]) for d in engine.feed(line)]
    assert [d.context for d in decisions] == [tuple(texts[-20:])]


def test_context_option_and_first_line() -> None:
    engine = _context_engine(2)
    decisions = [d for line in _lines(["BOOM", "a", "b", "c", "BOOM"]) for d in engine.feed(line)]
    assert [d.context for d in decisions] == [(), ("b", "c")]


def test_context_zero_attaches_nothing() -> None:
    engine = _context_engine(0)
    decisions = [d for line in _lines(["a", "b", "BOOM"]) for d in engine.feed(line)]
    assert [d.context for d in decisions] == [()]


def test_context_is_per_source() -> None:
    engine = _context_engine(3)
    feed = [
        LogLine(0, "stdout", "out 1"),
        LogLine(1, "stderr", "err 1"),
        LogLine(2, "stdout", "out 2"),
        LogLine(3, "stderr", "err 2"),
        LogLine(4, "stderr", "BOOM"),
    ]
    decisions = [d for obs in feed for d in engine.feed(obs)]
    assert [d.context for d in decisions] == [("err 1", "err 2")]


def test_context_spans_earlier_blocks() -> None:
    engine = _context_engine(4)
    first = _lines(["a", "b", "c"])
    second = _lines(["d", "BOOM", "BOOM"], t0=10)
    decisions = [*engine.feed_lines(_block(first)), *engine.feed_lines(_block(second))]
    assert [d.context for d in decisions] == [("a", "b", "c", "d"), ("b", "c", "d", "BOOM")]


def test_context_of_a_block_equals_line_by_line() -> None:
    texts = [f"line {i}" for i in range(25)] + ["BOOM", "x", "BOOM"]
    lines = _lines(texts)
    by_block_engine, by_line_engine = _context_engine(None), _context_engine(None)
    by_block = [
        *by_block_engine.feed_lines(_block(lines[:10])),
        *by_block_engine.feed_lines(_block(lines[10:])),
    ]
    by_line = [d for line in lines for d in by_line_engine.feed(line)]
    assert by_block == by_line
    assert [len(d.context) for d in by_line] == [20, 20]


# --- odd inputs never raise ------------------------------------------------------------------


def test_backwards_and_equal_times_never_raise() -> None:
    engine = make_engine(STALLED_1M)
    for t in (100, 50, 50, 0, 100, -5):
        engine.feed(Tick(t))
    assert engine.now == 100
    assert engine.feed_lines(LineBlock("stdout", [], [], [])) == []


def test_unquoted_zero_cooldown_notifies_every_match() -> None:
    engine = make_engine(pack("id: boom\n    severity: error\n    log: 'BOOM'\n    cooldown: 0"))
    rows = [as_row(d) for d in feed_one_by_one(engine, [(0, BOOM), (1, BOOM)])]
    assert rows == [row(0, "boom", FIRST), row(1, "boom", ELAPSED)]


@pytest.mark.parametrize(
    "t", [0.0, 1751990400.0, 1751990400.9999994, 1751990400.9999996, -0.5, -1.0000004, 1e9 + 0.5]
)
def test_iso_times_are_those_datetime_writes(t: float) -> None:
    """`_iso` remembers a second's text; it is still what `datetime` writes, also where the
    microsecond rounds up into the next second."""
    from datetime import datetime, timezone

    from engine.core.drafts import Drafter

    _iso = Drafter("", "").iso

    expected = datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
    assert _iso(t) == expected
    assert _iso(t) == expected  # remembered


def test_revised_is_replace() -> None:
    from dataclasses import replace

    from engine.model import Decision, Reason, Severity, revised

    d = Decision(1.0, "r", "g", Reason.FIRST, Severity.ERROR, "s", context=("a",), count=2)
    assert revised(d, reason=Reason.SUPPRESSED, count=3) == replace(
        d, reason=Reason.SUPPRESSED, count=3
    )
    with pytest.raises(TypeError, match="no field 'nope'"):
        revised(d, nope=1)
