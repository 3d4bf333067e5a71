"""The pump: one thread moves all of the child's output to our terminal, the capture and the rules.

Each read is written to our own stream at once, appended to the capture, and
only then handed to the observation path through a callback that must not block.

A trickle of output is coalesced: after a read that came slower than
`REST_BELOW` bytes per `rest` (16 KiB per 40 ms, 400 KB/s: 4,000 lines a second
of 100 bytes), the pump rests up to `rest` seconds (`REST_S`, 40 ms) on that
stream and takes what came meanwhile in one read, so a training printing 100
times a second wakes it 25 times a second, not 100, and hands the rules one
chunk per wake. What the pump rests on is delayed by at most `rest`, below what
a person can notice at a terminal (and under the 50 ms allowed between a line
and its alert). It never delays more than that:

- a write after a quiet spell finds the pump blocked in `poll`, so it is relayed
  (and evaluated) at once;
- faster output (a flood) is read without rests, even when a read finds little
  because the pump has caught up with the writer;
- output on another stream ends the rest: what the resting stream holds is relayed
  first, then the other stream's, so the two streams keep the order they were
  written in (as far as two pipes can tell it), on the terminal and in the capture;
- the stream's end (the child exited) and `hurry()` (`Child.drain`) end it too,
  and after `hurry()` the pump no longer rests.

While it rests, output waits in the pipe (1 MiB deep on Linux, 64 KiB at least):
a child that starts a flood during a rest may wait for the rest's end once.
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
REST_BELOW = 16 * 1024
_IN = select.POLLIN


@dataclass(frozen=True)
class Stream:
    source: str  # the observations' source: "stdout", "stderr"
    fd: int  # our end of the child's pipe
    out_fd: int  # where its bytes are relayed


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
    ) -> None:
        self._streams = {s.fd: s for s in streams}
        self._write, self._on_chunk, self._keep, self._clock = write, on_chunk, keep, clock
        self.rest = rest
        self.failures = 0  # callbacks that raised (the output went on regardless)
        self.rests = 0  # rests taken: with the wake-ups, what the coalescing saves
        self._last_read = time.monotonic()
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

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        try:
            resting: int | None = None
            while self._streams:
                resting = self._cycle(resting)
        finally:
            with self._wake_lock:
                self._closed = True
                os.close(self._wake_r)
                os.close(self._wake_w)

    def _cycle(self, resting: int | None) -> int | None:
        """Wait (resting on one stream, or for any), relay what is there; the stream to rest
        on next, if any."""
        ready = self._wait(resting)
        order = [resting] if resting is not None else []
        order += [fd for fd in self._streams if fd in ready and fd != resting]
        read = {fd: self._relay(fd) for fd in order}
        size = sum(read.values())
        if not size:
            return None
        now = time.monotonic()
        slow = size * self.rest < REST_BELOW * (now - self._last_read)
        self._last_read = now
        if self._hurry or not slow:
            return None
        rest_on = next((fd for fd, n in read.items() if n > 0 and fd in self._streams), None)
        self.rests += rest_on is not None
        return rest_on

    def _wait(self, resting: int | None) -> set[int]:
        if resting is None:
            events = self._poll.poll()
        else:
            self._poll.modify(resting, 0)  # its end (POLLHUP) still wakes us
            events = self._poll.poll(self.rest * 1000)
            if resting in self._streams:
                self._poll.modify(resting, _IN)
        ready = {fd for fd, _ in events}
        if self._wake_r in ready:
            os.read(self._wake_r, 512)
        return ready

    def _relay(self, fd: int) -> int:
        """One read of `fd` passed on; the bytes read (0 when there were none or it ended)."""
        try:
            data = os.read(fd, READ_SIZE)
        except (BlockingIOError, InterruptedError):
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
