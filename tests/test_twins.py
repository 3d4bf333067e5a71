"""One line that a real hydra app writes to the console and to its job log counts once.

hydra's default job logging sends each record to the console and to
`<run dir>/<job name>.log`; RL-Swarm's launcher names its job `swarm_launcher` and runs in
`logs/`, and the `rlswarm` preset follows that file. `nan-loss` (rules/rlswarm.yaml) fires
on the third NaN loss within ten minutes: two NaN records must not fire it, three must,
once, under `run` (console and followed file) and in `replay` of both files.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

APP = """\
import logging, sys, time
import hydra

log = logging.getLogger("genrl.logging_utils.global_defs")

@hydra.main(version_base=None, config_path=None)
def main(cfg) -> None:
    log.info("Joining round: 7821")
    for i in range(NANS):
        log.info("{'loss': nan, 'grad_norm': nan, 'learning_rate': 5e-07, 'epoch': %d.0}", i)
    time.sleep(1.5)  # the followed file is read a few times a second

NANS = int(sys.argv[1])
sys.argv = [sys.argv[0], "hydra.run.dir=logs", "hydra.job.name=swarm_launcher"]
main()
"""


def _app(workdir: Path) -> Path:
    path = workdir / "launcher.py"
    path.write_text(textwrap.dedent(APP))
    return path


def _run(workdir: Path, nans: int) -> list[dict[str, object]]:
    (workdir / "logs").mkdir(exist_ok=True)
    command = [sys.executable, "-m", "engine", "run", "--rules", str(ROOT / "rules")]
    command += ["--watch", "logs/*.log", "--", sys.executable, str(_app(workdir)), str(nans)]
    proc = subprocess.run(command, cwd=workdir, capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.count(b"'loss': nan") == nans  # the console copy of each record
    log = (workdir / "logs" / "swarm_launcher.log").read_text()
    assert log.count("'loss': nan") == nans  # and the file's
    journal = workdir / ".rlswarm" / "alerts.jsonl"
    return [json.loads(line) for line in journal.read_text().splitlines()]


def test_run_counts_a_record_on_console_and_file_once(tmp_path: Path) -> None:
    two, three = tmp_path / "two", tmp_path / "three"
    two.mkdir()
    three.mkdir()
    assert [a for a in _run(two, 2) if a["rule"] == "nan-loss"] == []
    (alert,) = [a for a in _run(three, 3) if a["rule"] == "nan-loss"]
    assert alert["count"] == 1


def test_replay_of_console_and_file_counts_each_record_once(tmp_path: Path) -> None:
    app = _app(tmp_path)
    for nans, fires in ((2, False), (3, True)):
        workdir = tmp_path / str(nans)
        workdir.mkdir()
        console = subprocess.run(
            [sys.executable, str(app), str(nans)], cwd=workdir, capture_output=True, check=True
        ).stdout
        (workdir / "console.log").write_bytes(console)
        files = ["console.log", "logs/swarm_launcher.log"]
        options = ["--rules", str(ROOT / "rules"), "--format", "jsonl"]
        proc = subprocess.run(
            [sys.executable, "-m", "engine", "replay", *options, *files],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        decisions = [json.loads(line) for line in proc.stdout.splitlines()]
        assert [d["rule"] for d in decisions if d["rule"] == "nan-loss"] == ["nan-loss"] * fires
