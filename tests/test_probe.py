"""The in-process probe with real torch and real accelerate releases.

bin/setup-venv installs accelerate 1.8.0 (has the empty-loader bug) and 1.9.0
(the first release with the fix) under .venv/extra/; the venv's own 1.8.1
has the bug too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from engine.probe import PROBE_DIR
from engine.supervise.sources.child import child_environment
from engine.supervise.sources.probe import ProbeListener

ROOT = Path(__file__).resolve().parent.parent
EXTRA = ROOT / ".venv" / "extra"

STATE_SCRIPT = """
import json, sys
import torch
from torch.utils.data import DataLoader, Sampler
import accelerate
from accelerate import Accelerator
from accelerate.state import GradientState

class DryRound(Sampler):
    def __init__(self, size, dry_pass):
        self.size, self.dry_pass, self.passes = size, dry_pass, 0
    def __len__(self):
        return self.size
    def __iter__(self):
        self.passes += 1
        if self.passes != self.dry_pass:
            yield from range(self.size)

acc = Accelerator(cpu=True)
loader = acc.prepare(DataLoader(list(range(8)), batch_size=4, sampler=DryRound(8, dry_pass=2)))
state = GradientState()
epochs = []
for epoch in range(3):
    batches = [b.tolist() for b in loader if b is not None]
    epochs.append({"batches": batches, "iteration": loader.iteration,
                   "end_of_dataloader": loader.end_of_dataloader,
                   "in_dataloader": state.in_dataloader,
                   "active": state.active_dataloader is not None})
print(json.dumps({"version": accelerate.__version__, "epochs": epochs}))
"""


def env_for(accelerate: str | None, probe: bool, socket_path: str | None = None) -> dict[str, str]:
    env = child_environment(os.environ, str(PROBE_DIR) if probe else None)
    if accelerate is not None:
        target = EXTRA / f"accelerate-{accelerate}"
        if not (target / "accelerate").is_dir():
            pytest.fail(f"{target} missing: run bin/setup-venv demo test")
        env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(target)) if p)
        if not probe:
            env["PYTHONPATH"] = str(target)
    if socket_path:
        env["RLSWARM_PROBE_SOCKET"] = socket_path
    return env


def run_python(code: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script = cwd / "script.py"
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, str(script)], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


class Messages:
    """A real probe listener collecting what the child reports."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self.listener = ProbeListener(self._add, time.time)

    def _add(self, t: float, message: dict[str, Any]) -> None:
        with self._lock:
            self.items.append(message)

    def of(self, event: str, wait: float = 2.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._lock:
                found = [m for m in self.items if m["event"] == event]
            if found:
                return found
            time.sleep(0.05)
        return []


@pytest.fixture
def messages() -> Any:
    m = Messages()
    yield m
    m.listener.close()


@pytest.mark.parametrize("version", ["1.8.0", None], ids=["accelerate-1.8.0", "accelerate-1.8.1"])
def test_buggy_release_crashes_unpatched(version: str | None, tmp_path: Path) -> None:
    proc = run_python(STATE_SCRIPT, env_for(version, probe=False), tmp_path)
    assert proc.returncode == 1
    assert "UnboundLocalError" in proc.stderr and "current_batch" in proc.stderr


@pytest.mark.parametrize("version", ["1.8.0", None], ids=["accelerate-1.8.0", "accelerate-1.8.1"])
def test_patched_release_ends_empty_epochs_exactly_like_the_fixed_release(
    version: str | None, tmp_path: Path, messages: Messages
) -> None:
    patched = run_python(STATE_SCRIPT, env_for(version, True, messages.listener.path), tmp_path)
    assert patched.returncode == 0, patched.stderr
    fixed = run_python(STATE_SCRIPT, env_for("1.9.0", probe=False), tmp_path)
    assert fixed.returncode == 0, fixed.stderr
    got, want = json.loads(patched.stdout), json.loads(fixed.stdout)
    assert got["version"] != want["version"] == "1.9.0"
    assert got["epochs"] == want["epochs"]
    assert got["epochs"][1]["batches"] == []  # the empty epoch
    assert got["epochs"][2]["batches"] == [[0, 1, 2, 3], [4, 5, 6, 7]]  # and then a normal one
    (report,) = messages.of("patched")
    assert report["applied"] is True
    assert report["library"] == "accelerate" and report["version"] == got["version"]
    assert report["fix"] == "accelerate-empty-dataloader"


def test_fixed_release_is_left_untouched(tmp_path: Path, messages: Messages) -> None:
    code = STATE_SCRIPT + textwrap.dedent("""
        from accelerate.data_loader import DataLoaderShard
        print("fixed-by-us:", getattr(DataLoaderShard.__iter__, "__rlswarm_fixed__", False))
    """)
    proc = run_python(code, env_for("1.9.0", True, messages.listener.path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "fixed-by-us: False"
    (report,) = messages.of("patched")
    assert report["applied"] is False and report["version"] == "1.9.0"
    assert "not needed" in report["detail"]


def test_fix_reaches_python_started_by_a_shell_script(tmp_path: Path, messages: Messages) -> None:
    (tmp_path / "script.py").write_text(STATE_SCRIPT)
    launcher = tmp_path / "run_rl_swarm.sh"
    launcher.write_text(
        f"#!/bin/bash\nset -euo pipefail\ncd {tmp_path}\n{sys.executable} script.py\n"
    )
    env = env_for(None, True, messages.listener.path)
    proc = subprocess.run(
        ["bash", str(launcher)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert messages.of("patched")[0]["applied"] is True


def test_an_existing_sitecustomize_still_runs(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "sitecustomize.py").write_text("import builtins\nbuiltins.THEIRS_RAN = True\n")
    env = env_for(None, probe=True)
    env["PYTHONPATH"] += os.pathsep + str(theirs)
    code = (
        "import builtins, sys\n"
        "print(getattr(builtins, 'THEIRS_RAN', False), sys.modules['sitecustomize'].__file__)"
    )
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    ran, ours = proc.stdout.split()
    assert ran == "True"
    assert ours == str(PROBE_DIR / "sitecustomize.py")


def test_heartbeats_and_uncaught_exceptions_are_reported(
    tmp_path: Path, messages: Messages
) -> None:
    code = STATE_SCRIPT + textwrap.dedent("""
        import threading
        def worker():
            raise ValueError("from a thread")
        t = threading.Thread(target=worker); t.start(); t.join()
        raise RuntimeError("the training step failed")
    """)
    proc = run_python(code, env_for(None, True, messages.listener.path), tmp_path)
    assert proc.returncode == 1
    assert "RuntimeError: the training step failed" in proc.stderr  # Python's own report stays
    beats = messages.of("heartbeat")
    assert beats and beats[0]["batches"] >= 1
    found = {m["type"]: m for m in messages.of("exception")}
    deadline = time.monotonic() + 2
    while len(found) < 2 and time.monotonic() < deadline:
        found = {m["type"]: m for m in messages.of("exception")}
    assert found["RuntimeError"]["message"] == "the training step failed"
    assert "raise RuntimeError" in found["RuntimeError"]["traceback"]
    assert found["ValueError"]["message"] == "from a thread"


def test_probe_without_a_socket_only_fixes(tmp_path: Path) -> None:
    proc = run_python(STATE_SCRIPT, env_for(None, probe=True), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["epochs"][1]["batches"] == []


def test_demo_training_completes_under_run(tmp_path: Path) -> None:
    """The built-in default: the real demo under `run`, shortened, with the fix reported."""
    env = dict(os.environ)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "--",
            sys.executable,
            str(ROOT / "engine" / "demo" / "train.py"),
            "--epochs",
            "4",
            "--steps",
            "5",
            "--step-seconds",
            "0",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr
    assert "[demo] epoch 3/4: the data loader yielded no batch; epoch skipped" in proc.stdout
    assert "[demo] epoch 4/4 done" in proc.stdout
    assert "accelerate 1.8.1: fix applied" in proc.stderr
    assert "accelerate empty-loader fix: applied in 1 process(es)" in proc.stderr


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        ("pass", 0),
        ("import sys; sys.exit(3)", 3),
        ("import sys; sys.exit('bad config')", 1),
        ("raise RuntimeError('the training step failed')", 1),
        ("import threading; t = threading.Thread(target=lambda: 1 / 0); t.start(); t.join()", 0),
    ],
)
def test_the_process_says_its_own_exit_status_at_exit(
    ending: str, status: int, tmp_path: Path, messages: Messages
) -> None:
    """`bye` carries the status Python exits with (a thread's exception ends no process);
    `sync` returns once what was sent before it is handed over."""
    proc = run_python(ending, env_for(None, True, messages.listener.path), tmp_path)
    assert proc.returncode == status, proc.stderr
    assert messages.listener.sync(timeout=2.0)
    [bye] = [m for m in messages.items if m["event"] == "bye"]
    assert bye["code"] == status


def test_a_process_killed_by_a_signal_says_no_goodbye(tmp_path: Path, messages: Messages) -> None:
    code = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"
    proc = run_python(code, env_for(None, True, messages.listener.path), tmp_path)
    assert proc.returncode == -9
    assert messages.listener.sync(timeout=2.0)
    assert [m["event"] for m in messages.items] == ["hello"]


def test_a_forged_sync_marker_neither_stops_the_listener_nor_ends_a_sync_early(
    tmp_path: Path, messages: Messages
) -> None:
    """A child may write anything to the probe's socket, `sync`'s own marker included."""
    code = (
        "import json, os, socket\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "for n in ['x', None, True, 10**9]:\n"
        "    s.sendto(json.dumps({'event': 'rlswarm-sync', 'n': n}).encode(), "
        "os.environ['RLSWARM_PROBE_SOCKET'])\n"
        "s.sendto(json.dumps({'event': 'after', 'pid': os.getpid()}).encode(), "
        "os.environ['RLSWARM_PROBE_SOCKET'])\n"
    )
    proc = run_python(code, env_for(None, True, messages.listener.path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert messages.of("after")  # the listener read on past the forged markers
    assert messages.listener._seen_sync == 0  # none of them counted as one of ours
    assert messages.listener.sync(timeout=2.0)
