"""One crash under `run`, one critical notification: the generic alerts fold into the cause.

A launcher in the shape of `run_rl_swarm.sh` runs a trainer that dies of a CUDA OOM (its
traceback on stderr), prints the launcher's red error line and exits 1. With the shipped
packs, `cuda-oom` is the one critical alert; `rl-swarm-script-error` and `trainer-crashed`
are folded into it (`inhibited_by`), and a traceback cut off by a kill is one alert too.

The launcher of today's RL-Swarm ends its process group on the way out (`kill -- -$$` in
its EXIT trap), so `run` sees it killed by signal 15 (143): the one notification waits
for that exit (`gather`) and carries it with the trainer's own status (1), which the
probe inside the trainer says.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TRAINER = """\
import sys
print("[2025-07-08 22:30:20,000][genrl][INFO] - Starting round: 7821/1000000.", flush=True)
sys.stderr.write(
    "Traceback (most recent call last):\\n"
    '  File "/root/rl-swarm/rgym_exp/runner/swarm_launcher.py", line 169, in main\\n'
    "    game_manager.run_game()\\n"
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a "
    "total capacity of 11.99 GiB of which 1.02 GiB is free.\\n"
)
sys.exit(1)
"""

LAUNCHER = """\
#!/bin/bash
set -euo pipefail
trap 'echo ">> Shutting down trainer..."' EXIT
trap 'echo ">> An error was detected while running rl-swarm. See $PWD/logs for full logs."' ERR
python3 trainer.py
"""


RAISING_TRAINER = """\
import sys
print("[2025-07-08 22:30:20,000][genrl][INFO] - Starting round: 7821/1000000.", flush=True)


class OutOfMemoryError(RuntimeError):
    pass


OutOfMemoryError.__module__ = "torch"
raise OutOfMemoryError(
    "CUDA out of memory. Tried to allocate 2.00 GiB. GPU 0 has a total capacity of "
    "11.99 GiB of which 1.02 GiB is free."
)
"""

KILLING_LAUNCHER = """\
#!/bin/bash
set -euo pipefail
cleanup() {
    echo ">> Shutting down trainer..."
    kill -- -$$ || true
    exit 0
}
errnotify() {
    echo ">> An error was detected while running rl-swarm. See $PWD/logs for full logs."
}
trap cleanup EXIT
trap errnotify ERR
python3 trainer.py
"""


def _alerts(workdir: Path) -> list[dict[str, object]]:
    journal = workdir / ".rlswarm" / "alerts.jsonl"
    return [json.loads(line) for line in journal.read_text().splitlines()]


def _critical(workdir: Path) -> list[str]:
    journal = workdir / ".rlswarm" / "alerts.jsonl"
    alerts = [json.loads(line) for line in journal.read_text().splitlines()]
    return [a["rule"] for a in alerts if a["severity"] == "critical"]


def test_a_cuda_oom_crash_is_one_critical_notification(tmp_path: Path) -> None:
    (tmp_path / "trainer.py").write_text(TRAINER)
    launcher = tmp_path / "run_rl_swarm.sh"
    launcher.write_text(textwrap.dedent(LAUNCHER))
    command = [sys.executable, "-m", "engine", "run", "--rules", str(ROOT / "rules")]
    command += ["--restart", "never", "--", "bash", str(launcher)]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == 1, proc.stderr.decode()
    assert b"An error was detected" in proc.stdout
    assert _critical(tmp_path) == ["cuda-oom"]


def test_the_one_notification_carries_the_launchers_exit_and_the_trainers(
    tmp_path: Path,
) -> None:
    (tmp_path / "trainer.py").write_text(RAISING_TRAINER)
    launcher = tmp_path / "run_rl_swarm.sh"
    launcher.write_text(KILLING_LAUNCHER)
    command = [sys.executable, "-m", "engine", "run", "--rules", str(ROOT / "rules")]
    command += ["--restart", "never", "--", "bash", str(launcher)]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == 143, proc.stderr.decode()
    critical = [a for a in _alerts(tmp_path) if a["severity"] == "critical"]
    assert [a["rule"] for a in critical] == ["cuda-oom"], proc.stdout.decode()
    folded = critical[0]["folded"]
    assert isinstance(folded, list)
    # in either order: the launcher's line (stdout) may be read before the traceback (stderr)
    assert sorted(f["rule"] for f in folded) == ["rl-swarm-script-error", "trainer-crashed"]
    [exit_values] = [f["values"] for f in folded if f["rule"] == "trainer-crashed"]
    assert (exit_values["code"], exit_values["signal"]) == (143, 15)
    assert exit_values["trainer_code"] == 1  # the trainer's own, from the probe
    assert str(exit_values["trainer"]).endswith(", trainer.py")


def test_a_launcher_that_cannot_start_is_an_alert_not_only_a_line(tmp_path: Path) -> None:
    """Through the channels too: an unattended node whose launcher lost its +x bit (a
    `git pull`, a copy) would otherwise exit 127 with nothing sent."""
    launcher = tmp_path / "run_rl_swarm.sh"
    launcher.write_text("#!/bin/bash\necho never\n")
    launcher.chmod(0o644)
    command = [sys.executable, "-m", "engine", "run", "--rules", str(ROOT / "rules")]
    command += ["--restart", "never", "--", "./run_rl_swarm.sh"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, timeout=120)
    assert proc.returncode == 127, proc.stderr.decode()
    [alert] = _alerts(tmp_path)
    assert (alert["rule"], alert["severity"]) == ("command-not-started", "critical")
    expected = "the training did not start: cannot start ./run_rl_swarm.sh: Permission denied"
    assert alert["summary"] == expected
    folded = alert["folded"]
    assert isinstance(folded, list)
    assert [f["rule"] for f in folded] == ["trainer-crashed"]
