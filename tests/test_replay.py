"""Replay over real corpus logs, merged files, big files and a terminal."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from terminal import on_a_terminal

from engine.authoring.replay import replay
from engine.cli.main import main
from engine.packs import loader as packs

ROOT = Path(__file__).resolve().parent.parent
CASES = sorted((ROOT.parent / "shared" / "corpus" / "rlswarm" / "cases").glob("*.log"))


def jsonl(*args: str) -> list[dict[str, object]]:
    result = CliRunner().invoke(main, ["replay", "--format", "jsonl", *args])
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.skipif(not CASES, reason="the shared corpus is not beside the checkout")
@pytest.mark.parametrize("case", CASES, ids=[c.stem[:40] for c in CASES])
def test_every_corpus_case_replays(case: Path) -> None:
    result = CliRunner().invoke(main, ["replay", "--rules", str(ROOT / "rules"), str(case)])
    assert result.exit_code == 0, result.output
    assert "lines/s" in result.stdout


@pytest.mark.skipif(not CASES, reason="the shared corpus is not beside the checkout")
def test_the_19_hour_hang_is_caught_30_minutes_after_the_last_round() -> None:
    (case,) = [c for c in CASES if c.name.startswith("010-")]
    records = jsonl("--rules", str(ROOT / "rules"), str(case))
    stalls = [r for r in records if r["rule"] == "training-stalled"]
    assert [r["time"] for r in stalls] == ["2025-07-08T23:05:09.458+00:00"]


def test_several_files_are_merged_in_log_time(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "r.yaml").write_text(
        "rules:\n  - id: hit\n    severity: info\n    log: 'HIT (?P<n>\\d)'\n"
        "    cooldown: 0s\n    examples: {fires: [HIT 1]}\n"
    )
    a, b = tmp_path / "swarm_launcher.log", tmp_path / "yarn.log"
    a.write_text(
        "[2025-07-08 10:00:00,000][x][INFO] - HIT 1\n[2025-07-08 10:00:02,000][x][INFO] - HIT 3\n"
    )
    b.write_text("2025-07-08T10:00:01Z HIT 2\n2025-07-08T10:00:03Z HIT 4\n")
    records = jsonl("--rules", str(rules), str(a), str(b))
    assert [r["line"][-5:] for r in records] == ["HIT 1", "HIT 2", "HIT 3", "HIT 4"]  # type: ignore[index]
    assert [Path(str(r["source"])).name for r in records] == [
        "swarm_launcher.log",
        "yarn.log",
        "swarm_launcher.log",
        "yarn.log",
    ]


def _big_log(path: Path, lines: int) -> None:
    block = "".join(
        f"[2025-07-08 10:{i // 60 % 60:02d}:{i % 60:02d},000][genrl][INFO] - "
        f"Already finished round: {i}. Next check in 5.0s.\n"
        for i in range(1000)
    )
    with open(path, "w") as out:
        for _ in range(lines // 1000):
            out.write(block)


def test_memory_stays_flat_on_a_big_file(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    _big_log(log, 600_000)  # about 54 MB
    assert log.stat().st_size > 50e6
    # A fresh parent, so that its children's peak RSS is this replay's alone.
    measure = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True, text=True)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "print(p.stdout)"
    )
    command = [sys.executable, "-m", "engine", "replay", "--rules", str(ROOT / "rules"), str(log)]
    proc = subprocess.run(
        [sys.executable, "-c", measure, *command], capture_output=True, text=True, cwd=tmp_path
    )
    code, peak_kb = proc.stdout.split("\n", 1)[0].split()
    assert code == "0", proc.stdout
    assert "600,000 lines" in proc.stdout
    peak_mb = int(peak_kb) / 1024
    assert peak_mb < 150, peak_mb  # the file is never held whole


def test_library_replay_counts_lines_and_bytes(tmp_path: Path) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(b"a\nb\r\nc\rd\n\xff bad utf-8\nno newline at end")
    result = replay(packs.load_strict([ROOT / "rules"]), [str(log)])
    assert result.lines == 6
    assert result.bytes == log.stat().st_size
    assert result.timed is False


@pytest.mark.parametrize(
    "content", [b"", b"\n", b"\r\n\n\x1b[0m\n"], ids=["empty", "newline", "blank"]
)
def test_a_log_without_lines_replays_to_nothing(tmp_path: Path, content: bytes) -> None:
    log = tmp_path / "x.log"
    log.write_bytes(content)
    result = CliRunner().invoke(main, ["replay", "--rules", str(ROOT / "rules"), str(log)])
    assert result.exit_code == 0, result.output  # the shipped `absent` rules have no time to run
    assert "0 lines" in result.stdout and "no rule occurred" in result.stdout
    verbose = CliRunner().invoke(main, ["replay", "-v", "--rules", str(ROOT / "rules"), str(log)])
    assert verbose.exit_code == 0 and "training-stalled" in verbose.stdout  # every rule, at 0


def test_progress_bar_on_a_terminal(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    _big_log(log, 400_000)
    args = [sys.executable, "-m", "engine", "replay", "--rules", str(ROOT / "rules"), str(log)]
    code, seen = on_a_terminal(args, tmp_path, stdout_too=False)
    assert code == 0
    assert b"\r  [#" in seen and b"MB/s" in seen
