"""A command run on a pseudo-terminal, for what a program writes only to a terminal
(colours, progress bars)."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path


def on_a_terminal(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, stdout_too: bool = True
) -> tuple[int, bytes]:
    """Run `args` with standard error (and output, if `stdout_too`) on a pseudo-terminal;
    its exit code and every byte it wrote there."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=follower if stdout_too else subprocess.DEVNULL,
        stderr=follower,
    )
    os.close(follower)
    out = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer closed its end
            break
        if not chunk:
            break
        out += chunk
    os.close(leader)
    return proc.wait(60), out
