"""Unattended restarts of an RL-Swarm-like launcher: its questions are answered from the
preset, the login it deletes on exit is put back, and its log files are followed."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

LAUNCHER = """\
#!/bin/bash
# Behaves like gensyn-ai/rl-swarm's run_rl_swarm.sh where it matters here.
set -euo pipefail
ROOT=$PWD
cleanup() {
    echo ">> Shutting down trainer..."
    rm -f "$ROOT"/modal-login/temp-data/*.json   # as the real launcher does on exit
}
trap cleanup EXIT
mkdir -p modal-login/temp-data logs
if [ ! -f modal-login/temp-data/userData.json ]; then
    if [ -f .logged-in-once ]; then
        # A restart with nobody at the browser: the real launcher waits here forever.
        echo ">> Waiting for modal userData.json to be created..."
        exit 3
    fi
    echo '{"orgId": "org-123"}' > modal-login/temp-data/userData.json   # the operator logs in
    echo '{"activated": true}' > modal-login/temp-data/userApiKey.json
    touch .logged-in-once
fi
echo "Found userData.json. Proceeding..."
echo -en "\\033[32m"
read -p ">> Would you like to push models you train in the RL swarm to the Hugging Face Hub? [y/N] " yn
read -p ">> Enter the name of the model you want to use in huggingface repo/name format, or press [Enter] to use the default model. " MODEL_NAME
read -p ">> Would you like your model to participate in the AI Prediction Market? [Y/n] " prg
echo -en "\\033[0m"
echo "answers: hf=$yn model=${MODEL_NAME:-default} prg=$prg"
n=$(( $(cat runs 2>/dev/null || echo 0) + 1 )); echo $n > runs
echo "[2025-07-08 19:12:2$n,373][genrl.logging_utils.global_defs][INFO] - Starting round: $n/1000000." >> logs/swarm_launcher.log
sleep 2.5
if [ "$n" -lt 2 ]; then
    echo "Traceback (most recent call last): ... crash on demand" >&2
    exit 1
fi
echo ">> Good luck in the swarm!"
"""

RULES = """\
rules:
  - id: round-started
    severity: info
    log: 'Starting round: (?P<round>\\d+)'
    stream: '*swarm_launcher.log'
    cooldown: 0s
    summary: "round {round}"
    examples: {fires: ["Starting round: 7/1000000."]}
"""


def test_a_crashed_node_restarts_unattended(tmp_path: Path) -> None:
    launcher = tmp_path / "run_rl_swarm.sh"
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "r.yaml").write_text(RULES)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "--restart",
            "on-failure",
            "--backoff",
            "100ms",
            "--",
            "./run_rl_swarm.sh",
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out, err = proc.stdout, proc.stderr
    assert proc.returncode == 0, out + err
    assert out.count("answers: hf=N model=default prg=Y") == 2  # both runs, nobody typing
    assert out.count("Found userData.json. Proceeding...") == 2
    assert "Waiting for modal userData.json" not in out
    assert "preset rlswarm: 17 answers, keeping modal-login/temp-data/*.json" in err
    assert "put back modal-login/temp-data/userData.json, kept from the last run" in err
    assert "put back modal-login/temp-data/userApiKey.json, kept from the last run" in err
    question = "push models you train in the RL swarm to the Hugging Face Hub? [y/N]"
    assert f"answered 'N' to: >> Would you like to {question}" in err  # as shown, not a regex
    assert "restarting in 100ms (exit code 1)" in err  # in the units the user wrote
    assert "1 restarts" in err
    kept = tmp_path / ".rlswarm" / "keep" / "modal-login" / "temp-data" / "userData.json"
    assert json.loads(kept.read_text()) == {"orgId": "org-123"}
    assert kept.stat().st_mode & 0o777 == 0o600
    journal = [
        json.loads(line)
        for line in (tmp_path / ".rlswarm" / "alerts.jsonl").read_text().splitlines()
    ]
    rounds = [a for a in journal if a["rule"] == "round-started"]
    assert [a["summary"] for a in rounds] == ["round 1", "round 2"]  # from logs/swarm_launcher.log
    assert all(str(a["source"]).endswith("logs/swarm_launcher.log") for a in rounds)


def test_no_preset_leaves_the_questions_to_the_person(tmp_path: Path) -> None:
    launcher = tmp_path / "run_rl_swarm.sh"
    launcher.write_text(
        textwrap.dedent("""\
        #!/bin/bash
        read -p "Proceed? [y/N] " yn
        echo "got: ${yn:-nothing}"
    """)
    )
    launcher.chmod(0o755)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "run",
            "--no-preset",
            "--answer",
            r"Proceed\?=>y",
            "--",
            "./run_rl_swarm.sh",
        ],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Proceed? [y/N] " in proc.stderr  # the question shows, as in a terminal
    assert proc.stdout == "got: y\n"


def test_a_bad_answer_option_is_a_clear_error(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--answer", "no arrow here", "--", "true"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "--answer 'no arrow here': write it as 'REGEX=>TEXT'" in proc.stderr
    assert "Traceback" not in proc.stderr
