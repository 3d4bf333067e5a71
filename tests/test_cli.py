"""The commands' exit codes and output formats, run as a user runs them."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli.main import main

ROOT = Path(__file__).resolve().parent.parent
GOOD_RULE = """\
rules:
  - id: boom
    severity: error
    log: 'boom (?P<n>\\d+)'
    summary: "boom number {n}"
    examples:
      fires: ["boom 1"]
"""


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args), input=stdin)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "a.yaml").write_text(GOOD_RULE)
    return folder


def test_lint_clean_pack_exits_0(pack: Path) -> None:
    code, out, err = invoke("lint", str(pack))
    assert code == 0, out + err
    assert out == ""
    assert "1 rules in 1 files: ok" in err


def test_lint_errors_exit_1_with_located_messages(pack: Path) -> None:
    (pack / "b.yaml").write_text("rules:\n  - id: x\n    severity: critcal\n    log: a\n")
    code, out, _ = invoke("lint", str(pack))
    assert code == 1
    assert f"{pack}/b.yaml:3: rule 'x': 'severity' is 'critcal' (did you mean 'critical'?)" in out


def test_lint_missing_path_exits_2(tmp_path: Path) -> None:
    code, out, _ = invoke("lint", str(tmp_path / "nope"))
    assert code == 2
    assert "no such file or folder" in out


def test_lint_strict_fails_on_warnings(pack: Path) -> None:
    (pack / "b.yaml").write_text("rules:\n  - id: y\n    severity: info\n    log: 'x'\n")
    assert invoke("lint", str(pack))[0] == 0
    code, out, _ = invoke("lint", "--strict", str(pack))
    assert code == 1
    assert "warning: rule 'y': log rule has no 'examples: fires:'" in out


def test_lint_json_format(pack: Path) -> None:
    (pack / "b.yaml").write_text(
        "rules:\n  - id: z\n    severity: info\n    metric: mem_precent > 1\n"
    )
    code, out, _ = invoke("lint", "--format", "json", str(pack))
    assert code == 1
    data = json.loads(out)
    assert data["errors"] == 1
    (problem,) = data["problems"]
    assert problem["rule"] == "z"
    assert problem["line"] == 4
    assert "did you mean 'mem_percent'" in problem["message"]


def test_lint_unknown_channel_is_an_error(pack: Path, tmp_path: Path) -> None:
    (pack / "b.yaml").write_text(
        "rules:\n  - id: c\n    severity: info\n    log: x\n    channels: [emial]\n"
        "    examples: {fires: [x]}\n"
    )
    channels = tmp_path / "channels.yaml"
    channels.write_text("channels:\n  - name: email\n    url: mailto://x\n")
    code, out, _ = invoke("lint", "--channels", str(channels), str(pack))
    assert code == 1
    assert "unknown channel 'emial' (did you mean 'email'?)" in out


def test_lint_runs_examples(pack: Path) -> None:
    (pack / "b.yaml").write_text(
        "rules:\n  - id: e\n    severity: info\n    log: 'abc'\n"
        "    examples:\n      fires: [abd]\n      quiet: [xabcx]\n"
    )
    code, out, _ = invoke("lint", str(pack))
    assert code == 1
    assert f"{pack}/b.yaml:6: rule 'e': example under 'fires' does not fire: 'abd'" in out
    assert f"{pack}/b.yaml:7: rule 'e': example under 'quiet' fires: 'xabcx'" in out


def test_shipped_rules_lint_strict_and_pass_their_tests() -> None:
    os.chdir(ROOT)
    assert invoke("lint", "--strict", "rules")[0] == 0
    code, out, _ = invoke("test", "rules")
    assert code == 0, out
    assert out.strip().endswith("0 failed")


def test_failing_pack_test_prints_expected_and_got(pack: Path) -> None:
    (pack / "tests").mkdir()
    (pack / "tests" / "a.yaml").write_text(
        "tests:\n  - name: wrong time\n    input:\n      - {at: 0s, log: boom 7}\n"
        "    expect:\n      - {at: 1s, rule: boom, reason: first}\n"
    )
    code, out, _ = invoke("test", str(pack))
    assert code == 1
    assert "FAIL" in out and "wrong time" in out
    assert "expected:\n          1s  boom  first" in out
    assert "got:\n          0s  boom  first" in out


def test_bad_pack_test_file_exits_2(pack: Path) -> None:
    (pack / "t.test.yaml").write_text("tests:\n  - name: x\n    inptu: []\n    expect: []\n")
    code, _, err = invoke("test", str(pack))
    assert code == 2
    assert "t.test.yaml:3: unknown key 'inptu' (did you mean 'input'?)" in err


def test_replay_jsonl_fields(pack: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text(
        "[2025-07-08 19:12:21,373][x][INFO] - start\n"
        "[2025-07-08 19:12:22,000][x][ERROR] - boom 42\n"
    )
    code, out, err = invoke("replay", "--rules", str(pack), "--format", "jsonl", str(log))
    assert code == 0, err
    (line,) = out.splitlines()
    record = json.loads(line)
    assert record["rule"] == "boom"
    assert record["severity"] == "error"
    assert record["reason"] == "first"
    assert record["line_no"] == 2
    assert record["time"] == "2025-07-08T19:12:22.000+00:00"
    assert record["summary"] == "boom number 42"
    assert record["labels"] == {}
    assert "2 lines" in err


def test_replay_reads_gzip_and_stdin(pack: Path, tmp_path: Path) -> None:
    text = "boom 1\nboom 2\n"
    gz = tmp_path / "run.log.gz"
    gz.write_bytes(gzip.compress(text.encode()))
    code, out, _ = invoke("replay", "--rules", str(pack), "--format", "jsonl", str(gz))
    assert code == 0
    assert [json.loads(x)["line_no"] for x in out.splitlines()] == [1]
    code, out, _ = invoke("replay", "--rules", str(pack), "--format", "jsonl", "-", stdin=text)
    assert code == 0
    assert len(out.splitlines()) == 1


def test_replay_unpacks_gzip_on_stdin(pack: Path, tmp_path: Path) -> None:
    """`gzip -c run.log | replay -`, through a real pipe."""
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "replay", "--rules", str(pack), "--format", "jsonl", "-"],
        input=gzip.compress(b"boom 1\nboom 2\n"),
        capture_output=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(x)["line_no"] for x in proc.stdout.splitlines()] == [1]
    assert b"2 lines" in proc.stderr


@pytest.mark.parametrize("where", ["file", "stdin"])
def test_a_gzip_cut_short_is_a_clear_error(pack: Path, tmp_path: Path, where: str) -> None:
    """A log whose gzip data ends early (a copy cut off, a pipe closed): exit 2 with the log
    named, not click's bare 'Aborted!'."""
    cut = gzip.compress(b"boom 1\n" * 1000)[:-12]
    (tmp_path / "cut.log.gz").write_bytes(cut)
    name = "cut.log.gz" if where == "file" else "-"
    proc = subprocess.run(
        [sys.executable, "-m", "engine", "replay", "--rules", str(pack), name],
        input=cut if where == "stdin" else b"",
        capture_output=True,
        cwd=tmp_path,
    )
    shown = "cut.log.gz" if where == "file" else "standard input"
    assert proc.returncode == 2, proc.stderr
    assert f"cannot read log: {shown}: the gzip data is cut short or damaged".encode() in (
        proc.stderr
    )
    assert b"Aborted" not in proc.stderr and b"Traceback" not in proc.stderr


def test_replay_text_has_summary_table(pack: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("boom 1\nboom 2\nboom 3\n")
    code, out, _ = invoke("replay", "--rules", str(pack), str(log))
    assert code == 0
    assert "boom number 1" in out
    head = next(line for line in out.splitlines() if line.startswith("rule "))
    assert head.split("  ") == [
        "rule",
        "severity",
        "occurrences",
        "notified",
        "held by cooldown",
        "counting",
        "silenced",
        "messages",
    ]
    row = next(line for line in out.splitlines() if line.startswith("boom "))
    # 3 occurrences: 1 notified, 2 held by the cooldown (a digest would tell them), 1 message
    assert row.split() == ["boom", "error", "3", "1", "2", "0", "0", "1"]


def test_replay_shows_advice_and_only_the_rules_that_occurred(pack: Path, tmp_path: Path) -> None:
    (pack / "b.yaml").write_text(
        "rules:\n  - id: quiet-one\n    severity: info\n    log: 'never here'\n"
        "  - id: bang\n    severity: critical\n    log: 'bang'\n    advice: |\n"
        "      Restart the\n      node.\n    labels: {category: crash}\n"
    )
    log = tmp_path / "run.log"
    log.write_text("bang\n")
    code, out, _ = invoke("replay", "--rules", str(pack), str(log))
    assert code == 0
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if " bang " in line and "first" in line)
    assert lines[at + 1] == "    Restart the node."  # under its alert, soft line break gone
    rows = [line.split()[0] for line in lines if line.split()[:1] in (["bang"], ["quiet-one"])]
    assert rows == ["bang"]  # the summary lists what occurred
    code, out, _ = invoke("replay", "--rules", str(pack), "--brief", "--verbose", str(log))
    assert "Restart the node." not in out
    assert any(line.startswith("quiet-one ") for line in out.splitlines())  # every rule
    code, out, _ = invoke("replay", "--rules", str(pack), "--format", "jsonl", str(log))
    record = json.loads(out)
    assert (record["advice"], record["category"]) == ("Restart the node.", "crash")


def test_replay_errors_exit_2_without_traceback(pack: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.yaml").write_text("rules: [")
    for args in (
        ["replay", "--rules", str(pack), str(tmp_path / "missing.log")],
        ["replay", "--rules", str(bad), str(tmp_path)],
        ["lint", str(bad)],
        ["replay"],
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "engine", *args], capture_output=True, text=True, cwd=tmp_path
        )
        assert proc.returncode in (1, 2), args
        assert "Traceback" not in proc.stderr + proc.stdout, args
