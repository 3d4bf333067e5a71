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


class Draft:
    """A decision made the first time it is asked for, then kept.

    A gate keeps the latest occurrence it holds back as one of these: replay holds back
    tens of thousands that no digest ever shows, and drafts (summary, values, alert
    context) only the one that a digest does."""

    __slots__ = ("_made", "_make")

    def __init__(
        self, make: Callable[[], Decision] | None = None, made: Decision | None = None
    ) -> None:
        self._make, self._made = make, made

    @classmethod
    def of(cls, decision: Decision) -> Draft:
        """A draft already made."""
        return cls(made=decision)

    def __call__(self) -> Decision:
        if self._make is not None:
            self._made, self._make = self._make(), None
        assert self._made is not None
        return self._made


@dataclass
class Gate:
    """Cooldown bookkeeping for one rule and group.

    Occurrences inside the cooldown are counted (and the latest kept), so the
    next notification, or a digest when the cooldown ends, stands for them.
    """

    last_sent: float | None = None
    suppressed: int = 0
    since: float | None = None
    held: Draft | None = None  # the latest occurrence held back

    def would_send(self, t: float, cooldown: float) -> bool:
        return self.last_sent is None or t - self.last_sent >= cooldown

    def offer(self, draft: Decision, cooldown: float) -> Decision:
        """Decide a new occurrence: notify now (first, cooldown elapsed) or suppress it."""
        t = draft.t
        if self.last_sent is None:
            return self._send(draft, Reason.FIRST)
        if t - self.last_sent >= cooldown:
            return self._send(draft, Reason.COOLDOWN_ELAPSED)
        self.hold(t, Draft.of(draft))
        return revised(draft, reason=Reason.SUPPRESSED)

    def hold(self, t: float, draft: Draft) -> None:
        """Count an occurrence at `t` inside the cooldown and keep it (only the latest is
        ever shown, in the digest)."""
        if self.suppressed == 0:
            self.since = t
        self.suppressed += 1
        self.held = draft

    def held_draft(self) -> Decision | None:
        """The latest occurrence held back, drafted now if it was not yet."""
        return None if self.held is None else self.held()

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
