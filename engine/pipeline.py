"""The observation path: one thread owns the Engine; everything else only posts to it.

Sources post raw chunks, samples, events and probe messages with `post_*`,
which never block. The thread splits chunks into lines (per source), feeds
the engine, and hands decisions to the sinks and actions to the supervisor.
A failure here is reported once and the loop goes on: the training and its
pass-through never depend on it.
"""

from __future__ import annotations

import queue
import threading
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.core import Engine
from engine.lines import Splitter
from engine.model import Action, Decision, Event, LineBlock, Observation, Sample, Tick, Value
from engine.vocabulary import EVENTS

MAX_QUEUED_BYTES = 64 * 1024 * 1024
LAST_LINES = 20


class Sink(Protocol):
    def send(self, decision: Decision) -> None: ...


Notice = Callable[[str], None]
ActionRequest = Callable[[Action, Decision], None]
Observer = Callable[[Observation | LineBlock, list[Decision]], None]
"""Told, in the pipeline's thread, each observation the engine took and what it decided."""


@dataclass
class Tally:
    lines: int = 0
    dropped_bytes: int = 0
    notifications: list[Decision] = field(default_factory=list)
    probes: int = 0
    patched: list[dict[str, Any]] = field(default_factory=list)
    internal_errors: int = 0
    sink_failures: dict[str, int] = field(default_factory=dict)


class Pipeline:
    def __init__(
        self,
        engine: Engine,
        sinks: Sequence[Sink],
        notice: Notice,
        on_action: ActionRequest,
        clock: Callable[[], float],
        tick: float = 1.0,
        verbose: bool = False,
        observer: Observer | None = None,
    ) -> None:
        self.engine = engine
        self.observer = observer
        self.sinks = list(sinks)
        self.notice = notice
        self.on_action = on_action
        self.clock = clock
        self.tick = tick
        self.verbose = verbose
        self.tally = Tally()
        self.last_lines: deque[str] = deque(maxlen=LAST_LINES)
        self.last_activity: float | None = None
        self._inbox: queue.Queue[tuple[str, Any]] = queue.Queue()
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._splitters: dict[str, Splitter] = {}
        self._thread = threading.Thread(target=self._run, name="pipeline", daemon=True)
        self._done = threading.Event()

    # --- posting (any thread, never blocks) -------------------------------------------------

    def post_chunk(self, source: str, t: float, data: bytes) -> None:
        with self._lock:
            if self._queued_bytes + len(data) > MAX_QUEUED_BYTES:
                self.tally.dropped_bytes += len(data)  # still on the terminal and in the capture
                return
            self._queued_bytes += len(data)
        self._inbox.put(("chunk", (source, t, data)))

    def post(self, obs: Observation) -> None:
        self._inbox.put(("obs", obs))

    def post_probe(self, t: float, message: dict[str, Any]) -> None:
        self._inbox.put(("probe", (t, message)))

    def start(self) -> None:
        self._thread.start()

    def stop(self, patience: float = 2.0) -> None:
        """Evaluate everything posted so far (however long it takes), then end the thread.

        After `patience` seconds it says how much output is still being evaluated.
        """
        self._inbox.put(("stop", None))
        if self._done.wait(patience):
            return
        with self._lock:
            left = self._queued_bytes
        self.notice(f"evaluating the last {left / 1e6:,.1f} MB of output before exiting...")
        self._done.wait()

    # --- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                kind, item = self._inbox.get(timeout=self.tick)
            except queue.Empty:
                kind, item = "obs", Tick(self.clock())
            if kind == "stop":
                self._flush_partial_lines()
                self._done.set()
                return
            try:
                self._handle(kind, item)
            except Exception:
                self.tally.internal_errors += 1
                if self.tally.internal_errors == 1:
                    self.notice(
                        "internal error in rule evaluation (the training goes on):\n"
                        + traceback.format_exc()
                    )

    def _handle(self, kind: str, item: Any) -> None:
        if kind == "chunk":
            source, t, data = item
            with self._lock:
                self._queued_bytes -= len(data)
            splitter = self._splitters.setdefault(source, Splitter())
            if data:
                self._lines(source, t, *splitter.feed(data))
            else:  # the source's stream ended (a file rotated away): its last line is whole
                self._lines(source, t, *splitter.flush())
        elif kind == "probe":
            self._probe(*item)
        else:
            self._observe(item)

    def _lines(self, source: str, t: float, texts: list[str], numbers: list[int]) -> None:
        if not texts:
            return
        self.tally.lines += len(texts)
        self.last_lines.extend(texts)
        self.last_activity = t
        block = LineBlock(source, texts, [t] * len(texts), numbers)
        self._decide(self.engine.feed_lines(block), block)

    def _flush_partial_lines(self) -> None:
        for source, splitter in self._splitters.items():
            self._lines(source, self.clock(), *splitter.flush())

    def _observe(self, obs: Observation) -> None:
        if isinstance(obs, Sample) and self.last_activity is not None:
            values = dict(obs.values)
            values["seconds_since_activity"] = max(0.0, obs.t - self.last_activity)
            obs = Sample(obs.t, values)
        if isinstance(obs, Event):
            if obs.name == "heartbeat":
                self.last_activity = obs.t
            if obs.name == "exit":
                fields: dict[str, Value] = {**obs.fields, "last_lines": "\n".join(self.last_lines)}
                obs = Event(obs.t, obs.name, fields)
        self._decide(self.engine.feed(obs), obs)

    def _probe(self, t: float, message: dict[str, Any]) -> None:
        name = str(message.get("event"))
        if name == "hello":
            self.tally.probes += 1
        elif name == "memory":
            numbers = {k: float(v) for k, v in message.items() if isinstance(v, int | float)}
            numbers.pop("t", None)
            numbers.pop("pid", None)
            self._observe(Sample(t, numbers))
        elif name in EVENTS:
            fields = {k: v for k, v in message.items() if k in EVENTS[name]}
            if name == "patched":
                self.tally.patched.append(message)
                self.notice(_patched_text(message))
            self._observe(Event(t, name, fields))

    def _decide(self, decisions: list[Decision], cause: Observation | LineBlock) -> None:
        for decision in decisions:
            if decision.notifies:
                self.tally.notifications.append(decision)
                for sink in self.sinks:
                    self._send(sink, decision)
            elif self.verbose:
                self.notice(f"({decision.reason.value}) {decision.rule}: {decision.summary}")
            if decision.action is not None:
                self.on_action(decision.action, decision)
        if self.observer is not None:
            self.observer(cause, decisions)

    def _send(self, sink: Sink, decision: Decision) -> None:
        try:
            sink.send(decision)
        except Exception as exc:  # a broken sink never stops evaluation
            failures = self.tally.sink_failures
            failures[type(sink).__name__] = failures.get(type(sink).__name__, 0) + 1
            if failures[type(sink).__name__] == 1:
                self.notice(f"alert output {type(sink).__name__} failed: {exc} (reported once)")


def _patched_text(message: dict[str, Any]) -> str:
    version = message.get("version", "?")
    verdict = "fix applied" if message.get("applied") else "no fix applied"
    pid = message.get("pid")
    return f"probe (pid {pid}): accelerate {version}: {verdict}: {message.get('detail')}"
