"""Signals to `run` and `watch`, and by when they must be over.

The first SIGINT, SIGTERM or SIGHUP asks to stop: from then on whatever is still to
do (stopping the child and what it left behind, evaluating the last output, handing
the last alerts to the channels) ends by `deadline`, `grace` seconds later; a second
signal makes that at once (`hurried`). Every wait that must honour it goes through
`wait` or `call`, which give up at `deadline`, or `BRIEF_S` after they began if that is
later: a step that ends within a tenth of a second is not worth cutting short.

The signal handler does no work: its C side writes the signal's number to a pipe
(`signal.set_wakeup_fd`), and the `signals` thread reads it and tells the listeners,
so that what they do may take locks (an `Event.set` in a handler can deadlock the main
thread it interrupted). Deadlines are read on `monotonic`.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Generic, TypeVar

Clock = Callable[[], float]
Listener = Callable[[int, int], None]
"""Told (signal number, how many signals so far), in the `signals` thread."""
SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
LOOK_S = 0.05  # how often `wait` looks at the deadline and a second signal
BRIEF_S = 0.1  # how long a step may still take once the deadline has passed
T = TypeVar("T")


@dataclass
class Outcome(Generic[T]):
    """What `call` got from its work: its value, or the exception it raised."""

    value: T | None = None
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)


class Stopping:
    """The signals received, and the deadline they set (see the module)."""

    def __init__(self, grace: float, monotonic: Clock = time.monotonic) -> None:
        self.grace = grace
        self.monotonic = monotonic
        self.first: int | None = None  # the first signal's number
        self.count = 0
        self.deadline: float | None = None
        self.changed = threading.Event()  # set at every signal
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()

    # --- signals ----------------------------------------------------------------------------

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def install(self) -> None:
        """Take SIGINT, SIGTERM and SIGHUP from now on (main thread only); starts `signals`."""
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        for sig in SIGNALS:
            signal.signal(sig, _nothing)
        signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(target=self._relay, args=(read_fd,), name="signals", daemon=True).start()

    def _relay(self, read_fd: int) -> None:
        while True:
            try:
                data = os.read(read_fd, 64)
            except InterruptedError:
                continue
            except OSError:
                return
            for signum in data:
                self.receive(signum)

    def receive(self, signum: int) -> None:
        """One signal: the first sets the deadline `grace` from now, a second makes it now."""
        with self._lock:
            self.count += 1
            now = self.monotonic()
            if self.count == 1:
                self.first = signum
                self.deadline = now + self.grace
            else:
                self.deadline = now
            count = self.count
        for listener in self._listeners:
            listener(signum, count)
        self.changed.set()

    @property
    def signalled(self) -> bool:
        return self.count > 0

    @property
    def hurried(self) -> bool:
        """A second signal came: nothing more is waited for."""
        return self.count > 1

    def wait_for_signal(self) -> int:
        """Block until the first signal (for `watch`); its number."""
        while not self.changed.wait(60.0):  # a signal wakes it at once; 60 s: a safety net
            pass
        return self.first or 0

    # --- waits that honour the deadline -----------------------------------------------------

    def left(self, limit: float) -> float:
        """`limit` seconds, or less if the deadline comes sooner (0 once it has passed)."""
        if self.deadline is None:
            return max(0.0, limit)
        return max(0.0, min(limit, self.deadline - self.monotonic()))

    def patience(self, limit: float) -> float:
        """How long a step may take: `left(limit)`, but `BRIEF_S` (at most `limit`) past
        the deadline."""
        return max(self.left(limit), min(max(0.0, limit), BRIEF_S))

    def wait(self, done: threading.Event, limit: float | None = None) -> bool:
        """Wait until `done` is set, at most `limit` seconds (None: as long as it takes) and
        not past the deadline (or `BRIEF_S`, if that is later); whether it was set."""
        start = self.monotonic()
        end = None if limit is None else start + limit
        while not done.is_set():
            now = self.monotonic()
            deadline = self.deadline
            cut = None if deadline is None else max(deadline, start + BRIEF_S)
            bounds = [b for b in (end, cut) if b is not None]
            if bounds and now >= min(bounds):
                return done.is_set()
            done.wait(min([LOOK_S, *(b - now for b in bounds)]))
        return True

    def call(
        self, work: Callable[[], T], limit: float | None = None, name: str = "closing"
    ) -> Outcome[T]:
        """Run `work` in a daemon thread `name` and `wait` for it. Its outcome is complete
        (`done` set) if it returned in time; an exception it raised in time is raised here.
        What it does after that is left to it, and what it raises then is dropped."""
        outcome: Outcome[T] = Outcome()

        def run() -> None:
            try:
                outcome.value = work()
            except BaseException as exc:
                outcome.error = exc
            outcome.done.set()

        threading.Thread(target=run, name=name, daemon=True).start()
        if self.wait(outcome.done, limit) and outcome.error is not None:
            raise outcome.error
        return outcome


def _nothing(signum: int, frame: FrameType | None) -> None:
    """The Python side of the handler: the wakeup pipe has the signal already."""
