"""What the child leaves behind, found wherever it went and reaped once it is dead.

On Linux `run` makes itself a child subreaper (`Reaper()`: `prctl(PR_SET_CHILD_SUBREAPER)`
through ctypes, before the first child starts). A process whose parent exits (a double
fork, a daemon that called `setsid`) is then re-parented to `run` instead of init, so
every process the child started stays a descendant of `run`, whatever its session or
process group, until `run` reaps it: `adopted` lists them, `reap` collects the exit
status of those that died, so none is left a zombie (`subprocess` reaps only the
child it started itself).

A subreaper is not available elsewhere (macOS): `active` is False, and only the
processes seen in the child's tree can be followed (`Child.remember_tree`).

Why not a cgroup, which would hold them too: making one needs write access to the
cgroup tree (root, or a subtree systemd delegated), which a user's shell, a plain
container or cgroup v1 does not give; the subreaper needs no privilege.

The contract: while `run` supervises, the only processes of ours it did not start are
the child's: `reap` collects any dead child of ours but the ones it is told to leave to
`subprocess`. Not found either way: processes the child has a system service start
(`systemd-run`, a container engine), which are not its descendants.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Collection

import psutil

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> str | None:
    """Make this process the subreaper of its descendants (Linux only); None when it is,
    else why not."""
    if not sys.platform.startswith("linux"):
        return f"no child subreaper on {sys.platform}"
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
            return None
        return f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}"
    except (OSError, AttributeError) as exc:  # no libc to load, or no prctl in it
        return f"prctl(PR_SET_CHILD_SUBREAPER): {exc}"


class Reaper:
    """This process as the subreaper of what its children start (see the module)."""

    def __init__(self) -> None:
        self.why_not = become_subreaper()
        self.active = self.why_not is None
        self._me = psutil.Process()
        self._lock = threading.Lock()  # the sampler's thread and the main thread reap

    def adopted(self, since: float) -> list[psutil.Process]:
        """Our live descendants created at `since` (a psutil create time) or later: with
        `active`, everything a child started since then that is still there; [] without."""
        if not self.active:
            return []
        try:
            descendants = self._me.children(recursive=True)
        except psutil.Error:
            return []
        found = []
        for proc in descendants:
            try:
                if proc.create_time() >= since and proc.status() != psutil.STATUS_ZOMBIE:
                    found.append(proc)
            except psutil.Error:
                continue
        return found

    def reap(self, leave: Collection[int] = ()) -> list[int]:
        """Collect every dead child of ours but `leave` (the ones `subprocess` waits for);
        the pids collected."""
        if not self.active:
            return []
        reaped = []
        with self._lock:
            try:
                children = self._me.children()
            except psutil.Error:
                return []
            for proc in children:
                if proc.pid in leave:
                    continue
                try:
                    if proc.status() != psutil.STATUS_ZOMBIE:
                        continue
                    if os.waitpid(proc.pid, os.WNOHANG)[0] == proc.pid:
                        reaped.append(proc.pid)
                except (psutil.Error, ChildProcessError):
                    continue
        return reaped
