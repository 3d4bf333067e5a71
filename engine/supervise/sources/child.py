"""The supervised child: started in its own session, its output passed through byte for byte.

One pump thread (`engine.supervise.sources.pump`) writes what it reads from either
output stream to our own at once (a prompt without a newline included),
appends it to the capture, and only then hands a copy to the observation path
through a callback that must not block; a trickle is coalesced for at most the
pump's `REST_S`. The child's stdin is a pseudo-terminal; `send_input` types on it.

The child's output pipes are made `PIPE_SIZE` deep where the system allows it (Linux),
so that a child printing fast never waits on a pump that is briefly busy.

The child's tree (`tree`) is every process it started that is still there: with the
subreaper of `engine.supervise.sources.reaper`, wherever it went; without one, those
seen under the child at some look (`remember_tree`). Stopping it is asking once
(`ask_to_stop`: the signal to the child's process group, SIGTERM to the processes that
left the group), then killing what is left (`kill_tree`), and reaping the dead.
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import psutil

from engine.supervise.sources.capture import Capture
from engine.supervise.sources.pump import DEFAULT_PIPE, Chunk, Pump, Stream
from engine.supervise.sources.reaper import Reaper

PIPE_SIZE = 1 << 20
KILL_PATIENCE_S = 1.0  # how long `kill_tree` goes on killing a tree that keeps forking
KILL_LOOK_S = 0.01  # how often it looks again meanwhile


@dataclass
class Terminal:
    """Our own output streams, with a lock each so alerts never split a child's write."""

    stdout_fd: int = 1
    stderr_fd: int = 2
    locks: dict[int, threading.Lock] = field(default_factory=dict)
    last_byte: dict[int, int] = field(default_factory=dict)

    def lock(self, fd: int) -> threading.Lock:
        lock = self.locks.get(fd)
        return lock if lock is not None else self.locks.setdefault(fd, threading.Lock())

    def write(self, fd: int, data: bytes) -> None:
        with self.lock(fd):
            self._write_all(fd, data)

    def _write_all(self, fd: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(fd, view)
            except InterruptedError:
                continue
            except OSError:  # our terminal went away: keep the child running regardless
                return
            view = view[written:]
        if data:
            self.last_byte[fd] = data[-1]

    def notice(self, fd: int, text: str) -> None:
        """Write one of our own lines, on a line of its own."""
        with self.lock(fd):
            lead = b"" if self.last_byte.get(fd, 10) == 10 else b"\n"
            self._write_all(fd, lead + text.encode("utf-8", "replace") + b"\n")


def _quiet_pty() -> tuple[int, int]:
    """A pseudo-terminal for the child's stdin, without echo (our own terminal echoes).

    With a terminal on stdin, a launcher's `read -p "question? "` shows its
    question as it does when started directly; with a pipe it would not.
    """
    master, slave = pty.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] &= ~termios.ECHO  # lflag
    termios.tcsetattr(slave, termios.TCSANOW, attrs)
    return master, slave


def child_environment(base: Mapping[str, str], probe_dir: str | None) -> dict[str, str]:
    env = dict(base)
    env["PYTHONUNBUFFERED"] = "1"
    if probe_dir:
        previous = env.get("PYTHONPATH")
        env["PYTHONPATH"] = probe_dir + (os.pathsep + previous if previous else "")
    return env


class Child:
    """One run of the command, its output pumped, its tree followed until it is stopped."""

    def __init__(
        self,
        argv: Sequence[str],
        env: Mapping[str, str],
        terminal: Terminal,
        on_chunk: Chunk,
        capture: Capture | None = None,
        clock: Callable[[], float] = time.time,
        cwd: str | None = None,
        reaper: Reaper | None = None,
    ) -> None:
        self.argv = list(argv)
        self.reaper = reaper
        self.terminal = terminal
        self.on_chunk = on_chunk
        self.capture = capture
        self.clock = clock
        self.started = clock()
        self._stdin_master, stdin_slave = _quiet_pty()
        try:
            self.proc = subprocess.Popen(
                self.argv,
                env=dict(env),
                cwd=cwd,
                stdin=stdin_slave,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                start_new_session=True,
                bufsize=0,
            )
        except OSError:
            os.close(self._stdin_master)
            raise
        finally:
            os.close(stdin_slave)
        self._input_lock = threading.Lock()
        self._input_open = True
        self.pid = self.proc.pid
        self._root = psutil.Process(self.pid)  # not yet reaped: it is the child
        self.since = self._root.create_time()  # a psutil time: for `Reaper.adopted`
        self.known: dict[int, psutil.Process] = {}
        self._asked: set[psutil.Process] = set()
        self._asked_group = False
        self._lock = threading.Lock()  # `known` and `_asked`: the sampler and signals too
        assert self.proc.stdout is not None and self.proc.stderr is not None
        out, err = self.proc.stdout.fileno(), self.proc.stderr.fileno()
        streams = [
            Stream("stdout", out, terminal.stdout_fd, _deepen(out)),
            Stream("stderr", err, terminal.stderr_fd, _deepen(err)),
        ]
        keep = capture.write if capture is not None else None
        self.pump = Pump(streams, terminal.write, on_chunk, keep, clock, name=f"pump-{self.pid}")

    def send_input(self, data: bytes) -> bool:
        """Forward bytes to the child's stdin (a terminal); False once it no longer reads."""
        with self._input_lock:
            if not self._input_open:
                return False
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(self._stdin_master, view) :]
                return True
            except OSError:
                return False

    def close_input(self) -> None:
        """End of input, as Ctrl-D at the start of a line is on a terminal."""
        with self._input_lock:
            if self._input_open:
                self._input_open = False
                try:
                    os.write(self._stdin_master, b"\x04")
                except OSError:
                    pass

    def release(self) -> None:
        """Close our end of the child's terminal once it has exited."""
        with self._input_lock:
            self._input_open = False
            try:
                os.close(self._stdin_master)
            except OSError:
                pass

    def poll(self) -> int | None:
        return self.proc.poll()

    def remember_tree(self) -> list[psutil.Process]:
        """The live processes under the child (kept, so that one that leaves the tree later
        is still stopped: the only way to follow it where there is no subreaper)."""
        try:
            tree = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:  # the child is gone (psutil tells a reused pid from it)
            tree = []
        with self._lock:
            for proc in tree:
                self.known.setdefault(proc.pid, proc)
        return tree

    def tree(self) -> list[psutil.Process]:
        """Every live process of the child's: itself while it runs, its descendants, those
        re-parented to us since it started (with an active `reaper`) and those seen before."""
        found = {proc.pid: proc for proc in self.remember_tree()}
        if self.reaper is not None:
            for proc in self.reaper.adopted(self.since):
                found.setdefault(proc.pid, proc)
        with self._lock:
            for pid, proc in self.known.items():
                found.setdefault(pid, proc)
        return [proc for proc in found.values() if _alive(proc)]

    def signal_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def ask_to_stop(self, sig: int = signal.SIGTERM) -> None:
        """`sig` to the child's process group the first time; SIGTERM to each process of
        its tree not asked before (outside the group, or in it but started since). Any
        thread."""
        with self._lock:
            first, self._asked_group = not self._asked_group, True
        if first:
            self.signal_group(sig)
        for proc in self.tree():
            with self._lock:
                if proc in self._asked:
                    continue
                self._asked.add(proc)
            if not (first and _group_of(proc) == self.pid):
                _send(proc, signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL to the process group and to every process of the tree, once. Any thread."""
        self.signal_group(signal.SIGKILL)
        for proc in self.tree():
            _send(proc, signal.SIGKILL)

    def kill_tree(self, patience: float = KILL_PATIENCE_S) -> None:
        """`kill` until nothing of the tree is left (a process may fork meanwhile; at most
        `patience` seconds), then collect the child's status and reap the rest."""
        end = time.monotonic() + patience
        while True:
            self.kill()
            if not self.tree() or time.monotonic() >= end:
                break
            time.sleep(KILL_LOOK_S)
        self.proc.wait()
        self.reap()

    def reap(self) -> list[int]:
        """Reap what died of the tree among our children (not the child: `proc` waits for
        it); their pids."""
        return self.reaper.reap({self.pid}) if self.reaper is not None else []

    def drain(self, timeout: float = 2.0) -> bool:
        """Wait for the pump to read the last output (a grandchild may hold the pipes);
        whether it has (else it goes on relaying it, to the terminal and the capture)."""
        self.pump.hurry()
        return self.pump.join(timeout)


def _deepen(fd: int) -> int:
    """Give a pipe a `PIPE_SIZE` buffer where the system has the call (Linux) and allows it;
    returns the pipe's capacity (`DEFAULT_PIPE` where it cannot be told)."""
    set_size = getattr(fcntl, "F_SETPIPE_SZ", None)
    if set_size is None:
        return DEFAULT_PIPE
    try:
        return int(fcntl.fcntl(fd, set_size, PIPE_SIZE))
    except OSError:  # above /proc/sys/fs/pipe-max-size, or the user's pipe quota: keep it
        return DEFAULT_PIPE


def _send(proc: psutil.Process, sig: int) -> None:
    try:
        proc.send_signal(sig)
    except psutil.Error:
        pass


def _alive(proc: psutil.Process) -> bool:
    """Running, and not a zombie (dead, only not yet reaped)."""
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _group_of(proc: psutil.Process) -> int | None:
    try:
        return os.getpgid(proc.pid)
    except OSError:
        return None


def describe_status(returncode: int) -> tuple[int, int | None]:
    """(exit code as a shell reports it, signal number or None)."""
    if returncode < 0:
        return 128 - returncode, -returncode
    return returncode, None
