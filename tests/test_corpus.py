"""The shipped rule packs against the RL-Swarm log corpora.

Two sets of real excerpts, each a folder of `*.log` files with a `labels.yaml`:

* ``dev``: the shared development corpus (../shared/corpus/rlswarm, skipped when absent);
* ``extra``: more real excerpts (tests/corpus_extra), none of them in the development set:
  from gensyn-ai/rl-swarm issues and community guides (group ``rlswarm``) and from the issue
  threads of generic trainings: HF Trainer, accelerate, trl, torchrun, DeepSpeed, vLLM,
  bitsandbytes, MPS (group ``generic``).

Every case is replayed through `rules/` in its own log time. A failure case (`alert: true`)
must raise at least one notification whose `category` label is the case's category, at the
labelled severity or one level off (the output says which); a healthy or harmless case
(`alert: false`) must raise nothing at error level or above.

Replay carries only log lines: no samples and no process events, so the host rules and the
rules on `exit`/`restart`/`gave_up` cannot fire here (they have pack tests in rules/tests/).

`pytest tests/test_corpus.py -s` prints one line per case, and per set a table by category and
one by group (a case's `group` label; the set's name where a case has none), each with the
recall (failures caught at the right category and within one severity level) and the false
alarms.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.authoring.replay import replay
from engine.model import Decision, Reason, Severity
from engine.packs import loader as packs
from engine.packs.rule import RuleSet

ROOT = Path(__file__).resolve().parent.parent
FIRING = frozenset({Reason.FIRST, Reason.COOLDOWN_ELAPSED, Reason.DIGEST, Reason.REPEAT})


@dataclass(frozen=True)
class Corpus:
    """One labelled set of excerpts: `labels.yaml` and the log files it names."""

    name: str
    labels: Path
    cases_dir: Path

    def cases(self) -> list[dict[str, Any]]:
        if not self.labels.is_file():
            return []
        cases: list[dict[str, Any]] = yaml.safe_load(self.labels.read_text("utf-8"))["cases"]
        return cases


_SHARED = ROOT.parent / "shared" / "corpus" / "rlswarm"
_EXTRA = ROOT / "tests" / "corpus_extra"
CORPORA = {
    c.name: c
    for c in (
        Corpus("dev", _SHARED / "labels.yaml", _SHARED / "cases"),
        Corpus("extra", _EXTRA / "labels.yaml", _EXTRA),
    )
}


def _params(alert: bool | None = None) -> list[Any]:
    """(corpus, file) pairs as pytest params, ids like `extra/101-...`; a missing set is skipped."""
    params = []
    for corpus in CORPORA.values():
        cases = corpus.cases()
        if not cases:
            absent = pytest.mark.skip(reason=f"no {corpus.name} corpus at {corpus.labels}")
            params.append(pytest.param(corpus.name, "", id=f"{corpus.name}/absent", marks=absent))
            continue
        params += [
            pytest.param(corpus.name, c["file"], id=f"{corpus.name}/{c['file']}")
            for c in cases if alert is None or bool(c["alert"]) == alert
        ]
    return params


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
def verdict(corpus: str, name: str) -> Verdict:
    c = CORPORA[corpus]
    (case,) = [x for x in c.cases() if x["file"] == name]
    result = replay(_rules(), [str(c.cases_dir / name)])
    return Verdict(case, [d for d in result.decisions if d.notifies])


def _describe(d: Decision) -> str:
    return f"{d.rule} ({d.severity.label}, {d.labels.get('category', '-')})"


def _say(text: str) -> None:
    sys.stdout.write(text + "\n")


@pytest.mark.parametrize(("corpus", "name"), _params(alert=True))
def test_failure_case_raises_its_category(corpus: str, name: str) -> None:
    v = verdict(corpus, name)
    how, best = v.match()
    got = ", ".join(_describe(d) for d in v.notes if d.reason in FIRING) or "nothing"
    assert best is not None, (
        f"{corpus}/{name}: expected category {v.category} at {v.case['severity']}; got {got}"
    )
    _say(f"\n{corpus}/{name}: {v.category} {v.case['severity']}: {how} via {_describe(best)}")


@pytest.mark.parametrize(("corpus", "name"), _params(alert=False))
def test_healthy_case_stays_below_error(corpus: str, name: str) -> None:
    v = verdict(corpus, name)
    loud = v.loud()
    assert not loud, f"{corpus}/{name}: " + "; ".join(f"{_describe(d)}: {d.summary}" for d in loud)
    quiet = ", ".join(_describe(d) for d in v.notes) or "nothing"
    _say(f"\n{corpus}/{name}: quiet at error level ({quiet})")


COLUMNS = ("cases", "exact", "off by 1", "missed", "recall", "false alarms", "other")


def category_rows(corpus: str) -> dict[str, Counter[str]]:
    """Per category of one set: cases, caught (exact / one level off), missed, false alarms, other.

    False alarms are healthy or harmless cases with a notification at error level or above;
    'other' counts firings of other categories on the failure cases (usually a second,
    generic crash alert next to the specific one).
    """
    return _rows(corpus, lambda v: v.category)


def group_rows(corpus: str) -> dict[str, Counter[str]]:
    """The same counts per group of cases (`rlswarm`, `generic`)."""
    return _rows(corpus, lambda v: str(v.case.get("group", corpus)))


def _rows(corpus: str, key: Callable[[Verdict], str]) -> dict[str, Counter[str]]:
    rows: dict[str, Counter[str]] = {}
    for case in CORPORA[corpus].cases():
        v = verdict(corpus, case["file"])
        row = rows.setdefault(key(v), Counter())
        row["cases"] += 1
        if v.alert:
            how, _ = v.match()
            row["exact" if how == "exact" else "off by 1" if how != "missed" else "missed"] += 1
            row["other"] += len(v.others())
        elif v.loud():
            row["false alarms"] += 1
    return rows


def format_table(
    title: str, rows: dict[str, Counter[str]], by: str = "category"
) -> tuple[str, Counter[str]]:
    width = max([len(c) for c in rows] + [len(by)]) + 2
    lines = ["", title, by.ljust(width) + "".join(f"{c:>13}" for c in COLUMNS)]
    for name, row in sorted(rows.items()):
        lines.append(name.ljust(width) + "".join(f"{_cell(row, c):>13}" for c in COLUMNS))
    total: Counter[str] = Counter()
    for row in rows.values():
        total.update(row)
    lines.append("total".ljust(width) + "".join(f"{_cell(total, c):>13}" for c in COLUMNS))
    return "\n".join(lines), total


def _cell(row: Counter[str], column: str) -> str:
    if column != "recall":
        return str(row[column])
    failures = row["exact"] + row["off by 1"] + row["missed"]
    return f"{(row['exact'] + row['off by 1']) / failures:.0%}" if failures else "-"


@pytest.mark.parametrize("corpus", [
    pytest.param(name, marks=pytest.mark.skipif(not c.cases(), reason=f"no {name} corpus"))
    for name, c in CORPORA.items()
])
def test_category_table(corpus: str) -> None:
    """One table per set (`dev`, `extra`), so each can be read on its own."""
    c = CORPORA[corpus]
    table, total = format_table(f"[{corpus}] {c.labels.parent}", category_rows(corpus))
    _say(table)
    groups, _ = format_table(f"[{corpus}] by group", group_rows(corpus), by="group")
    _say(groups)
    assert total["missed"] == 0
    assert total["false alarms"] == 0
