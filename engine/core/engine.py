"""The engine: the core's one entry, observations in, decisions (each with its reason) out.

`feed(observation)`, `feed_lines(block)` and `feed_sparse(block)` return the decisions
that the observation caused, including those of timers that came due before it (a
`for` that elapsed, a silence that grew too long, a cooldown that ended with held-back
occurrences). The engine walks a block's lines in time, running the timers that come
due and handing matched lines to the part of their kind (`engine.core.kinds`); the
parts decide, through the shared cooldown gates and silences (`engine.core.gates`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from engine.core.drafts import Drafter
from engine.core.gates import Gates
from engine.core.kinds import PARTS
from engine.core.lifecycle import State
from engine.core.logrules import LogRules, line_context, sparse_context
from engine.core.parts import Context, Kit, Lines, Part
from engine.core.shared import INF, Shared, Timer
from engine.core.sparse import SparseBlock
from engine.match.matcher import Hit, Matcher, Overrun
from engine.model import (
    Decision,
    Event,
    LineBlock,
    LogLine,
    Observation,
    Sample,
    Silence,
    Value,
)
from engine.packs.rule import RuleSet
from engine.vocabulary import ACTIVITY


class Engine:
    """Evaluates `rules`: `host` and `project` fill templates, `silences` hold notifications
    back, `matcher` finds the lines a pattern matches (built for `rules.patterns`; by
    default the pure-Python one). A `lean` engine serves a caller that keeps only what
    notifies: the decisions that do not notify come bare (rule, time and reason only)."""

    def __init__(
        self,
        rules: RuleSet,
        *,
        host: str = "",
        project: str = "",
        silences: Iterable[Silence] = (),
        matcher: Matcher | None = None,
        lean: bool = False,
    ) -> None:
        enabled = rules.enabled
        self._matcher = Matcher(rules.patterns) if matcher is None else matcher
        if self._matcher.patterns != rules.patterns:
            raise ValueError("the matcher was built for other patterns than these rules'")
        self._enabled = enabled
        self._shared = Shared()
        self._gates = Gates(self._shared, silences, lean, enabled)
        kit = Kit(
            shared=self._shared,
            drafter=Drafter(host, project),
            gates=self._gates,
            matcher=self._matcher,
            signals=rules.signals,
            ranks={rule.id: i for i, rule in enumerate(enabled)},
            seen=self._seen,
            refresh=self._refresh,
            emit=self._emit,
            tracebacks=rules.tracebacks,
        )
        self._parts: list[Part] = []
        for kind, part in PARTS.items():
            self._parts.append(part(tuple(r for r in enabled if r.kind is kind), kit))
        self._log = next(p for p in self._parts if isinstance(p, LogRules))
        self._timed: list[Part | Gates] = [*self._parts, self._gates]
        self._watch_activity = rules.silence_gap < INF
        self._armed = False
        # lines a pattern's search ran over its time budget on, by what the pattern stands
        # for (`LogRules.name_of`): those lines were not evaluated by it
        self.overruns: Counter[str] = Counter()

    @property
    def now(self) -> float:
        return self._shared.now

    @property
    def metrics(self) -> Mapping[str, Value]:
        """The latest value of every metric and signal."""
        return self._shared.metrics

    def states(self) -> dict[str, State]:
        """The current state of each metric and absent rule, in load order."""
        episodes = self._shared.episodes
        return {r.id: episodes[r.id].state for r in self._enabled if r.id in episodes}

    # --- feeding ---------------------------------------------------------------------------

    def feed(self, obs: Observation) -> list[Decision]:
        if isinstance(obs, LogLine):
            return self.feed_lines(LineBlock(obs.source, [obs.text], [obs.t], [obs.line_no]))
        out = self._advance(obs.t)
        t = self._shared.now
        if isinstance(obs, Sample):
            self._shared.metrics.update(obs.values)
            names = list(obs.values)
            for part in self._parts:
                out.extend(part.on_values(t, names))
        elif isinstance(obs, Event):
            out.extend(self._to_parts(t, obs))
            if obs.name == "exit":  # no line of the ended training is to come as a cause:
                out.extend(self._gates.finish(t))  # what waits for one is decided now
            self._refresh()
        return out

    def finish(self) -> list[Decision]:
        """The input ended without an `exit` (a replayed log's last line): each occurrence
        still waiting for its `unless` line fires now, as the log shows no such line, and
        each still waiting for a cause (`inhibited_by`) is decided with what came."""
        out = self._log.finish(self._shared.now)
        out.extend(self._gates.finish(self._shared.now))
        self._refresh()
        return out

    def feed_lines(self, block: LineBlock) -> list[Decision]:
        """Decisions for a block of lines from one source (times non-decreasing)."""
        if not block.texts:
            return []
        hits = self._suspending(self._matcher.scan(block.texts, block.source))
        context = line_context(block.texts, self._log.tail(block.source))
        out = self._walk(block, block.times[0], block.times, None, hits, context)
        self._log.keep(block.source, block.texts)
        return out

    def feed_sparse(self, block: SparseBlock) -> list[Decision]:
        """`feed_lines` over a stretch given through its points (see `SparseBlock`).

        The decisions are the same: between two points no line matches and no silence
        begins, so a timer that comes due there fires at its due time all the same, only
        checked for at the next point (or the stretch's end).
        """
        if not block.lines:
            return []
        hits = self._suspending(self._matcher.confirm(block.texts, block.pairs, block.source))
        context = sparse_context(block, self._log.tail(block.source))
        out = self._walk(block, block.first, block.times, block.befores, hits, context)
        end = max(block.end, self._shared.now)
        if end >= self._shared.next_due:
            out.extend(self._timers_at(max(block.end_before, self._shared.now), end))
        self._shared.now = end
        self._shared.last_seen[ACTIVITY] = end
        self._gates.settle(out)
        self._log.keep(block.source, block.tail)
        return out

    @property
    def budget(self) -> float:
        """Seconds one search of one line may take (`Matcher.budget`)."""
        return self._matcher.budget

    def _suspending(self, hits: list[Hit]) -> Sequence[Hit | Overrun]:
        """`hits`, and before the hits of its line each search that suspended a pattern
        (see `Matcher.take_overruns`): it becomes an alert there. Every search over the
        budget is counted in `overruns`."""
        overruns = self._matcher.take_overruns()
        for overrun in overruns:
            self.overruns[self._log.name_of(overrun.pattern)] += 1
        suspended = [o for o in overruns if o.suspended]
        if not suspended:
            return hits
        merged: list[Hit | Overrun] = [*hits, *suspended]
        merged.sort(key=lambda x: (x.line, x.pattern if isinstance(x, Hit) else -1))
        return merged

    def _walk(
        self,
        lines: Lines,
        first: float,
        times: Sequence[float],
        befores: Sequence[float] | None,
        hits: Sequence[Hit | Overrun],
        context: Context,
    ) -> list[Decision]:
        """Through a block's lines (or a stretch's points) in time: at each, the timers that
        came due before it (and a silence that ended there), then the hits on it.
        `befores[i]`: the time of the line before point `i` (None: every line is given)."""
        shared, last_seen, log = self._shared, self._shared.last_seen, self._log
        out = self._advance(first)
        if self._watch_activity:
            out.extend(self._seen(shared.now, ACTIVITY, False))
        h, n_hits = 0, len(hits)
        last = shared.now
        quiet = self._quiet_limit()
        for i, t in enumerate(times):
            t = max(t, last)
            before = last if befores is None else max(befores[i], last)
            if t >= shared.next_due or t - before >= quiet:
                out.extend(self._timers_at(before, t))
                quiet = self._quiet_limit()
            last = t
            while h < n_hits and hits[h].line == i:
                shared.now = t
                last_seen[ACTIVITY] = t
                out.extend(log.on_hit(hits[h], lines, t, context))
                h += 1
        shared.now = last
        last_seen[ACTIVITY] = last
        return out

    # --- signals and time ----------------------------------------------------------------

    def _seen(self, t: float, name: str, changed: bool) -> list[Decision]:
        """Every part hears that signal `name` was seen at `t`, then (`changed`) that its
        value changed."""
        out: list[Decision] = []
        for part in self._parts:
            out.extend(part.on_seen(t, name))
        if changed:
            for part in self._parts:
                out.extend(part.on_values(t, (name,)))
        return out

    def _emit(self, event: Event) -> list[Decision]:
        """An event the core made itself (a traceback assembled from lines), to every part."""
        out = self._to_parts(event.t, event)
        self._refresh()
        return out

    def _to_parts(self, t: float, event: Event) -> list[Decision]:
        return [d for part in self._parts for d in part.on_event(t, event)]

    def _quiet_limit(self) -> float:
        return min(part.quiet_limit() for part in self._parts)

    def _timers_at(self, before: float, t: float) -> list[Decision]:
        """At a line of time `t` whose previous line is at `before`, when a timer may be
        due: the timers (output was last seen at `before`), then output seen at `t`."""
        self._shared.last_seen[ACTIVITY] = before
        out = self._run_timers(t)
        if self._watch_activity:
            out.extend(self._seen(t, ACTIVITY, False))
        return out

    def _advance(self, t: float) -> list[Decision]:
        if not self._armed:
            self._armed = True
            self._shared.now = t
            for part in self._parts:
                part.arm(t)
            self._refresh()
        out = self._run_timers(t) if t >= self._shared.next_due else []
        self._shared.now = max(self._shared.now, t)
        return out

    def _earliest(self) -> tuple[Timer, Part | Gates] | None:
        best: tuple[Timer, Part | Gates] | None = None
        for owner in self._timed:
            for timer in owner.timers():
                if best is None or timer[:2] < best[0][:2]:
                    best = timer, owner
        return best

    def _refresh(self) -> None:
        """Lower the next due time to the earliest timer's (timers may have been added)."""
        earliest = self._earliest()
        if earliest is not None:
            self._shared.due_by(earliest[0][0])

    def _run_timers(self, t: float) -> list[Decision]:
        out: list[Decision] = []
        while True:
            earliest = self._earliest()
            if earliest is None or earliest[0][0] > t:
                self._shared.next_due = INF if earliest is None else earliest[0][0]
                return out
            (due, _, what), owner = earliest
            self._shared.now = max(self._shared.now, due)
            out.extend(owner.run_timer(what, due))
