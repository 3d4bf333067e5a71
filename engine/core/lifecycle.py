"""The two small state machines of the core: the cooldown gate and the stateful episode.

Both are plain data plus one transition function each; neither reads a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from engine.model import Decision, Reason, revised


class State(enum.Enum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"


@dataclass
class Episode:
    """A metric or absent rule's current state, and what is needed to leave it."""

    state: State = State.INACTIVE
    active_since: float = 0.0  # condition true (metric) or signal last seen (absent)
    notified: bool = False  # whether this firing was sent, so its resolution is sent too
    last_sent: float = 0.0  # for `repeat`


@dataclass
class Gate:
    """Cooldown bookkeeping for one rule and group.

    Occurrences inside the cooldown are counted (and the latest kept), so the
    next notification, or a digest when the cooldown ends, stands for them.
    """

    last_sent: float | None = None
    suppressed: int = 0
    since: float | None = None
    held: Decision | Callable[[], Decision] | None = None  # the latest held back, or its maker

    def would_send(self, t: float, cooldown: float) -> bool:
        return self.last_sent is None or t - self.last_sent >= cooldown

    def offer(self, draft: Decision, cooldown: float) -> Decision:
        """Decide a new occurrence: notify now (first, cooldown elapsed) or suppress it."""
        t = draft.t
        if self.last_sent is None:
            return self._send(draft, Reason.FIRST)
        if t - self.last_sent >= cooldown:
            return self._send(draft, Reason.COOLDOWN_ELAPSED)
        self.hold(t, draft)
        return revised(draft, reason=Reason.SUPPRESSED)

    def hold(self, t: float, draft: Decision | Callable[[], Decision]) -> None:
        """Count an occurrence at `t` inside the cooldown and keep it (or how to make it:
        only the latest is ever shown, in the digest)."""
        if self.suppressed == 0:
            self.since = t
        self.suppressed += 1
        self.held = draft

    def held_draft(self) -> Decision | None:
        """The latest occurrence held back, made now if only its maker was kept."""
        if self.held is not None and not isinstance(self.held, Decision):
            self.held = self.held()
        return self.held

    def _send(self, draft: Decision, reason: Reason) -> Decision:
        count, since = 1 + self.suppressed, self.since
        self.last_sent, self.suppressed, self.since, self.held = draft.t, 0, None, None
        return revised(draft, reason=reason, count=count, since=since)

    def digest_due(self, cooldown: float) -> float | None:
        """When the held occurrences must be reported, if any are held."""
        if self.held is None or self.last_sent is None:
            return None
        return self.last_sent + cooldown

    def digest(self, t: float) -> Decision:
        """The held occurrences as one notification at `t` (the end of the cooldown)."""
        held = self.held_draft()
        assert held is not None
        decision = revised(
            held,
            t=t,
            reason=Reason.DIGEST,
            count=self.suppressed,
            since=self.since,
            action=None,
        )
        self.last_sent, self.suppressed, self.since, self.held = t, 0, None, None
        return decision
