"""Log rules and signals: what a matched line means.

A hit of a signal's pattern sets the signal (its `value` group, or one more match)
and tells every part it was seen; a hit of a log rule, its `where` holding, is an
occurrence with the line, its number, its source and the lines before it (of a rule with
`unless`, it waits first); a hit of an `unless` pattern cancels its rule's waits. The
twin of a hit on another source is dropped (`engine.core.sequels`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from functools import partial
from typing import Any

from engine.core.parts import Context, Kit, Lines, Part
from engine.core.sequels import Twins, Waits
from engine.core.shared import Timer
from engine.core.sparse import SparseBlock
from engine.core.tracebacks import Due, Tracebacks
from engine.durations import exact_duration
from engine.match.matcher import SUSPEND_AFTER, Hit, Match, Overrun
from engine.model import Decision, Event, Kind, LaterLines, Reason, Severity, Value, as_value
from engine.packs.rule import LogTrigger, Rule, Signal


class LogRules(Part):
    def __init__(self, rules: Sequence[Rule], kit: Kit) -> None:
        super().__init__(rules, kit)
        # the matcher's patterns: signals, then log rules, then the rules' `unless` patterns
        self._signals = tuple(kit.signals)
        self._logs = len(self._signals) + len(rules)
        self._sequels = tuple(r for r in rules if _log(r).unless is not None)
        self._context = max((_log(r).context for r in rules), default=0)
        self._tails: dict[str, deque[str]] = {}
        self._waits = Waits(self.shared, kit.gates, kit.ranks, kit.gates.lean, kit.drafter.draft)
        self._twins = Twins()
        self._tracebacks = Tracebacks()
        self._traceback_first = self._logs + len(self._sequels) if kit.tracebacks else -1
        self._traceback_rank = len(kit.ranks)  # after every rule's timers

    def timers(self) -> Iterator[Timer]:
        yield from self._waits.timers()
        for due, what in self._tracebacks.timers():
            yield due, self._traceback_rank, what

    def run_timer(self, what: Any, t: float) -> list[Decision]:
        if isinstance(what, Due):
            return self._emitted(self._tracebacks.run_timer(what, t))
        return self._waits.run_timer(what, t)

    def finish(self, t: float) -> list[Decision]:
        """The input ended: open tracebacks close, and the occurrences still waiting for
        their `unless` fire."""
        return [*self._emitted(self._tracebacks.flush(t)), *self._waits.flush(t)]

    def on_event(self, t: float, event: Event) -> list[Decision]:
        if event.name == "exit":
            closed = self._emitted(self._tracebacks.flush(t))
            return [*closed, *self._waits.cancel(None, t, None)]
        if event.name == "start":
            self.kit.gates.restart(r.id for r in self.rules)
        return []

    def _emitted(self, events: Sequence[Event]) -> list[Decision]:
        return [d for event in events for d in self.kit.emit(event)]

    def tail(self, source: str) -> tuple[str, ...]:
        """The last lines of `source` kept for alert context, as they stand now."""
        return tuple(self._tails.get(source, ()))

    def keep(self, source: str, texts: Sequence[str]) -> None:
        """Remember the last lines of a block of `source` for the alert context of the next."""
        if self._context:
            tail = self._tails.setdefault(source, deque(maxlen=self._context))
            tail.extend(texts[-self._context :])

    def on_hit(
        self, hit: Hit | Overrun, lines: Lines, t: float, context: Context
    ) -> list[Decision]:
        if isinstance(hit, Overrun):
            return [self._suspended(hit, lines, t)]
        text = lines.texts[hit.line]
        if self._twins.repeated(text, hit.pattern, lines.source, t):
            return []
        signals = len(self._signals)
        if hit.pattern < signals:
            return self._on_signal(self._signals[hit.pattern], hit.match, t)
        line_no = lines.line_nos[hit.line]
        if 0 <= self._traceback_first <= hit.pattern:
            kind = hit.pattern - self._traceback_first
            made = self._tracebacks.line(kind, hit.match, lines.source, line_no, text, t)
            self.kit.refresh()
            return self._emitted(made)
        if hit.pattern >= self._logs:
            rule = self._sequels[hit.pattern - self._logs]
            return self._waits.cancel(rule.id, t, (lines.source, line_no, t, text))
        rule = self.rules[hit.pattern - signals]
        trig = _log(rule)
        captures = {k: as_value(v) for k, v in hit.match.groupdict().items()}
        values: dict[str, Value] = {**self.shared.metrics, **captures}
        if trig.where is not None and not trig.where.holds(values):
            return []
        values.update(line=text, source=lines.source, line_no=line_no)
        group = trig.group_by.render(captures) if trig.group_by else ""
        where = {
            "source": lines.source,
            "line": text,
            "line_no": line_no,
            "context": context(hit.line, trig.context),
        }
        draft = partial(self.kit.drafter.draft, rule, t, group, values, where)
        then = None
        if trig.unless is not None:
            origin = (lines.source, line_no, t, text)
            then = partial(self._waits.begin, values=values, where=where, origin=origin)
        return self.kit.gates.occurrence(rule, t, group, draft, trig.count, trig.within, then)

    def _suspended(self, overrun: Overrun, lines: Lines, t: float) -> Decision:
        """The critical alert that pattern `overrun.pattern` is tried no more."""
        name = self.name_of(overrun.pattern)
        budget = exact_duration(self.kit.matcher.budget)
        line = overrun.text if len(overrun.text) <= 500 else overrun.text[:500] + "…"
        return Decision(
            t=t,
            rule=SUSPENDED,
            group=name,
            reason=Reason.FIRST,
            severity=Severity.CRITICAL,
            summary=f"{name} suspended: its regex ran over {budget} on {SUSPEND_AFTER} lines",
            advice="Its pattern backtracks for too long on some lines, such as this one, and "
            "is no longer tried: the alerts it stands for will not come. `rlswarm-rules lint` "
            "says what in the pattern can backtrack; rewrite it and restart.",
            labels={"category": "rule_suspended"},
            source=lines.source,
            line=line,
            line_no=lines.line_nos[overrun.line],
            kind=Kind.LOG,
        )

    def name_of(self, k: int) -> str:
        """What the matcher's pattern `k` stands for, as the terminal and alerts name it."""
        signals = len(self._signals)
        if k < signals:
            return f"signal '{self._signals[k].name}'"
        if k < self._logs:
            return f"rule '{self.rules[k - signals].id}'"
        if 0 <= self._traceback_first <= k:
            return f"traceback pattern {k - self._traceback_first}"
        return f"rule '{self._sequels[k - self._logs].id}' (its `unless`)"

    def _on_signal(self, signal: Signal, match: Match, t: float) -> list[Decision]:
        metrics = self.shared.metrics
        if signal.has_value:
            value = as_value(match.group("value"))
            if not isinstance(value, int | float):
                return self.kit.seen(t, signal.name, False)
        else:
            previous = metrics.get(signal.name, 0)
            value = (previous if isinstance(previous, int | float) else 0) + 1
        metrics[signal.name] = value
        return self.kit.seen(t, signal.name, True)


SUSPENDED = "rule-suspended"
"""The rule id of the alert that a pattern was suspended (it stands for no rule of a pack)."""


def _log(rule: Rule) -> LogTrigger:
    assert isinstance(rule.trigger, LogTrigger)
    return rule.trigger


def line_context(texts: Sequence[str], tail: Sequence[str]) -> Context:
    """The context of a line of `texts`: the lines before it there, and in `tail` (the last
    lines kept of the source's earlier blocks)."""

    def context(i: int, n: int) -> Sequence[str]:
        return _completed(tail, list(texts[max(0, i - n) : i]), n) if n else ()

    return context


def sparse_context(block: SparseBlock, tail: Sequence[str]) -> Context:
    """The context of a point of `block`, read from the block's bytes when first looked at."""

    def context(i: int, n: int) -> Sequence[str]:
        if n == 0:
            return ()
        return LaterLines(lambda: _completed(tail, list(block.before(i, n)), n))

    return context


def _completed(tail: Sequence[str], inside: list[str], n: int) -> tuple[str, ...]:
    """`inside` (the lines before a hit in its block) completed to `n` lines from `tail`."""
    missing = n - len(inside)
    if missing > 0 and tail:
        inside = list(tail)[-missing:] + inside
    return tuple(inside)
