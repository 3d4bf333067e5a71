"""Replaying histories against the core: `[(t, observation)] -> [(t, rule, reason)]`.

A history is a list of `(t, step)` pairs where a step is an observation
without its time (`Line`, `Metrics`, `Ev`, `TICK`); `observe` gives it the
time. Expected decisions are `Row`s, built with `row(...)`; every field of a
row is compared, so `count`, `since`, `duration_s` and `group` must be given
whenever they differ from a plain first notification.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from engine.core.engine import Engine
from engine.model import (
    Decision,
    Event,
    LineBlock,
    LogLine,
    Observation,
    Reason,
    Sample,
    Silence,
    Tick,
    Value,
)
from engine.packs import yamlio
from engine.packs.compile import compile_packs
from engine.packs.rule import RuleSet

# --- history steps: observations waiting for their time -----------------------------------


@dataclass(frozen=True)
class Line:
    text: str
    source: str = "stdout"


@dataclass(frozen=True)
class Metrics:
    values: dict[str, float]


@dataclass(frozen=True)
class Ev:
    name: str
    fields: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class _Tick:
    pass


TICK = _Tick()
Step = Line | Metrics | Ev | _Tick
History = Sequence[tuple[float, Step]]


def metrics(**values: float) -> Metrics:
    return Metrics(values)


def event(name: str, **fields: Value) -> Ev:
    return Ev(name, fields)


def observe(t: float, step: Step, line_no: int = 0) -> Observation:
    """The observation `step` stands for, at time `t`."""
    if isinstance(step, Line):
        return LogLine(t, step.source, step.text, line_no)
    if isinstance(step, Metrics):
        return Sample(t, step.values)
    if isinstance(step, Ev):
        return Event(t, step.name, step.fields)
    return Tick(t)


def observations(history: History) -> list[Observation]:
    """The history as observations; lines are numbered by their position in it."""
    return [observe(t, step, i + 1) for i, (t, step) in enumerate(history)]


# --- engines and feeding --------------------------------------------------------------------


def compile_pack(text: str) -> RuleSet:
    compiled = compile_packs([yamlio.parse(text, "t.yaml")])
    assert compiled.ok, [str(p) for p in compiled.problems]
    return compiled.rules


def make_engine(pack: str, silences: Iterable[Silence] = ()) -> Engine:
    return Engine(compile_pack(pack), host="h", project="p", silences=silences)


def feed_one_by_one(engine: Engine, history: History) -> list[Decision]:
    return [d for obs in observations(history) for d in engine.feed(obs)]


def feed_in_blocks(engine: Engine, history: History) -> list[Decision]:
    """Like `feed_one_by_one`, but each run of consecutive lines of one source is one block."""
    out: list[Decision] = []
    run: list[LogLine] = []

    def flush() -> None:
        if run:
            block = LineBlock(
                run[0].source,
                [x.text for x in run],
                [x.t for x in run],
                [x.line_no for x in run],
            )
            out.extend(engine.feed_lines(block))
            run.clear()

    for obs in observations(history):
        if isinstance(obs, LogLine) and (not run or run[0].source == obs.source):
            run.append(obs)
            continue
        flush()
        if isinstance(obs, LogLine):
            run.append(obs)
        else:
            out.extend(engine.feed(obs))
    flush()
    return out


# --- expected decisions and a readable comparison --------------------------------------------


@dataclass(frozen=True)
class Row:
    """The parts of a decision a lifecycle table pins down."""

    t: float
    rule: str
    reason: Reason
    group: str = ""
    count: int = 1
    since: float | None = None
    duration_s: float | None = None
    folded: tuple[str, ...] = ()  # the rules of the occurrences folded into it (`gather`)

    def render(self) -> str:
        extras = [
            f"group={self.group!r}" if self.group else "",
            f"folded={','.join(self.folded)}" if self.folded else "",
            f"count={self.count}" if self.count != 1 else "",
            f"since={_num(self.since)}" if self.since is not None else "",
            f"duration_s={_num(self.duration_s)}" if self.duration_s is not None else "",
        ]
        text = f"t={_num(self.t):>10}  {self.rule:<10} {self.reason.value:<16}"
        return (text + " ".join(e for e in extras if e)).rstrip()


def _num(x: float | None) -> str:
    assert x is not None
    return f"{x:.3f}".rstrip("0").rstrip(".")


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 6)


def row(
    t: float,
    rule: str,
    reason: Reason,
    *,
    group: str = "",
    count: int = 1,
    since: float | None = None,
    duration_s: float | None = None,
    folded: tuple[str, ...] = (),
) -> Row:
    return Row(t, rule, reason, group, count, since, duration_s, folded)


def as_row(d: Decision) -> Row:
    t = _round(d.t)
    assert t is not None
    folded = tuple(f.rule for f in d.folded)
    return Row(
        t, d.rule, d.reason, d.group, d.count, _round(d.since), _round(d.duration_s), folded
    )


def table_diff(expected: Sequence[Row], actual: Sequence[Row]) -> str:
    """A unified diff of the two decision tables, empty when they agree."""
    if list(expected) == list(actual):
        return ""
    lines = difflib.unified_diff(
        [r.render() for r in expected],
        [r.render() for r in actual],
        "expected",
        "actual",
        lineterm="",
        n=100,
    )
    return "decisions differ:\n" + "\n".join(lines)
