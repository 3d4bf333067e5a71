"""The observation path: one thread owns the Engine; everything else only posts to it.

Sources post raw chunks, samples, events and probe messages with `post_*`,
which never block: each becomes one `Message` on the thread's queue (a `Chunk`,
an `Observation` as it is, a `ProbeReport`, or the final `Stop`), handled in the
order posted. The thread splits chunks into lines (per source), feeds the engine,
and hands decisions to the sinks and actions to the supervisor. A failure here is
reported once and the loop goes on: the training and its pass-through never
depend on it.

Chunks are taken in batches: every chunk already waiting is evaluated with the
first one (each line keeps the time its chunk arrived), up to `MAX_BATCH_BYTES`;
a message of another kind ends the batch and is handled next. The child's output
comes already coalesced (`engine.supervise.sources.pump` rests at most `REST_S` on
a stream after a small read), so by default the thread takes each chunk as soon
as it is posted: a line waits for evaluation no longer than the pump's rest, and
not at all after a quiet spell. For producers that post a trickle themselves,
`batch` makes the thread rest that long after a batch smaller than `REST_BELOW`
and take what came meanwhile together. A large read (a flood) is never held
back, and is not split into lines at all: as in replay (`engine.logs.skim`),
hyperscan finds in its raw bytes the few lines a rule may match, and only those
are decoded.

When the output comes faster than it can be evaluated, what no rule matches is shed, never
a line a rule may match. A batch whose first chunk waited over `BEHIND_S` (counted from
`start`: output read while `run` was still setting up waited for that, not for
evaluation) goes the fast way whatever its size, and of the lines only signals match it
reads each signal's last
(`engine.logs.skim.hasty_candidates`). Chunks waiting in the queue hold at most
`MAX_QUEUED_BYTES`: a chunk that comes beyond is queued (up to `MAX_SHED_BYTES` more) with
only those lines, the others emptied by the posting thread (`engine.logs.skim.shed`,
hyperscan's pass over its bytes).
Only where the prefilter cannot tell the lines apart (no hyperscan, a pattern it does not
take, a terminal title escape) is such a chunk dropped, and counted. The shed and dropped
lines are still on the terminal and in the capture; `Tally` counts them.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from engine.core.engine import Engine
from engine.core.sparse import SparseBlock
from engine.durations import exact_duration
from engine.logs.lines import Splitter
from engine.logs.skim import Lookout, shed, skim_region
from engine.match.matcher import SUSPEND_AFTER
from engine.model import (
    Action,
    Decision,
    Event,
    LineBlock,
    Observation,
    Reason,
    Sample,
    Tick,
    Value,
)
from engine.supervise.trainers import Trainers
from engine.vocabulary import EVENTS

MAX_QUEUED_BYTES = 64 * 1024 * 1024
MAX_SHED_BYTES = 64 * 1024 * 1024  # more for chunks with only their rule lines (a line
# no rule matches costs a byte: its end), so that a full queue still takes the lines a rule
# may match of gigabytes of output
BEHIND_S = 0.5  # output waiting this long for evaluation: shed what no rule matches
MAX_BATCH_BYTES = 1 << 20
SPARSE_BYTES = 16 * 1024  # a chunk's lines that come to this go the fast way (engine.logs.skim)
REST_BELOW = 16 * 1024  # after a batch smaller than this, rest `batch` seconds
LAST_LINES = 20
Timed = tuple[list[tuple[float, float]], list[tuple[int, float, float]]]


class Sink(Protocol):
    def send(self, decision: Decision) -> None: ...


@runtime_checkable
class Batching(Protocol):
    """A sink that keeps what it is sent until `flush`, called after each block's decisions."""

    def send(self, decision: Decision) -> None: ...

    def flush(self) -> None: ...


Notice = Callable[[str], None]
ActionRequest = Callable[[Action, Decision], None]
Observer = Callable[[Observation | LineBlock, list[Decision]], None]
"""Told, in the pipeline's thread, each observation the engine took and what it decided."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """Bytes a source read at `t`; empty `data`: the source's stream ended. `skipped`: lines
    emptied from `data` because the queue was full (`engine.logs.skim.shed`)."""

    source: str
    t: float
    data: bytes
    skipped: int = 0


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """A message of the probe inside the training, with the time it arrived."""

    t: float
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Stop:
    """Evaluate what came before, then end the thread."""


@dataclass(frozen=True, slots=True)
class Settled:
    """Set `done` once everything posted before has been evaluated and handed on."""

    done: threading.Event


Message = Chunk | Observation | ProbeReport | Settled | Stop
"""What the pipeline's queue holds, in the order it was posted."""


@dataclass
class Notified:
    """The alerts sent, counted (a storm sends hundreds of thousands: none is kept)."""

    by_severity: Counter[str] = field(default_factory=Counter)  # resolutions apart
    resolutions: int = 0
    rules: set[str] = field(default_factory=set)

    def add(self, decision: Decision) -> None:
        if decision.reason is Reason.RESOLVED:
            self.resolutions += 1
        else:
            self.by_severity[decision.severity.label] += 1
        self.rules.add(decision.rule)

    def __bool__(self) -> bool:
        return bool(self.rules)

    def copy(self) -> Notified:
        return Notified(Counter(self.by_severity), self.resolutions, set(self.rules))


@dataclass
class Tally:
    lines: int = 0
    dropped_bytes: int = 0  # neither evaluated nor looked at (no prefilter could tell)
    skipped_lines: int = 0  # looked at only by the prefilter: the queue was full
    hasty_lines: int = 0  # went by while evaluation was behind (`skim.hasty_candidates`)
    notifications: Notified = field(default_factory=Notified)
    probes: int = 0
    patched: list[dict[str, Any]] = field(default_factory=list)
    internal_errors: int = 0
    sink_failures: dict[str, int] = field(default_factory=dict)
    overruns: dict[str, int] = field(default_factory=dict)  # `Engine.overruns`, as last seen


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
        batch: float = 0.0,
        sparse_bytes: int = SPARSE_BYTES,
        lookout: Lookout | None = None,
    ) -> None:
        self.engine = engine
        self.lookout = lookout  # what the fast way needs (None: every line is split)
        self.batch = batch
        self.sparse_bytes = sparse_bytes
        self.observer = observer
        self.sinks = list(sinks)
        self.notice = notice
        self.on_action = on_action
        self.clock = clock
        self.tick = tick
        self.verbose = verbose
        self.tally = Tally()
        self.trainers = Trainers()  # the Python processes of this attempt, from the probe
        self.last_lines: deque[str] = deque(maxlen=LAST_LINES)
        self.last_activity: float | None = None
        self._inbox: queue.SimpleQueue[Message] = queue.SimpleQueue()
        self._queued_bytes = 0
        self._lock = threading.Lock()
        self._splitters: dict[str, Splitter] = {}
        self._thread = threading.Thread(target=self._run, name="pipeline", daemon=True)
        self._done = threading.Event()
        self._started = float("-inf")  # when `start` was called: output waits for it first

    # --- posting (any thread, never blocks) -------------------------------------------------

    def post_chunk(self, source: str, t: float, data: bytes) -> None:
        chunk: Chunk | None = Chunk(source, t, data)
        limit = MAX_QUEUED_BYTES
        with self._lock:
            full = self._queued_bytes + len(data) > MAX_QUEUED_BYTES
        if full:  # only the lines a rule may match are queued (see the module's doc)
            chunk, limit = self._shed(Chunk(source, t, data)), MAX_QUEUED_BYTES + MAX_SHED_BYTES
        with self._lock:
            if chunk is None or self._queued_bytes + len(chunk.data) > limit:
                self.tally.dropped_bytes += len(data)  # still on the terminal and in the capture
                return
            self._queued_bytes += len(chunk.data)
        self._inbox.put(chunk)

    def _shed(self, chunk: Chunk) -> Chunk | None:
        """`chunk` with the whole lines no rule may match emptied (`engine.logs.skim.shed`);
        None where the prefilter cannot tell them (no hyperscan, a pattern it does not take,
        a title escape)."""
        lookout, data = self.lookout, chunk.data
        if lookout is None or not lookout.matcher.covers(chunk.source):
            return None
        first = min((i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0), default=-1) + 1
        last = max(data.rfind(b"\n"), data.rfind(b"\r")) + 1
        if first >= last:  # no whole line between the two partial ones: nothing to shed
            return chunk
        reduced = shed(data[first:last], lookout)
        if reduced is None:
            return None
        data = data[:first] + reduced.data + data[last:]
        return Chunk(chunk.source, chunk.t, data, reduced.skipped)

    def post(self, obs: Observation) -> None:
        self._inbox.put(obs)

    def post_probe(self, t: float, message: dict[str, Any]) -> None:
        self._inbox.put(ProbeReport(t, message))

    def start(self) -> None:
        self._started = self.clock()
        self._thread.start()

    def settle(self, timeout: float) -> bool:
        """Wait until everything posted so far has been evaluated and its alerts handed to
        the sinks (at most `timeout` seconds); whether it was. The supervisor calls this
        before it says what it does about an exit, so that the alert comes first."""
        done = threading.Event()
        self._inbox.put(Settled(done))
        return done.wait(timeout)

    def stop(self, patience: float = 2.0) -> None:
        """Evaluate everything posted so far (however long it takes), then end the thread.

        After `patience` seconds it says how much output is still being evaluated.
        """
        self._inbox.put(Stop())
        if self._done.wait(patience):
            return
        with self._lock:
            left = self._queued_bytes
        self.notice(f"evaluating the last {left / 1e6:,.1f} MB of output before exiting...")
        self._done.wait()

    # --- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        after: Message | None = None  # what ended the last batch, next to handle
        while True:
            message = self._next() if after is None else after
            after = None
            match message:
                case Chunk():
                    chunks, after, size = self._gather(message)
                    self._guarded(self._chunks, chunks)
                    if self.batch > 0 and after is None and size < REST_BELOW:
                        # a trickle of output: let more of it arrive and take it together (a
                        # sleep, then a queue that is ready, costs one wake-up); a flood is not
                        # held back
                        time.sleep(self.batch)
                case Stop():
                    self._flush_partial_lines()
                    self._guarded(self._finish)
                    self._done.set()
                    return
                case ProbeReport(t, report):
                    self._guarded(self._probe, t, report)
                case Settled(done):
                    done.set()
                case _:
                    self._guarded(self._observe, message)

    def _next(self) -> Message:
        """The next message, or a `Tick` when none came for `tick` seconds."""
        try:
            return self._inbox.get(timeout=self.tick)
        except queue.Empty:
            return Tick(self.clock())

    def _guarded(self, step: Callable[..., None], *args: Any) -> None:
        try:
            step(*args)
        except Exception:
            self.tally.internal_errors += 1
            if self.tally.internal_errors == 1:
                self.notice(
                    "internal error in rule evaluation (the training goes on):\n"
                    + traceback.format_exc()
                )

    def _gather(self, first: Chunk) -> tuple[list[Chunk], Message | None, int]:
        """`first` and the chunks queued behind it (up to `MAX_BATCH_BYTES`); the message
        that stopped the gathering, if any (handled next, so the order is kept); their size."""
        chunks, size = [first], len(first.data)
        while size < MAX_BATCH_BYTES:
            try:
                message = self._inbox.get_nowait()
            except queue.Empty:
                break
            if not isinstance(message, Chunk):
                return chunks, message, size
            chunks.append(message)
            size += len(message.data)
        return chunks, None, size

    def _chunks(self, chunks: list[Chunk]) -> None:
        """Split the chunks into lines and feed them, one block per run of one source; a
        large region of whole lines goes the fast way (`_skim`)."""
        with self._lock:
            self._queued_bytes -= sum(len(chunk.data) for chunk in chunks)
        # output queued while `run` was still setting up waited for that, not for evaluation
        behind = self.clock() - max(chunks[0].t, self._started) > BEHIND_S
        source = chunks[0].source
        texts: list[str] = []
        times: list[float] = []
        numbers: list[int] = []
        for chunk in chunks:
            t, data = chunk.t, chunk.data
            self.tally.lines += chunk.skipped
            self.tally.skipped_lines += chunk.skipped
            if chunk.source != source:
                self._lines(source, texts, times, numbers)
                source, texts, times, numbers = chunk.source, [], [], []
            splitter = self._splitters.setdefault(source, Splitter())
            size = len(texts)
            if not data:  # the stream ended (a file rotated away): its last line is whole
                new_texts, new_numbers = splitter.flush()
                texts += new_texts
                numbers += new_numbers
            else:
                region = splitter.begin(data, texts, numbers)
                sparse = self._sparse(source, t, region, splitter, behind)
                if sparse is not None:
                    times += [t] * (len(texts) - size)
                    self._lines(source, texts, times, numbers)
                    texts, times, numbers, size = [], [], [], 0
                    splitter.skip(region, sparse.newlines)
                    self._skim(source, t, sparse)
                elif region:
                    splitter.lines(region, texts, numbers)
                splitter.finish()
            times += [t] * (len(texts) - size)
        self._lines(source, texts, times, numbers)

    def _sparse(
        self, source: str, t: float, region: bytes, splitter: Splitter, behind: bool
    ) -> SparseBlock | None:
        """A region of whole lines as a `SparseBlock` (every line at `t`, when its chunk was
        read), if it is large enough for the fast way to pay and the fast way can take it.
        When evaluation is `behind` the output, any region goes the fast way, with only the
        lines `engine.logs.skim.ruled` keeps."""
        lookout = self.lookout
        if lookout is None or not lookout.matcher.covers(source):
            return None
        if not behind and len(region) < self.sparse_bytes:
            return None

        def timing(_flat: bytes, stops: Sequence[int], _gap: float) -> Timed:
            return [(t, t)] * len(stops), []

        block = skim_region(source, region, splitter, lookout, timing, LAST_LINES, behind)
        if block is not None and behind:
            self.tally.hasty_lines += block.lines
        return block

    def _skim(self, source: str, t: float, block: SparseBlock) -> None:
        if not block.lines:
            return
        self.tally.lines += block.lines
        self.last_lines.extend(block.tail[-LAST_LINES:])
        self.last_activity = t
        decisions = self.engine.feed_sparse(block)
        self._decide(decisions, block.as_lines(lambda n: [t] * n))

    def _lines(self, source: str, texts: list[str], times: list[float], numbers: list[int]) -> None:
        if not texts:
            return
        self.tally.lines += len(texts)
        self.last_lines.extend(texts)
        self.last_activity = times[-1]
        block = LineBlock(source, texts, times, numbers)
        self._decide(self.engine.feed_lines(block), block)

    def _flush_partial_lines(self) -> None:
        for source, splitter in self._splitters.items():
            texts, numbers = splitter.flush()
            self._lines(source, texts, [self.clock()] * len(texts), numbers)

    def _finish(self) -> None:
        """The end of what is observed (after the training's exit, or `watch` stopped):
        what still waits is decided now rather than lost (`Engine.finish`)."""
        self._decide(self.engine.finish(), Tick(self.clock()))

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
                fields.update(self.trainers.exit_fields(obs.t))
                obs = Event(obs.t, obs.name, fields)
        self._decide(self.engine.feed(obs), obs)

    def _probe(self, t: float, message: dict[str, Any]) -> None:
        name = str(message.get("event"))
        if name == "hello":
            self.tally.probes += 1
            self.trainers.hello(t, message)
        elif name == "bye":
            self.trainers.bye(t, message)
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
        if self.engine.overruns and self.engine.overruns != self.tally.overruns:
            self._overran()
        for decision in decisions:
            if decision.notifies:
                self.tally.notifications.add(decision)
                for sink in self.sinks:
                    self._send(sink, decision)
            elif self.verbose:
                self.notice(f"({decision.reason.value}) {decision.rule}: {decision.summary}")
            if decision.action is not None:
                self._flush_all()  # the alert is out before what is done about it
                self.on_action(decision.action, decision)
        self._flush_all()
        if self.observer is not None:
            self.observer(cause, decisions)

    def _overran(self) -> None:
        """Say which patterns ran over their time budget on a line since the last block:
        those lines were not evaluated by them (the suspension is an alert of its own)."""
        before, now = self.tally.overruns, dict(self.engine.overruns)
        self.tally.overruns = now
        budget = exact_duration(self.engine.budget)
        for name, n in now.items():
            if before.get(name, 0) < n < SUSPEND_AFTER:
                self.notice(
                    f"{name}: {n} line(s) not evaluated by it so far, its search over the "
                    f"{budget} time budget; at {SUSPEND_AFTER} it is suspended. "
                    "`rlswarm-rules lint` names the part of its pattern that can backtrack"
                )

    def _flush_all(self) -> None:
        for sink in self.sinks:
            if isinstance(sink, Batching):
                try:
                    sink.flush()
                except Exception as exc:  # a broken sink never stops evaluation
                    self._failed(sink, exc)

    def _send(self, sink: Sink, decision: Decision) -> None:
        try:
            sink.send(decision)
        except Exception as exc:  # a broken sink never stops evaluation
            self._failed(sink, exc)

    def _failed(self, sink: Sink, exc: Exception) -> None:
        failures = self.tally.sink_failures
        failures[type(sink).__name__] = failures.get(type(sink).__name__, 0) + 1
        if failures[type(sink).__name__] == 1:
            self.notice(f"alert output {type(sink).__name__} failed: {exc} (reported once)")


def _patched_text(message: dict[str, Any]) -> str:
    version = message.get("version", "?")
    verdict = "fix applied" if message.get("applied") else "no fix applied"
    pid = message.get("pid")
    return f"probe (pid {pid}): accelerate {version}: {verdict}: {message.get('detail')}"
