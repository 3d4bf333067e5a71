"""Metric and absent rules: a condition that holds (or a silence that lasts) is a state.

Each rule has an `Episode`: inactive, pending (its `for` not yet elapsed) or firing.
Firing goes through the rule's cooldown gate; a firing rule reminds every `repeat`
and sends its resolution when the condition ends or the signal comes back, if its
firing was sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from engine.core.lifecycle import Episode, State
from engine.core.parts import Kit, Part
from engine.core.shared import INF, Timer
from engine.durations import format_duration
from engine.model import Decision, Event, Reason, Value, revised
from engine.packs.rule import AbsentTrigger, MetricTrigger, Rule
from engine.vocabulary import ACTIVITY


class Stateful(Part):
    """What metric and absent rules share."""

    def __init__(self, rules: Sequence[Rule], kit: Kit) -> None:
        super().__init__(rules, kit)
        self.episodes = {rule.id: Episode() for rule in rules}
        kit.shared.episodes.update(self.episodes)

    def timers(self) -> Iterator[Timer]:
        ranks = self.kit.ranks
        for rule in self.rules:
            episode = self.episodes[rule.id]
            trig = rule.trigger
            assert isinstance(trig, MetricTrigger | AbsentTrigger)
            if episode.state is State.PENDING:
                yield episode.active_since + trig.hold, ranks[rule.id], ("fire", rule)
            elif episode.state is State.FIRING and episode.notified and trig.repeat:
                yield episode.last_sent + trig.repeat, ranks[rule.id], ("repeat", rule)
            else:
                due = self.idle_due(rule, episode)
                if due is not None:
                    yield due, ranks[rule.id], ("fire", rule)

    def idle_due(self, rule: Rule, episode: Episode) -> float | None:
        """When an inactive rule fires by itself (None: only an observation can make it)."""
        return None

    def run_timer(self, what: tuple[str, Rule], t: float) -> list[Decision]:
        step, rule = what
        return self._fire(rule, t) if step == "fire" else [self._remind(rule, t)]

    def _fire(self, rule: Rule, t: float) -> list[Decision]:
        episode = self.episodes[rule.id]
        self.starting(rule, episode, t)
        episode.state = State.FIRING
        draft = self.decision(rule, t, Reason.FIRST)
        decision = self.kit.gates.gated(rule, t, draft.group, lambda: draft)
        episode.notified = decision.notifies
        episode.last_sent = t
        self.kit.refresh()
        return [decision]

    def starting(self, rule: Rule, episode: Episode, t: float) -> None:
        """Set what the episode that fires at `t` counts from."""

    def _remind(self, rule: Rule, t: float) -> Decision:
        self.episodes[rule.id].last_sent = t
        reminder = revised(self.decision(rule, t, Reason.REPEAT), action=None)
        return self.kit.gates.unless_silenced(reminder)

    def resolve(self, rule: Rule, t: float, ended_by: str) -> Decision:
        """The rule's state ends at `t`, for the reason `ended_by` (see `model.ENDINGS`)."""
        episode = self.episodes[rule.id]
        episode.state = State.INACTIVE
        reason = Reason.RESOLVED if episode.notified else Reason.SUPPRESSED
        decision = self.decision(rule, t, reason, episode.active_since)
        self.kit.refresh()
        decision = revised(
            decision, duration_s=t - episode.active_since, action=None, ended_by=ended_by
        )
        return self.kit.gates.unless_silenced(decision) if decision.notifies else decision

    def decision(
        self, rule: Rule, t: float, reason: Reason, since: float | None = None
    ) -> Decision:
        draft = self.kit.drafter.draft(rule, t, "", self.values(rule, t, since))
        return revised(draft, reason=reason)

    def values(self, rule: Rule, t: float, since: float | None) -> dict[str, Value]:
        return dict(self.shared.metrics)


class MetricRules(Stateful):
    """A condition over the latest metrics and signal values, held for `for`."""

    def __init__(self, rules: Sequence[Rule], kit: Kit) -> None:
        super().__init__(rules, kit)
        self._deps: dict[str, list[Rule]] = {}  # metric name -> the rules that read it
        for rule in rules:
            trig = _metric(rule)
            names = trig.condition.names | (trig.resolve.names if trig.resolve else frozenset())
            for name in names:
                self._deps.setdefault(name, []).append(rule)

    def on_values(self, t: float, names: Sequence[str]) -> list[Decision]:
        return self._evaluate(t, names)

    def _evaluate(self, t: float, changed: Sequence[str]) -> list[Decision]:
        rules = {r.id: r for name in changed for r in self._deps.get(name, ())}
        out: list[Decision] = []
        for rule in rules.values():
            out.extend(self._step(rule, t))
        return out

    def _step(self, rule: Rule, t: float) -> list[Decision]:
        trig = _metric(rule)
        episode = self.episodes[rule.id]
        metrics = self.shared.metrics
        holds = trig.condition.holds(metrics)
        if holds is None:
            return []
        if episode.state is State.INACTIVE and holds:
            episode.state, episode.active_since = State.PENDING, t
            if trig.hold > 0:
                self.shared.due_by(t + trig.hold)
                return [revised(self.decision(rule, t, Reason.PENDING), action=None)]
            return self._fire(rule, t)
        if episode.state is State.PENDING and not holds:
            episode.state = State.INACTIVE
            return []
        if episode.state is State.FIRING:
            ends = trig.resolve.holds(metrics) if trig.resolve else not holds
            if ends:
                return [self.resolve(rule, t, "resolve" if trig.resolve else "cleared")]
        return []


class AbsentRules(Stateful):
    """A signal (or any output: `activity`) not seen for `for`, while the training lives."""

    def __init__(self, rules: Sequence[Rule], kit: Kit) -> None:
        super().__init__(rules, kit)
        self._alive = True
        self._activity = [r for r in rules if _absent(r).signal == ACTIVITY]

    def arm(self, t: float) -> None:
        self._reset(t)

    def quiet_limit(self) -> float:
        if not self._alive:
            return INF
        holds = [
            _absent(r).hold
            for r in self._activity
            if self.episodes[r.id].state is State.INACTIVE
        ]
        return min(holds, default=INF)

    def idle_due(self, rule: Rule, episode: Episode) -> float | None:
        if episode.state is not State.INACTIVE or not self._alive:
            return None
        trig = _absent(rule)
        return self.shared.last_seen.get(trig.signal, self.shared.now) + trig.hold

    def starting(self, rule: Rule, episode: Episode, t: float) -> None:
        episode.active_since = self.shared.last_seen.get(_absent(rule).signal, t)

    def values(self, rule: Rule, t: float, since: float | None) -> dict[str, Value]:
        values = super().values(rule, t, since)
        last = self.shared.last_seen.get(_absent(rule).signal, t)
        silent = t - last if since is None else t - since
        values.update(silent_s=round(silent, 3), silent_for=format_duration(silent))
        return values

    def on_seen(self, t: float, name: str) -> list[Decision]:
        self.shared.last_seen[name] = t
        return [
            self.resolve(rule, t, "seen")
            for rule in self.rules
            if _absent(rule).signal == name and self.episodes[rule.id].state is State.FIRING
        ]

    def on_event(self, t: float, event: Event) -> list[Decision]:
        step = _LIFECYCLE.get(event.name)
        return [] if step is None else step(self, t)

    def _started(self, t: float) -> list[Decision]:
        """The training (re)started: silences count from now."""
        self._alive = True
        self._reset(t)
        return []

    def _exited(self, t: float) -> list[Decision]:
        """The training exited: no silence is too long any more; what fires is resolved."""
        self._alive = False
        return [self.resolve(r, t, "exit") for r in self.rules if self._firing(r)]

    def _heartbeat(self, t: float) -> list[Decision]:
        """The probe says the training is alive: that is activity too."""
        return self.on_seen(t, ACTIVITY) if self._activity else []

    def _firing(self, rule: Rule) -> bool:
        return self.episodes[rule.id].state is State.FIRING

    def _reset(self, t: float) -> None:
        """Every watched signal counts as just seen."""
        for rule in self.rules:
            self.shared.last_seen[_absent(rule).signal] = t


_LIFECYCLE: dict[str, Callable[[AbsentRules, float], list[Decision]]] = {
    "start": AbsentRules._started,
    "exit": AbsentRules._exited,
    "heartbeat": AbsentRules._heartbeat,
}
"""The supervisor's and the probe's events that absent rules follow, and what each does."""


def _metric(rule: Rule) -> MetricTrigger:
    assert isinstance(rule.trigger, MetricTrigger)
    return rule.trigger


def _absent(rule: Rule) -> AbsentTrigger:
    assert isinstance(rule.trigger, AbsentTrigger)
    return rule.trigger
