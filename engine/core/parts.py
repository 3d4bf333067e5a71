"""The hooks through which the engine reaches the rules of each kind, and what parts share.

A `Part` holds the rules of one kind. The engine tells every part, in registry order
(`engine.core.kinds.PARTS`), what happened: a line matched, values changed, an event
came, a signal was seen; each part answers with its decisions and offers its timers. The hooks do
nothing by default, so a part implements only what its kind reacts to.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from engine.core.drafts import Drafter
from engine.core.gates import Gates
from engine.core.shared import INF, Shared, Timer
from engine.match.matcher import Hit, Matcher, Overrun
from engine.model import Decision, Event
from engine.packs.rule import Rule, Signal

Context = Callable[[int, int], Sequence[str]]
"""`context(i, n)`: the `n` lines before line `i` of a block (fewer at a source's start)."""


class Lines(Protocol):
    """A block's lines as a hit sees them (a `LineBlock` or a `SparseBlock`)."""

    @property
    def source(self) -> str: ...
    @property
    def texts(self) -> Sequence[str]: ...
    @property
    def line_nos(self) -> Sequence[int]: ...


@dataclass(frozen=True)
class Kit:
    """What every part is built with."""

    shared: Shared
    drafter: Drafter
    gates: Gates
    matcher: Matcher
    signals: Sequence[Signal]
    ranks: Mapping[str, int]  # rule id -> its place among the enabled rules
    seen: Callable[[float, str, bool], list[Decision]]  # (t, signal, its value changed)
    refresh: Callable[[], None]  # lowers `shared.next_due` to the earliest timer
    emit: Callable[[Event], list[Decision]]  # an event made here (a traceback) to every part
    tracebacks: bool = False  # the matcher's last patterns are `TRACEBACK_PATTERNS`


class Part:
    """The rules of one kind. Every hook returns the decisions it made (none by default)."""

    def __init__(self, rules: Sequence[Rule], kit: Kit) -> None:
        self.rules = rules
        self.kit = kit
        self.shared = kit.shared

    def arm(self, t: float) -> None:
        """The first observation came, at `t`."""

    def quiet_limit(self) -> float:
        """How long output may stay silent before this part must look (INF: never)."""
        return INF

    def timers(self) -> Iterator[Timer]:
        return iter(())

    def run_timer(self, what: Any, t: float) -> list[Decision]:
        raise NotImplementedError(what)

    def on_hit(
        self, hit: Hit | Overrun, lines: Lines, t: float, context: Context
    ) -> list[Decision]:
        """A line matched a pattern (`Hit`), or a pattern was suspended on it (`Overrun`)."""
        return []

    def on_values(self, t: float, names: Sequence[str]) -> list[Decision]:
        """The values of `names` changed: a sample came, or a signal's value."""
        return []

    def on_event(self, t: float, event: Event) -> list[Decision]:
        return []

    def on_seen(self, t: float, name: str) -> list[Decision]:
        """The signal `name` (or `activity`: any output) was seen."""
        return []
