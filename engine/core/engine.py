"""The pure evaluation core: observations in, decisions (each with its reason) out.

`Engine.feed(observation)` and `Engine.feed_lines(block)` return the decisions
that the observation caused, including those of timers that came due before
it (a `for` that elapsed, a silence that grew too long, a cooldown that ended
with suppressed matches). Time comes only from the observations; the engine
reads no clock, does no I/O and starts no threads.
"""

from __future__ import annotations

import math
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timezone
from functools import partial
from typing import Any

from engine.core.lifecycle import Episode, Gate, State
from engine.core.sparse import SparseBlock
from engine.durations import format_duration
from engine.match.matcher import Hit, Matcher
from engine.model import (
    Decision,
    Event,
    LaterLines,
    LineBlock,
    LogLine,
    Observation,
    Reason,
    Sample,
    Silence,
    Value,
    revised,
)
from engine.packs.rule import (
    AbsentTrigger,
    EventTrigger,
    LogTrigger,
    MetricTrigger,
    Rule,
    RuleSet,
    Signal,
)
from engine.vocabulary import ACTIVITY

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
INF = math.inf


def as_value(text: str | None) -> Value:
    """A capture as a number when it is one, else as text."""
    if text is None or not _NUMBER.fullmatch(text):
        return text
    try:
        return int(text)
    except ValueError:
        return float(text)


_DAYS: dict[int, str] = {}


def _iso(t: float) -> str:
    """`t` as `YYYY-MM-DD HH:MM:SSZ` (UTC), as `datetime` writes it, the date remembered:
    replay writes it into the values of every occurrence."""
    second = math.floor(t)
    if t - second >= 0.9999995:  # `fromtimestamp` rounds to the microsecond: the next second
        return _format_iso(t)
    day, rest = divmod(second, 86400)
    date = _DAYS.get(day)
    if date is None:
        if len(_DAYS) >= 4096:
            _DAYS.clear()
        date = _DAYS[day] = _format_iso(day * 86400)[:10]
    hour, rest = divmod(rest, 3600)
    minute, sec = divmod(rest, 60)
    return f"{date} {hour:02d}:{minute:02d}:{sec:02d}Z"


def _format_iso(t: float) -> str:
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")


def _completed(tail: Sequence[str], inside: list[str], n: int) -> tuple[str, ...]:
    """`inside` (the lines before a hit in its block) completed to `n` lines from `tail`,
    the lines kept of earlier blocks."""
    missing = n - len(inside)
    if missing > 0 and tail:
        inside = list(tail)[-missing:] + inside
    return tuple(inside)


def _bare(rule: Rule, t: float, group: str, reason: Reason) -> Decision:
    """A decision that does not notify, as a lean `feed_sparse` gives it: enough to count
    it by rule and reason, no summary, values or context."""
    return Decision(t, rule.id, group, reason, rule.severity, "", kind=rule.kind)


def _later_context(block: SparseBlock, i: int, tail: tuple[str, ...], n: int) -> Sequence[str]:
    """The `n` lines before point `i` of `block`, read when first looked at."""
    if n == 0:
        return ()
    return LaterLines(lambda: _completed(tail, list(block.before(i, n)), n))


class Engine:
    def __init__(
        self,
        rules: RuleSet,
        *,
        host: str = "",
        project: str = "",
        silences: Iterable[Silence] = (),
    ) -> None:
        self.host, self.project = host, project
        enabled = rules.enabled
        self._log_rules = [r for r in enabled if isinstance(r.trigger, LogTrigger)]
        self._event_rules = [r for r in enabled if isinstance(r.trigger, EventTrigger)]
        self._stateful = [
            r for r in enabled if isinstance(r.trigger, MetricTrigger | AbsentTrigger)
        ]
        targets: list[Signal | Rule] = [*rules.signals, *self._log_rules]
        self._targets = targets
        self._matcher = Matcher(
            [t.pattern if isinstance(t, Signal) else _log(t).pattern for t in targets]
        )
        self._context = max((_log(r).context for r in self._log_rules), default=0)
        self._tails: dict[str, deque[str]] = {}
        self._metrics: dict[str, Value] = {}
        self._last_seen: dict[str, float] = {}
        self._episodes = {r.id: Episode() for r in self._stateful}
        self._gates: dict[tuple[str, str], Gate] = {}
        self._windows: dict[tuple[str, str], deque[float]] = {}
        self._silences = list(silences)
        self._deps = _dependencies(self._stateful)
        self._activity_rules = [r for r in self._stateful if _absent_of(r) == ACTIVITY]
        self._by_id = {r.id: r for r in enabled}
        self._now = -INF
        self._armed = False
        self._alive = True
        self._next_due = INF
        self._lean = False  # inside a lean `feed_sparse`
        self._holding: set[tuple[str, str]] = set()  # gates that held an occurrence back lately

    # --- the public surface --------------------------------------------------------------

    @property
    def now(self) -> float:
        return self._now

    @property
    def metrics(self) -> Mapping[str, Value]:
        return self._metrics

    def states(self) -> dict[str, State]:
        """Current state of each metric and absent rule."""
        return {rule_id: e.state for rule_id, e in self._episodes.items()}

    def set_silences(self, silences: Iterable[Silence]) -> None:
        self._silences = list(silences)

    def feed(self, obs: Observation) -> list[Decision]:
        if isinstance(obs, LogLine):
            return self.feed_lines(LineBlock(obs.source, [obs.text], [obs.t], [obs.line_no]))
        out = self._advance(obs.t)
        t = self._now
        if isinstance(obs, Sample):
            self._metrics.update(obs.values)
            out.extend(self._evaluate(t, obs.values.keys()))
        elif isinstance(obs, Event):
            out.extend(self._on_event(t, obs))
        return out

    def feed_lines(self, block: LineBlock) -> list[Decision]:
        """Decisions for a block of lines from one source (times non-decreasing)."""
        if not block.texts:
            return []
        out = self._advance(block.times[0])
        hits = self._matcher.scan(block.texts, block.source)
        if self._activity_rules:
            out.extend(self._seen(ACTIVITY, self._now))
        h, n_hits = 0, len(hits)
        next_hit = hits[0].line if hits else -1
        last = self._now
        activity_hold = self._activity_hold()
        for i, t in enumerate(block.times):
            if t < last:
                t = last
            if t >= self._next_due or t - last >= activity_hold:
                self._last_seen[ACTIVITY] = last
                out.extend(self._run_timers(t))
                if self._activity_rules:
                    out.extend(self._seen(ACTIVITY, t))
                activity_hold = self._activity_hold()
            last = t
            while i == next_hit:
                self._now = t
                self._last_seen[ACTIVITY] = t
                out.extend(self._on_hit(block.source, block.texts, block.line_nos, hits[h], t))
                h += 1
                next_hit = hits[h].line if h < n_hits else -1
        self._now = last
        self._last_seen[ACTIVITY] = last
        self._keep_tail(block.source, block.texts)
        return out

    @property
    def context(self) -> int:
        """How many lines before a matched line any rule attaches (what `tail`s must hold)."""
        return self._context

    @property
    def silence_gap(self) -> float:
        """The shortest `absent: activity` hold: a jump in line time at least this long is a
        point of a `SparseBlock` (infinite without such rules)."""
        return min((_hold(r) for r in self._activity_rules), default=INF)

    def can_skim(self, source: str) -> bool:
        """Whether a `SparseBlock` of `source` may stand for its lines: the prefilter covers
        every pattern that sees `source`."""
        return self._matcher.covers(source)

    def candidates(self, flat: bytes) -> list[tuple[int, int]] | None:
        """(line start, pattern) of the lines of raw `flat` a pattern may match (see
        `Matcher.candidates`)."""
        return self._matcher.candidates(flat)

    def feed_sparse(self, block: SparseBlock, *, lean: bool = False) -> list[Decision]:
        """`feed_lines` over a stretch given through its points (see `SparseBlock`).

        The decisions are the same: between two points no line matches and no silence
        begins, so a timer that comes due there fires at its due time all the same, only
        checked for at the next point (or the stretch's end).

        `lean`: the caller keeps only the decisions that notify (replay without
        `--verbose`). The others come bare (see `_bare`), and an occurrence a cooldown holds
        back is drafted, alert context and all, only if it is the one a digest shows.
        """
        if not block.lines:
            return []
        self._lean = lean
        try:
            out = self._through_points(block)
        finally:
            self._lean = False
        self._settle(out, lean)
        self._keep_tail(block.source, block.tail)
        return out

    def _through_points(self, block: SparseBlock) -> list[Decision]:
        tail = tuple(self._tails.get(block.source, ()))  # as it stands until the block's end
        out = self._advance(block.first)
        hits = self._matcher.confirm(block.texts, block.pairs, block.source)
        if self._activity_rules:
            out.extend(self._seen(ACTIVITY, self._now))
        h, n_hits = 0, len(hits)
        last = self._now
        activity_hold = self._activity_hold()
        for i, t in enumerate(block.times):
            t, before = max(t, last), max(block.befores[i], last)
            if t >= self._next_due or t - before >= activity_hold:
                out.extend(self._timers_at(before, t))
                activity_hold = self._activity_hold()
            last = t
            while h < n_hits and hits[h].line == i:
                self._now = t
                self._last_seen[ACTIVITY] = t
                context = partial(_later_context, block, i, tail)
                out.extend(
                    self._on_hit(block.source, block.texts, block.line_nos, hits[h], t, context)
                )
                h += 1
        end = max(block.end, last)
        if end >= self._next_due:
            out.extend(self._timers_at(max(block.end_before, last), end))
        self._now = end
        self._last_seen[ACTIVITY] = end
        return out

    def _settle(self, out: list[Decision], lean: bool) -> None:
        """Read the context of what leaves the core now (what notifies, when `lean`) and of
        what the gates hold for a digest, so that none keeps its block alive."""
        for decision in out:
            if isinstance(decision.context, LaterLines) and (decision.notifies or not lean):
                decision.context.settle()
        for key in self._holding:
            held = self._gates[key].held_draft()
            if held is not None and isinstance(held.context, LaterLines):
                held.context.settle()
        self._holding.clear()

    def _timers_at(self, before: float, t: float) -> list[Decision]:
        """What `feed_lines` does at a line of time `t` whose previous line is at `before`
        when a timer may be due: the timers, then activity seen."""
        self._last_seen[ACTIVITY] = before
        out = self._run_timers(t)
        if self._activity_rules:
            out.extend(self._seen(ACTIVITY, t))
        return out

    # --- time ----------------------------------------------------------------------------

    def _advance(self, t: float) -> list[Decision]:
        if not self._armed:
            self._arm(t)
        out = self._run_timers(t) if t >= self._next_due else []
        self._now = max(self._now, t)
        return out

    def _arm(self, t: float) -> None:
        self._armed = True
        self._now = t
        for rule in self._stateful:
            signal = _absent_of(rule)
            if signal is not None:
                self._last_seen[signal] = t
        self._next_due = self._compute_due()[0]

    def _activity_hold(self) -> float:
        holds = [
            _hold(r)
            for r in self._activity_rules
            if self._alive and self._episodes[r.id].state is State.INACTIVE
        ]
        return min(holds, default=INF)

    def _timers(self) -> list[tuple[float, str, Rule | tuple[str, str]]]:
        timers: list[tuple[float, str, Rule | tuple[str, str]]] = []
        for rule in self._stateful:
            episode = self._episodes[rule.id]
            trig = rule.trigger
            assert isinstance(trig, MetricTrigger | AbsentTrigger)
            if episode.state is State.PENDING:
                timers.append((episode.active_since + trig.hold, "fire", rule))
            elif episode.state is State.FIRING and episode.notified and trig.repeat:
                timers.append((episode.last_sent + trig.repeat, "repeat", rule))
            elif (
                isinstance(trig, AbsentTrigger) and episode.state is State.INACTIVE and self._alive
            ):
                timers.append(
                    (self._last_seen.get(trig.signal, self._now) + trig.hold, "fire", rule)
                )
        for key, gate in self._gates.items():
            due = gate.digest_due(self._rule(key[0]).cooldown)
            if due is not None:
                timers.append((due, "digest", key))
        return timers

    def _compute_due(self) -> tuple[float, str, Rule | tuple[str, str] | None]:
        timers = self._timers()
        if not timers:
            return INF, "", None
        return min(timers, key=lambda x: x[0])

    def _run_timers(self, t: float) -> list[Decision]:
        out: list[Decision] = []
        while True:
            due, what, target = self._compute_due()
            if due > t or target is None:
                self._next_due = due
                return out
            self._now = max(self._now, due)
            if isinstance(target, tuple):
                out.append(self._digest(target, due))
            elif what == "repeat":
                out.append(self._remind(target, due))
            else:
                out.extend(self._fire(target, due))

    def _rule(self, rule_id: str) -> Rule:
        return self._by_id[rule_id]

    # --- log lines -----------------------------------------------------------------------

    def _keep_tail(self, source: str, texts: Sequence[str]) -> None:
        if self._context:
            tail = self._tails.setdefault(source, deque(maxlen=self._context))
            tail.extend(texts[-self._context :])

    def _with_tail(self, source: str, inside: list[str], n: int) -> tuple[str, ...]:
        """`inside` (the lines before a hit in its block) completed to `n` lines from the
        lines kept of earlier blocks."""
        return _completed(self._tails.get(source, ()), inside, n)

    def _on_hit(
        self,
        source: str,
        texts: Sequence[str],
        line_nos: Sequence[int],
        hit: Hit,
        t: float,
        context: Callable[[int], Sequence[str]] | None = None,
    ) -> list[Decision]:
        """The decision a hit on `texts[hit.line]` makes; `context(n)` gives the `n` lines
        before it (by default, those of `texts` and of earlier blocks)."""
        target = self._targets[hit.pattern]
        if isinstance(target, Signal):
            return self._on_signal(target, hit.match, t)
        trig = target.trigger
        assert isinstance(trig, LogTrigger)
        captures = {k: as_value(v) for k, v in hit.match.groupdict().items()}
        values: dict[str, Value] = {**self._metrics, **captures}
        if trig.where is not None and not trig.where.holds(values):
            return []
        text, line_no = texts[hit.line], line_nos[hit.line]
        values.update(line=text, source=source, line_no=line_no)
        group = trig.group_by.render(captures) if trig.group_by else ""
        lines: Sequence[str]
        if context is None:
            inside = list(texts[max(0, hit.line - trig.context) : hit.line])
            lines = self._with_tail(source, inside, trig.context) if trig.context else ()
        else:
            lines = context(trig.context)
        where = {"source": source, "line": text, "line_no": line_no, "context": lines}
        draft = partial(self._draft, target, t, group, values, where)
        return [self._occurrence(target, t, group, draft, trig.count, trig.within)]

    def _on_signal(self, signal: Signal, match: re.Match[str], t: float) -> list[Decision]:
        if signal.has_value:
            value = as_value(match.group("value"))
            if not isinstance(value, int | float):
                return self._seen(signal.name, t)
        else:
            previous = self._metrics.get(signal.name, 0)
            value = (previous if isinstance(previous, int | float) else 0) + 1
        self._metrics[signal.name] = value
        return [*self._seen(signal.name, t), *self._evaluate(t, (signal.name,))]

    # --- events --------------------------------------------------------------------------

    def _on_event(self, t: float, event: Event) -> list[Decision]:
        out: list[Decision] = []
        if event.name == "start":
            self._alive = True
            for rule in self._stateful:
                signal = _absent_of(rule)
                if signal is not None:
                    self._last_seen[signal] = t
        elif event.name == "exit":
            self._alive = False
            out.extend(self._resolve_absent(t))
        elif event.name == "heartbeat" and self._activity_rules:
            self._last_seen[ACTIVITY] = t
            out.extend(self._seen(ACTIVITY, t))
        for rule in self._event_rules:
            out.extend(self._on_event_rule(rule, t, event))
        self._next_due = min(self._next_due, self._compute_due()[0])
        return out

    def _on_event_rule(self, rule: Rule, t: float, event: Event) -> list[Decision]:
        trig = rule.trigger
        assert isinstance(trig, EventTrigger)
        if trig.name != event.name:
            return []
        values: dict[str, Value] = {**self._metrics, **event.fields}
        if trig.where is not None and not trig.where.holds(values):
            return []
        group = trig.group_by.render(event.fields) if trig.group_by else ""
        draft = partial(self._draft, rule, t, group, values)
        return [self._occurrence(rule, t, group, draft, trig.count, trig.within)]

    # --- instantaneous rules: count/within, cooldown, silences ----------------------------

    def _draft(
        self,
        rule: Rule,
        t: float,
        group: str,
        values: dict[str, Value],
        where: Mapping[str, Any] | None = None,
    ) -> Decision:
        values.update(
            rule=rule.id,
            severity=rule.severity.label,
            host=self.host,
            project=self.project,
            time=_iso(t),
        )
        return Decision(
            t=t,
            rule=rule.id,
            group=group,
            reason=Reason.FIRST,
            severity=rule.severity,
            summary=rule.summary.render(values),
            advice=rule.advice.render(values) if rule.advice else "",
            labels=rule.labels,
            channels=rule.channels,
            values=values,
            action=rule.action,
            kind=rule.kind,
            **(where or {}),
        )

    def _occurrence(
        self,
        rule: Rule,
        t: float,
        group: str,
        draft: Callable[[], Decision],
        count: int,
        within: float,
    ) -> Decision:
        """An occurrence through its `count`/`within` window and the cooldown gate; its
        decision is drafted (summary, values...) only where it is needed."""
        if count > 1:
            window = self._windows.setdefault((rule.id, group), deque())
            window.append(t)
            while window and window[0] <= t - within:
                window.popleft()
            if len(window) < count:
                if self._lean:
                    return _bare(rule, t, group, Reason.COUNTING)
                return revised(draft(), reason=Reason.COUNTING, action=None)
            window.clear()
        return self._gated(rule, t, group, draft)

    def _gated(self, rule: Rule, t: float, group: str, draft: Callable[[], Decision]) -> Decision:
        """Through the cooldown gate; a would-be notification under a silence is held back."""
        key = (rule.id, group)
        gate = self._gates.setdefault(key, Gate())
        if gate.would_send(t, rule.cooldown):
            made = draft()
            if self._silenced(made):
                return revised(made, reason=Reason.SILENCED, action=None)
            return gate.offer(made, rule.cooldown)
        if self._lean:  # the gate keeps how to draft it, for a digest
            gate.hold(t, draft)
            decision = _bare(rule, t, group, Reason.SUPPRESSED)
        else:
            decision = gate.offer(draft(), rule.cooldown)
        self._holding.add(key)
        self._next_due = min(self._next_due, gate.digest_due(rule.cooldown) or INF)
        return decision

    def _silenced(self, decision: Decision) -> bool:
        return any(s.covers(decision.rule, decision.group, decision.t) for s in self._silences)

    def _unless_silenced(self, decision: Decision) -> Decision:
        if not self._silenced(decision):
            return decision
        return revised(decision, reason=Reason.SILENCED, action=None)

    def _digest(self, key: tuple[str, str], t: float) -> Decision:
        decision = self._gates[key].digest(t)
        episode = self._episodes.get(key[0])
        if episode is not None and episode.state is State.FIRING:
            episode.notified, episode.last_sent = True, t  # so its resolution is sent too
        return self._unless_silenced(decision)

    # --- stateful rules: metric and absent ------------------------------------------------

    def _evaluate(self, t: float, changed: Iterable[str]) -> list[Decision]:
        rules = {r.id: r for name in changed for r in self._deps.get(name, ())}
        out: list[Decision] = []
        for rule in rules.values():
            out.extend(self._step_metric(rule, t))
        return out

    def _step_metric(self, rule: Rule, t: float) -> list[Decision]:
        trig = rule.trigger
        assert isinstance(trig, MetricTrigger)
        episode = self._episodes[rule.id]
        holds = trig.condition.holds(self._metrics)
        if holds is None:
            return []
        if episode.state is State.INACTIVE and holds:
            episode.state, episode.active_since = State.PENDING, t
            if trig.hold > 0:
                self._next_due = min(self._next_due, t + trig.hold)
                return [revised(self._stateful_decision(rule, t, Reason.PENDING), action=None)]
            return self._fire(rule, t)
        if episode.state is State.PENDING and not holds:
            episode.state = State.INACTIVE
            return []
        if episode.state is State.FIRING:
            ends = trig.resolve.holds(self._metrics) if trig.resolve else not holds
            if ends:
                return [self._resolve(rule, t)]
        return []

    def _seen(self, signal: str, t: float) -> list[Decision]:
        self._last_seen[signal] = t
        out = []
        for rule in self._stateful:
            if _absent_of(rule) == signal and self._episodes[rule.id].state is State.FIRING:
                out.append(self._resolve(rule, t))
        return out

    def _resolve_absent(self, t: float) -> list[Decision]:
        return [
            self._resolve(r, t)
            for r in self._stateful
            if _absent_of(r) is not None and self._episodes[r.id].state is State.FIRING
        ]

    def _fire(self, rule: Rule, t: float) -> list[Decision]:
        episode = self._episodes[rule.id]
        if isinstance(rule.trigger, AbsentTrigger):
            episode.active_since = self._last_seen.get(rule.trigger.signal, t)
        episode.state = State.FIRING
        draft = self._stateful_decision(rule, t, Reason.FIRST)
        decision = self._gated(rule, t, draft.group, lambda: draft)
        episode.notified = decision.notifies
        episode.last_sent = t
        self._next_due = min(self._next_due, self._compute_due()[0])
        return [decision]

    def _remind(self, rule: Rule, t: float) -> Decision:
        self._episodes[rule.id].last_sent = t
        reminder = revised(self._stateful_decision(rule, t, Reason.REPEAT), action=None)
        return self._unless_silenced(reminder)

    def _resolve(self, rule: Rule, t: float) -> Decision:
        episode = self._episodes[rule.id]
        episode.state = State.INACTIVE
        reason = Reason.RESOLVED if episode.notified else Reason.SUPPRESSED
        decision = self._stateful_decision(rule, t, reason, episode.active_since)
        self._next_due = min(self._next_due, self._compute_due()[0])
        decision = revised(decision, duration_s=t - episode.active_since, action=None)
        return self._unless_silenced(decision) if decision.notifies else decision

    def _stateful_decision(
        self, rule: Rule, t: float, reason: Reason, since: float | None = None
    ) -> Decision:
        values: dict[str, Value] = dict(self._metrics)
        signal = _absent_of(rule)
        if signal is not None:
            silent = t - self._last_seen.get(signal, t) if since is None else t - since
            values.update(silent_s=round(silent, 3), silent_for=format_duration(silent))
        draft = self._draft(rule, t, "", values)
        return revised(draft, reason=reason)


def _log(rule: Rule) -> LogTrigger:
    assert isinstance(rule.trigger, LogTrigger)
    return rule.trigger


def _absent_of(rule: Rule) -> str | None:
    return rule.trigger.signal if isinstance(rule.trigger, AbsentTrigger) else None


def _hold(rule: Rule) -> float:
    assert isinstance(rule.trigger, AbsentTrigger | MetricTrigger)
    return rule.trigger.hold


def _dependencies(rules: Sequence[Rule]) -> dict[str, list[Rule]]:
    """For each metric name, the metric rules whose condition or resolve reads it."""
    deps: dict[str, list[Rule]] = {}
    for rule in rules:
        trig = rule.trigger
        if isinstance(trig, MetricTrigger):
            names = trig.condition.names | (trig.resolve.names if trig.resolve else frozenset())
            for name in names:
                deps.setdefault(name, []).append(rule)
    return deps
