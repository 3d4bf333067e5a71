"""The limits that keep memory and time bounded: groups per rule (the core folds the excess
into one group with a warning), rules and signals per load, the size of a file and of all
packs (located errors, found without reading what is over)."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

from histories import make_engine

from engine.core.gates import GROUPS_CAPPED, MAX_GROUPS, OTHER_GROUPS
from engine.model import LineBlock, Reason, Severity, Tick
from engine.packs.compile import MAX_RULES
from engine.packs.yamlio import MAX_FILE_BYTES

STORM = """
rules:
  - id: storm
    severity: error
    log: 'ALERT (?P<n>\\d+)'
    group_by: "{n}"
    cooldown: 1m
"""


def block(numbers: range, t0: float) -> LineBlock:
    texts = [f"ALERT {n}" for n in numbers]
    times = [t0 + i * 0.001 for i in range(len(texts))]
    return LineBlock("stdout", texts, times, list(range(1, len(texts) + 1)))


def test_a_rule_with_too_many_groups_folds_the_rest_into_one_with_a_warning() -> None:
    engine = make_engine(STORM)
    extra = 500
    out = engine.feed_lines(block(range(MAX_GROUPS + extra), 0.0))
    reasons = Counter((d.rule, d.reason, d.group == OTHER_GROUPS) for d in out)
    assert reasons == {
        ("storm", Reason.FIRST, False): MAX_GROUPS,  # one alert for each group it keeps
        (GROUPS_CAPPED, Reason.FIRST, False): 1,
        ("storm", Reason.FIRST, True): 1,  # the first of the others
        ("storm", Reason.SUPPRESSED, True): extra - 1,  # held by the cooldown of the others
    }
    warning = out[MAX_GROUPS]
    assert warning.rule == GROUPS_CAPPED and warning.severity is Severity.WARNING
    assert warning.group == "storm"
    assert f"{MAX_GROUPS} groups at once" in warning.summary and "'1000'" in warning.summary
    folded = out[MAX_GROUPS + 1]
    assert (folded.group, folded.line, folded.summary) == (OTHER_GROUPS, "ALERT 1000", "ALERT 1000")

    # the cooldown ends: the others' digest counts what was held back
    (digest,) = [d for d in engine.feed(Tick(61.0)) if d.notifies]
    assert (digest.group, digest.reason, digest.count) == (OTHER_GROUPS, Reason.DIGEST, extra - 1)
    assert digest.line == f"ALERT {MAX_GROUPS + extra - 1}"

    # every group is idle now: they are forgotten, and a new one is its own group again
    (alone,) = engine.feed_lines(block(range(90_000, 90_001), 200.0))
    assert (alone.group, alone.reason) == ("90000", Reason.FIRST)
    assert not [d for d in engine.feed_lines(block(range(5), 201.0)) if d.rule == GROUPS_CAPPED]


def test_below_the_cap_nothing_is_forgotten() -> None:
    """A group the cap did not touch keeps its cooldown: the reason says it elapsed."""
    engine = make_engine(STORM)
    engine.feed_lines(block(range(10), 0.0))
    (again,) = engine.feed_lines(block(range(1), 100.0))
    assert (again.group, again.reason) == ("0", Reason.COOLDOWN_ELAPSED)


# --- packs -------------------------------------------------------------------------------------


def lint(*paths: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "engine", "lint", *map(str, paths)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


def rules_text(n: int, start: int = 0) -> str:
    return "rules:\n" + "".join(
        f"  - id: r{i}\n    severity: error\n    log: 'failure {i}'\n"
        f"    examples: {{fires: ['failure {i}']}}\n"
        for i in range(start, start + n)
    )


def test_more_rules_than_the_limit_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(rules_text(MAX_RULES - 1))
    (tmp_path / "b.yaml").write_text(rules_text(3, start=MAX_RULES - 1))
    proc = lint(tmp_path)
    assert proc.returncode == 1
    (line,) = [x for x in proc.stdout.splitlines() if "rules are loaded" in x]
    assert line.startswith(f"{tmp_path / 'b.yaml'}:6: rule 'r{MAX_RULES}': more than 1000 rules")
    assert "Traceback" not in proc.stderr


def test_a_file_over_the_size_limit_is_not_parsed(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_FILE_BYTES + "\n" + rules_text(1))
    (tmp_path / "ok.yaml").write_text(rules_text(1, start=5))
    proc = lint(tmp_path)
    assert proc.returncode == 1
    assert f"{big}: the file is over 2 MiB" in proc.stdout


def test_packs_beyond_the_total_limit_are_not_read(tmp_path: Path) -> None:
    """60,000 rules in 60 packs: the first packs are read, the others named, in seconds
    (unlimited, lint took 38 s and 530 MB, and replay 154 s and 3.7 GB)."""
    for k in range(60):
        (tmp_path / f"p{k:02d}.yaml").write_text(rules_text(1000, start=k * 1000))
    proc = lint(tmp_path)
    assert proc.returncode == 1
    refused = [x for x in proc.stdout.splitlines() if "not read: the packs before it" in x]
    assert refused and refused[-1].startswith(f"{tmp_path / 'p59.yaml'}: ")
    assert len([x for x in proc.stdout.splitlines() if "rules are loaded" in x]) == 1
