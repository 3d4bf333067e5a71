"""The core's registry of rule kinds: the part that evaluates each kind.

The engine builds one part per entry, each with the enabled rules of its kind, and
tells them what happened in this order: an absent rule hears of the training's start
and exit before an event rule does.
"""

from __future__ import annotations

from collections.abc import Mapping

from engine.core.events import EventRules
from engine.core.logrules import LogRules
from engine.core.parts import Part
from engine.core.stateful import AbsentRules, MetricRules
from engine.model import Kind

PARTS: Mapping[Kind, type[Part]] = {
    Kind.ABSENT: AbsentRules,
    Kind.METRIC: MetricRules,
    Kind.EVENT: EventRules,
    Kind.LOG: LogRules,
}
