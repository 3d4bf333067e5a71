"""`run` stays stoppable while it drains at exit: a first signal shortens the drain to the
grace, a second ends it at once, and what was not delivered stays whole in the outbox.

Real parts: a child that prints a storm of alerting lines and exits, a channel whose HTTP
receiver on loopback is down (every alert stays pending), real signals to a real `run`,
and times taken with `time.monotonic` when each line of its terminal arrives.
"""

from __future__ import annotations

import itertools
import json
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from test_delivery import RULES, Receiver, free_port

STORM = 200_000  # alerting lines: evaluating them all takes far longer than the grace
GRACE = 2.0
SLACK = 8.0  # a loaded 2-core machine: starting threads, closing the outbox, exiting (a
# clean-clone CI run took 5.06 s with 3.0; without the signal the drain goes on for 35 s)
LONG_GRACE = 60.0  # for "at once": far from anything a loaded machine adds
CHILD = f"""\
import os, sys
with open("child.pid", "w") as f:
    f.write(str(os.getpid()))
sys.stdout.write("".join(f"BOOM {{n}}\\n" for n in range(1, {STORM} + 1)))
"""
DRAINING = "before exiting"  # the pipeline's notice, once `run` has waited for it a while


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    down = Receiver(free_port())  # never started: every send is refused
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "channels.yaml").write_text(
        textwrap.dedent(f"""\
        channels:
          - name: hook
            url: json://127.0.0.1:{down.port}/alerts
            retry: 100ms
        """)
    )
    return tmp_path


class Run:
    """A real `run` of the storm, its terminal's lines timed as they arrive."""

    def __init__(self, cwd: Path, grace: float = GRACE) -> None:
        self.cwd = cwd
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "run", "--no-dashboard", "--grace", f"{grace}s",
             "--", sys.executable, "child.py"],
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.lines: list[tuple[float, str]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append((time.monotonic(), line.decode("utf-8", "replace")))

    def wait_for(self, text: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for _, line in self.lines):
            assert self.proc.poll() is None, self.err()
            assert time.monotonic() < deadline, f"no {text!r} within {timeout:.0f} s"
            time.sleep(0.02)

    def child_exited(self, timeout: float = 60.0) -> None:
        pidfile = self.cwd / "child.pid"
        deadline = time.monotonic() + timeout
        while not (pidfile.exists() and pidfile.read_text()):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        pid = int(pidfile.read_text())
        while Path(f"/proc/{pid}").exists() and _state(pid) != "Z":
            assert time.monotonic() < deadline
            time.sleep(0.01)

    def signal(self, sig: int) -> float:
        sent = time.monotonic()
        self.proc.send_signal(sig)
        return sent

    def ended(self, timeout: float = 60.0) -> float:
        """When `run` exited (its terminal closed)."""
        try:
            self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        ended = time.monotonic()
        self._reader.join(10)
        return ended

    def err(self) -> str:
        return "".join(line for _, line in self.lines)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return ""


def assert_kept_whole(run: Run) -> None:
    """What was handed to delivery is in the outbox, whole, in order, none missing; the
    terminal says so, and says what was not evaluated."""
    err = run.err()
    assert "Traceback" not in err, err
    assert "the signal cut the evaluation short" in err, err
    with sqlite3.connect(str(run.cwd / ".rlswarm" / "outbox.sqlite")) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = db.execute("SELECT state, payload FROM items ORDER BY id").fetchall()
    assert rows and {state for state, _ in rows} == {"pending"}
    numbers = [json.loads(p)["values"]["n"] for _, p in rows]
    assert numbers == list(range(1, len(rows) + 1)), _gaps(numbers) + "\n" + err
    assert f"{len(rows)} alert(s) not delivered yet" in err, err
    assert f"alerts: {len(rows)} error (boom)" in err, err  # the summary counts the same


def _gaps(numbers: list[int]) -> str:
    """What a list of 1..n lacks, repeats or reorders, in a few words rather than a diff."""
    missing = sorted(set(range(1, max(numbers, default=0) + 1)) - set(numbers))
    twice = sorted(n for n, k in Counter(numbers).items() if k > 1)
    unordered = [(a, b) for a, b in itertools.pairwise(numbers) if b <= a]
    return (
        f"{len(numbers)} rows; missing {missing[:20]}; twice {twice[:20]}; "
        f"out of order {unordered[:20]}"
    )


def test_sigterm_during_the_exit_drain_ends_run_within_the_grace(workdir: Path) -> None:
    run = Run(workdir)
    run.wait_for(DRAINING)
    sent = run.signal(signal.SIGTERM)
    took = run.ended() - sent
    assert GRACE * 0.9 <= took < GRACE + SLACK, took  # the drain went on for the grace
    assert run.proc.returncode == 0  # the child's code: it had exited by itself
    assert_kept_whole(run)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_second_signal_ends_the_exit_drain_at_once(workdir: Path, sig: int) -> None:
    run = Run(workdir, grace=LONG_GRACE)  # the first signal alone would let it go on a minute
    run.wait_for(DRAINING)
    run.signal(sig)
    time.sleep(0.3)
    second = run.signal(sig)
    took = run.ended() - second
    assert took < LONG_GRACE / 6, took  # not the grace: at once, give or take a loaded machine
    assert_kept_whole(run)


def test_sigint_as_the_child_exits_ends_run_within_the_grace(workdir: Path) -> None:
    """The signal comes before the drain, while `run` waits for the alerts of the exit."""
    run = Run(workdir)
    run.child_exited()
    sent = run.signal(signal.SIGINT)
    took = run.ended() - sent
    assert took < GRACE + SLACK, took
    assert_kept_whole(run)
