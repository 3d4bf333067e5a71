"""The shipped rule packs against the RL-Swarm log corpus (../shared/corpus/rlswarm).

Every case of the corpus is replayed through `rules/` in its own log time. A failure case
(`alert: true` in labels.yaml) must raise at least one notification whose `category` label
is the case's category, at the labelled severity or one level off (the output says which);
a healthy or harmless case (`alert: false`) must raise nothing at error level or above.

Replay carries only log lines: no samples and no process events, so the host rules and the
rules on `exit`/`restart`/`gave_up` cannot fire here (they have pack tests in rules/tests/).

`pytest tests/test_corpus.py -s` prints one line per case and a per-category table.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine import packs
from engine.model import Decision, Reason, Severity
from engine.replay import replay
from engine.rule import RuleSet

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus" / "rlswarm"
LABELS = CORPUS / "labels.yaml"
FIRING = frozenset({Reason.FIRST, Reason.COOLDOWN_ELAPSED, Reason.DIGEST, Reason.REPEAT})

pytestmark = pytest.mark.skipif(
    not LABELS.is_file(), reason="the shared RL-Swarm corpus is not beside the checkout"
)


def _labels() -> list[dict[str, Any]]:
    if not LABELS.is_file():
        return []
    cases: list[dict[str, Any]] = yaml.safe_load(LABELS.read_text("utf-8"))["cases"]
    return cases


CASES = _labels()


@dataclass
class Verdict:
    """What the shipped rules made of one case."""

    case: dict[str, Any]
    notes: list[Decision] = field(default_factory=list)

    @property
    def category(self) -> str:
        return str(self.case["category"])

    @property
    def alert(self) -> bool:
        return bool(self.case["alert"])

    @property
    def expected(self) -> Severity | None:
        sev = str(self.case["severity"])
        return None if sev == "none" else Severity.parse(sev)

    def of_category(self) -> list[Decision]:
        return [
            d for d in self.notes
            if d.reason in FIRING and d.labels.get("category") == self.category
        ]

    def match(self) -> tuple[str, Decision | None]:
        """'exact', 'one level off' or 'missed', with the best notification of the class."""
        expected = self.expected
        hits = self.of_category()
        if expected is None or not hits:
            return "missed", None
        best = min(hits, key=lambda d: abs(int(d.severity) - int(expected)))
        off = abs(int(best.severity) - int(expected))
        return ("exact" if off == 0 else "one level off" if off == 1 else "missed"), best

    def loud(self) -> list[Decision]:
        """Notifications at error level or above."""
        return [d for d in self.notes if d.severity >= Severity.ERROR]

    def others(self) -> list[Decision]:
        """Firings of another category than the case's."""
        return [
            d for d in self.notes
            if d.reason in FIRING and d.labels.get("category") != self.category
        ]


@cache
def _rules() -> RuleSet:
    return packs.load_strict([ROOT / "rules"])


@cache
def verdict(name: str) -> Verdict:
    (case,) = [c for c in CASES if c["file"] == name]
    result = replay(_rules(), [str(CORPUS / "cases" / name)])
    return Verdict(case, [d for d in result.decisions if d.notifies])


def _describe(d: Decision) -> str:
    return f"{d.rule} ({d.severity.label}, {d.labels.get('category', '-')})"


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


@pytest.mark.parametrize("name", [c["file"] for c in CASES if c["alert"]])
def test_failure_case_raises_its_category(name: str) -> None:
    v = verdict(name)
    how, best = v.match()
    got = ", ".join(_describe(d) for d in v.notes if d.reason in FIRING) or "nothing"
    assert best is not None, (
        f"{name}: expected category {v.category} at {v.case['severity']}; got {got}"
    )
    _say(f"\n{name}: {v.category} {v.case['severity']}: {how} via {_describe(best)}")


@pytest.mark.parametrize("name", [c["file"] for c in CASES if not c["alert"]])
def test_healthy_case_stays_below_error(name: str) -> None:
    v = verdict(name)
    loud = v.loud()
    assert not loud, f"{name}: " + "; ".join(f"{_describe(d)}: {d.summary}" for d in loud)
    quiet = ", ".join(_describe(d) for d in v.notes) or "nothing"
    _say(f"\n{name}: quiet at error level ({quiet})")


def test_category_table() -> None:
    """One row per category: cases, caught (exact / one level off), missed, false alarms.

    False alarms are healthy or harmless cases with a notification at error level or above;
    'other' counts firings of other categories on the failure cases (usually a second,
    generic crash alert next to the specific one).
    """
    rows: dict[str, Counter[str]] = {}
    for case in CASES:
        v = verdict(case["file"])
        row = rows.setdefault(v.category, Counter())
        row["cases"] += 1
        if v.alert:
            how, _ = v.match()
            row["exact" if how == "exact" else "off by 1" if how != "missed" else "missed"] += 1
            row["other"] += len(v.others())
        elif v.loud():
            row["false alarms"] += 1
    columns = ["cases", "exact", "off by 1", "missed", "false alarms", "other"]
    width = max(len(c) for c in rows) + 2
    lines = ["", "category".ljust(width) + "".join(f"{c:>14}" for c in columns)]
    for category, row in sorted(rows.items()):
        lines.append(category.ljust(width) + "".join(f"{row[c]:>14}" for c in columns))
    total: Counter[str] = Counter()
    for row in rows.values():
        total.update(row)
    lines.append("total".ljust(width) + "".join(f"{total[c]:>14}" for c in columns))
    _say("\n".join(lines))
    assert total["missed"] == 0
    assert total["false alarms"] == 0
