"""The launcher's questions of every era are answered from the `rlswarm` preset; an answer
the launcher keeps rejecting is given 3 times within a minute, then an alert says which
`--answer` would fix it; `--forget-login` drops the kept login."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.supervise import preset
from engine.supervise.sources.keep import Keeper
from engine.supervise.sources.prompts import Answerer

ROOT = Path(__file__).resolve().parents[1]

# Every `read -p` question run_rl_swarm.sh has asked (the corpus README's table, with the
# real choice list where the README writes N), and what the preset types.
QUESTIONS = [
    ("Would you like to connect to the Testnet? [Y/n] ", "Y"),
    ("Would you like to push models you train in the RL swarm to the Hugging Face Hub? [y/N] ",
     "N"),
    (">> Enter 1 or 2 [1]: ", "1"),
    (">> Which swarm would you like to join (small or big)? [S/b] ", "S"),
    (">> How many parameters (in billions)? [32, 72] ", "32"),
    (">> How many max_steps would you like to use? [5, 20, 50, 100, 200, 500, 1000, 2000] ",
     "20"),
    (">> How many max_steps would you like to use? [1000, 5000, 10000, 50000, 100000] ", "1000"),
    (">> How many max_steps would you like to use? (Enter a positive integer or press Enter "
     "for the default of 20) ", ""),
    (">> Would you like to connect to the Testnet? [Y/n] ", "Y"),
    (">> Which swarm would you like to join (Math (A) or Math Hard (B))? [A/b] ", "A"),
    (">> How many parameters (in billions)? [0.5, 1.5, 7, 32, 72] ", "0.5"),
    (">> Enter the name of the model in huggingface repo/name format: ", ""),
    (">> Enter the number of your choice [1-4]: ", "1"),
    (">> Would you like your model to participate in the AI Prediction Market? [y/N] ", "N"),
    (">> Would you like your model to participate in the AI Prediction Market? [Y/n] ", "Y"),
    (">> Enter the name of the model you want to use in huggingface repo/name format, or "
     "press [Enter] to use the default model. ", ""),
    (">> Would you like to push models you train in the RL swarm to the Hugging Face Hub? "
     "[y/N] ", "N"),
    ("Keep going? [Y/n] ", "Y"),  # a yes/no question of no era: its default
    ("Delete everything? [y/N]", "N"),
]  # fmt: skip
UNANSWERED = ["> ", ">> Enter your Hugging Face access token: ", "Enter your name: "]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def answerer(clock: Clock | None = None) -> tuple[Answerer, list[bytes], list[str], list[str]]:
    typed: list[bytes] = []
    notices: list[str] = []
    loops: list[str] = []
    ans = Answerer(
        preset.load("rlswarm").answers,
        lambda data: typed.append(data) is None,
        notices.append,
        lambda question, answer: loops.append(f"{question} | {answer.text}"),
        clock or Clock(),
    )
    return ans, typed, notices, loops


@pytest.mark.parametrize("question,expected", QUESTIONS, ids=[q for q, _ in QUESTIONS])
def test_every_launcher_question_is_answered(question: str, expected: str) -> None:
    ans, typed, _, _ = answerer()
    ans.feed("stdout", b"some earlier output\n\x1b[32m" + question.encode())
    assert typed == [expected.encode() + b"\n"]


@pytest.mark.parametrize("question", UNANSWERED)
def test_questions_a_preset_cannot_answer_are_left_alone(question: str) -> None:
    ans, typed, _, _ = answerer()
    ans.feed("stdout", question.encode())
    assert typed == []


def test_a_rejected_answer_is_given_three_times_within_a_minute_then_never() -> None:
    clock = Clock()
    ans, typed, notices, loops = answerer(clock)
    question = b">> Which swarm would you like to join (small or big)? [S/b] "
    for _ in range(5):  # the launcher rejects the answer and asks again, 10 s apart
        ans.feed("stdout", question)
        ans.feed("stdout", b"\n>>> Please answer s or b.\n")
        clock.now += 10.0
    assert typed == [b"S\n"] * 3
    assert loops == [">> Which swarm would you like to join (small or big)? [S/b] | S"]
    assert notices[-1] == (
        "not answering again: >> Which swarm would you like to join (small or big)? [S/b] "
        "(answered 3 times within 60s, so 'S' is rejected); give the right answer with "
        "--answer 'Which swarm would you like to join.*\\[S/b\\]=>TEXT'"
    )


def test_the_same_question_asked_now_and_then_is_always_answered() -> None:
    clock = Clock()
    ans, typed, _, loops = answerer(clock)
    for _ in range(6):  # a question asked again every 40 s: each answer was taken
        ans.feed("stdout", b"connect to the Testnet? [Y/n] ")
        ans.feed("stdout", b"\n")
        clock.now += 40.0
    assert typed == [b"Y\n"] * 6
    assert loops == []


REJECTING_LAUNCHER = """\
#!/bin/bash
# April 2025's question, with a loop that rejects what it does not know (as the real one).
tries=0
while true; do
    read -t 5 -p ">> Which swarm would you like to join (small or big)? [S/b] " ab || exit 4
    case "$ab" in
        [Ss]|"") echo "small"; break ;;
        [Bb]) echo "big"; break ;;
        *) tries=$((tries + 1)); echo ">>> Please answer s or b. ($tries)" ;;
    esac
done
"""


def test_a_launcher_rejecting_an_answer_gets_a_critical_alert(tmp_path: Path) -> None:
    launcher = tmp_path / "run_rl_swarm.sh"
    launcher.write_text(REJECTING_LAUNCHER)
    launcher.chmod(0o755)
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--no-dashboard",
         "--rules", str(ROOT / "rules" / "training.yaml"),
         "--answer", "Which swarm=>A", "--", "./run_rl_swarm.sh"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    out, err = proc.stdout, proc.stderr
    assert proc.returncode == 4, out + err  # nobody answered any more: `read -t` gave up
    assert out.count(">>> Please answer s or b.") == 3
    assert err.count("answered 'A' to: >> Which swarm would you like to join") == 3
    assert "--answer 'Which swarm=>TEXT'" in err
    journal = [
        json.loads(line)
        for line in (tmp_path / ".rlswarm" / "alerts.jsonl").read_text().splitlines()
    ]
    [alert] = [a for a in journal if a["rule"] == "prompt-rejected"]
    assert alert["severity"] == "critical"
    assert alert["summary"] == (
        "the launcher keeps rejecting the answer 'A' to: "
        ">> Which swarm would you like to join (small or big)? [S/b]"
    )
    assert "--answer 'Which swarm=>TEXT'" in alert["advice"]


def test_forget_login_drops_the_kept_copies_and_the_files(tmp_path: Path) -> None:
    login = tmp_path / "modal-login" / "temp-data"
    login.mkdir(parents=True)
    (login / "userData.json").write_text("{}")
    store = tmp_path / ".rlswarm" / "keep"
    keeper = Keeper(["modal-login/temp-data/*.json"], store, tmp_path)
    assert keeper.save() == 1
    (login / "userApiKey.json").write_text("{}")  # not copied yet
    assert keeper.forget() == [
        "modal-login/temp-data/userApiKey.json",
        "modal-login/temp-data/userData.json",
    ]
    assert list(login.iterdir()) == []
    assert [p for p in store.rglob("*") if p.is_file()] == []
    assert keeper.restore() == []


def test_run_forget_login_asks_for_a_new_login(tmp_path: Path) -> None:
    kept = tmp_path / ".rlswarm" / "keep" / "modal-login" / "temp-data" / "userData.json"
    kept.parent.mkdir(parents=True)
    kept.write_text('{"orgId": "stale"}')
    launcher = tmp_path / "run_rl_swarm.sh"
    launcher.write_text(
        "#!/bin/bash\n"
        "if [ -f modal-login/temp-data/userData.json ]; then echo 'Found userData.json.';\n"
        "else echo '>> Waiting for modal userData.json to be created...'; fi\n"
    )
    launcher.chmod(0o755)
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "run", "--no-dashboard", "--forget-login",
         "--", "./run_rl_swarm.sh"],
        cwd=tmp_path, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "forgot the kept login: modal-login/temp-data/userData.json" in proc.stderr
    assert proc.stdout == ">> Waiting for modal userData.json to be created...\n"
    assert not kept.exists()
