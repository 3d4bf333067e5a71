"""The child's lifecycle: started, watched until it exits, stopped on request, restarted.

`Supervisor.run` is the supervision loop, in the main thread. Each attempt is
started (`_start`: kept files put back, the child started with the probe's
environment, its `start` event posted), waited for (`_wait_for_exit`: the child's
exit, a signal and a rule's action wake the loop at once; kept files are saved
every `KEEP_EVERY_S` meanwhile) and ended (`_end`: what it left behind stopped, its
last output drained, its `exit` event posted); then the `RestartPolicy` says
whether, and after which back-off, the next attempt starts.

Before the first child starts, `run` becomes the child subreaper where it can
(`sources.reaper`): whatever the child starts stays `run`'s descendant, so nothing
of it survives `run`. A first signal (`on_signal`, told by `stopping.Stopping`) is
passed on to the child's process group, and SIGTERM to the processes of its tree
outside the group; what is left at the signal's deadline, `grace` seconds later, is
killed, and a second signal kills it at once. A rule's `restart` or `stop` sends
SIGTERM to all of it, with the same grace. When the child exits by itself, what it
left behind gets SIGTERM and `grace` seconds. Whichever way, the next child starts
(or `run` goes on to its end) only once the tree is gone and reaped; after a signal,
every wait here also ends by the signal's deadline.

Threads started here: `sampler` (the metrics every `interval`; it also reaps what
of the tree died meanwhile), `stdin` (our stdin forwarded to the current child) and
one `exit-PID` per child (wakes the loop when it exits). Times on events and samples
come from `clock` (wall time); the grace, keep and back-off timers read `monotonic`.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.durations import exact_duration
from engine.model import Action, Decision, Event, Sample, Value
from engine.probe import PROBE_DIR
from engine.supervise.pipeline import Notice, Pipeline
from engine.supervise.preset import Answer, Preset, child_env
from engine.supervise.sources.capture import Capture
from engine.supervise.sources.child import Child, Terminal, child_environment, describe_status
from engine.supervise.sources.keep import Keeper
from engine.supervise.sources.metrics import Sampler
from engine.supervise.sources.prompts import Answerer, answer_option
from engine.supervise.sources.reaper import Reaper
from engine.supervise.stopping import Stopping

Clock = Callable[[], float]
PROBE_SYNC_S = 0.5  # at an exit, for the probe's messages sent before it to be read
KEEP_EVERY_S = 2.0
CHECK_EVERY_S = 1.0  # the supervision loop's longest wait: the child's exit, a signal and a
# rule's action wake it at once; this only paces keeping files and the end of `--grace`
SETTLE_S = 2.0  # how long the supervisor waits for the alerts of an exit before it goes on
REPLY_WAIT_S = 5.0  # how long an answer to a prompt waits for its child to be known
DRAIN_OUTPUT_S = 2.0  # how long an exited child's last output may take to be read
LEFTOVERS_LOOK_S = 0.05  # how often the loop looks whether what a child left behind is gone


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
    forget_kept: bool = False  # --forget-login: the preset's kept files are dropped first


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

    def __init__(
        self, answers: Sequence[Answer], pipeline: Pipeline, notice: Notice,
        clock: Clock = time.time,
    ) -> None:  # fmt: skip
        self._pipeline = pipeline
        self._clock = clock
        self._answerer = Answerer(answers, self._reply, notice, self._looping)
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

    def _looping(self, question: str, answer: Answer) -> None:
        """A prompt keeps rejecting its answer: the `prompt_loop` event (a critical alert
        under the shipped rules) names the question and the option that would fix it."""
        fields: dict[str, Value] = {
            "question": question,
            "answer": answer.text,
            "option": answer_option(answer),
        }
        self._pipeline.post(Event(self._clock(), "prompt_loop", fields))


class Supervisor:
    def __init__(
        self,
        opts: RunOptions,
        pipeline: Pipeline,
        terminal: Terminal,
        probe_path: str,
        clock: Clock = time.time,
        monotonic: Clock = time.monotonic,
        stopping: Stopping | None = None,
    ) -> None:
        self.opts = opts
        self.probe_path = probe_path
        self.pipeline = pipeline
        self.terminal = terminal
        self.clock = clock
        self.monotonic = monotonic
        self.stopping = stopping if stopping is not None else Stopping(opts.grace, monotonic)
        self.stopping.listen(self.on_signal)
        self.sampler = Sampler(disk_path=os.getcwd())
        self.capture = Capture(opts.state_dir / "logs" / "run.log", notice=self.notice)
        self.reaper: Reaper | None = None  # `run` makes it, before the first child
        self.child: Child | None = None
        self.summary = RunSummary()
        self._action: tuple[Action, Decision] | None = None
        self._stop_by: float | None = None  # the current child's, once it is asked to stop
        self._over = False
        self.probe_sync: Callable[[float], object] = lambda _: None  # probe's words handed over
        self._drained = True  # the last child's output was all read
        self._peak_rss = 0.0
        self._wake = threading.Event()
        self._child_ready = threading.Event()
        self._starting = threading.Lock()  # no reaping while a child is being started
        self._stdin_closed = False
        keep = opts.preset.keep
        self.keeper = Keeper(keep, opts.state_dir / "keep", Path.cwd()) if keep else None

    # --- called from other threads ------------------------------------------------------------

    def request(self, action: Action, decision: Decision) -> None:
        if self._over:  # the training has ended: nothing left to act on
            return
        verb = "dry run, nothing done" if self.opts.dry_run else "doing it"
        self.notice(f"rule '{decision.rule}' asks to {action.value} the training ({verb})")
        if not self.opts.dry_run and self._action is None:
            self._action = (action, decision)
            self._wake.set()

    def notice(self, text: str) -> None:
        self.terminal.notice(self.terminal.stderr_fd, f"[rlswarm-rules] {text}")

    def on_signal(self, signum: int, count: int) -> None:
        """A signal to `run` (in the `signals` thread): the first asks the child's tree to
        stop, a second kills it."""
        child = self.child
        if child is not None:
            if count == 1:
                child.ask_to_stop(signum)
            else:
                child.kill()
        self._wake.set()

    # --- the supervision loop -----------------------------------------------------------------

    def run(self) -> RunSummary:
        self.reaper = Reaper()
        if not self.reaper.active and sys.platform.startswith("linux"):
            self.notice(
                f"cannot follow processes that leave the training's tree "
                f"({self.reaper.why_not}): only those seen every --interval are stopped"
            )
        if self.opts.forget_kept:
            self._forget_kept()
        restarts = Restarts(self.opts.restart)
        self._sample()  # before the first line: every alert has the host's metrics
        threading.Thread(target=self._sample_loop, name="sampler", daemon=True).start()
        threading.Thread(target=self._forward_stdin, name="stdin", daemon=True).start()
        number = 0
        while not self.stopping.signalled:
            number += 1
            code, runtime = self._one_run(number)
            self._settle()  # the exit's alerts first, then what is done about it
            self.summary.exit_code, self.summary.runtime_s = code, runtime
            action, self._action = self._action, None
            if self.stopping.signalled or (action and action[0] is Action.STOP):
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
        if number == 0 and self.stopping.first is not None:  # stopped before the first start
            self.summary.exit_code = 128 + self.stopping.first
        self._over = True
        if self._drained:  # else the pump still writes to it (flushed at every write; the
            self.capture.close()  # process closes it when it ends)
        return self.summary

    def _forget_kept(self) -> None:
        """`--forget-login`: the kept files (RL-Swarm's login) are deleted, copies and all,
        so the launcher asks for a new login."""
        if self.keeper is None:
            self.notice("--forget-login: the preset keeps no files, so there is nothing to forget")
            return
        gone = self.keeper.forget()
        what = ", ".join(gone) if gone else f"nothing was kept ({', '.join(self.keeper.patterns)})"
        self.notice(f"forgot the kept login: {what}")

    def _settle(self) -> None:
        """Wait (`SETTLE_S` at most, and never past a signal's deadline) for the alerts of
        what was posted so far."""
        self.stopping.call(lambda: self.pipeline.settle(SETTLE_S), SETTLE_S)

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
        env = child_env(self.opts.preset, env)
        env["RLSWARM_PROBE_SOCKET"] = self.probe_path
        self._peak_rss = 0.0
        self._stop_by = None
        for path in self.keeper.restore() if self.keeper else []:
            self.notice(f"put back {path}, kept from the last run")
        started = self.clock()
        output = ChildOutput(self.opts.preset.answers, self.pipeline, self.notice, self.clock)
        try:
            with self._starting:
                child = Child(self.opts.command, env, self.terminal, output.on_chunk,
                              self.capture, self.clock, reaper=self.reaper)  # fmt: skip
                self._adopt(child)
        except OSError as exc:
            error = f"cannot start {self.opts.command[0]}: {exc.strerror}"
            self.notice(error)
            self._post_exit(127, None, 0.0, 0.0, False, error)  # an alert, not only a line
            return None
        output.known(child)
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
        saved: float | None = None
        while child.poll() is None:
            saved = self._keep_files(saved)
            self._wake.wait(self._patience())
            self._wake.clear()
            self._stop_if_asked(child)
        return self._stop_by is not None

    def _keep_files(self, saved: float | None) -> float | None:
        """Save the kept files if `KEEP_EVERY_S` passed since `saved`; when they were saved."""
        if self.keeper is None or (saved is not None and self.monotonic() - saved <= KEEP_EVERY_S):
            return saved
        self.keeper.save()
        return self.monotonic()

    def _stop_if_asked(self, child: Child) -> None:
        """Act on a signal or a rule's action: the tree is asked to stop (for a signal,
        `on_signal` did it already) and killed at the deadline, or at once on a second
        signal."""
        if self._stop_by is None:
            if self.stopping.signalled:
                child.ask_to_stop(self.stopping.first or signal.SIGTERM)  # once, whoever asks
                self._stop_by = self.monotonic() + self.opts.grace
            elif self._action is not None:
                child.ask_to_stop(signal.SIGTERM)
                self._stop_by = self.monotonic() + self.opts.grace
        if self._stop_by is not None and self._time_left() <= 0.0:
            child.kill_tree()

    def _time_left(self) -> float:
        """Until the current child's stop deadline (or the signal's, if sooner)."""
        limit = CHECK_EVERY_S if self._stop_by is None else self._stop_by - self.monotonic()
        return self.stopping.left(limit)

    def _end(self, attempt: Attempt, requested: bool) -> tuple[int, float]:
        """After the child's exit: what it left behind stopped, its last output read, `exit`
        posted; its exit code and runtime."""
        child = attempt.child
        self._stop_leftovers(child)
        self._drained = child.drain(self.stopping.patience(DRAIN_OUTPUT_S))
        child.release()
        code, sig = describe_status(child.proc.returncode)
        runtime = self.clock() - attempt.started
        self.probe_sync(self.stopping.patience(PROBE_SYNC_S))  # their last words (`bye`) first
        self._post_exit(code, sig, runtime, self._peak_rss, requested, "")
        self.sampler.root_pid = None
        self.child = None  # its tree is gone: a signal has nothing left to stop
        return code, runtime

    def _post_exit(
        self,
        code: int,
        sig: int | None,
        runtime: float,
        peak_rss_gb: float,
        requested: bool,
        error: str,
    ) -> None:
        """The `exit` event (`engine.vocabulary`: `error` says why a command never started)."""
        fields: dict[str, Value] = {
            "code": code,
            "signal": sig,
            "runtime_s": round(runtime, 3),
            "peak_rss_gb": round(peak_rss_gb, 3),
            "requested": requested,
            "error": error,
        }
        self.pipeline.post(Event(self.clock(), "exit", fields))

    def _stop_leftovers(self, child: Child) -> None:
        """What the exited child left behind gets SIGTERM (unless it was asked already) and
        the rest of the grace (a fresh one if the child exited by itself); what is left
        then is killed, and the dead are reaped."""
        if self._stop_by is None:
            self._stop_by = self.monotonic() + self.opts.grace
        child.ask_to_stop(signal.SIGTERM)
        while child.tree() and not self.stopping.hurried:
            left = self._time_left()
            if left <= 0.0:
                break
            self._wake.wait(min(LEFTOVERS_LOOK_S, left))
            self._wake.clear()
        child.kill_tree()

    def _patience(self) -> float:
        """How long the supervision loop may wait for a wake-up before it looks again."""
        if self._stop_by is None and not self.stopping.signalled:
            return CHECK_EVERY_S
        return min(CHECK_EVERY_S, self._time_left() + 0.01)

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
            if self.stopping.signalled:
                return False
            self._wake.wait(min(0.2, max(0.0, deadline - self.monotonic())))
            self._wake.clear()
        return not self.stopping.signalled

    def _give_up(self) -> None:
        n, window = self.opts.restart.max_restarts, self.opts.restart.within
        self.pipeline.post(Event(self.clock(), "gave_up", {"restarts": n, "within_s": window}))
        self._settle()
        self.notice(f"giving up: {n} restarts within {exact_duration(window)}")

    def _sample_loop(self) -> None:
        while True:
            time.sleep(self.opts.interval)
            self._sample()

    def _sample(self) -> None:
        values = self.sampler.sample()
        self._peak_rss = max(self._peak_rss, values.get("proc_rss_gb", 0.0))
        child = self.child
        if child is not None:
            child.remember_tree()
            values["uptime_s"] = self.clock() - child.started
        self._reap()
        values["restarts"] = float(self.summary.restarts)
        self.pipeline.post(Sample(self.clock(), values))

    def _reap(self) -> None:
        """Reap what of the child's tree died meanwhile (not the child: `subprocess` does)."""
        if self.reaper is None:
            return
        with self._starting:
            child = self.child
            self.reaper.reap({child.pid} if child is not None else set())

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
