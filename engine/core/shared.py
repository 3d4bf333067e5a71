"""The engine's memory that more than one of its parts reads or writes, and its timers' shape."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from engine.core.lifecycle import Episode
from engine.model import Value

INF = math.inf

Timer = tuple[float, int, Any]
"""(when it comes due, rank, what is due): of two timers due at once, the lower rank runs
first (rules rank in load order, cooldown gates after every rule)."""


@dataclass
class Shared:
    """What the parts of one engine share."""

    metrics: dict[str, Value] = field(default_factory=dict)
    last_seen: dict[str, float] = field(default_factory=dict)  # signal or `activity` -> when
    episodes: dict[str, Episode] = field(default_factory=dict)  # stateful rule -> its state
    now: float = -INF
    next_due: float = INF  # no timer comes due before this

    def due_by(self, t: float) -> None:
        if t < self.next_due:
            self.next_due = t
