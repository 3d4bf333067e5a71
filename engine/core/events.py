"""Event rules: something the supervisor or the probe reported (start, exit, restart...)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from engine.core.parts import Kit, Part
from engine.model import Decision, Event, Value
from engine.packs.rule import EventTrigger, Rule


class EventRules(Part):
    def __init__(self, rules: Sequence[Rule], kit: Kit) -> None:
        super().__init__(rules, kit)
        self._by_name: dict[str, list[Rule]] = {}
        for rule in rules:
            self._by_name.setdefault(_event(rule).name, []).append(rule)

    def on_event(self, t: float, event: Event) -> list[Decision]:
        out: list[Decision] = []
        for rule in self._by_name.get(event.name, ()):
            trig = _event(rule)
            values: dict[str, Value] = {**self.shared.metrics, **event.fields}
            if trig.where is not None and not trig.where.holds(values):
                continue
            group = trig.group_by.render(event.fields) if trig.group_by else ""
            draft = partial(self.kit.drafter.draft, rule, t, group, values, _where(event))
            out += self.kit.gates.occurrence(rule, t, group, draft, trig.count, trig.within)
        return out


def _event(rule: Rule) -> EventTrigger:
    assert isinstance(rule.trigger, EventTrigger)
    return rule.trigger


def _where(event: Event) -> dict[str, object] | None:
    """An assembled traceback's lines are its alert's context (`context` of log rules)."""
    traceback = event.fields.get("traceback")
    if event.name == "exception" and isinstance(traceback, str) and traceback:
        return {"context": tuple(traceback.splitlines())}
    return None
