"""The shared vocabulary: observations going into the core, decisions coming out.

Every observation carries its own time (seconds since the epoch, or any
monotonic origin the caller chooses); the core never reads a clock.

May import: errors
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, overload

Value = float | int | str | bool | None
"""What a metric, a capture or an event field can hold."""

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


def as_value(text: str | None) -> Value:
    """A capture as a number when it is one, else as text."""
    if text is None or not _NUMBER.fullmatch(text):
        return text
    try:
        return int(text)
    except ValueError:
        return float(text)


class Severity(enum.IntEnum):
    INFO = 0
    WARNING = 1
    ERROR = 2
    CRITICAL = 3

    @property
    def label(self) -> str:
        return _SEVERITY_LABELS[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


_SEVERITY_LABELS = {severity: severity.name.lower() for severity in Severity}


class Kind(enum.Enum):
    """The four kinds of rule; exactly one key of these names marks a rule's kind."""

    LOG = "log"
    METRIC = "metric"
    ABSENT = "absent"
    EVENT = "event"


class Action(enum.Enum):
    RESTART = "restart"
    STOP = "stop"


class Reason(enum.Enum):
    """Why the core decided what it did. Only some reasons send a notification."""

    FIRST = "first"  # first notification of this rule and group
    COOLDOWN_ELAPSED = "cooldown-elapsed"  # notified again, the cooldown having passed
    DIGEST = "digest"  # cooldown ended with suppressed matches: they are reported now
    REPEAT = "repeat"  # a firing stateful rule reminds (its `repeat` elapsed)
    RESOLVED = "resolved"  # a stateful rule stopped firing
    SUPPRESSED = "suppressed"  # inside the cooldown: counted, carried into the next one
    PENDING = "pending"  # condition true, `for` not yet elapsed
    COUNTING = "counting"  # a `count`/`within` rule saw a match, fewer than `count` so far
    SILENCED = "silenced"  # would have notified, but a silence covers it
    CANCELLED = "cancelled"  # a log rule's wait (`unless`) ended without firing
    INHIBITED = "inhibited"  # folded into the alert of its cause (`inhibited_by`)
    GATHERING = "gathering"  # a cause's alert waits for what it folds (`gather`), then notifies

    @property
    def notifies(self) -> bool:
        return self in _NOTIFYING


_NOTIFYING = frozenset(
    {Reason.FIRST, Reason.COOLDOWN_ELAPSED, Reason.DIGEST, Reason.REPEAT, Reason.RESOLVED}
)


@dataclass(frozen=True, slots=True)
class LogLine:
    """One line (or one carriage-return segment) of output, ANSI codes already stripped."""

    t: float
    source: str
    text: str
    line_no: int = 0


@dataclass(frozen=True, slots=True)
class LineBlock:
    """Consecutive lines of one source; `times` and `line_nos` run parallel to `texts`.

    The block form lets the matcher scan many lines in one call.
    """

    source: str
    texts: Sequence[str]
    times: Sequence[float]
    line_nos: Sequence[int]


@dataclass(frozen=True, slots=True)
class Sample:
    """Named numbers taken at one moment (host, process tree, accelerator...)."""

    t: float
    values: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Event:
    """Something the supervisor or the in-process probe reports: start, exit, patched..."""

    t: float
    name: str
    fields: Mapping[str, Value] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passes with nothing observed; lets `for`, `absent` and cooldowns move."""

    t: float


Observation = LogLine | Sample | Event | Tick


@dataclass(frozen=True, slots=True)
class Silence:
    """Notifications of `rule` (and `group`, when set) between `start` and `end` are held."""

    rule: str
    start: float
    end: float
    group: str | None = None

    def covers(self, rule: str, group: str, t: float) -> bool:
        in_window = self.start <= t < self.end
        return in_window and self.rule == rule and self.group in (None, group)


class LaterLines(Sequence[str]):
    """Lines of alert context read only when first looked at (or when `settle` is called):
    replay decides tens of thousands of occurrences a cooldown holds back and never shows.
    Equal to a tuple of the same lines."""

    __slots__ = ("_lines", "_read")

    def __init__(self, read: Callable[[], tuple[str, ...]]) -> None:
        self._read: Callable[[], tuple[str, ...]] | None = read
        self._lines: tuple[str, ...] = ()

    def settle(self) -> tuple[str, ...]:
        """Read the lines now, and let go of what they were read from."""
        if self._read is not None:
            self._lines, self._read = self._read(), None
        return self._lines

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self.settle()[index]

    def __len__(self) -> int:
        return len(self.settle())

    def __iter__(self) -> Iterator[str]:
        return iter(self.settle())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LaterLines | tuple):
            return self.settle() == tuple(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self.settle())


@dataclass(frozen=True, slots=True)
class Texts:
    """A decision's summary and advice in one other language ("" where not translated)."""

    summary: str = ""
    advice: str = ""


ENDINGS = ("seen", "exit", "cleared", "resolve")
"""What ends a firing state: the signal (or output) seen again, the training's exit, the
condition no longer holding, or a metric rule's `resolve` condition holding."""


@dataclass(frozen=True, slots=True)
class Decision:
    """What the core decided about one rule and group at one moment, and why."""

    t: float
    rule: str
    group: str
    reason: Reason
    severity: Severity
    summary: str
    advice: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    channels: tuple[str, ...] = ()
    values: Mapping[str, Value] = field(default_factory=dict)
    count: int = 1  # occurrences this notification stands for (1 + those suppressed)
    since: float | None = None  # time of the first occurrence it stands for, when count > 1
    duration_s: float | None = None  # how long a resolved alert was active
    source: str | None = None
    line: str | None = None
    line_no: int | None = None
    context: Sequence[str] = ()  # a tuple, or `LaterLines` from replay's fast path
    action: Action | None = None
    kind: Kind | None = None  # of the rule; None for what delivery makes up itself
    condition: str = ""  # what the rule watches, as written (see `Rule.condition`)
    ended_by: str | None = None  # what ended a resolved state: one of ENDINGS
    translations: Mapping[str, Texts] = field(default_factory=dict)  # by language tag
    inhibited_by: str | None = None  # the rule whose alert this occurrence was folded into
    folded: tuple[Decision, ...] = ()  # the occurrences folded into this alert (`gather`)

    @property
    def notifies(self) -> bool:
        return self.reason.notifies


_DECISION_FIELDS = tuple(f.name for f in fields(Decision))
_set = object.__setattr__


def revised(decision: Decision, **changes: Any) -> Decision:
    """`dataclasses.replace` for a decision, in half the time: the core makes one or two
    for every occurrence (counting, held back by a cooldown, sent)."""
    new = object.__new__(Decision)
    for name in _DECISION_FIELDS:
        _set(new, name, getattr(decision, name))
    for name, value in changes.items():
        if name not in _DECISION_FIELDS:
            raise TypeError(f"Decision has no field {name!r}")
        _set(new, name, value)
    return new
