"""What every occurrence passes on its way out: its `count`/`within` window, the cooldown
gate of its rule and group, and the silences.

An occurrence is drafted (summary, values, alert context) only where it is needed: a
lean engine (replay keeping only what notifies) counts what a window or a cooldown
holds back without drafting it, and the gate keeps how to draft the latest one for its
digest.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from typing import cast

from engine.core.drafts import bare
from engine.core.lifecycle import Draft, Gate, State
from engine.core.shared import INF, Shared, Timer
from engine.model import Decision, Kind, LaterLines, Reason, Severity, Silence, revised
from engine.packs.rule import Inhibition, Rule

Key = tuple[str, str]  # (rule id, group)
Then = Callable[[Rule, float, str, Callable[[], Decision]], Decision]
"""What takes an occurrence that its window let through: (rule, t, group, draft)."""

MAX_GROUPS = 1000
"""Groups of one rule the gates keep at once (in a cooldown or a `count` window); beyond
them, a new group's occurrences are counted as one group, `OTHER_GROUPS`."""
OTHER_GROUPS = "(other groups)"
GROUPS_CAPPED = "groups-capped"
"""The rule id of the warning that a rule reached `MAX_GROUPS`."""
SWEEP_EVERY_S = 1.0  # at the cap, look for idle groups to forget at most this often


class Gates:
    def __init__(
        self, shared: Shared, silences: Iterable[Silence], lean: bool, rules: Sequence[Rule]
    ) -> None:
        self._shared = shared
        self._rules = {rule.id: rule for rule in rules}
        self._ranks = {rule.id: i for i, rule in enumerate(rules)}
        rank = len(rules)
        self._latest: dict[str, float] = {}  # rule id -> its latest occurrence at the gate
        self._folding: dict[Key, _Folding] = {}  # occurrences waiting for a cause
        self._gathering: dict[Key, _Gathering] = {}  # causes' alerts waiting for what they fold
        self._gather_for: dict[str, float] = {}  # rule id -> how long its alerts gather
        self._orphans: dict[str, list[Decision]] = {}  # folded into a cause that still waits
        self._causes: dict[str, tuple[str, ...]] = {}  # rule id -> the rules that inhibit it
        self._silences = list(silences)
        self._lean = lean
        self._rank = rank  # a digest ranks after every rule's own timers
        self._gates: dict[Key, Gate] = {}
        self._cooldowns: dict[str, float] = {}
        self._windows: dict[Key, deque[float]] = {}
        self._holding: set[Key] = set()  # gates that held an occurrence back lately
        self._groups: dict[str, set[str]] = {}  # rule id -> its groups with a gate or window
        self._swept: dict[str, float] = {}  # rule id -> when its idle groups were last dropped

    @property
    def lean(self) -> bool:
        return self._lean

    def occurrence(
        self,
        rule: Rule,
        t: float,
        group: str,
        draft: Callable[[], Decision],
        count: int,
        within: float,
        then: Then | None = None,
    ) -> list[Decision]:
        """An occurrence through its `count`/`within` window, then the gate (or `then`, which
        takes it from there: a log rule's `unless` wait); with a warning before it when its
        rule has just reached `MAX_GROUPS`."""
        out: list[Decision] = []
        if group and group not in self._groups.setdefault(rule.id, set()):
            group, draft = self._admit(rule, t, group, draft, within, out)
        if count > 1:
            window = self._windows.setdefault((rule.id, group), deque())
            window.append(t)
            while window and window[0] <= t - within:
                window.popleft()
            if len(window) < count:
                if self._lean:
                    return [*out, bare(rule, t, group, Reason.COUNTING)]
                return [*out, revised(draft(), reason=Reason.COUNTING, action=None)]
            window.clear()
        return [*out, (then or self.admit)(rule, t, group, draft)]

    def admit(self, rule: Rule, t: float, group: str, draft: Callable[[], Decision]) -> Decision:
        """An occurrence that nothing else holds: folded into its cause (`inhibited_by`),
        waiting for one, or through the gate."""
        inhibition = rule.inhibited_by
        if inhibition is None:
            return self.gated(rule, t, group, draft)
        cause = self._cause(rule, inhibition, t - inhibition.before)
        if cause is not None:
            return self._inhibited(rule, t, group, draft, cause)
        if inhibition.after <= 0:
            return self.gated(rule, t, group, draft)
        key = (rule.id, group)
        held = self._folding.get(key)
        if held is None:
            self._folding[key] = _Folding(rule, t, t + inhibition.after, draft)
            self._shared.due_by(t + inhibition.after)
        if self._lean:
            return bare(rule, t, group, Reason.PENDING)
        return revised(draft(), reason=Reason.PENDING, action=None)

    def _cause(self, rule: Rule, inhibition: Inhibition, since: float) -> str | None:
        """The rule (another than `rule`) of the latest alert since `since` that inhibits
        `rule`; None when there is none."""
        causes = self._causes.get(rule.id)
        if causes is None:
            others = (r for r in self._rules.values() if r.id != rule.id)
            causes = self._causes[rule.id] = tuple(r.id for r in others if inhibition.covers(r))
        best: tuple[float, str] | None = None
        for rule_id in causes:
            t = self._latest.get(rule_id)
            if t is not None and t > since and (best is None or t > best[0]):
                best = (t, rule_id)
        if best is None:  # an occurrence that waits for a cause of its own stands for this one
            for (rule_id, _), held in self._folding.items():
                if held.since > since and rule_id in causes:
                    return rule_id
        return None if best is None else best[1]

    def _inhibited(
        self, rule: Rule, t: float, group: str, draft: Callable[[], Decision], cause: str
    ) -> Decision:
        gathering = self._gathered_by(cause)
        waiting = gathering is None and any(rule_id == cause for rule_id, _ in self._folding)
        passed_on = self._orphans.pop(rule.id, [])  # what was folded into this occurrence
        if self._lean and gathering is None and not waiting:
            return revised(bare(rule, t, group, Reason.INHIBITED), inhibited_by=cause)
        folded = revised(draft(), t=t, reason=Reason.INHIBITED, action=None, inhibited_by=cause)
        if gathering is not None:
            gathering.folded += [folded, *passed_on]
        elif waiting:  # the cause still waits for one of its own: it takes them along
            self._orphans.setdefault(cause, []).extend([folded, *passed_on])
        return folded

    def _gathered_by(self, cause: str) -> _Gathering | None:
        """The alert of `cause` that waits for what it folds, if one does (the latest)."""
        found = [g for (rule_id, _), g in self._gathering.items() if rule_id == cause]
        return max(found, key=lambda g: g.decision.t) if found else None

    def _gather_time(self, rule: Rule) -> float:
        """How long a notifying alert of `rule` waits for the occurrences it folds: the
        longest `gather` of the rules whose `inhibited_by` it covers (log and event rules)."""
        wait = self._gather_for.get(rule.id)
        if wait is None:
            wait = 0.0
            if rule.kind in (Kind.LOG, Kind.EVENT):
                for other in self._rules.values():
                    inhibition = other.inhibited_by
                    if other.id != rule.id and inhibition is not None and inhibition.covers(rule):
                        wait = max(wait, inhibition.gather)
            self._gather_for[rule.id] = wait
        return wait

    def _gather(self, decision: Decision, rule: Rule, t: float) -> Decision:
        """A notification of a cause that gathers (see `_gather_time`): kept until what it
        folds came, the training exited or the time is up; one without is passed on."""
        wait = self._gather_time(rule)
        orphans = self._orphans.pop(rule.id, [])
        if wait <= 0 or not decision.notifies or decision.action is not None:
            return decision
        key = (rule.id, decision.group)
        earlier = self._gathering.pop(key, None)
        self._gathering[key] = _Gathering(decision, t + wait, orphans)
        self._shared.due_by(t + wait)
        if earlier is not None:  # cannot happen within a cooldown; sent as it is
            return self._gathered(earlier)
        return revised(decision, reason=Reason.GATHERING)

    @staticmethod
    def _gathered(held: _Gathering) -> Decision:
        return revised(held.decision, folded=tuple(held.folded))

    def finish(self, t: float) -> list[Decision]:
        """The input ended (or the training exited): each occurrence still waiting for a
        cause is decided now, then each cause's alert still gathering is sent."""
        keys = sorted(self._folding, key=lambda k: (self._ranks[k[0]], k[1]))
        out = [self._folded(key, t) for key in keys]
        gathered = sorted(self._gathering, key=lambda k: (self._ranks[k[0]], k[1]))
        self._orphans.clear()  # their cause was sent at once (no `gather`) or held back
        return out + [self._gathered(self._gathering.pop(key)) for key in gathered]

    def _folded(self, key: Key, t: float) -> Decision:
        """The end of a wait for a cause: folded into one that came, or through the gate."""
        held = self._folding.pop(key)
        rule = held.rule
        assert rule.inhibited_by is not None
        cause = self._cause(rule, rule.inhibited_by, held.since - rule.inhibited_by.before)
        if cause is not None:
            return self._inhibited(rule, t, key[1], held.draft, cause)
        return self.gated(rule, t, key[1], lambda: revised(held.draft(), t=t))

    def restart(self, rules: Iterable[str]) -> None:
        """The training starts (again): the `count`/`within` windows of `rules` (the log
        rules: lines of the run before do not add to this run's) are emptied, and no alert
        before counts as a cause (`inhibited_by`)."""
        ids = set(rules)
        for key in [k for k in self._windows if k[0] in ids]:
            del self._windows[key]
        self._latest.clear()  # nor is an alert of the run before the cause of this one's

    def _admit(
        self,
        rule: Rule,
        t: float,
        group: str,
        draft: Callable[[], Decision],
        within: float,
        out: list[Decision],
    ) -> tuple[str, Callable[[], Decision]]:
        """A group new to `rule`: taken while the rule has fewer than `MAX_GROUPS`, after
        forgetting its idle ones if it has that many; else folded into `OTHER_GROUPS`
        (and the first time, a warning is added to `out`)."""
        groups = self._groups[rule.id]
        if len(groups) >= MAX_GROUPS and t >= self._swept.get(rule.id, -INF) + SWEEP_EVERY_S:
            self._swept[rule.id] = t
            for idle in [g for g in groups if self._idle(rule, g, t, within)]:
                groups.discard(idle)
                self._gates.pop((rule.id, idle), None)
                self._windows.pop((rule.id, idle), None)
        if len(groups) < MAX_GROUPS:
            groups.add(group)
            return group, draft
        if OTHER_GROUPS not in groups:
            groups.add(OTHER_GROUPS)
            out.append(self._capped(rule, t, group))
        return OTHER_GROUPS, partial(_regrouped, draft)

    def _idle(self, rule: Rule, group: str, t: float, within: float) -> bool:
        """Nothing of `group` is held, counted or cooling down at `t`: forgetting it changes
        nothing but the reason of its next alert (first, not cooldown elapsed)."""
        gate = self._gates.get((rule.id, group))
        if gate is not None and (gate.held is not None or not gate.would_send(t, rule.cooldown)):
            return False
        window = self._windows.get((rule.id, group))
        return not window or window[-1] <= t - within

    def _capped(self, rule: Rule, t: float, group: str) -> Decision:
        return Decision(
            t=t,
            rule=GROUPS_CAPPED,
            group=rule.id,
            reason=Reason.FIRST,
            severity=Severity.WARNING,
            summary=f"rule '{rule.id}' has {MAX_GROUPS} groups at once; the next ones, "
            f"such as '{group}', are counted together as '{OTHER_GROUPS}'",
            advice=f"Its group_by ('{rule.id}') splits occurrences into more groups than "
            "can be told apart: each would be its own alert. Group by something with fewer "
            "values (a kind of error, not a number or an address), or by nothing.",
            labels={"category": "limit"},
        )

    def gated(self, rule: Rule, t: float, group: str, draft: Callable[[], Decision]) -> Decision:
        """Through the cooldown gate; a would-be notification under a silence is held back.
        Every occurrence that comes here, sent or not, is a possible cause (`inhibited_by`)."""
        self._latest[rule.id] = t
        key = (rule.id, group)
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = Gate()
            self._cooldowns[rule.id] = rule.cooldown
        if gate.would_send(t, rule.cooldown):
            made = draft()
            if self.silenced(made):
                return revised(made, reason=Reason.SILENCED, action=None)
            return self._gather(gate.offer(made, rule.cooldown), rule, t)
        if self._lean:
            gate.hold(t, Draft(draft))
            decision = bare(rule, t, group, Reason.SUPPRESSED)
        else:
            decision = gate.offer(draft(), rule.cooldown)
        self._holding.add(key)
        due = gate.digest_due(rule.cooldown)
        if due is not None:
            self._shared.due_by(due)
        return decision

    def silenced(self, decision: Decision) -> bool:
        return any(s.covers(decision.rule, decision.group, decision.t) for s in self._silences)

    def unless_silenced(self, decision: Decision) -> Decision:
        if not self.silenced(decision):
            return decision
        return revised(decision, reason=Reason.SILENCED, action=None)

    def timers(self) -> Iterator[Timer]:
        for key, held in self._folding.items():
            yield held.due, self._ranks[key[0]], ("fold", key)
        for key, gathering in self._gathering.items():
            yield gathering.due, self._ranks[key[0]], ("gather", key)
        for i, (key, gate) in enumerate(self._gates.items()):
            due = gate.digest_due(self._cooldowns[key[0]])
            if due is not None:
                yield due, self._rank + i, key

    def run_timer(self, what: Key | tuple[str, Key], t: float) -> list[Decision]:
        """The digest of what the gate of a key held back, the end of a wait for a cause, or
        of a cause's wait for what it folds."""
        if what[0] == "fold" and isinstance(what[1], tuple):
            return [self._folded(what[1], t)]
        if what[0] == "gather" and isinstance(what[1], tuple):
            return [self._gathered(self._gathering.pop(what[1]))]
        key = cast(Key, what)
        decision = self._gates[key].digest(t)
        episode = self._shared.episodes.get(key[0])
        if episode is not None and episode.state is State.FIRING:
            episode.notified, episode.last_sent = True, t  # so its resolution is sent too
        return [self.unless_silenced(decision)]

    def settle(self, decisions: Sequence[Decision]) -> None:
        """Read the alert context of what leaves the engine now (what notifies, when lean)
        and of what the gates hold for a digest, so that none keeps its block alive."""
        for decision in decisions:
            if isinstance(decision.context, LaterLines) and (decision.notifies or not self._lean):
                decision.context.settle()
        for key in self._holding:
            held = self._gates[key].held_draft()
            if held is not None and isinstance(held.context, LaterLines):
                held.context.settle()
        self._holding.clear()
        for gathering in self._gathering.values():
            for kept in (gathering.decision, *gathering.folded):
                if isinstance(kept.context, LaterLines):
                    kept.context.settle()


@dataclass
class _Folding:
    rule: Rule
    since: float
    due: float
    draft: Callable[[], Decision]


@dataclass
class _Gathering:
    decision: Decision  # the cause's notification, held
    due: float
    folded: list[Decision]


def _regrouped(draft: Callable[[], Decision]) -> Decision:
    return revised(draft(), group=OTHER_GROUPS)
