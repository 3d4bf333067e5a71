"""`rlswarm-rules run` end to end, with real child processes and real signals."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from engine.supervise.pipeline import MAX_QUEUED_BYTES

RULES = """\
rules:
  - id: boom
    severity: error
    log: 'BOOM (?P<n>\\d+)'
    summary: "boom {n}"
    examples: {fires: ["BOOM 1"]}
  - id: crashed
    severity: critical
    event: exit
    where: code != 0 and not requested
    summary: "exited with {code}"
  - id: gave-up
    severity: critical
    event: gave_up
    summary: "gave up after {restarts} restarts"
"""


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    return tmp_path


def run(
    workdir: Path, *args: str, stdin: bytes = b"", timeout: float = 60
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "engine", "run", *args],
        cwd=workdir,
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )


def journal(workdir: Path) -> list[dict[str, object]]:
    path = workdir / ".rlswarm" / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def script(workdir: Path, name: str, body: str) -> str:
    path = workdir / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_output_passes_through_byte_for_byte(workdir: Path) -> None:
    child = script(
        workdir,
        "out.py",
        """
        import os, sys
        os.write(1, b"line one\\n\\x1b[32mgreen\\x1b[0m\\r50%\\r100%\\n\\xff\\xfe not utf-8\\n")
        os.write(2, b"an error line\\n")
        os.write(1, b"Answer the question [y/N]: ")
    """,
    )
    proc = run(workdir, "--", sys.executable, child)
    assert proc.returncode == 0
    expected = b"line one\n\x1b[32mgreen\x1b[0m\r50%\r100%\n\xff\xfe not utf-8\n"
    assert proc.stdout == expected + b"Answer the question [y/N]: "
    assert b"an error line\n" in proc.stderr
    captured = (workdir / ".rlswarm" / "logs" / "run.log").read_bytes()
    assert b"line one\n" in captured and b"an error line\n" in captured


def test_stdin_is_forwarded_and_prompts_work(workdir: Path) -> None:
    child = script(
        workdir,
        "ask.sh",
        """
        read -p "Push to the Hub? [y/N] " answer
        echo "you said: $answer"
    """,
    )
    proc = run(workdir, "--", "bash", child, stdin=b"y\n")
    assert proc.returncode == 0
    assert proc.stdout.endswith(b"you said: y\n")


def test_exit_code_and_signal_are_passed_on(workdir: Path) -> None:
    assert run(workdir, "--", sys.executable, "-c", "raise SystemExit(3)").returncode == 3
    proc = run(
        workdir,
        "--",
        sys.executable,
        "-c",
        "import os, signal; os.kill(os.getpid(), signal.SIGKILL)",
    )
    assert proc.returncode == 128 + 9
    (alert,) = [
        a for a in journal(workdir) if a["rule"] == "crashed" and "137" in str(a["summary"])
    ]
    assert alert["severity"] == "critical"


def test_python_children_get_unbuffered_output_and_the_probe(workdir: Path) -> None:
    child = script(
        workdir,
        "env.py",
        """
        import os, sys
        print(os.environ.get("PYTHONUNBUFFERED"), "sitecustomize" in sys.modules)
    """,
    )
    assert run(workdir, "--", sys.executable, child).stdout == b"1 True\n"
    assert run(workdir, "--no-patch", "--", sys.executable, child).stdout.startswith(b"1 ")


def test_a_matching_line_is_alerted_on_the_terminal_and_in_the_journal(workdir: Path) -> None:
    proc = run(workdir, "--", "sh", "-c", "echo 'BOOM 7'; echo done")
    assert proc.returncode == 0
    assert b"[rlswarm-rules] ERROR boom: boom 7" in proc.stderr
    (alert,) = [a for a in journal(workdir) if a["rule"] == "boom"]
    assert alert["line"] == "BOOM 7" and alert["reason"] == "first"
    assert alert["values"]["n"] == 7  # type: ignore[index]


def test_dry_run_writes_no_journal(workdir: Path) -> None:
    proc = run(workdir, "--dry-run", "--", "sh", "-c", "echo 'BOOM 1'")
    assert b"ERROR boom" in proc.stderr
    assert journal(workdir) == []


def test_restarts_on_failure_until_the_budget_is_spent(workdir: Path) -> None:
    proc = run(
        workdir,
        "--restart",
        "on-failure",
        "--backoff",
        "50ms",
        "--max-restarts",
        "2",
        "--",
        "sh",
        "-c",
        "echo attempt; exit 4",
    )
    assert proc.returncode == 4
    assert proc.stdout.count(b"attempt") == 3
    rules = [a["rule"] for a in journal(workdir)]
    assert rules.count("gave-up") == 1
    err = proc.stderr.decode()
    # what the supervisor does comes after the alert it follows from, in the user's units
    assert "giving up: 2 restarts within 1h" in err
    assert err.index("gave-up") < err.index("giving up:")
    first_crash, first_restart = err.index(" crashed"), err.index("restarting in 50ms")
    assert first_crash < first_restart


def test_rule_action_restarts_then_stops(workdir: Path) -> None:
    (workdir / "rules" / "act.yaml").write_text(
        textwrap.dedent("""\
        rules:
          - id: hung
            severity: error
            log: 'HUNG'
            action: restart
            cooldown: 0s
            examples: {fires: [HUNG]}
          - id: enough
            severity: info
            log: 'attempt 2'
            action: stop
            examples: {fires: [attempt 2]}
    """)
    )
    counter = workdir / "count"
    child = script(
        workdir,
        "hang.sh",
        f"""
        n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}
        echo "attempt $n"; echo HUNG; sleep 30
    """,
    )
    started = time.monotonic()
    proc = run(workdir, "--grace", "2s", "--", "bash", child)
    assert time.monotonic() - started < 20
    assert proc.stdout.count(b"attempt") == 2
    assert b"rule 'hung' asks to restart" in proc.stderr
    assert b"rule 'enough' asks to stop" in proc.stderr
    err = proc.stderr.decode()
    assert err.index("ERROR hung") < err.index("rule 'hung' asks to restart")  # alert first
    assert proc.returncode == 128 + signal.SIGTERM


def _tree_script(workdir: Path, pids: Path) -> str:
    return script(
        workdir,
        "tree.py",
        f"""
        import os, subprocess, sys, time
        kids = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])]
        kids.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"],
                                     start_new_session=True))  # leaves the process group
        with open({str(pids)!r}, "w") as f:
            f.write(" ".join(str(p) for p in [os.getpid()] + [k.pid for k in kids]))
        print("ready", flush=True)
        time.sleep(300)
    """,
    )


def test_ctrl_c_stops_the_whole_tree(workdir: Path) -> None:
    pids_file = workdir / "pids"
    child = _tree_script(workdir, pids_file)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "--interval",
            "200ms",
            "--grace",
            "2s",
            "--",
            sys.executable,
            child,
        ],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(0.6)  # let the sampler see the tree
    pids = [int(p) for p in pids_file.read_text().split()]
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    assert proc.returncode == 128 + signal.SIGINT
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.1)
    assert [p for p in pids if _alive(p)] == []
    assert not [a for a in journal(workdir) if a["rule"] == "crashed"]  # a stop on request


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigterm_is_forwarded_and_the_child_may_exit_cleanly(workdir: Path) -> None:
    child = script(
        workdir,
        "term.py",
        """
        import signal, sys, time
        signal.signal(signal.SIGTERM, lambda *a: (print("cleaning up", flush=True), sys.exit(0)))
        print("ready", flush=True)
        time.sleep(60)
    """,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "engine", "run", "--", sys.executable, child],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"ready\n"
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert out == b"cleaning up\n"
    assert proc.returncode == 0


def test_unknown_command_is_a_clear_error(workdir: Path) -> None:
    proc = run(workdir, "--", "no-such-command-xyz")
    assert proc.returncode == 127
    assert b"cannot start no-such-command-xyz" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_watch_option_tails_a_file_the_child_writes(workdir: Path) -> None:
    log = workdir / "logs" / "swarm.log"
    log.parent.mkdir()
    child = script(
        workdir,
        "writer.sh",
        f"""
        sleep 0.5; echo "BOOM 42" >> {log}; sleep 1
    """,
    )
    proc = run(workdir, "--watch", "logs/*.log", "--", "bash", child)
    assert proc.returncode == 0
    (alert,) = [a for a in journal(workdir) if a["rule"] == "boom"]
    assert str(alert["source"]).endswith("swarm.log")


def peak_rss(proc: subprocess.Popen[bytes], after: float = 0.0) -> int:
    """The largest resident size of `proc` seen until it exits (sampled every 50 ms), counting
    from `after` seconds on."""
    peak, start = 0, time.monotonic()
    while proc.poll() is None:
        try:
            rss = psutil.Process(proc.pid).memory_info().rss
        except psutil.NoSuchProcess:
            break
        if time.monotonic() - start >= after:
            peak = max(peak, rss)
        time.sleep(0.05)
    return peak


def test_memory_stays_flat_while_the_child_floods(workdir: Path) -> None:
    """200 MB of output as fast as the child can write it: `run` grows by at most what it may
    hold waiting for evaluation (`MAX_QUEUED_BYTES`, docs/rules.md, Limits), whatever the
    output's size; the capture keeps every byte."""
    lines = 1_000_000
    child = script(
        workdir,
        "flood.py",
        f"""
        import sys
        line = "x" * 200 + "\\n"
        for _ in range({lines}):
            sys.stdout.write(line)
    """,
    )
    command = [sys.executable, "-m", "engine", "run", "--"]
    out, err = subprocess.DEVNULL, subprocess.PIPE
    idle = subprocess.Popen([*command, "sleep", "3"], cwd=workdir, stdout=out, stderr=err)
    settled = peak_rss(idle, after=2.0)  # started, rules loaded and warmed, the first sample
    assert idle.returncode == 0 and settled > 0
    shutil.rmtree(workdir / ".rlswarm")
    proc = subprocess.Popen([*command, sys.executable, child], cwd=workdir, stdout=out, stderr=err)
    peak = peak_rss(proc)
    assert proc.returncode == 0
    slack = 40e6  # a chunk being read, split and decoded; the pipe's copy; allocator pages
    assert peak - settled < MAX_QUEUED_BYTES + slack, (peak, settled)
    logs = sorted((workdir / ".rlswarm" / "logs").iterdir())
    assert [p.name for p in logs] == ["run.log", "run.log.1", "run.log.2", "run.log.3"]
    assert sum(p.stat().st_size for p in logs) == lines * 201
