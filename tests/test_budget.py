"""A pattern that backtracks for too long: the search gives up at its budget, other threads
run meanwhile, and after `SUSPEND_AFTER` such lines the pattern is suspended with a critical
alert, in the core, in replay and in `run` with a real child."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from histories import make_engine

from engine.core.engine import Engine
from engine.match.matcher import ATTEMPTS, MAX_STRETCH, SUSPEND_AFTER, Matcher
from engine.model import LineBlock, Reason, Severity
from engine.packs import yamlio
from engine.packs.compile import compile_packs
from engine.packs.rule import Pattern
from engine.supervise.pipeline import Pipeline

SLOW = r"^(a|aa)+$"  # each further `a` doubles the ways to split the line
SLOW_LINE = "a" * 60 + "b"  # hours of backtracking without a budget


def test_a_search_gives_up_at_the_budget_while_other_threads_run() -> None:
    matcher = Matcher([Pattern(re.compile(SLOW), None)], budget=0.5)
    ticks: list[float] = []
    done = threading.Event()

    def ticker() -> None:
        while not done.is_set():
            ticks.append(time.monotonic())
            time.sleep(0.01)

    thread = threading.Thread(target=ticker)
    thread.start()
    try:
        started = time.monotonic()
        hits = matcher.scan([SLOW_LINE], "stdout")
        ended = time.monotonic()
    finally:
        done.set()
        thread.join()
    assert hits == []
    (overrun,) = matcher.take_overruns()
    assert (overrun.pattern, overrun.line, overrun.text, overrun.suspended) == (
        0,
        0,
        SLOW_LINE,
        False,
    )
    # Python's `re` would hold the interpreter for the whole search: not one tick between.
    during = [t for t in ticks if started < t < ended]
    assert len(during) >= 5, f"{len(during)} ticks in a {ended - started:.2f} s search"


def test_the_pattern_is_suspended_after_its_third_overrun_and_the_others_go_on() -> None:
    matcher = Matcher(
        [Pattern(re.compile(SLOW), None), Pattern(re.compile("ERROR"), None)], budget=0.05
    )
    texts = [SLOW_LINE, "ERROR 1", SLOW_LINE, "aa", SLOW_LINE, SLOW_LINE, "ERROR 2", "a"]
    hits = matcher.scan(texts, "stdout")
    assert [(h.line, h.pattern) for h in hits] == [(1, 1), (3, 0), (6, 1)]  # "a" after: not tried
    overruns = matcher.take_overruns()
    assert [(o.line, o.suspended) for o in overruns] == [(0, False), (2, False), (4, True)]
    assert matcher.suspended == {0} and SUSPEND_AFTER == 3
    assert matcher.scan([SLOW_LINE, "aaaa"], "stdout") == [] and matcher.take_overruns() == []


def _alone(line: str) -> float:
    """The CPU time one search of `line` by SLOW takes on a quiet thread."""
    matcher = Matcher([Pattern(re.compile(SLOW), None)], budget=60.0)
    started = time.thread_time()
    matcher.scan([line], "stdout")
    return time.thread_time() - started


class Busy:
    """Threads that keep the process's CPU clock running outside the interpreter lock
    (hashing a large buffer releases it), as `run`'s pump and senders do in a flood."""

    def __init__(self, threads: int) -> None:
        self._stop = threading.Event()
        self._data = os.urandom(8 << 20)
        self._threads = [threading.Thread(target=self._burn) for _ in range(threads)]

    def _burn(self) -> None:
        while not self._stop.is_set():
            hashlib.sha256(self._data).digest()

    def __enter__(self) -> Busy:
        for thread in self._threads:
            thread.start()
        time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


def test_a_search_within_its_budget_is_no_overrun_while_other_threads_use_the_cpu() -> None:
    """The `regex` module's limit counts every thread's CPU time: a search that needs a
    fifth of the budget ran out of it with three busy threads beside it, and on the third
    such line a sound rule was suspended. Its own time is what counts now."""
    budget = 0.1
    n = 16
    while _alone("a" * n + "b") < budget / 5:
        n += 1
    line = "a" * n + "b"
    matcher = Matcher(
        [Pattern(re.compile(SLOW), None), Pattern(re.compile("^a+b$"), None)], budget=budget
    )
    with Busy(3):
        hits = matcher.scan([line] * 6, "stdout")
    assert [(h.line, h.pattern) for h in hits] == [(i, 1) for i in range(6)]
    assert matcher.take_overruns() == [] and matcher.suspended == set()


def test_a_search_over_its_own_budget_still_overruns_while_other_threads_use_the_cpu() -> None:
    matcher = Matcher([Pattern(re.compile(SLOW), None)], budget=0.05)
    with Busy(3):
        started = time.monotonic()
        hits = matcher.scan([SLOW_LINE, "aa"], "stdout")
        took = time.monotonic() - started
    assert [(h.line, h.pattern) for h in hits] == [(1, 0)]
    assert [(o.line, o.suspended) for o in matcher.take_overruns()] == [(0, False)]
    assert took < 0.05 * MAX_STRETCH * ATTEMPTS * 4, took  # bounded, however busy


SLOW_PACK = f"""
rules:
  - id: slow
    severity: warning
    log: '{SLOW}'
  - id: boom
    severity: error
    log: 'BOOM'
"""


def test_the_core_alerts_once_with_the_line_that_suspended_the_rule() -> None:
    engine = make_engine(SLOW_PACK)
    texts = [SLOW_LINE, "BOOM", SLOW_LINE, SLOW_LINE, "aaa", "BOOM", SLOW_LINE]
    block = LineBlock("stdout", texts, [float(i) for i in range(len(texts))], list(range(1, 8)))
    out = engine.feed_lines(block)
    notified = [(d.t, d.rule, d.reason) for d in out if d.notifies]
    assert notified == [(1.0, "boom", Reason.FIRST), (3.0, "rule-suspended", Reason.FIRST)]
    (alert,) = [d for d in out if d.rule == "rule-suspended"]
    assert alert.severity is Severity.CRITICAL and alert.group == "rule 'slow'"
    assert (alert.line, alert.line_no, alert.source) == (SLOW_LINE, 4, "stdout")
    assert alert.labels["category"] == "rule_suspended"
    assert "rule 'slow' suspended" in alert.summary and "lint" in alert.advice
    assert not [d for d in out if d.rule == "slow"]  # "aaa" came after: no longer tried


def test_a_suspended_unless_pattern_is_named_by_its_rule() -> None:
    """The matcher's patterns are signals, log rules, then the `unless` ones: the alert
    names the rule whose `unless` it is (it once looked past the end of the log rules)."""
    engine = make_engine(f"""
rules:
  - id: waits
    severity: warning
    log: 'poll'
    unless: {{log: '{SLOW}', within: 1m}}
""")
    texts = ["poll", SLOW_LINE, SLOW_LINE, SLOW_LINE]
    block = LineBlock("stdout", texts, [float(i) for i in range(len(texts))], list(range(1, 5)))
    out = engine.feed_lines(block)
    (alert,) = [d for d in out if d.rule == "rule-suspended"]
    assert alert.group == "rule 'waits' (its `unless`)" and alert.line_no == 4
    assert engine.overruns == {"rule 'waits' (its `unless`)": 3}


def write_pack(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "slow.yaml").write_text(SLOW_PACK)
    return rules


def replay(rules: Path, log: Path, *options: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine", "replay", "--rules", str(rules), *options]
    return subprocess.run([*command, str(log)], capture_output=True, text=True, timeout=120)


def test_replay_shows_the_suspension_in_place_and_in_the_summary(tmp_path: Path) -> None:
    rules = write_pack(tmp_path)
    log = tmp_path / "train.log"
    log.write_text("".join(f"{t}\n" for t in ["aa", SLOW_LINE, "BOOM", SLOW_LINE, SLOW_LINE]))
    proc = replay(rules, log)
    assert proc.returncode == 0, proc.stderr
    assert "critical rule-suspended first" in proc.stdout, proc.stdout
    assert "rule 'slow' suspended" in proc.stdout
    assert "error    boom first" in proc.stdout
    summary = proc.stdout.split("occurrences", 1)[1].splitlines()
    assert [row.split()[:3] for row in summary[2:5]] == [
        ["slow", "warning", "1"],
        ["boom", "error", "1"],
        ["rule-suspended", "critical", "1"],
    ]
    assert "rule 'slow': 3 line(s) not evaluated by it" in proc.stdout.splitlines()[-1]
    jsonl = replay(rules, log, "--format", "jsonl")
    records = [json.loads(x) for x in jsonl.stdout.splitlines()]
    assert [(r["rule"], r["line_no"]) for r in records] == [
        ("slow", 1),
        ("boom", 3),
        ("rule-suspended", 5),
    ]


CHILD = """\
    import sys
    slow = "a" * 60 + "b"
    for i in range(200):  # 200 x 32 KiB: far more than a pipe holds
        sys.stdout.write((slow if i < 5 else "x" * 32767) + "\\n")
        sys.stdout.flush()
    print("BOOM", flush=True)
"""


def test_run_passes_output_on_while_a_pattern_backtracks(tmp_path: Path) -> None:
    """Without a budget the search of the first line would take hours; with it the child
    runs to its end, the suspension is alerted and `boom` still is."""
    write_pack(tmp_path)
    child = tmp_path / "child.py"
    child.write_text(textwrap.dedent(CHILD))
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--", sys.executable, str(child)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 201 and len(proc.stdout) == 5 * 62 + 195 * 32768 + 5
    alerts = [
        json.loads(x) for x in (tmp_path / ".rlswarm" / "alerts.jsonl").read_text().splitlines()
    ]
    assert {a["rule"] for a in alerts} >= {"rule-suspended", "boom"}
    (suspended,) = [a for a in alerts if a["rule"] == "rule-suspended"]
    assert suspended["severity"] == "critical" and suspended["line_no"] == 3
    assert "CRITICAL rule-suspended" in proc.stderr
    # the lines before the suspension were not evaluated either, and the summary says so
    assert "rule 'slow': 3 line(s) not evaluated by it, its search over the time budget" in (
        proc.stderr
    )


def test_the_pipeline_says_each_line_a_pattern_could_not_evaluate() -> None:
    """Before the suspension too: a line a search gave up on is not lost silently."""
    compiled = compile_packs([yamlio.parse(SLOW_PACK, "slow.yaml")])
    notices: list[str] = []
    pipeline = Pipeline(Engine(compiled.rules), [], notices.append, lambda a, d: None, time.time)
    pipeline.start()
    for text in (SLOW_LINE, "BOOM", SLOW_LINE):
        pipeline.post_chunk("stdout", time.time(), f"{text}\n".encode())
        assert pipeline.settle(30)
    pipeline.stop()
    said = [n for n in notices if "rule 'slow'" in n]
    assert [n.split(" so far")[0] for n in said] == [
        "rule 'slow': 1 line(s) not evaluated by it",
        "rule 'slow': 2 line(s) not evaluated by it",
    ]
    assert "100ms time budget; at 3 it is suspended" in said[0] and "lint" in said[0]
    assert pipeline.tally.overruns == {"rule 'slow'": 2}
