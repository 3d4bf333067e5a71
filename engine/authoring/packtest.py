"""Rule-pack tests: a timed input and the exact list of notifications expected.

In the spirit of `promtool test rules`. A test file (`*.test.yaml`, or any
YAML file in a pack folder's `tests/`) names its packs, then lists cases:

    tests:
      - name: a CUDA OOM is sent once per cooldown, the rest as a digest
        input:
          - {at: 0s, log: "CUDA out of memory. Tried to allocate 2.00 GiB"}
          - {at: 1m, log: "CUDA out of memory. Tried to allocate 3.00 GiB"}
        expect:
          - {at: 0s, rule: cuda-oom, reason: first}
          - {at: 5m, rule: cuda-oom, reason: digest, count: 1}
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.core.engine import Engine
from engine.durations import exact_duration, parse_duration
from engine.errors import ConfigError, Level, Problem
from engine.logs.lines import strip_ansi
from engine.model import Decision, Event, LogLine, Observation, Sample, Tick
from engine.packs import loader as packs
from engine.packs import schemacheck, yamlio
from engine.packs.compile import Compiled
from engine.packs.rule import RuleSet
from engine.packs.yamlio import Located

CHECKED = ("group", "count", "summary", "severity", "duration", "folded")


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    line: int
    inputs: tuple[Observation, ...]
    expect: tuple[Mapping[str, Any], ...]
    end: float | None = None
    all_decisions: bool = False


@dataclass(frozen=True)
class Outcome:
    case: Case
    expected: tuple[str, ...]
    got: tuple[str, ...]
    passed: bool


@dataclass
class TestFile:
    path: Path
    rule_files: tuple[Path, ...]
    cases: list[Case] = field(default_factory=list)
    host: str = "test-host"
    project: str = "test"


@dataclass
class TestReport:
    outcomes: list[Outcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if not o.passed]


# --- reading test files ---------------------------------------------------------------------


def _observations(item: Mapping[str, Any]) -> Iterator[Observation]:
    t = parse_duration(item["at"])
    times = [t]
    if "every" in item:
        step = parse_duration(item["every"])
        until = parse_duration(item.get("until", item["at"]))
        if step <= 0:
            raise ValueError("'every' must be longer than 0s")
        times = [t + i * step for i in range(int((until - t) // step) + 1)]
    for at in times:
        if "log" in item:
            lines = item["log"] if isinstance(item["log"], list) else [item["log"]]
            for text in lines:
                for segment in strip_ansi(text).split("\r"):  # as live lines are cut
                    if segment:
                        yield LogLine(at, item.get("stream", "stdout"), segment)
        elif "sample" in item:
            yield Sample(at, dict(item["sample"]))
        elif "event" in item:
            yield Event(at, item["event"], dict(item.get("fields") or {}))
        else:
            yield Tick(at)


def _case(doc: Located, i: int, raw: Mapping[str, Any]) -> Case:
    inputs: list[Observation] = []
    for j, item in enumerate(raw["input"]):
        kinds = [k for k in ("log", "sample", "event") if k in item]
        if len(kinds) > 1:
            line = doc.line_of(("tests", i, "input", j))
            raise ConfigError([Problem(doc.path, line, f"input has {' and '.join(kinds)}; one")])
        try:
            inputs.extend(_observations(item))
        except ValueError as exc:
            line = doc.line_of(("tests", i, "input", j))
            raise ConfigError([Problem(doc.path, line, str(exc))]) from None
    inputs.sort(key=lambda obs: obs.t)
    end = parse_duration(raw["end"]) if "end" in raw else None
    every = raw.get("decisions") == "all"
    line = doc.line_of(("tests", i))
    return Case(raw["name"], doc.path, line, tuple(inputs), tuple(raw["expect"]), end, every)


def read_test_file(path: Path, default_packs: Sequence[Path]) -> TestFile:
    doc = yamlio.read(path)
    found = schemacheck.validate(doc, "packtest")
    if found:
        raise ConfigError(p for _, p in found)
    data = doc.data
    own = [path.parent / f for f in data.get("rule_files", [])]
    test_file = TestFile(path, tuple(own or default_packs))
    test_file.host = data.get("host", test_file.host)
    test_file.project = data.get("project", test_file.project)
    problems: list[Problem] = []
    for i, raw in enumerate(data["tests"]):
        try:
            test_file.cases.append(_case(doc, i, raw))
        except ConfigError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ConfigError(problems)
    return test_file


# --- running ---------------------------------------------------------------------------------


def _show(d: Mapping[str, Any]) -> str:
    extras = " ".join(
        f"{k}={d[k]!r}" if k == "summary" else f"{k}={d[k]}" for k in CHECKED if k in d
    )
    return f"{d['at']:>8}  {d['rule']}  {d['reason']}" + (f"  {extras}" if extras else "")


def _as_expect(decision: Decision, keys: Sequence[str]) -> dict[str, Any]:
    full: dict[str, Any] = {
        "at": exact_duration(decision.t),
        "rule": decision.rule,
        "reason": decision.reason.value,
        "group": decision.group,
        "count": decision.count,
        "summary": decision.summary,
        "severity": decision.severity.label,
        "duration": exact_duration(decision.duration_s)
        if decision.duration_s is not None
        else None,
        "folded": [f.rule for f in decision.folded],
    }
    return {k: full[k] for k in ("at", "rule", "reason", *keys)}


def _normal(expect: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(expect)
    out["at"] = exact_duration(parse_duration(expect["at"]))
    if "duration" in out:
        out["duration"] = exact_duration(parse_duration(out["duration"]))
    return out


def run_case(rules: RuleSet, case: Case, host: str, project: str) -> Outcome:
    engine = Engine(rules, host=host, project=project)
    decisions = [d for obs in case.inputs for d in engine.feed(obs)]
    if case.end is not None:
        decisions.extend(engine.feed(Tick(case.end)))
    decisions.extend(engine.finish())  # the input ended, as a replayed log does
    got_all = [d for d in decisions if case.all_decisions or d.notifies]
    expected = [_normal(e) for e in case.expect]
    got = []
    for i, decision in enumerate(got_all):
        keys = [k for k in CHECKED if i < len(expected) and k in expected[i]]
        got.append(_as_expect(decision, keys))
    return Outcome(case, tuple(map(_show, expected)), tuple(map(_show, got)), expected == got)


def run(paths: Sequence[Path]) -> TestReport:
    """Run every pack test found under `paths` against its packs."""
    report = TestReport()
    pack_paths = [p for p in paths if not (p.is_file() and p.name.endswith(packs.TEST_SUFFIXES))]
    files = packs.test_files(paths or packs.default_paths())
    if not files:
        where = ", ".join(map(str, paths)) or str(packs.DEFAULT_RULES)
        report.problems.append(Problem(where, 0, "no pack tests found (*.test.yaml, tests/*.yaml)"))
    loaded: dict[tuple[Path, ...], Compiled] = {}
    for path in files:
        try:
            test_file = read_test_file(path, pack_paths or packs.default_paths())
        except ConfigError as exc:
            report.problems.extend(exc.problems)
            continue
        key = test_file.rule_files
        if key not in loaded:
            loaded[key] = packs.load(list(key))
            report.problems.extend(p for p in loaded[key].problems if p.level is Level.ERROR)
        if not loaded[key].ok:
            continue
        for case in test_file.cases:
            outcome = run_case(loaded[key].rules, case, test_file.host, test_file.project)
            report.outcomes.append(outcome)
    report.problems = list(dict.fromkeys(report.problems))
    return report
