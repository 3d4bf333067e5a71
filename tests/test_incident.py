"""One crash under `run`, one critical notification: the generic alerts fold into the cause.

A launcher in the shape of `run_rl_swarm.sh` runs a trainer that dies of a CUDA OOM (its
traceback on stderr), prints the launcher's red error line and exits 1. With the shipped
packs, `cuda-oom` is the one critical alert; `rl-swarm-script-error` and `trainer-crashed`
are folded into it (`inhibited_by`), and a traceback cut off by a kill is one alert too.
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
