"""What a log rule's occurrence waits for, and the same line seen through two sources.

`Waits`: a log rule with `unless` does not fire at its line; the occurrence waits
`within` for a line of the `unless` pattern. Such a line cancels the wait (`cancelled`);
otherwise the occurrence goes through its cooldown gate at the end of the wait, as if it
happened then. While one occurrence of a rule and group waits, the next ones join it.
The training's `exit` cancels every wait: what it waited for can no longer come.

`Twins`: one line that two sources show (the console and the log file a preset follows,
where a logger writes both) is one occurrence. A hit of a pattern on a text is a twin
when the same pattern hit the same text (spaces at its ends aside) on another source less
than `TWIN_WINDOW_S` earlier (and among the last `MAX_TWINS` hits) and that hit has no
twin yet; a twin is dropped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.core.drafts import bare
from engine.core.gates import Gates, Key
from engine.core.shared import Shared, Timer
from engine.model import Decision, LaterLines, Reason, revised
from engine.packs.rule import LogTrigger, Rule

TWIN_WINDOW_S = 5.0
"""How far apart in time two sources may show one line (a followed file is read a few
times a second; a replayed pair of files gives both copies the same timestamp)."""

MAX_TWINS = 4096
"""Hits kept to find twins among (the latest): a log without timestamps has all its lines
at one time, so the window alone would keep them all."""

Origin = tuple[str, int, float, str]
"""The line an occurrence came from: (source, line number, time, text)."""


@dataclass
class _Wait:
    rule: Rule
    since: float
    due: float
    values: dict[str, Any]
    where: Mapping[str, Any]
    origin: Origin
    joined: int = 0  # occurrences after the first, while it waited


class Waits:
    def __init__(
        self,
        shared: Shared,
        gates: Gates,
        ranks: Mapping[str, int],
        lean: bool,
        draft: Callable[..., Decision],
    ) -> None:
        """`draft` drafts an occurrence again when its wait ends (`Drafter.draft`)."""
        self._shared, self._gates, self._ranks, self._lean = shared, gates, ranks, lean
        self._draft = draft
        self._waits: dict[Key, _Wait] = {}

    def begin(
        self,
        rule: Rule,
        t: float,
        group: str,
        draft: Callable[[], Decision],
        *,
        values: dict[str, Any],
        where: Mapping[str, Any],
        origin: Origin,
    ) -> Decision:
        """The occurrence starts a wait (or joins its rule and group's): `pending`. It is
        drafted again from `values` and `where` when the wait ends."""
        key = (rule.id, group)
        wait = self._waits.get(key)
        if wait is None:
            context = where.get("context")
            if isinstance(context, LaterLines):
                context.settle()  # so the wait does not keep the block alive
            trig = rule.trigger
            assert isinstance(trig, LogTrigger) and trig.unless is not None
            due = t + trig.unless.within
            self._waits[key] = _Wait(rule, t, due, values, where, origin)
            self._shared.due_by(due)
        else:
            wait.joined += 1
        if self._lean:
            return bare(rule, t, group, Reason.PENDING)
        return revised(draft(), reason=Reason.PENDING, action=None)

    def cancel(self, rule_id: str | None, t: float, origin: Origin | None) -> list[Decision]:
        """A line of the `unless` pattern of `rule_id` (None: the training exited) came at
        `t` from `origin`: the rule's waits end, each with a `cancelled` decision; a wait
        that began on that very line goes on."""
        out: list[Decision] = []
        for key in [k for k in self._waits if rule_id is None or k[0] == rule_id]:
            wait = self._waits[key]
            if origin is not None and wait.origin == origin:
                continue
            del self._waits[key]
            if self._lean:
                out.append(bare(wait.rule, t, key[1], Reason.CANCELLED))
            else:
                out.append(revised(self._drafted(wait, key[1], t), reason=Reason.CANCELLED))
        return out

    def timers(self) -> Iterator[Timer]:
        for key, wait in self._waits.items():
            yield wait.due, self._ranks[key[0]], key

    def run_timer(self, key: Key, t: float) -> list[Decision]:
        """Nothing cancelled the wait: its occurrence goes through the gate now."""
        wait = self._waits.pop(key)
        return [self._gates.admit(wait.rule, t, key[1], lambda: self._drafted(wait, key[1], t))]

    def flush(self, t: float) -> list[Decision]:
        """The input ended (a replayed log): every open wait fires now, in rule order."""
        keys = sorted(self._waits, key=lambda k: (self._ranks[k[0]], k[1]))
        return [d for key in keys for d in self.run_timer(key, t)]

    def _drafted(self, wait: _Wait, group: str, t: float) -> Decision:
        made = self._draft(wait.rule, t, group, dict(wait.values), wait.where)
        if wait.joined:
            return revised(made, count=1 + wait.joined, since=wait.since)
        return made


class Twins:
    def __init__(self) -> None:
        self._last: dict[tuple[str, int], tuple[float, str]] = {}  # (text, pattern) -> hit
        self._order: deque[tuple[float, tuple[str, int]]] = deque()
        # While all hits come from one source (a replayed file), none is a twin: they are
        # only kept, as cheaply as can be, for a second source to pair with.
        self._only: str | None = None
        self._early: deque[tuple[float, str, int]] | None = deque(maxlen=MAX_TWINS)

    def repeated(self, text: str, pattern: int, source: str, t: float) -> bool:
        """Whether this hit is the twin of an earlier one (and so dropped)."""
        early = self._early
        if early is not None:
            if self._only is None:
                self._only = source
            if source == self._only:
                early.append((t, text, pattern))
                return False
            self._early = None  # a second source: the hits so far become the table
            for early_t, early_text, early_pattern in early:
                self._keep((early_text.strip(), early_pattern), early_t, self._only)
        order, last = self._order, self._last
        while order and (order[0][0] <= t - TWIN_WINDOW_S or len(order) >= MAX_TWINS):
            old_t, old_key = order.popleft()
            held = last.get(old_key)
            if held is not None and held[0] == old_t:
                del last[old_key]
        key = (text.strip(), pattern)
        held = last.get(key)
        if held is not None and held[1] != source:
            del last[key]  # paired: a third copy counts again
            return True
        self._keep(key, t, source)
        return False

    def _keep(self, key: tuple[str, int], t: float, source: str) -> None:
        self._last[key] = (t, source)
        self._order.append((t, key))
