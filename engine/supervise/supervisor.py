"""`run` and `watch`: the one place that reads the clock, starts threads and handles signals.

Data flows one way: sources (child output, probe, sampler, tailed files) post
to the pipeline; the pipeline feeds the engine and hands decisions to the
sinks and actions back here. The supervision loop runs in the main thread.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from engine.model import Action, Decision, Event, Sample
from engine.probe import PROBE_DIR
from engine.supervise.pipeline import Pipeline
from engine.supervise.preset import Preset
from engine.supervise.sources.capture import Capture
from engine.supervise.sources.child import Child, Terminal, child_environment, describe_status
from engine.supervise.sources.keep import Keeper
from engine.supervise.sources.metrics import Sampler
from engine.supervise.sources.prompts import Answerer

Clock = Callable[[], float]
KEEP_EVERY_S = 2.0
CHECK_EVERY_S = 1.0  # the supervision loop's longest wait: the child's exit, a signal and a
# rule's action wake it at once; this only paces keeping files and the end of `--grace`


@dataclass
class RunOptions:
    command: list[str]
    restart: str = "never"  # never | on-failure | always
    max_restarts: int = 5
    within: float = 3600.0
    backoff: float = 10.0
    backoff_max: float = 300.0
    grace: float = 10.0
    interval: float = 10.0
    watch: list[str] = field(default_factory=list)
    patch: bool = True
    dry_run: bool = False
    state_dir: Path = Path(".rlswarm")
    preset: Preset = field(default_factory=Preset)


@dataclass
class RunSummary:
    exit_code: int = 0
    restarts: int = 0
    runtime_s: float = 0.0


class Restarts:
    """The restart policy: whether, after how long, and whether the budget allows it."""

    def __init__(self, opts: RunOptions) -> None:
        self.opts = opts
        self.times: deque[float] = deque()
        self.streak = 0

    def wanted(self, code: int) -> bool:
        return self.opts.restart == "always" or (self.opts.restart == "on-failure" and code != 0)

    def delay(self, runtime_s: float) -> float:
        if runtime_s >= self.opts.backoff_max:
            self.streak = 0  # it ran long enough: start the back-off again
        delay = min(self.opts.backoff * 2.0**self.streak, self.opts.backoff_max)
        self.streak += 1
        return delay

    def allowed(self, now: float) -> bool:
        while self.times and self.times[0] <= now - self.opts.within:
            self.times.popleft()
        return len(self.times) < self.opts.max_restarts

    def record(self, now: float) -> None:
        self.times.append(now)


class Supervisor:
    def __init__(
        self,
        opts: RunOptions,
        pipeline: Pipeline,
        terminal: Terminal,
        probe_path: str,
        clock: Clock = time.time,
    ) -> None:
        self.opts = opts
        self.probe_path = probe_path
        self.pipeline = pipeline
        self.terminal = terminal
        self.clock = clock
        self.sampler = Sampler(disk_path=os.getcwd())
        self.capture = Capture(opts.state_dir / "logs" / "run.log")
        self.child: Child | None = None
        self.summary = RunSummary()
        self._signal: int | None = None
        self._signals_seen = 0
        self._action: tuple[Action, Decision] | None = None
        self._peak_rss = 0.0
        self._started = clock()
        self._wake = threading.Event()
        self._child_ready = threading.Event()
        self._stdin_closed = False
        keep = opts.preset.keep
        self.keeper = Keeper(keep, opts.state_dir / "keep", Path.cwd()) if keep else None

    # --- called from other threads ------------------------------------------------------------

    def request(self, action: Action, decision: Decision) -> None:
        verb = "dry run, nothing done" if self.opts.dry_run else "doing it"
        self.notice(f"rule '{decision.rule}' asks to {action.value} the training ({verb})")
        if not self.opts.dry_run and self._action is None:
            self._action = (action, decision)
            self._wake.set()

    def notice(self, text: str) -> None:
        self.terminal.notice(self.terminal.stderr_fd, f"[rlswarm-rules] {text}")

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signal = signum
        self._signals_seen += 1
        child = self.child
        if child is not None:
            child.signal_group(signum if self._signals_seen == 1 else signal.SIGKILL)
        self._wake.set()

    # --- the supervision loop -----------------------------------------------------------------

    def run(self) -> RunSummary:
        restarts = Restarts(self.opts)
        attempt = 0
        sampler = threading.Thread(target=self._sample_loop, name="sampler", daemon=True)
        sampler.start()
        stdin = threading.Thread(target=self._forward_stdin, name="stdin", daemon=True)
        stdin.start()
        while True:
            attempt += 1
            code, runtime = self._one_run(attempt)
            self.summary.exit_code, self.summary.runtime_s = code, runtime
            action = self._action
            self._action = None
            if self._signal is not None or (action and action[0] is Action.STOP):
                break
            if action is None and not restarts.wanted(code):
                break
            if not restarts.allowed(self.clock()):
                self._give_up(restarts)
                break
            delay = 0.0 if action else restarts.delay(runtime)
            cause = f"rule {action[1].rule}" if action else f"exit code {code}"
            if not self._pause(delay, attempt, cause):
                break
            restarts.record(self.clock())
            self.summary.restarts += 1
        self.capture.close()
        return self.summary

    def _one_run(self, attempt: int) -> tuple[int, float]:
        env = child_environment(os.environ, str(PROBE_DIR) if self.opts.patch else None)
        env["RLSWARM_PROBE_SOCKET"] = self.probe_path
        self._peak_rss = 0.0
        for path in self.keeper.restore() if self.keeper else []:
            self.notice(f"put back {path}, kept from the last run")
        started = self.clock()
        started_child: list[Child] = []
        known = threading.Event()  # the output pumps start before Child() returns

        def reply(data: bytes) -> bool:
            return known.wait(5.0) and started_child[0].send_input(data)

        answerer = Answerer(self.opts.preset.answers, reply, self.notice)

        def on_chunk(source: str, t: float, data: bytes) -> None:
            answerer.feed(source, data)
            self.pipeline.post_chunk(source, t, data)

        try:
            child = Child(self.opts.command, env, self.terminal, on_chunk, self.capture,
                          self.clock)  # fmt: skip
        except OSError as exc:
            self.notice(f"cannot start {self.opts.command[0]}: {exc.strerror}")
            return 127, 0.0
        started_child.append(child)
        known.set()
        self.child = child
        name = f"exit-{child.pid}"
        threading.Thread(target=self._wake_on_exit, args=(child,), name=name, daemon=True).start()
        if self._stdin_closed and not self.opts.preset.answers:
            child.close_input()
        self._child_ready.set()
        self.sampler.root_pid = child.pid
        command = " ".join(self.opts.command)
        self.pipeline.post(
            Event(started, "start", {"pid": child.pid, "command": command, "attempt": attempt})
        )
        stopping_since: float | None = None
        saved = 0.0
        while child.poll() is None:
            if self.keeper is not None and time.monotonic() - saved > KEEP_EVERY_S:
                self.keeper.save()
                saved = time.monotonic()
            self._wake.wait(self._patience(stopping_since))
            self._wake.clear()
            if self._signals_seen > 1:
                child.stop_tree(signal.SIGKILL, 0.0)
            elif self._signal is not None or self._action is not None:
                if stopping_since is None:
                    stopping_since = time.monotonic()
                    if self._action is not None:
                        child.signal_group(signal.SIGTERM)
                elif time.monotonic() - stopping_since > self.opts.grace:
                    child.stop_tree(signal.SIGKILL, 0.0)
        child.drain()
        child.release()
        child.stop_tree(signal.SIGTERM, min(self.opts.grace, 3.0))  # what the child left behind
        code, sig = describe_status(child.proc.returncode)
        runtime = self.clock() - started
        self.pipeline.post(
            Event(
                self.clock(),
                "exit",
                {
                    "code": code,
                    "signal": sig,
                    "runtime_s": round(runtime, 3),
                    "peak_rss_gb": round(self._peak_rss, 3),
                    "requested": stopping_since is not None,
                },
            )
        )
        self.sampler.root_pid = None
        return code, runtime

    def _patience(self, stopping_since: float | None) -> float:
        """How long the supervision loop may wait for a wake-up before it looks again."""
        if stopping_since is None:
            return CHECK_EVERY_S
        left = stopping_since + self.opts.grace - time.monotonic()
        return min(CHECK_EVERY_S, max(0.0, left) + 0.01)

    def _wake_on_exit(self, child: Child) -> None:
        """Ends the supervision loop's wait as soon as the child exits."""
        child.proc.wait()
        self._wake.set()

    def _pause(self, delay: float, attempt: int, cause: str) -> bool:
        """Wait out the back-off (False if a signal came meanwhile), then announce the restart."""
        self.notice(f"restarting in {delay:.0f}s ({cause})")
        self.pipeline.post(
            Event(
                self.clock(), "restart", {"attempt": attempt + 1, "delay_s": delay, "cause": cause}
            )
        )
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if self._signal is not None:
                return False
            self._wake.wait(min(0.2, max(0.0, deadline - time.monotonic())))
            self._wake.clear()
        return self._signal is None

    def _give_up(self, restarts: Restarts) -> None:
        n, window = self.opts.max_restarts, self.opts.within
        self.notice(f"giving up: {n} restarts within {window:.0f}s")
        self.pipeline.post(Event(self.clock(), "gave_up", {"restarts": n, "within_s": window}))

    def _sample_loop(self) -> None:
        while True:
            values = self.sampler.sample()
            self._peak_rss = max(self._peak_rss, values.get("proc_rss_gb", 0.0))
            child = self.child
            if child is not None:
                child.remember_tree()
                values["uptime_s"] = self.clock() - child.started
            values["restarts"] = float(self.summary.restarts)
            self.pipeline.post(Sample(self.clock(), values))
            time.sleep(self.opts.interval)

    def _forward_stdin(self) -> None:
        """Our stdin goes to the current child; after our EOF, every child gets EOF."""
        self._child_ready.wait()
        while True:
            try:
                data = os.read(0, 4096)
            except OSError:
                data = b""
            child = self.child
            if not data:
                self._stdin_closed = True
                if child is not None and not self.opts.preset.answers:
                    child.close_input()  # with answers to give, the child's stdin stays open
                return
            if child is not None:
                child.send_input(data)


def install_signals(handler: Callable[[int, FrameType | None], None]) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def wait_for_signal() -> int:
    """Block until SIGINT/SIGTERM/SIGHUP; for `watch`."""
    got: list[int] = []
    done = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        got.append(signum)
        done.set()

    install_signals(handler)
    while not done.wait(60.0):  # a signal wakes the wait at once; the timeout is a safety net
        pass
    return got[0]
