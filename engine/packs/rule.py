"""Compiled rules: what the core evaluates, built by `engine.packs.compile`, never by hand."""

from __future__ import annotations

import fnmatch
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from engine.model import Action, Kind, Severity, Value
from engine.packs.expr import Expression
from engine.packs.template import Template
from engine.vocabulary import ACTIVITY


def source_matches(stream: str | None, source: str) -> bool:
    """Whether a line from `source` is seen by a rule restricted to `stream`."""
    if stream is None or stream == source:
        return True
    if stream in ("stdout", "stderr"):
        return False
    base = source.rsplit("/", 1)[-1]
    return fnmatch.fnmatchcase(source, stream) or fnmatch.fnmatchcase(base, stream)


@dataclass(frozen=True, eq=False)
class Pattern:
    """A regex (Python's `re`: what a rule means) with the options that decide which lines
    it sees. The matcher runs it through the `regex` module (`engine.match.exact`)."""

    regex: re.Pattern[str]
    stream: str | None = None

    @property
    def captures(self) -> tuple[str, ...]:
        return tuple(self.regex.groupindex)


@dataclass(frozen=True, eq=False)
class Signal:
    """A value derived from log lines: its `value` group, or a count of matches."""

    name: str
    pattern: Pattern
    path: str
    line: int

    @property
    def has_value(self) -> bool:
        return "value" in self.pattern.regex.groupindex


@dataclass(frozen=True, eq=False)
class Unless:
    """A log rule's sequel: a line of `pattern` within `within` of an occurrence cancels it."""

    pattern: Pattern
    within: float


@dataclass(frozen=True, eq=False)
class LogTrigger:
    pattern: Pattern
    where: Expression | None = None
    count: int = 1
    within: float = 0.0
    context: int = 20
    group_by: Template | None = None
    unless: Unless | None = None


@dataclass(frozen=True, eq=False)
class EventTrigger:
    name: str
    where: Expression | None = None
    count: int = 1
    within: float = 0.0
    group_by: Template | None = None


@dataclass(frozen=True, eq=False)
class MetricTrigger:
    condition: Expression
    resolve: Expression | None = None
    hold: float = 0.0  # `for`
    repeat: float | None = None


@dataclass(frozen=True, eq=False)
class AbsentTrigger:
    signal: str  # a signal name or "activity"
    hold: float  # `for`
    repeat: float | None = None


Trigger = LogTrigger | EventTrigger | MetricTrigger | AbsentTrigger


@dataclass(frozen=True, eq=False)
class Examples:
    fires: tuple[str | Mapping[str, Value], ...] = ()
    quiet: tuple[str | Mapping[str, Value], ...] = ()
    fire_lines: tuple[int, ...] = ()  # the line of each example in its file
    quiet_lines: tuple[int, ...] = ()


@dataclass(frozen=True, eq=False)
class Inhibition:
    """A rule whose occurrence is folded into another rule's alert (the cause) of at least
    `severity` that carries every label of `labels`, coming up to `before` earlier or up to
    `after` later (the occurrence waits that long). A cause's notification waits up to
    `gather` (or until the training exits) for this rule's occurrence, so that one message
    carries both."""

    severity: Severity
    labels: Mapping[str, str]
    before: float
    after: float
    gather: float = 0.0

    def covers(self, rule: Rule) -> bool:
        """Whether an alert of `rule` is such a cause (a rule that is inhibited itself is
        one too: the first of several generic alerts stands for the others)."""
        return rule.severity >= self.severity and all(
            rule.labels.get(k) == v for k, v in self.labels.items()
        )


@dataclass(frozen=True, eq=False)
class Translation:
    """A rule's texts in one other language; None: that text falls back to English."""

    summary: Template | None = None
    advice: Template | None = None


@dataclass(frozen=True, eq=False)
class Rule:
    id: str
    kind: Kind
    severity: Severity
    trigger: Trigger
    summary: Template
    advice: Template | None = None
    translations: Mapping[str, Translation] = field(default_factory=dict)  # by language tag
    labels: Mapping[str, str] = field(default_factory=dict)
    cooldown: float = 300.0
    channels: tuple[str, ...] = ()
    enabled: bool = True
    action: Action | None = None
    examples: Examples = field(default_factory=Examples)
    inhibited_by: Inhibition | None = None
    path: str = "<memory>"
    line: int = 0

    @property
    def condition(self) -> str:
        """What the rule watches, as written: a metric rule's condition, the signal an
        absent rule waits for, an event rule's event; empty for a log rule (its cause is
        the line it matched)."""
        trig = self.trigger
        if isinstance(trig, MetricTrigger):
            return trig.condition.text
        if isinstance(trig, AbsentTrigger):
            return trig.signal
        if isinstance(trig, EventTrigger):
            return trig.name
        return ""


TRACEBACK_PATTERNS: tuple[Pattern, ...] = (
    Pattern(re.compile(r"(?:Traceback|(?P<stack>Stack)) \(most recent call last\):")),
    Pattern(re.compile(r'\bFile "(?P<file>[^"]+)", line \d+, in (?P<function>[^\s(),]+)')),
    Pattern(
        re.compile(
            r"During handling of the above exception, another exception occurred"
            r"|The above exception was the direct cause of the following exception"
        )
    ),
    Pattern(
        re.compile(
            r"^(?:> ?)*\s*(?:\[[^\]\n]+\]:? ?)*(?:- )?(?:[\w.-]+ +\| ?)?"
            r"(?P<type>(?:[A-Za-z_]\w*\.)*[A-Z]\w*"
            r"(?:Error|Exception|Interrupt|Exit|Fault|Failure|Timeout))(?:: ?(?P<message>.*))?$"
        )
    ),
)
"""What a traceback's lines look like, after the patterns of the rules when a rule watches
`event: exception`: its first line (or a stack's: logging's `stack_info`), a frame, a
chained part's marker, its last line (the exception's type and message, behind the
prefixes real logs put there)."""


@dataclass(frozen=True, eq=False)
class RuleSet:
    """Every enabled and disabled rule and signal of the loaded packs, in load order."""

    rules: tuple[Rule, ...] = ()
    signals: tuple[Signal, ...] = ()
    files: tuple[str, ...] = ()

    @cached_property
    def enabled(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)

    @cached_property
    def patterns(self) -> tuple[Pattern, ...]:
        """What a matcher for these rules is built from, in the order its hits name them:
        every signal's pattern, then every enabled log rule's, in load order, then the
        `unless` pattern of each enabled log rule that has one, in the same order, then
        `TRACEBACK_PATTERNS` when a rule watches `event: exception`."""
        logs = [r.trigger for r in self.enabled if isinstance(r.trigger, LogTrigger)]
        sequels = (t.unless.pattern for t in logs if t.unless is not None)
        tracebacks = TRACEBACK_PATTERNS if self.tracebacks else ()
        signals = (s.pattern for s in self.signals)
        return (*signals, *(t.pattern for t in logs), *sequels, *tracebacks)

    @cached_property
    def tracebacks(self) -> bool:
        """Whether an enabled rule watches `event: exception`: then the lines of Python
        tracebacks are assembled into that event (`TRACEBACK_PATTERNS` find them)."""
        return any(
            isinstance(r.trigger, EventTrigger) and r.trigger.name == "exception"
            for r in self.enabled
        )

    @cached_property
    def context(self) -> int:
        """The most lines before a matched line that an enabled log rule attaches."""
        logs = (r.trigger for r in self.enabled if isinstance(r.trigger, LogTrigger))
        return max((trig.context for trig in logs), default=0)

    @cached_property
    def silence_gap(self) -> float:
        """The shortest silence of output that an enabled `absent: activity` rule waits
        for (infinite without such rules): a reader must not skip over one this long."""
        holds = (
            r.trigger.hold
            for r in self.enabled
            if isinstance(r.trigger, AbsentTrigger) and r.trigger.signal == ACTIVITY
        )
        return min(holds, default=math.inf)
