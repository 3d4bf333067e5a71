"""Nothing the training starts outlives `run`: double forks and `setsid` daemons included.

Real children that escape their tree (a shell's `(setsid ... &)`, a Python daemon that
forks twice), real signals to `run`, and each escapee followed by its pid: gone when
`run` has exited (whichever way), gone before the next attempt starts, never left a
zombie while `run` lives. The subreaper these rely on is Linux's.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="the child subreaper is Linux's"
)

RULES = """\
rules:
  - id: stop-now
    severity: info
    log: 'STOP NOW'
    action: stop
    examples: {fires: ["STOP NOW"]}
"""
DAEMON = """\
import os, signal, sys, time

def state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return "zombie" if f.read().rsplit(")", 1)[1].split()[0] == "Z" else "alive"
    except FileNotFoundError:
        return "gone"

def daemon(pidfile, lifetime):
    '''Double fork: a session of its own, its parent gone; deaf to all but SIGKILL.'''
    os.setsid()
    middle = os.getpid()
    if os.fork():
        os._exit(0)
    def heard(signum, frame):
        with open(pidfile + ".heard", "a") as f:
            f.write(signal.Signals(signum).name + "\\n")
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, heard)
    while os.getppid() == middle:  # until it is re-parented
        time.sleep(0.005)
    with open(pidfile + ".tmp", "w") as f:
        f.write(f"{os.getpid()} {os.getppid()}")
    os.rename(pidfile + ".tmp", pidfile)
    end = time.monotonic() + lifetime
    while time.monotonic() < end:
        time.sleep(0.05)
    os._exit(0)

def start_daemon(pidfile, lifetime=300.0):
    '''The daemon's pid once it runs (its middle process reaped here, as a launcher does).'''
    middle = os.fork()
    if middle == 0:
        daemon(pidfile, lifetime)
    os.waitpid(middle, 0)
    while not os.path.exists(pidfile):
        time.sleep(0.01)
    with open(pidfile) as f:
        return int(f.read().split()[0])
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    (tmp_path / "daemon.py").write_text(DAEMON)
    yield tmp_path
    _clean_up(tmp_path)


def _clean_up(workdir: Path) -> None:
    """After a failed test: the `run`s it started, then the escapees they left, by pid."""
    runs = [psutil.Process(int(p.name)) for p in (workdir / "runs").glob("*") if _live(p.name)]
    for proc in runs:
        proc.terminate()
    psutil.wait_procs(runs, timeout=10)
    for proc in runs:
        if proc.is_running():
            proc.kill()
    for path in [*workdir.glob("escapee"), *workdir.glob("daemon")]:
        pid = path.read_text().split()[0] if path.read_text().strip() else ""
        if _live(pid):
            psutil.Process(int(pid)).kill()


def _live(pid: str) -> bool:
    return pid.isdigit() and psutil.pid_exists(int(pid))


def script(workdir: Path, name: str, body: str) -> str:
    path = workdir / name
    path.write_text("from daemon import *\n" + textwrap.dedent(body))
    return str(path)


def start_run(workdir: Path, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "--no-dashboard", *args],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    (workdir / "runs").mkdir(exist_ok=True)
    (workdir / "runs" / str(proc.pid)).touch()
    return proc


def wait_for_file(path: Path, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text()
        time.sleep(0.02)
    raise AssertionError(f"{path} was not written within {timeout:.0f} s")


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        time.sleep(0.02)
    return condition()


def parent_of(pid: int) -> int | None:
    try:
        return psutil.Process(pid).ppid()
    except psutil.NoSuchProcess:
        return None


def gone(pid: int) -> bool:
    """No such process: neither running nor a zombie."""
    return not psutil.pid_exists(pid)


def shell_escape(pidfile: Path, then: str) -> list[str]:
    """The double fork of the issue, `(setsid sh -c "sleep 300" &) ; sleep 0.2`, with the
    escapee's pid written down (`exec` keeps it)."""
    inner = f"echo $$ > {pidfile}; exec sleep 300"
    return ["sh", "-c", f"(setsid sh -c '{inner}' &) ; sleep 0.2{then}"]


ENDINGS = ["exits", "SIGTERM", "SIGINT", "SIGHUP"]


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_setsid_double_fork_of_a_shell_does_not_outlive_run(workdir: Path, ending: str) -> None:
    pidfile = workdir / "escapee"
    then = "" if ending == "exits" else "; echo ready; sleep 300"
    proc = start_run(workdir, "--grace", "2s", "--", *shell_escape(pidfile, then))
    escapee = int(wait_for_file(pidfile))
    assert os.getsid(escapee) == escapee  # a session of its own, out of the child's group
    if ending != "exits":  # its parent is gone: re-parented to `run`, not to init
        assert wait_until(lambda: parent_of(escapee) == proc.pid), parent_of(escapee)
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        proc.send_signal(getattr(signal, ending))
    _, err = proc.communicate(timeout=30)
    expected = 0 if ending == "exits" else 128 + getattr(signal, ending)
    assert proc.returncode == expected, err
    assert gone(escapee), err


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_python_daemon_deaf_to_sigterm_is_killed_after_the_grace(
    workdir: Path, ending: str
) -> None:
    """The daemon ignores SIGTERM, SIGINT and SIGHUP: it is asked (SIGTERM), then killed
    once the grace is over; by then it was `run`'s child (the subreaper)."""
    pidfile = workdir / "daemon"
    child = script(
        workdir,
        "launcher.py",
        f"""
        import sys, time
        start_daemon({str(pidfile)!r})
        print("ready", flush=True)
        if sys.argv[1] != "exits":
            time.sleep(300)
        """,
    )
    grace = 1.0
    proc = start_run(workdir, "--grace", "1s", "--", sys.executable, child, ending)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    daemon, parent = (int(n) for n in pidfile.read_text().split())
    assert parent == proc.pid  # re-parented to `run`, not to init
    asked = time.monotonic()
    if ending != "exits":
        proc.send_signal(getattr(signal, ending))
    _, err = proc.communicate(timeout=30)
    waited = time.monotonic() - asked
    expected = 0 if ending == "exits" else 128 + getattr(signal, ending)
    assert proc.returncode == expected, err
    assert gone(daemon), err
    assert (workdir / "daemon.heard").read_text().split() == ["SIGTERM"]  # asked once
    assert waited >= grace * 0.9, waited  # SIGKILL only once the grace was over


def test_what_an_attempt_left_is_gone_and_reaped_before_the_next_starts(workdir: Path) -> None:
    child = script(
        workdir,
        "attempts.py",
        f"""
        import os
        previous = {str(workdir / "daemon")!r}
        if not os.path.exists(previous):
            start_daemon(previous)
            print("daemon started", flush=True)
        else:
            with open(previous) as f:
                pid, parent = (int(n) for n in f.read().split())
            print(f"previous daemon: {{state(pid)}}; its parent: {{state(parent)}}", flush=True)
        """,
    )
    proc = start_run(
        workdir, "--grace", "1s", "--restart", "always", "--max-restarts", "1",
        "--backoff", "100ms", "--", sys.executable, child,
    )  # fmt: skip
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    # the next attempt looked while `run` (the daemon's parent) was still there
    assert out.splitlines() == [b"daemon started", b"previous daemon: gone; its parent: alive"]


def test_a_daemon_that_ends_by_itself_is_reaped_while_the_training_runs(workdir: Path) -> None:
    child = script(
        workdir,
        "short.py",
        f"""
        import time
        pid = start_daemon({str(workdir / "daemon")!r}, lifetime=0.2)
        time.sleep(2.0)  # ten --interval: the sampler has reaped it by now
        print(f"short-lived daemon: {{state(pid)}}", flush=True)
        """,
    )
    proc = start_run(workdir, "--interval", "200ms", "--", sys.executable, child)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out == b"short-lived daemon: gone\n", err
    assert int((workdir / "daemon").read_text().split()[1]) == proc.pid


def test_a_rules_stop_ends_what_the_child_left_behind_too(workdir: Path) -> None:
    pidfile = workdir / "daemon"
    child = script(
        workdir,
        "stopped.py",
        f"""
        import time
        start_daemon({str(pidfile)!r})
        print("STOP NOW", flush=True)
        time.sleep(300)
        """,
    )
    proc = start_run(workdir, "--grace", "1s", "--", sys.executable, child)
    _, err = proc.communicate(timeout=30)
    assert b"rule 'stop-now' asks to stop" in err
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert gone(int(pidfile.read_text().split()[0])), err
    assert (workdir / "daemon.heard").read_text().split() == ["SIGTERM"]
