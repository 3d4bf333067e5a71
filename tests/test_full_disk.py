"""A disk that fills, or is read-only, during a run: nothing is lost, the training goes on.

Real small file systems: a 400 KB tmpfs mounted over the run's `.rlswarm/` (root only;
skipped with the reason elsewhere, and failed under `CI` where root cannot mount), filled
to the last byte by a file of the test's, emptied again by removing it; for a read-only
disk, the tmpfs remounted read-only (root's `chmod` would not stop it). A real child, a
real HTTP receiver on loopback, the real outbox file.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_delivery import RULES, Receiver, free_port, pending, wait_for

from engine.notify.outbox import Outbox, pending_in
from engine.notify.record import notice_record
from engine.supervise.sources.capture import RETRY_S, Capture

SIZE = "400k"


def mount(folder: Path, *options: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    args = ["mount", "-t", "tmpfs", "-o", ",".join((f"size={SIZE}", *options)), "tmpfs"]
    proc = subprocess.run([*args, str(folder)], capture_output=True, text=True)
    if proc.returncode != 0:
        why = f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}"
        if os.environ.get("CI") and os.geteuid() == 0:
            pytest.fail(why)
        pytest.skip(why)


def remount(folder: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(folder)], check=True)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """`tmp_path/.rlswarm` on a 400 KB file system of its own."""
    folder = tmp_path / ".rlswarm"
    mount(folder)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def fill(folder: Path) -> Path:
    """Write a file into `folder` until its file system has no byte left."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as out:
        chunk = b"\0" * 4096
        while True:
            try:
                out.write(chunk)
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
                break
    for size in (512, 64, 1):  # the last bytes too
        with open(filler, "ab", buffering=0) as out:
            try:
                while out.write(b"\0" * size):
                    pass
            except OSError:
                pass
    return filler


def workdir(cwd: Path, port: int, more: str = "") -> None:
    (cwd / "rules").mkdir()
    (cwd / "rules" / "r.yaml").write_text(RULES)
    (cwd / "channels.yaml").write_text(
        textwrap.dedent(
            f"""\
            channels:
              - name: console
                url: console://
              - name: hook
                url: json://127.0.0.1:{port}/alerts
                retry: 200ms
                rate: 0/m
            """
        )
        + textwrap.indent(textwrap.dedent(more), "  ")
    )


def start_run(cwd: Path, script: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "--no-dashboard", "--", "sh", "-c", script],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def numbers(receiver: Receiver) -> list[int]:
    return [a["values"]["n"] for a in receiver.alerts() if a["rule"] == "boom"]


def wait_file(name: str) -> str:
    return f"while [ ! -e {name} ]; do sleep 0.05; done"


def test_a_disk_that_fills_during_a_run_loses_no_alert(tmp_path: Path, small_fs: Path) -> None:
    """Five alerts wait in the outbox file (the webhook is down); the disk fills; 295 more
    are raised and 20 KB printed. The outbox goes on in memory with the five, the terminal
    and the webhook are told once, every alert arrives in order once the webhook is up;
    the capture says once that it stopped, and resumes, with a note, when space returns."""
    receiver = Receiver(free_port())
    workdir(tmp_path, receiver.port)
    flood = "; ".join(
        [
            "for i in $(seq 1 5); do echo BOOM $i; done",
            wait_file("full"),
            'for i in $(seq 1 200); do echo "line $i of output that fills the disk"; done',
            "for i in $(seq 6 300); do echo BOOM $i; done",
            "echo flooded",
            wait_file("freed"),
            f"sleep {RETRY_S + 0.3}",
            "echo after; echo BOOM 301",
            "sleep 1",
        ]
    )
    proc = start_run(tmp_path, flood)
    try:
        assert wait_for(lambda: pending(tmp_path) == 5, 30), "the five never waited in the file"
        filler = fill(small_fs)
        (tmp_path / "full").touch()
        receiver.start()
        assert wait_for(lambda: len(numbers(receiver)) >= 300, 60), numbers(receiver)[-5:]
        filler.unlink()
        (tmp_path / "freed").touch()
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.stop()
    text = err.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    assert numbers(receiver) == list(range(1, 302))  # none lost, none twice, in order
    told = [a for a in receiver.alerts() if a["rule"] == "outbox-failing"]
    assert len(told) == 1 and told[0]["labels"]["category"] == "delivery"
    assert "the disk is full" in told[0]["advice"]
    notices = [line for line in text.splitlines() if "cannot write the outbox" in line]
    assert len(notices) == 1 and "(the disk is full)" in notices[0], text
    assert "queued in memory" in notices[0]
    # the training was not held up: all of its output passed through
    assert out.count(b"line ") == 200 and b"flooded" in out and b"after" in out
    stopped = [line for line in text.splitlines() if "capture: cannot write" in line]
    assert len(stopped) == 1 and "(the disk is full)" in stopped[0], text
    assert "capture: writing .rlswarm/logs/run.log again" in text
    log = (small_fs / "logs" / "run.log").read_bytes()
    assert b"bytes of output not kept here: the disk is full" in log
    assert log.rstrip().endswith(b"after\nBOOM 301")


def test_a_read_only_disk_at_the_start_then_writable(tmp_path: Path, small_fs: Path) -> None:
    """The outbox cannot be opened: alerts are queued in memory and the webhook is told too;
    what a dead channel could not take is said to be lost at the end, not kept. The capture
    says why it cannot write, and starts writing once the disk is writable."""
    receiver = Receiver(free_port())
    receiver.start()
    dead = f"- name: dead\n  url: json://127.0.0.1:{free_port()}/x\n  retry: 1h\n"
    workdir(tmp_path, receiver.port, dead)
    remount(small_fs, "ro")
    script = "; ".join(
        ["echo BOOM 1", wait_file("writable"), f"sleep {RETRY_S + 0.3}", "echo BOOM 2; sleep 1"]
    )
    proc = start_run(tmp_path, script)
    try:
        assert wait_for(lambda: numbers(receiver) == [1], 30)
        remount(small_fs, "rw")
        (tmp_path / "writable").touch()
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        receiver.stop()
    text = err.decode()
    assert proc.returncode == 0, text
    assert numbers(receiver) == [1, 2]
    assert [a["rule"] for a in receiver.alerts()].count("outbox-failing") == 1
    assert "cannot open the outbox .rlswarm/outbox.sqlite" in text
    lost = "3 alert(s) not delivered (dead: 3) are lost: the outbox could not be opened"
    assert lost in text and "kept in" not in text  # boom 1, boom 2, outbox-failing
    assert "capture: cannot write .rlswarm/logs/run.log (the file system is read-only)" in text
    assert "capture: writing .rlswarm/logs/run.log again" in text
    log = (small_fs / "logs" / "run.log").read_bytes()
    assert b"not kept here: the file system is read-only" in log and log.endswith(b"BOOM 2\n")


def record(n: int) -> dict[str, object]:
    return dict(notice_record(f"k{n}", "boom", "error", float(n), "x" * 500, "", "h", "p"))


def test_the_outbox_moves_to_memory_with_what_it_held(small_fs: Path) -> None:
    path = small_fs / "outbox.sqlite"
    box = Outbox(path)
    told: list[str] = []
    box.on_fallback = told.append
    for n in range(3):
        box.add(f"k{n}", ["a"], record(n), float(n))  # type: ignore[arg-type]
    held = box.due("a", 10.0)
    filler = fill(small_fs)
    for n in range(3, 40):
        box.add(f"k{n}", ["a"], record(n), float(n))  # type: ignore[arg-type]
    assert box.in_memory and len(told) == 1 and "the disk is full" in told[0]
    assert box.pending("a") == 40
    box.mark_sent([i.id for i in held], 11.0)  # the ids the sender had in hand still count
    assert [i.key for i in box.due("a", 20.0)][:2] == ["k3", "k4"]
    assert box.save() is not None  # still full: the file keeps what it had
    assert pending_in(path) == ({"a": 3}, None)
    filler.unlink()
    assert box.save() is None and not box.in_memory
    assert pending_in(path) == ({"a": 37}, None)
    box.add("k40", ["a"], record(40), 40.0)  # type: ignore[arg-type]
    box.close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM items").fetchone()[0] == 41
    assert len(told) == 1


def test_the_capture_stops_once_and_resumes_with_a_note(small_fs: Path) -> None:
    said: list[str] = []
    now = [0.0]
    path = small_fs / "logs" / "run.log"
    cap = Capture(path, notice=said.append, monotonic=lambda: now[0])
    cap.write(b"before\n")
    filler = fill(small_fs)
    for _ in range(50):
        cap.write(b"x" * 1000 + b"\n")
    assert cap.failed and len(said) == 1
    assert said[0].startswith(f"capture: cannot write {path} (the disk is full)")
    now[0] += RETRY_S
    cap.write(b"still full\n")  # looked again: no room, no write, nothing said
    assert cap.failed and len(said) == 1
    filler.unlink()
    cap.write(b"lost too\n")  # not yet time to look again
    assert cap.failed
    now[0] += RETRY_S
    cap.write(b"after\n")
    assert not cap.failed and len(said) == 2 and "again" in said[1]
    cap.close()
    text = path.read_bytes()
    assert text.startswith(b"before\n")
    assert b"bytes of output not kept here: the disk is full" in text
    assert text.endswith(b"after\n")
