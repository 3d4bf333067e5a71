"""What `run` and `watch` share: the terminal, the pipeline, delivery and the dashboard.

`build` makes the engine and the pipeline at once, and starts the pipeline once its
sinks and observer are attached. Attaching them loads Apprise and its plugins, and
aiohttp for the dashboard, which takes long enough to notice; with `defer=True`
(`run`) they are attached in a thread (`setup`) while the training starts, so its
output passes through from the first byte and waits in the pipeline's queue
meanwhile: at start-up only, the first lines are evaluated that much later; nothing
is lost or reordered. The outbox is opened first, so a state directory that cannot
hold it stops `run` before the child starts. If attaching fails, alerts are printed
on the terminal instead, with a notice saying why.

Who acts on a rule's action is attached by the caller (`run`: the supervisor), once
it exists: `Pipeline.on_action`.

At exit, `Stack.close` evaluates what is still queued, lets delivery send what is due,
and closes the outbox. After a signal (`stopping.Stopping`) all of it ends by the
signal's deadline, or at once after a second one: the evaluation is cut short and the
summary says so; the pipeline's way into the outbox (`OutboxGate`) is closed and the
senders stopped before the outbox is, so that nothing is cut mid-write and what was
queued is sent at the next start. What the worker threads would say after that
(`Voice`) is not written: the summary is the last word.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from engine.core.engine import Engine
from engine.logs.skim import Lookout
from engine.match.cache import default_dir
from engine.match.prefilter import accelerated
from engine.model import Action, Decision
from engine.notify.channels import ChannelSet
from engine.notify.outbox import Outbox
from engine.packs.rule import RuleSet
from engine.supervise.pipeline import Notified, Pipeline, Sink, Tally
from engine.supervise.sources.child import Terminal
from engine.supervise.stopping import Stopping
from engine.web.dashboard import DashboardOptions

if TYPE_CHECKING:
    from engine.notify.delivery import Delivery
    from engine.web.dashboard import Board

PREFIX = "[rlswarm-rules]"  # as engine.notify.builtin.PREFIX, without importing Apprise
DRAIN_S = 10.0  # how long delivery may go on sending at exit
SENDERS_S = 0.5  # how long stopped senders may take to finish a send at a cut
NO_DASHBOARD = DashboardOptions(None)


@dataclass(frozen=True)
class Alerting:
    """What `run` and `watch` are given alike: the rules, where their alerts go, and how
    this node shows itself."""

    rules: RuleSet
    channels: ChannelSet
    node: str = ""  # this node's name in alerts, the dashboard and /metrics ("": host name)
    dashboard: DashboardOptions = NO_DASHBOARD
    verbose: bool = False  # decisions that send nothing are noticed too
    said: tuple[str, ...] = ()  # said first at start: where rules and channels came from...
    quiet: bool = False  # -q: no start lines, only the summary's first line


def _is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


class Voice:
    """What the worker threads (pipeline, setup, delivery, dashboard) say on the terminal,
    until `Stack.close` is over: after that, only the summary is written."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal
        self.quiet = False

    def __call__(self, text: str) -> None:
        """One of our lines, with the prefix."""
        if not self.quiet:
            _notice(self.terminal, text)

    def line(self, text: str) -> None:
        """A line as it is (an alert, already prefixed)."""
        if not self.quiet:
            self.terminal.notice(self.terminal.stderr_fd, text)


class OutboxGate:
    """Delivery as the pipeline's sink, until `close`: once it returns, no alert goes into
    the outbox any more (one being written then is written whole first). The alerts of a
    block of output are handed over together, at `flush`."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery
        self.handed = Notified()  # alerts handed to delivery: the first ones the pipeline notified
        self._lock = threading.Lock()
        self._open = True
        self._held: list[Decision] = []  # sent, handed over at the next `flush`

    def send(self, decision: Decision) -> None:
        with self._lock:
            if self._open:
                self.handed.add(decision)
                self._held.append(decision)

    def flush(self) -> None:
        """Hand over what `send` took since the last call: delivery queues it in one go."""
        with self._lock:
            self._hand_over()

    def _hand_over(self) -> None:
        held, self._held = self._held, []
        if held and self._open:
            self.delivery.send_many(held)

    def close(self) -> None:
        with self._lock:
            self._hand_over()  # what was handed is in the outbox
            self._open = False


@dataclass
class Stack:
    terminal: Terminal
    pipeline: Pipeline
    state_dir: Path
    voice: Voice
    outbox: Outbox | None = None  # None: --dry-run
    delivery: Delivery | None = None
    gate: OutboxGate | None = None  # the pipeline's way into delivery
    board: Board | None = None
    setup: threading.Thread | None = None  # attaching the sinks, while the child starts
    capture: Path | None = None  # where the output is kept (`run`), for what was not evaluated
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False  # under `lock`: the setup thread starts nothing any more
    delivering: bool = False  # under `lock`: delivery was started
    cut: Tally | None = None  # the tally when the evaluation was cut short

    def notice(self, text: str) -> None:
        _notice(self.terminal, text)

    @property
    def tally(self) -> Tally:
        """What was evaluated: up to the cut, if the evaluation was cut short."""
        return self.cut if self.cut is not None else self.pipeline.tally

    def close(self, stopping: Stopping | None = None) -> list[str]:
        """Evaluate what is queued, give delivery up to `DRAIN_S` for what is due, close the
        outbox; returns what the summary should add.

        With `stopping`, a first signal makes all of it end by the signal's deadline and
        a second at once: the evaluation is cut short (the summary says so), the senders
        are stopped, and the outbox is closed after its last write, so what was queued
        stays queued for the next start."""
        stopping = stopping if stopping is not None else Stopping(DRAIN_S)  # no deadline
        setup = self.setup
        ready = setup is None or stopping.call(setup.join).done.is_set()
        evaluated = ready and stopping.call(self.pipeline.stop).done.is_set()
        with self.lock:
            self.closed = True
            delivery = self.delivery if self.delivering else None
        lines = [] if evaluated else self._cut()
        left = 0 if delivery is None else _deliver_last(delivery, stopping)
        if self.board is not None and evaluated:  # after delivery: the page's last state
            stopping.call(self.board.close)
        self.voice.quiet = True
        if self.outbox is not None:
            self.outbox.close()  # waits for a write in progress; none can start after it
        if left:
            lines.append(
                f"{left} alert(s) not delivered yet: they are kept in "
                f"{self.state_dir / 'outbox.sqlite'} and sent at the next start"
            )
        return lines

    def _cut(self) -> list[str]:
        """The evaluation was cut short: nothing more is handed on, and the tally keeps the
        alerts that were (the pipeline thread goes on until `run` exits, to no effect);
        what the summary says about it."""
        self.pipeline.sinks.clear()
        if self.gate is not None:
            self.gate.close()  # then `handed` is final; each was in `notifications` before
        tally = self.pipeline.tally
        notified = tally.notifications if self.gate is None else self.gate.handed
        self.cut = replace(
            tally,
            notifications=notified.copy(),
            patched=list(tally.patched),
            sink_failures=dict(tally.sink_failures),
            overruns=dict(tally.overruns),
        )
        replay = (
            f"; `rlswarm-rules replay {self.capture}` evaluates all of it"
            if self.capture is not None
            else ""
        )
        return [
            "the signal cut the evaluation short: the output still queued was not "
            f"evaluated, and alerts it would raise are missing{replay}"
        ]


def _deliver_last(delivery: Delivery, stopping: Stopping) -> int:
    """Let delivery send what is due for `DRAIN_S` (or until the signal's deadline), then
    stop its senders; how many alerts stay queued in the outbox file for the next start
    (those only in memory are said to be lost)."""

    def drain() -> int:
        return delivery.stop(stopping.left(DRAIN_S))

    outcome = stopping.call(drain)
    if outcome.done.is_set() and outcome.value is not None:
        return outcome.value
    _stop_senders(delivery, 0.0 if stopping.hurried else SENDERS_S)
    left = delivery.outbox.pending()
    why = delivery.outbox.save()
    if why is None:
        return left
    if left:
        delivery.notice(f"{left} alert(s) not delivered are lost: {why}")
    return 0


def _stop_senders(delivery: Delivery, patience: float) -> None:
    """Stop the channels' senders; each may finish the send it is in for `patience`."""
    delivery.stopping.set()
    for sender in delivery.senders.values():
        sender.wake.set()
    end = time.monotonic() + patience
    for sender in delivery.senders.values():
        sender.thread.join(max(0.0, end - time.monotonic()))


def _notice(terminal: Terminal, text: str) -> None:
    terminal.notice(terminal.stderr_fd, f"{PREFIX} {text}")


@dataclass(frozen=True)
class Setting:
    """What attaching the sinks needs to know."""

    alerting: Alerting
    host: str
    mode: str
    outbox: Outbox | None  # None: --dry-run


class TerminalSink:
    """Where alerts go when delivery could not be set up: one line each on the terminal."""

    def __init__(self, notice: Callable[[str], None]) -> None:
        self.notice = notice

    def send(self, decision: Decision) -> None:
        self.notice(f"{decision.severity.label.upper()} {decision.rule}: {decision.summary}")


def build(
    alerting: Alerting,
    state_dir: Path,
    dry_run: bool = False,
    mode: str = "run",
    defer: bool = False,
) -> Stack:
    """The stack for `mode` ("run" or "watch"), its outbox in `state_dir` (none when
    `dry_run`: alerts are printed); with `defer`, the sinks are attached in a thread."""
    rules, channels = alerting.rules, alerting.channels
    host = alerting.node or socket.gethostname()
    matcher = accelerated(rules.patterns, default_dir())
    threading.Thread(target=matcher.warm, name="warm-up", daemon=True).start()
    engine = Engine(rules, host=host, project=channels.project, matcher=matcher)
    signals = len(rules.signals)
    rules_only = accelerated(rules.patterns[signals:], default_dir()) if signals else None
    lookout = Lookout(matcher, rules.silence_gap, rules.context, signals, rules_only)
    outbox, trouble = (None, None) if dry_run else Outbox.open(state_dir / "outbox.sqlite")
    terminal = Terminal()
    voice = Voice(terminal)
    pipeline = Pipeline(
        engine, [], voice, _no_one_acts, time.time, verbose=alerting.verbose, lookout=lookout,
    )  # fmt: skip
    stack = Stack(terminal, pipeline, state_dir, voice, outbox)
    if trouble:
        stack.notice(trouble)
    setting = Setting(alerting, host, mode, outbox)
    if defer:
        stack.setup = threading.Thread(
            target=_attach, args=(stack, setting), name="setup", daemon=True
        )
        stack.setup.start()
    else:
        _attach(stack, setting)
    return stack


def _no_one_acts(action: Action, decision: Decision) -> None:
    """`Pipeline.on_action` until the caller attaches its own (an internal error if called)."""
    raise RuntimeError(f"rule '{decision.rule}' asks to {action.value} before anyone can act")


def _attach(stack: Stack, setting: Setting) -> None:
    """Sinks and observer onto the pipeline, then start it and delivery (whatever happens,
    unless `Stack.close` came first)."""
    sinks: list[Sink] = []
    try:
        _sinks(stack, setting, sinks)
    except Exception as exc:  # a failure of ours: the training goes on, no alert is lost
        shown = "" if sinks else "; alerts are shown here only"
        if not sinks:
            sinks.append(TerminalSink(stack.voice))
        stack.voice(f"setting up delivery and the dashboard failed: {exc!r}{shown}")
    with stack.lock:
        if stack.closed:
            return
        stack.pipeline.sinks.extend(sinks)
        stack.pipeline.start()
        if stack.delivery is not None:
            stack.delivery.start()
            stack.delivering = True


def _sinks(stack: Stack, setting: Setting, sinks: list[Sink]) -> None:
    from engine.notify import builtin as builtin_channels
    from engine.notify.delivery import Delivery, PrintSink
    from engine.web.dashboard import open_board

    pipeline, channels, voice = stack.pipeline, setting.alerting.channels, stack.voice
    colour = _is_tty(stack.terminal.stderr_fd) and not os.environ.get("NO_COLOR")  # no-color.org
    builtin_channels.set_console(voice.line, colour)
    if setting.outbox is None:
        sinks.append(PrintSink(voice.line, setting.host, channels.project))
    else:
        stack.delivery = Delivery(channels, setting.outbox, setting.host, voice)
        stack.gate = OutboxGate(stack.delivery)
        sinks.append(stack.gate)
    engine = pipeline.engine
    counts = stack.delivery.counts if stack.delivery is not None else None
    alerting = setting.alerting
    board = open_board(
        alerting.dashboard, alerting.rules, engine, channels, setting.host, setting.mode,
        voice, counts,
    )  # fmt: skip
    if board is not None:
        board.publisher.patched = lambda: pipeline.tally.patched
        pipeline.observer = board.publisher
        stack.board = board
        if stack.delivery is not None:
            stack.delivery.links["dashboard"] = board.url
