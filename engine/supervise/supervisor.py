"""The child's lifecycle: started, watched until it exits, stopped on request, restarted.

`Supervisor.run` is the supervision loop, in the main thread. Each attempt is
started (`_start`: kept files put back, the child started with the probe's
environment, its `start` event posted), waited for (`_wait_for_exit`: the child's
exit, a signal and a rule's action wake the loop at once; kept files are saved
every `KEEP_EVERY_S` meanwhile) and ended (`_end`: its last output drained, what
it left behind stopped, its `exit` event posted); then the `RestartPolicy` says
whether, and after which back-off, the next attempt starts.

A first signal is passed on to the child's process group, which gets `grace`
seconds to exit before it is killed; a second signal kills it at once. A rule's
`restart` or `stop` sends SIGTERM, with the same grace.

Threads started here: `sampler` (the metrics every `interval`), `stdin` (our
stdin forwarded to the current child) and one `exit-PID` per child (wakes the
loop when it exits). Times on events and samples come from `clock` (wall time);
the grace, keep and back-off timers read `monotonic`.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from engine.durations import exact_duration
from engine.model import Action, Decision, Event, Sample, Value
from engine.probe import PROBE_DIR
from engine.supervise.pipeline import Notice, Pipeline
from engine.supervise.preset import Answer, Preset
from engine.supervise.sources.capture import Capture
from engine.supervise.sources.child import Child, Terminal, child_environment, describe_status
from engine.supervise.sources.keep import Keeper
from engine.supervise.sources.metrics import Sampler
from engine.supervise.sources.prompts import Answerer

Clock = Callable[[], float]
KEEP_EVERY_S = 2.0
CHECK_EVERY_S = 1.0  # the supervision loop's longest wait: the child's exit, a signal and a
# rule's action wake it at once; this only paces keeping files and the end of `--grace`
SETTLE_S = 2.0  # how long the supervisor waits for the alerts of an exit before it goes on
REPLY_WAIT_S = 5.0  # how long an answer to a prompt waits for its child to be known


@dataclass(frozen=True)
class RestartPolicy:
    """Whether the command is started again when it exits, after how long, how often at most."""

    when: str = "never"  # never | on-failure | always
    max_restarts: int = 5  # restarts allowed ...
    within: float = 3600.0  # ... within this many seconds
    backoff: float = 10.0  # the first delay, doubled after each restart ...
    backoff_max: float = 300.0  # ... up to this (a run this long starts the doubling again)


@dataclass
class RunOptions:
    command: list[str]
    restart: RestartPolicy = RestartPolicy()
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
    """The restart policy applied: whether, after how long, and whether the budget allows it."""

    def __init__(self, policy: RestartPolicy) -> None:
        self.policy = policy
        self.times: deque[float] = deque()
        self.streak = 0

    def wanted(self, code: int) -> bool:
        return self.policy.when == "always" or (self.policy.when == "on-failure" and code != 0)

    def delay(self, runtime_s: float) -> float:
        if runtime_s >= self.policy.backoff_max:
            self.streak = 0  # it ran long enough: start the back-off again
        delay = min(self.policy.backoff * 2.0**self.streak, self.policy.backoff_max)
        self.streak += 1
        return delay

    def allowed(self, now: float) -> bool:
        while self.times and self.times[0] <= now - self.policy.within:
            self.times.popleft()
        return len(self.times) < self.policy.max_restarts

    def record(self, now: float) -> None:
        self.times.append(now)


@dataclass(frozen=True)
class Attempt:
    """One start of the command: its child, and when it started (by the supervisor's clock)."""

    started: float
    child: Child


class ChildOutput:
    """Where one child's output goes: the answerer (which may type on the child's stdin),
    then the pipeline.

    The child's pump starts inside `Child()`, so its first output, a prompt to answer
    included, can come before `Child()` returns: an answer waits for `known` (at most
    `REPLY_WAIT_S`) before it is typed.
    """

    def __init__(self, answers: Sequence[Answer], pipeline: Pipeline, notice: Notice) -> None:
        self._pipeline = pipeline
        self._answerer = Answerer(answers, self._reply, notice)
        self._child: Child | None = None
        self._known = threading.Event()

    def known(self, child: Child) -> None:
        """The child whose output this is, once `Child()` has returned."""
        self._child = child
        self._known.set()

    def on_chunk(self, source: str, t: float, data: bytes) -> None:
        """Each read of the pump, in its thread: blocks only while an answer waits for `known`."""
        self._answerer.feed(source, data)
        self._pipeline.post_chunk(source, t, data)

    def _reply(self, data: bytes) -> bool:
        child = self._child if self._known.wait(REPLY_WAIT_S) else None
        return child is not None and child.send_input(data)


class Supervisor:
    def __init__(
        self,
        opts: RunOptions,
        pipeline: Pipeline,
        terminal: Terminal,
        probe_path: str,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
    ) -> None:
        self.opts = opts
        self.probe_path = probe_path
        self.pipeline = pipeline
        self.terminal = terminal
        self.clock = clock
        self.monotonic = monotonic
        self.sampler = Sampler(disk_path=os.getcwd())
        self.capture = Capture(opts.state_dir / "logs" / "run.log")
        self.child: Child | None = None
        self.summary = RunSummary()
        self._signal: int | None = None
        self._signals_seen = 0
        self._action: tuple[Action, Decision] | None = None
        self._peak_rss = 0.0
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
        restarts = Restarts(self.opts.restart)
        threading.Thread(target=self._sample_loop, name="sampler", daemon=True).start()
        threading.Thread(target=self._forward_stdin, name="stdin", daemon=True).start()
        number = 0
        while True:
            number += 1
            code, runtime = self._one_run(number)
            self.pipeline.settle(SETTLE_S)  # the exit's alerts first, then what is done about it
            self.summary.exit_code, self.summary.runtime_s = code, runtime
            action, self._action = self._action, None
            if self._signal is not None or (action and action[0] is Action.STOP):
                break
            if action is None and not restarts.wanted(code):
                break
            if not restarts.allowed(self.clock()):
                self._give_up()
                break
            delay = 0.0 if action else restarts.delay(runtime)
            cause = f"rule {action[1].rule}" if action else f"exit code {code}"
            if not self._pause(delay, number, cause):
                break
            restarts.record(self.clock())
            self.summary.restarts += 1
        self.capture.close()
        return self.summary

    def _one_run(self, number: int) -> tuple[int, float]:
        """Start the command and supervise it until it exits: its exit code and runtime."""
        attempt = self._start(number)
        if attempt is None:
            return 127, 0.0
        requested = self._wait_for_exit(attempt.child)
        return self._end(attempt, requested)

    def _start(self, number: int) -> Attempt | None:
        """Put back the kept files, start the child, post `start`; None if it cannot start."""
        env = child_environment(os.environ, str(PROBE_DIR) if self.opts.patch else None)
        env["RLSWARM_PROBE_SOCKET"] = self.probe_path
        self._peak_rss = 0.0
        for path in self.keeper.restore() if self.keeper else []:
            self.notice(f"put back {path}, kept from the last run")
        started = self.clock()
        output = ChildOutput(self.opts.preset.answers, self.pipeline, self.notice)
        try:
            child = Child(self.opts.command, env, self.terminal, output.on_chunk, self.capture,
                          self.clock)  # fmt: skip
        except OSError as exc:
            self.notice(f"cannot start {self.opts.command[0]}: {exc.strerror}")
            return None
        output.known(child)
        self._adopt(child)
        command = " ".join(self.opts.command)
        self.pipeline.post(
            Event(started, "start", {"pid": child.pid, "command": command, "attempt": number})
        )
        return Attempt(started, child)

    def _adopt(self, child: Child) -> None:
        """Make `child` the current one: signals, stdin and the sampler go to it."""
        self.child = child
        name = f"exit-{child.pid}"
        threading.Thread(target=self._wake_on_exit, args=(child,), name=name, daemon=True).start()
        if self._stdin_closed and not self.opts.preset.answers:
            child.close_input()
        self._child_ready.set()
        self.sampler.root_pid = child.pid

    def _wait_for_exit(self, child: Child) -> bool:
        """Supervise `child` until it exits; whether it was asked to stop (signal or rule)."""
        stopping_since: float | None = None
        saved: float | None = None
        while child.poll() is None:
            saved = self._keep_files(saved)
            self._wake.wait(self._patience(stopping_since))
            self._wake.clear()
            stopping_since = self._stop_if_asked(child, stopping_since)
        return stopping_since is not None

    def _keep_files(self, saved: float | None) -> float | None:
        """Save the kept files if `KEEP_EVERY_S` passed since `saved`; when they were saved."""
        if self.keeper is None or (saved is not None and self.monotonic() - saved <= KEEP_EVERY_S):
            return saved
        self.keeper.save()
        return self.monotonic()

    def _stop_if_asked(self, child: Child, stopping_since: float | None) -> float | None:
        """Act on a signal or a rule's action: SIGTERM for an action (a signal was passed on
        by `on_signal`), SIGKILL after `grace` or on a second signal. Since when the child
        has been stopping, if it has."""
        if self._signals_seen > 1:
            child.stop_tree(signal.SIGKILL, 0.0)
        elif self._signal is not None or self._action is not None:
            if stopping_since is None:
                now = self.monotonic()
                if self._action is not None:
                    child.signal_group(signal.SIGTERM)
                return now
            if self.monotonic() - stopping_since > self.opts.grace:
                child.stop_tree(signal.SIGKILL, 0.0)
        return stopping_since

    def _end(self, attempt: Attempt, requested: bool) -> tuple[int, float]:
        """After the child's exit: its last output read, what it left behind stopped, `exit`
        posted; its exit code and runtime."""
        child = attempt.child
        child.drain()
        child.release()
        child.stop_tree(signal.SIGTERM, min(self.opts.grace, 3.0))  # what the child left behind
        code, sig = describe_status(child.proc.returncode)
        runtime = self.clock() - attempt.started
        fields: dict[str, Value] = {
            "code": code,
            "signal": sig,
            "runtime_s": round(runtime, 3),
            "peak_rss_gb": round(self._peak_rss, 3),
            "requested": requested,
        }
        self.pipeline.post(Event(self.clock(), "exit", fields))
        self.sampler.root_pid = None
        return code, runtime

    def _patience(self, stopping_since: float | None) -> float:
        """How long the supervision loop may wait for a wake-up before it looks again."""
        if stopping_since is None:
            return CHECK_EVERY_S
        left = stopping_since + self.opts.grace - self.monotonic()
        return min(CHECK_EVERY_S, max(0.0, left) + 0.01)

    def _wake_on_exit(self, child: Child) -> None:
        """Ends the supervision loop's wait as soon as the child exits."""
        child.proc.wait()
        self._wake.set()

    def _pause(self, delay: float, attempt: int, cause: str) -> bool:
        """Wait out the back-off (False if a signal came meanwhile), then announce the restart."""
        self.notice(f"restarting in {exact_duration(delay)} ({cause})")
        self.pipeline.post(
            Event(
                self.clock(), "restart", {"attempt": attempt + 1, "delay_s": delay, "cause": cause}
            )
        )
        deadline = self.monotonic() + delay
        while self.monotonic() < deadline:
            if self._signal is not None:
                return False
            self._wake.wait(min(0.2, max(0.0, deadline - self.monotonic())))
            self._wake.clear()
        return self._signal is None

    def _give_up(self) -> None:
        n, window = self.opts.restart.max_restarts, self.opts.restart.within
        self.pipeline.post(Event(self.clock(), "gave_up", {"restarts": n, "within_s": window}))
        self.pipeline.settle(SETTLE_S)
        self.notice(f"giving up: {n} restarts within {exact_duration(window)}")

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
