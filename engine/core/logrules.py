"""Log rules and signals: what a matched line means.

A hit of a signal's pattern sets the signal (its `value` group, or one more match)
and tells every part it was seen; a hit of a log rule, its `where` holding, is an
occurrence with the line, its number, its source and the lines before it.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Sequence
from functools import partial

from engine.core.parts import Context, Kit, Lines, Part
from engine.core.sparse import SparseBlock
from engine.match.matcher import Hit
from engine.model import Decision, LaterLines, Value, as_value
from engine.packs.rule import LogTrigger, Rule, Signal


class LogRules(Part):
    def __init__(self, rules: Sequence[Rule], kit: Kit) -> None:
        super().__init__(rules, kit)
        self._signals = tuple(kit.signals)  # the matcher's patterns: signals, then log rules
        self._context = max((_log(r).context for r in rules), default=0)
        self._tails: dict[str, deque[str]] = {}

    def tail(self, source: str) -> tuple[str, ...]:
        """The last lines of `source` kept for alert context, as they stand now."""
        return tuple(self._tails.get(source, ()))

    def keep(self, source: str, texts: Sequence[str]) -> None:
        """Remember the last lines of a block of `source` for the alert context of the next."""
        if self._context:
            tail = self._tails.setdefault(source, deque(maxlen=self._context))
            tail.extend(texts[-self._context :])

    def on_hit(self, hit: Hit, lines: Lines, t: float, context: Context) -> list[Decision]:
        signals = len(self._signals)
        if hit.pattern < signals:
            return self._on_signal(self._signals[hit.pattern], hit.match, t)
        rule = self.rules[hit.pattern - signals]
        trig = _log(rule)
        captures = {k: as_value(v) for k, v in hit.match.groupdict().items()}
        values: dict[str, Value] = {**self.shared.metrics, **captures}
        if trig.where is not None and not trig.where.holds(values):
            return []
        text, line_no = lines.texts[hit.line], lines.line_nos[hit.line]
        values.update(line=text, source=lines.source, line_no=line_no)
        group = trig.group_by.render(captures) if trig.group_by else ""
        where = {
            "source": lines.source,
            "line": text,
            "line_no": line_no,
            "context": context(hit.line, trig.context),
        }
        draft = partial(self.kit.drafter.draft, rule, t, group, values, where)
        return [self.kit.gates.occurrence(rule, t, group, draft, trig.count, trig.within)]

    def _on_signal(self, signal: Signal, match: re.Match[str], t: float) -> list[Decision]:
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
