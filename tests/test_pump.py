"""The pump's rest, with real child processes: a trickle is coalesced, and nothing else waits.

The rests here are long (0.3 s to 5 s, where `run` uses 40 ms) so that a line held by a rest
is told from scheduling noise on a busy machine. Children stamp each line with its write time
(`time.time()`); the pump stamps each read with the same clock.
"""

from __future__ import annotations

import fcntl
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

from engine.supervise.sources.pump import DEFAULT_PIPE, Pump, Stream


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


def deepen(fd: int) -> int:
    """The child's pipe made 1 MiB deep where the system allows it, as `run` does."""
    try:
        return int(fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20))
    except (AttributeError, OSError):
        return DEFAULT_PIPE


@contextmanager
def pumped(
    code: str, rest: float, deep: bool = False
) -> Iterator[tuple[subprocess.Popen[bytes], Pump, Relayed]]:
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
    out, err = child.stdout.fileno(), child.stderr.fileno()
    streams = [
        Stream("stdout", out, out_w, deepen(out) if deep else DEFAULT_PIPE),
        Stream("stderr", err, out_w, deepen(err) if deep else DEFAULT_PIPE),
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


FLOOD = """
    import sys, time
    write, clock, held = sys.stdout.write, time.perf_counter, []
    for i in range(400_000):
        before = clock()
        write(f"step {i:07d} loss=0.1234 reward=0.5678 ok\\n")  # one syscall (unbuffered)
        if clock() - before > 0.2:
            held.append(round(clock() - before, 3))
    sys.stderr.write(f"writes held: {held}\\n")
"""


def test_a_flood_is_read_in_large_chunks_and_never_held_by_a_rest() -> None:
    """Fast output is coalesced too, but a rest never lets the pipe fill: the child's writes
    wait for the pump at most once (the first rest, taken while the output was still slow)."""
    with pumped(FLOOD, rest=1.0, deep=True) as (child, pump, relayed):
        child.wait(60)
        pump.join(10)
    expected = b"".join(b"step %07d loss=0.1234 reward=0.5678 ok\n" % i for i in range(400_000))
    held = bytes(relayed.output)[len(expected) :]
    assert bytes(relayed.output[: len(expected)]) == expected
    assert held.startswith(b"writes held: [")
    assert held.count(b",") == 0, held  # at most one write waited more than 0.2 s
    stdout = [data for source, _, data in relayed.chunks if source == "stdout"]
    assert b"".join(stdout) == expected
    # 17 MB written line by line (400,000 writes) is read in large chunks: about 32 KiB on a
    # quiet machine, less when other threads of the test process compete for the GIL (the
    # whole suite); 16 KiB on average is the bound, far from a read per write.
    assert len(stdout) < len(expected) / 16384, len(stdout)
    assert pump.rests > 1


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


# After a quiet second, a line makes the pump rest 2 s (twice the time the rate was seen
# over, under the 5 s `rest`); what comes during that rest must not wait for its end.
QUIET_THEN = textwrap.dedent("""
    import sys, time
    time.sleep(1.0)
    sys.stdout.write("after a quiet spell\\n")
    for i in range(10):
        time.sleep(0.01)
        sys.stdout.write(f"line {i}\\n")
""")


def test_the_tail_is_relayed_as_soon_as_the_child_exits() -> None:
    tail = "import os\nos.close(2)  # only stdout's own end can end the rest\n" + QUIET_THEN
    tail += 'sys.stdout.write(f"last words, no newline t={time.time():.6f}")\n'
    with pumped(tail, rest=5.0) as (child, pump, relayed):
        child.wait(30)
        exited = time.monotonic()
        pump.join(10)
        ended = time.monotonic() - exited
    lines = b"".join(b"line %d\n" % i for i in range(10))
    assert relayed.output.startswith(b"after a quiet spell\n" + lines + b"last words, no newline")
    assert ended < 0.5, ended  # the pipe's end ends the rest
    assert max(relayed.delays()) < 0.5
    assert pump.rests >= 1


def test_hurry_ends_a_rest_when_a_grandchild_keeps_the_pipes_open() -> None:
    keeper = QUIET_THEN + textwrap.dedent("""
        import subprocess
        subprocess.Popen(["sleep", "30"])  # inherits stdout and stderr: they stay open
        sys.stdout.write(f"last words t={time.time():.6f}\\n")
    """)
    with pumped(keeper, rest=5.0) as (child, pump, relayed):
        child.wait(30)
        pump.hurry()
        hurried = time.monotonic()
        while b"last words" not in relayed.output and time.monotonic() - hurried < 10:
            time.sleep(0.005)
        waited = time.monotonic() - hurried
    assert b"last words" in relayed.output
    assert waited < 0.5, waited  # not the rest of the rest


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
