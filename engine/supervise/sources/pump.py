"""The pump: one thread moves all of the child's output to our terminal, the capture and the rules.

Each read is written to our own stream at once, appended to the capture, and
only then handed to the observation path through a callback that must not block.

Output is coalesced: after a read, the pump rests a moment on that stream and
takes what came meanwhile in one go, so a training that prints often wakes it (and,
through one chunk per wake, the rules) once per rest, not once per write. A rest
lasts `rest` seconds (`REST_S`: below what a person notices at a terminal, and
within the alert-latency bound of bench/README.md), or less when the output comes
fast: never so long that, at the rate seen since the last rest began, the pipe would
fill beyond `1 / PIPE_SHARE`, nor longer than `RAMP` times that time; when the rate
is too high for a rest of `MIN_REST_S`, there is none.
A flood is thus taken in large reads, without the child ever waiting on us, and
nothing waits longer than `rest`:

- a write after a quiet spell finds the pump blocked in `poll`, so it is relayed
  (and evaluated) at once;
- output on another stream ends the rest: what the resting stream holds is relayed
  first, then the other stream's, so the two streams keep the order they were
  written in (as far as two pipes can tell it), on the terminal and in the capture;
- the stream's end (the child exited) and `hurry()` (`Child.drain`) end it too,
  and after `hurry()` the pump no longer rests.

A child that starts a flood during a full rest (right after a quiet spell) may
wait for the rest's end once, when its pipe is full.

The thread (`name`, `pump-PID` for a child) starts with the pump. Chunks are stamped
with `clock` (wall time, as observations are); rests are measured with `monotonic`.
"""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

Chunk = Callable[[str, float, bytes], None]
"""Receives (source, time, bytes) for every read; must return at once."""
Write = Callable[[int, bytes], None]

READ_SIZE = 65536
REST_S = 0.04
MIN_REST_S = 0.002  # a shorter rest saves less than it costs
PIPE_SHARE = 4  # a rest lets the pipe fill to at most a quarter, at the rate just seen
RAMP = 2  # ... and lasts at most twice as long as that rate was seen
DEFAULT_PIPE = 65536
_IN = select.POLLIN
Rest = tuple[int, float]  # (the stream rested on, for how long)


@dataclass(frozen=True)
class Stream:
    source: str  # the observations' source: "stdout", "stderr"
    fd: int  # our end of the child's pipe
    out_fd: int  # where its bytes are relayed
    capacity: int = DEFAULT_PIPE  # how many bytes the pipe holds


class Pump:
    def __init__(
        self,
        streams: Sequence[Stream],
        write: Write,
        on_chunk: Chunk,
        keep: Callable[[bytes], None] | None,
        clock: Callable[[], float],
        rest: float = REST_S,
        name: str = "pump",
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._streams = {s.fd: s for s in streams}
        self._write, self._on_chunk, self._keep, self._clock = write, on_chunk, keep, clock
        self._monotonic = monotonic
        self.rest = rest
        self.failures = 0  # callbacks that raised (the output went on regardless)
        self.rests = 0  # rests taken: with the wake-ups, what the coalescing saves
        self._window = (monotonic(), 0)  # since the last rest began: (when, bytes read)
        self._hurry = False
        self._wake_r, self._wake_w = os.pipe()
        self._wake_lock = threading.Lock()
        self._closed = False
        for fd in self._streams:
            os.set_blocking(fd, False)
        self._poll = select.poll()
        for fd in [*self._streams, self._wake_r]:
            self._poll.register(fd, _IN)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def hurry(self) -> None:
        """End a rest now and rest no more: the child has exited, its last output is wanted."""
        self._hurry = True
        with self._wake_lock:
            if not self._closed:
                try:
                    os.write(self._wake_w, b"!")
                except OSError:  # the pipe is full: a wake-up is already waiting
                    pass

    def join(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the streams' end; whether the thread is over."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            resting: Rest | None = None
            while self._streams:
                resting = self._cycle(resting)
        finally:
            with self._wake_lock:
                self._closed = True
                os.close(self._wake_r)
                os.close(self._wake_w)

    def _cycle(self, resting: Rest | None) -> Rest | None:
        """Wait (resting on one stream, or for any), relay what is there; the rest to take
        next, if any."""
        ready = self._wait(resting)
        first = resting[0] if resting is not None else None
        order = [first] if first is not None else []
        order += [fd for fd in self._streams if fd in ready and fd != first]
        read = {fd: self._drain(fd) for fd in order}
        since, size = self._window
        size += sum(n for n, _ in read.values())
        self._window = since, size
        fd = next((fd for fd, (n, _) in read.items() if n > 0 and fd in self._streams), None)
        if self._hurry or fd is None or any(more for _, more in read.values()):
            return None  # nothing came, or more is waiting: read on without a rest
        now = self._monotonic()
        capacity = self._streams[fd].capacity
        if 2 * size > capacity:
            # half the pipe came: the output got faster than the last rest allowed for (and,
            # the writer held up, its rate cannot be told): read on, and measure it afresh
            self._window = now, 0
            return None
        seconds = self._rest_for(capacity, size, now - since)
        if seconds < MIN_REST_S:
            return None  # too fast to rest yet: the rate is measured over a longer time
        self._window = now, 0
        self.rests += 1
        return fd, seconds

    def _rest_for(self, capacity: int, size: int, elapsed: float) -> float:
        """`rest`, or less when output comes fast: at the rate seen since the last rest
        began (`size` bytes in `elapsed` seconds), the pipe must not fill beyond
        `1 / PIPE_SHARE`; and at most `RAMP` times `elapsed` (a rate seen over a moment
        says little)."""
        return min(self.rest, RAMP * elapsed, capacity * elapsed / (size * PIPE_SHARE))

    def _wait(self, resting: Rest | None) -> set[int]:
        if resting is None:
            events = self._poll.poll()
        else:
            fd, seconds = resting
            self._poll.modify(fd, 0)  # its end (POLLHUP) still wakes us
            events = self._poll.poll(seconds * 1000)
            if fd in self._streams:
                self._poll.modify(fd, _IN)
        ready = {fd for fd, _ in events}
        if self._wake_r in ready:
            os.read(self._wake_r, 512)
        return ready

    def _drain(self, fd: int) -> tuple[int, bool]:
        """What `fd` holds, passed on (the order across streams needs all of it, not only
        a first read); the bytes read, and whether more is waiting (a writer as fast as we
        read is left for the next cycle after `PIPE_SHARE` times the pipe's capacity)."""
        total, limit = 0, self._streams[fd].capacity * PIPE_SHARE
        while total < limit:
            n = self._relay(fd)
            total += n
            if n < READ_SIZE:
                return total, False
        return total, True

    def _relay(self, fd: int) -> int:
        """One read of `fd` passed on; the bytes read (0 when there were none or it ended)."""
        try:
            data = os.read(fd, READ_SIZE)
        except BlockingIOError:
            return 0
        except OSError:
            data = b""
        stream = self._streams[fd]
        if not data:
            del self._streams[fd]
            self._poll.unregister(fd)
            return 0
        self._write(stream.out_fd, data)
        if self._keep is not None:
            self._keep(data)
        try:
            self._on_chunk(stream.source, self._clock(), data)
        except Exception:  # the output keeps flowing whatever the rules' side does
            self.failures += 1
        return len(data)
