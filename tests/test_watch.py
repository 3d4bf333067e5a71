"""`rlswarm-rules watch` end to end: a real process following real files through rotations."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RULES = """\
rules:
  - id: boom
    severity: error
    log: 'BOOM (?P<n>\\d+)'
    cooldown: 0s
    summary: "boom {n}"
    examples: {fires: ["BOOM 1"], quiet: ["boom"]}
"""

WAIT = 10.0


def wait_for(condition: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def journal(cwd: Path) -> list[dict[str, Any]]:
    path = cwd / ".rlswarm" / "alerts.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


def append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "boom.yaml").write_text(RULES)
    (tmp_path / "logs").mkdir()
    return tmp_path


def test_watch_follows_appends_rotation_and_copy_truncate(workdir: Path) -> None:
    log = workdir / "logs" / "train.log"
    log.write_bytes(b"BOOM 100 old, before watch started\nsome text\nBOOM 101 old as well\n")
    stderr_path = workdir / "stderr.txt"
    proc = start_watch(workdir, stderr_path)
    try:
        # 1. an append to the file that existed at start
        append(log, b"step 1\nBOOM 1 after start\n")
        wait_for(lambda: len(journal(workdir)) >= 1, "the first alert")

        # 2. rename-and-create rotation; the old file gets one more line before the new one
        append(log, b"BOOM 2 last line of the old file\n")
        os.rename(log, workdir / "logs" / "train.log.1")
        log.write_bytes(b"BOOM 3 first line of the new file, long enough to shrink later\n")
        wait_for(lambda: len(journal(workdir)) >= 3, "the alerts around the rotation")

        # 3. copy-truncate, then a line shorter than what was there
        shutil.copyfile(log, workdir / "logs" / "train.log.2")
        with open(log, "r+b") as f:
            f.truncate(0)
        append(log, b"BOOM 4 short\n")
        wait_for(lambda: len(journal(workdir)) >= 4, "the alert after copy-truncate")

    finally:
        code = stop_watch(proc)
    errors = stderr_path.read_text(errors="replace")
    assert code == 0, errors
    assert "Traceback" not in errors
    records = journal(workdir)
    assert [(r["rule"], r["summary"]) for r in records] == [
        ("boom", "boom 1"),
        ("boom", "boom 2"),
        ("boom", "boom 3"),
        ("boom", "boom 4"),
    ], errors
    assert [r["line"] for r in records] == [
        "BOOM 1 after start",
        "BOOM 2 last line of the old file",
        "BOOM 3 first line of the new file, long enough to shrink later",
        "BOOM 4 short",
    ]
    assert {r["source"] for r in records} == {str(log)}
    assert all(r["severity"] == "error" for r in records)
    assert not [r for r in records if "BOOM 10" in r["line"] or "before watch" in r["line"]]
    assert "stopped;" in errors


def start_watch(workdir: Path, stderr_path: Path) -> subprocess.Popen[bytes]:
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "engine",
                "watch",
                "--rules",
                str(workdir / "rules"),
                "--interval",
                "1s",
                str(workdir / "logs" / "*.log"),
            ],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )

    def started() -> bool:
        if proc.poll() is not None:
            raise AssertionError(
                f"watch exited with {proc.returncode} before starting:\n"
                + stderr_path.read_text(errors="replace")
            )
        return b"rules loaded" in stderr_path.read_bytes()

    wait_for(started, "the start notice")
    return proc


def stop_watch(proc: subprocess.Popen[bytes]) -> int:
    try:
        proc.send_signal(signal.SIGINT)
        return proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_unterminated_line_does_not_run_into_the_rotated_file(workdir: Path) -> None:
    log = workdir / "logs" / "train.log"
    log.write_bytes(b"")
    stderr_path = workdir / "stderr.txt"
    proc = start_watch(workdir, stderr_path)
    try:
        append(log, b"BOOM 1 first\nwriter died mid-li")
        wait_for(lambda: len(journal(workdir)) >= 1, "the first alert")
        os.rename(log, workdir / "logs" / "train.log.1")
        log.write_bytes(b"BOOM 5 in the new file\n")
        wait_for(lambda: len(journal(workdir)) >= 2, "the alert in the new file")
    finally:
        code = stop_watch(proc)
    assert code == 0
    assert [r["line"] for r in journal(workdir)] == ["BOOM 1 first", "BOOM 5 in the new file"]


WAITING = """\
rules:
  - id: crash
    severity: critical
    log: '^(?P<exc>\\w+Error): '
    inhibited_by: {severity: critical, after: 1h}
    examples: {fires: ["TypeError: bad operand"]}
"""


def test_an_alert_waiting_for_a_cause_is_sent_when_watch_stops(workdir: Path) -> None:
    """Ctrl-C ends what `watch` observes: an alert still waiting for a cause that can no
    longer come (`inhibited_by` with `after`) is decided then, not dropped."""
    (workdir / "rules" / "boom.yaml").write_text(WAITING)
    log = workdir / "logs" / "train.log"
    log.write_bytes(b"")
    said = workdir / "stderr.txt"
    with open(said, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "engine", "watch", "-v", "--no-dashboard", str(log)],
            cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
    try:
        wait_for(lambda: b"watching" in said.read_bytes(), "the start")
        append(log, b"TypeError: bad operand\n")
        wait_for(lambda: b"(pending) crash" in said.read_bytes(), "the alert to wait")
        assert journal(workdir) == []  # it waits for a cause, an hour
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, said.read_text()
    assert [a["rule"] for a in journal(workdir)] == ["crash"]
