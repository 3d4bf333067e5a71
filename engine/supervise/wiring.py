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
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
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
from engine.supervise.pipeline import Pipeline
from engine.supervise.sources.child import Terminal
from engine.web.dashboard import DashboardOptions

if TYPE_CHECKING:
    from engine.notify.delivery import Delivery
    from engine.web.dashboard import Board

PREFIX = "[rlswarm-rules]"  # as engine.notify.builtin.PREFIX, without importing Apprise
DRAIN_S = 10.0
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


def _is_tty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


@dataclass
class Stack:
    terminal: Terminal
    pipeline: Pipeline
    state_dir: Path
    delivery: Delivery | None = None
    board: Board | None = None
    setup: threading.Thread | None = None  # attaching the sinks, while the child starts

    def notice(self, text: str) -> None:
        _notice(self.terminal, text)

    def close(self) -> list[str]:
        """Stop evaluating, give delivery a moment; returns what the summary should add."""
        if self.setup is not None:
            self.setup.join()
        self.pipeline.stop()
        left = self.delivery.stop(DRAIN_S) if self.delivery is not None else 0
        if self.board is not None:  # after delivery: the page's last state has its outcome
            self.board.close()
        if self.delivery is None:
            return []
        self.delivery.outbox.close()
        if left:
            return [
                f"{left} alert(s) not delivered yet: they are kept in "
                f"{self.state_dir / 'outbox.sqlite'} and sent at the next start"
            ]
        return []


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
    engine = Engine(rules, host=host, project=channels.project, matcher=matcher)
    lookout = Lookout(matcher, rules.silence_gap, rules.context)
    outbox, trouble = (None, None) if dry_run else Outbox.open(state_dir / "outbox.sqlite")
    terminal = Terminal()
    pipeline = Pipeline(
        engine, [], partial(_notice, terminal), _no_one_acts, time.time,
        verbose=alerting.verbose, lookout=lookout,
    )  # fmt: skip
    stack = Stack(terminal, pipeline, state_dir)
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
    """Sinks and observer onto the pipeline, then start it (whatever happens)."""
    try:
        _sinks(stack, setting)
    except Exception as exc:  # a failure of ours: the training goes on, no alert is lost
        shown = "" if stack.pipeline.sinks else "; alerts are shown here only"
        if not stack.pipeline.sinks:
            stack.pipeline.sinks.append(TerminalSink(stack.notice))
        stack.notice(f"setting up delivery and the dashboard failed: {exc!r}{shown}")
    finally:
        stack.pipeline.start()
    if stack.delivery is not None:
        stack.delivery.start()


def _sinks(stack: Stack, setting: Setting) -> None:
    from engine.notify import builtin as builtin_channels
    from engine.notify.delivery import Delivery, PrintSink
    from engine.web.dashboard import open_board

    terminal, pipeline, channels = stack.terminal, stack.pipeline, setting.alerting.channels
    say = terminal.notice
    colour = _is_tty(terminal.stderr_fd)
    builtin_channels.set_console(lambda text: say(terminal.stderr_fd, text), colour)
    if setting.outbox is None:
        pipeline.sinks.append(
            PrintSink(lambda text: say(terminal.stderr_fd, text), setting.host, channels.project)
        )
    else:
        stack.delivery = Delivery(channels, setting.outbox, setting.host, stack.notice)
        pipeline.sinks.append(stack.delivery)
    engine = pipeline.engine
    counts = stack.delivery.counts if stack.delivery is not None else None
    alerting = setting.alerting
    board = open_board(
        alerting.dashboard, alerting.rules, engine, channels, setting.host, setting.mode,
        stack.notice, counts,
    )  # fmt: skip
    if board is not None:
        board.publisher.patched = lambda: pipeline.tally.patched
        pipeline.observer = board.publisher
        stack.board = board
        if stack.delivery is not None:
            stack.delivery.links["dashboard"] = board.url
