"""The pump's rest, with real child processes: a trickle is coalesced, and nothing else waits.

The rests here are long (0.3 s to 5 s, where `run` uses 40 ms) so that a line held by a rest
is told from scheduling noise on a busy machine. Children stamp each line with its write time
(`time.time()`); the pump stamps each read with the same clock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from engine.sources.pump import Pump, Stream


@dataclass
class Relayed:
    """What the pump did: the chunks it handed on, and the bytes on the shared output."""

    chunks: list[tuple[str, float, bytes]] = field(default_factory=list)
    output: bytearray = field(default_factory=bytearray)

    def delays(self) -> list[float]:
        """For each stamped line (`... t=STAMP`), how long after its write it was read."""
        out = []
        for _, t, data in self.chunks:
            for line in data.split(b"\n"):
                if b" t=" in line:
                    out.append(t - float(line.rsplit(b" t=", 1)[1]))
        return out


@contextmanager
def pumped(code: str, rest: float) -> Iterator[tuple[subprocess.Popen[bytes], Pump, Relayed]]:
    """`python -c code` with both streams pumped into one pipe (so their order shows)."""
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        start_new_session=True,
    )
    assert child.stdout is not None and child.stderr is not None
    out_r, out_w = os.pipe()
    relayed = Relayed()

    def collect() -> None:
        while data := os.read(out_r, 1 << 20):
            relayed.output += data

    collector = threading.Thread(target=collect)
    collector.start()
    streams = [
        Stream("stdout", child.stdout.fileno(), out_w),
        Stream("stderr", child.stderr.fileno(), out_w),
    ]

    def write(fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]

    def on_chunk(source: str, t: float, data: bytes) -> None:
        relayed.chunks.append((source, t, data))

    pump = Pump(streams, write, on_chunk, None, time.time, rest=rest)
    try:
        yield child, pump, relayed
    finally:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        child.wait()
        pump.join(5)
        os.close(out_w)
        collector.join(5)
        os.close(out_r)


def lines(n: int, every: float, stream: str = "sys.stdout") -> str:
    return f"""
        import sys, time
        for i in range({n}):
            time.sleep({every})
            {stream}.write(f"line {{i}} t={{time.time():.6f}}\\n")
    """


def test_a_line_after_a_quiet_spell_is_relayed_at_once() -> None:
    with pumped(lines(6, 0.5), rest=0.3) as (child, pump, relayed):
        child.wait(30)
        pump.join(5)
    delays = relayed.delays()
    assert len(delays) == 6
    assert max(delays) < 0.15, delays  # each line found the pump waiting, not resting


def test_a_trickle_is_coalesced_and_held_no_longer_than_the_rest() -> None:
    with pumped(lines(60, 0.01), rest=0.2) as (child, pump, relayed):
        child.wait(30)
        pump.join(5)
    delays = relayed.delays()
    assert len(delays) == 60
    assert max(delays) < 0.2 + 0.15, max(delays)
    assert len(relayed.chunks) <= 12, len(relayed.chunks)  # not one per write: about 0.6 s / 0.2 s
    assert pump.rests >= 2
    expected = b"".join(b"line %d" % i for i in range(60))
    assert b"".join(line.split(b" t=")[0] for line in relayed.output.splitlines()) == expected


def test_a_flood_is_read_without_rests() -> None:
    flood = """
        import sys
        for i in range(400_000):
            sys.stdout.write(f"step {i:07d} loss=0.1234 reward=0.5678 ok\\n")
    """
    with pumped(flood, rest=1.0) as (child, pump, relayed):
        child.wait(60)
        pump.join(10)
    expected = b"".join(b"step %07d loss=0.1234 reward=0.5678 ok\n" % i for i in range(400_000))
    assert bytes(relayed.output) == expected
    assert b"".join(data for _, _, data in relayed.chunks) == expected
    assert pump.rests <= 2, pump.rests  # at most after the first line, before it got fast


def test_output_on_the_other_stream_ends_a_rest_so_the_order_is_kept() -> None:
    alternate = """
        import sys, time
        for i in range(15):
            time.sleep(0.02)
            sys.stdout.write(f"out {i}\\n")
            time.sleep(0.02)
            sys.stderr.write(f"err {i}\\n")
    """
    with pumped(alternate, rest=0.3) as (child, pump, relayed):
        child.wait(30)
        pump.join(5)
    expected = "".join(f"out {i}\nerr {i}\n" for i in range(15)).encode()
    assert bytes(relayed.output) == expected  # with each stream resting alone: out 1 after err 1
    sources = [source for source, _, _ in relayed.chunks]
    assert sources == ["stdout", "stderr"] * 15


def test_the_tail_is_relayed_as_soon_as_the_child_exits() -> None:
    tail = """
        import sys, time
        for i in range(10):
            time.sleep(0.01)
            sys.stdout.write(f"line {i}\\n")
        sys.stdout.write(f"last words, no newline t={time.time():.6f}")
    """
    with pumped(tail, rest=5.0) as (child, pump, relayed):
        child.wait(30)
        exited = time.monotonic()
        pump.join(10)
        ended = time.monotonic() - exited
    assert relayed.output.endswith(b"last words, no newline t=" + relayed.output[-17:])
    assert relayed.output.startswith(b"".join(b"line %d\n" % i for i in range(10)))
    assert ended < 1.0, ended  # the pipe's end ends the 5 s rest
    assert max(relayed.delays()) < 1.0


def test_hurry_ends_a_rest_when_a_grandchild_keeps_the_pipes_open() -> None:
    keeper = """
        import subprocess, sys, time
        subprocess.Popen(["sleep", "30"])  # inherits stdout and stderr: they stay open
        for i in range(10):
            time.sleep(0.01)
            sys.stdout.write(f"line {i}\\n")
        sys.stdout.write(f"last words t={time.time():.6f}\\n")
    """
    with pumped(keeper, rest=5.0) as (child, pump, relayed):
        child.wait(30)
        pump.hurry()
        hurried = time.monotonic()
        while b"last words" not in relayed.output and time.monotonic() - hurried < 10:
            time.sleep(0.005)
        waited = time.monotonic() - hurried
    assert b"last words" in relayed.output
    assert waited < 1.0, waited  # not the rest of the 5 s rest


def test_a_failing_callback_never_stops_the_output() -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", "print('a'); print('b')"], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None and child.stderr is not None
    out_r, out_w = os.pipe()

    def broken(source: str, t: float, data: bytes) -> None:
        raise RuntimeError("the rules' side broke")

    streams = [Stream("stdout", child.stdout.fileno(), out_w)]
    streams.append(Stream("stderr", child.stderr.fileno(), out_w))
    pump = Pump(streams, os.write, broken, None, time.time, rest=0.01)
    child.wait(30)
    pump.join(5)
    os.close(out_w)
    with os.fdopen(out_r, "rb") as out:
        assert out.read() == b"a\nb\n"
    assert pump.failures >= 1
