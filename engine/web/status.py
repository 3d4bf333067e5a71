"""The dashboard's status model: observations and decisions in, the `/api/state` snapshot out.

Fed by the pipeline thread with what the engine saw (lines, samples, events,
ticks) and decided, plus the rule states and the delivery numbers. Pure: it
reads no clock (time comes on the observations), does no I/O, starts no
threads. `snapshot()` builds the JSON document of docs/dashboard.md ("API").

Progress and "stalled": progress is a line matching a signal that a stall
rule watches (an `absent` rule labelled `category: stall_no_progress`; the
built-in `activity` counts only when no stall rule watches anything else).
The training is stalled while one of those rules is firing, or while the time
since the last progress (or since the start, before any) is at least the
shortest of their `for`. "crashed" follows an exit with a code other than 0
that nobody asked for, until a restart is announced ("restarting") or the
next start ("running").
"""

from __future__ import annotations

import hashlib
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from engine.core.lifecycle import State
from engine.model import Decision, Event, LineBlock, Observation, Reason, Sample
from engine.packs.rule import AbsentTrigger, RuleSet
from engine.vocabulary import ACTIVITY
from engine.web.training import Training

if TYPE_CHECKING:
    from engine.notify.delivery import ChannelCounts

SERIES_LEN = 600
ALERTS_LEN = 100
STALL_CATEGORY = "stall_no_progress"
HOST_SERIES = ("cpu_percent", "mem_percent", "swap_percent", "disk_percent", "proc_rss_gb")
ACCEL = ("gpu_mem_gb", "mps_mem_gb")
SERIES = (*HOST_SERIES, "accel_mem_gb", "seconds_since_progress")


@dataclass(frozen=True)
class Meta:
    """What does not change while `run` or `watch` is active."""

    node: str
    project: str
    version: str
    mode: str  # "run" | "watch"


@dataclass(frozen=True)
class Progress:
    """What counts as progress, from the stall rules of the loaded packs."""

    signals: frozenset[str] = frozenset()
    rules: frozenset[str] = frozenset()
    threshold: float | None = None  # seconds without progress that mean "stalled"

    @property
    def from_activity(self) -> bool:
        return not self.signals or self.signals == {ACTIVITY}

    @classmethod
    def of(cls, rules: RuleSet) -> Progress:
        stall = [
            (r.id, r.trigger)
            for r in rules.enabled
            if isinstance(r.trigger, AbsentTrigger) and r.labels.get("category") == STALL_CATEGORY
        ]
        signals = {trig.signal for _, trig in stall}
        chosen = (signals - {ACTIVITY}) or signals
        holds = [trig.hold for _, trig in stall if trig.signal in chosen]
        return cls(frozenset(chosen), frozenset(r for r, _ in stall), min(holds, default=None))


@dataclass
class Counters:
    """Running totals for /metrics (never reset while the process lives)."""

    lines: int = 0
    alerts: dict[tuple[str, str], int] = field(default_factory=dict)


class Status:
    def __init__(
        self,
        meta: Meta,
        progress: Progress = Progress(),
        severities: Mapping[str, str] | None = None,
    ) -> None:
        self.meta = meta
        self.progress = progress
        self.severities = dict(severities or {})
        self.now: float | None = None
        self.training = Training(watching=meta.mode == "watch")
        self.counters = Counters()
        self.last_progress: float | None = None
        self._series: deque[tuple[float | None, ...]] = deque(maxlen=SERIES_LEN)
        self._accel: float | None = None
        self._alerts: deque[dict[str, Any]] = deque(maxlen=ALERTS_LEN)
        self._rules: dict[str, tuple[str, float]] = {}
        self._summaries: dict[str, str] = {}
        self._decided: dict[str, float] = {}
        self._outbox: dict[str, ChannelCounts] = {}

    # --- feeding --------------------------------------------------------------------------

    def observe(self, cause: Observation | LineBlock, decisions: Sequence[Decision]) -> bool:
        """Take one observation and what the engine decided on it; True if an alert was sent."""
        t = cause.times[-1] if isinstance(cause, LineBlock) else cause.t
        self.now = t if self.now is None else max(self.now, t)
        if isinstance(cause, LineBlock):
            self.counters.lines += len(cause.texts)
            if self.progress.from_activity:
                self.progressed(t)
        elif isinstance(cause, Sample):
            self._sample(cause)
        elif isinstance(cause, Event):
            self._event(cause)
        return self._decisions(decisions)

    def progressed(self, t: float) -> None:
        """A progress line (or heartbeat, when activity is what counts) was seen at `t`."""
        self.last_progress = t if self.last_progress is None else max(self.last_progress, t)

    def rule_states(self, t: float, states: Mapping[str, State]) -> None:
        """The engine's current states of its metric and absent rules."""
        now: dict[str, tuple[str, float]] = {}
        for rule, state in states.items():
            if state is State.INACTIVE:
                continue
            before = self._rules.get(rule)
            if before is not None and before[0] == state.value:
                now[rule] = before
            else:
                now[rule] = (state.value, self._decided.get(rule, t))
        self._rules = now

    def outbox(self, counts: Mapping[str, ChannelCounts]) -> None:
        self._outbox = dict(counts)

    def _sample(self, sample: Sample) -> None:
        values = sample.values
        accel = [values[k] for k in ACCEL if k in values]
        if accel:
            self._accel = _number(sum(accel))
        if "cpu_percent" not in values:
            return  # the probe's memory report: kept for the next host sample
        row = [_number(values.get(k)) for k in HOST_SERIES]
        self._series.append((sample.t, *row, self._accel, self._since_progress(sample.t)))

    def _event(self, event: Event) -> None:
        self.training.event(event)
        if event.name in ("start", "exit"):
            self._accel = None
        if event.name == "heartbeat" and self.progress.from_activity:
            self.progressed(event.t)

    def _decisions(self, decisions: Sequence[Decision]) -> bool:
        sent = False
        for d in decisions:
            self._summaries[d.rule] = d.summary
            if d.reason in (
                Reason.PENDING,
                Reason.GATHERING,
                Reason.FIRST,
                Reason.SUPPRESSED,
                Reason.SILENCED,
            ):
                self._decided[d.rule] = d.t
            if not d.notifies:
                continue
            sent = True
            key = (d.rule, d.severity.label)
            self.counters.alerts[key] = self.counters.alerts.get(key, 0) + 1
            self._alerts.appendleft(_alert(d, sum(self.counters.alerts.values())))
        return sent

    # --- reading --------------------------------------------------------------------------

    def _since_progress(self, t: float) -> float | None:
        ref = self.last_progress
        started = self.training.started
        if started is not None and self.training.running and (ref is None or ref < started):
            ref = started
        return None if ref is None else max(0.0, t - ref)

    @property
    def stalled(self) -> bool:
        if not self.training.running and not self.training.watching:
            return False
        if any(r in self.progress.rules and s == "firing" for r, (s, _) in self._rules.items()):
            return True
        since = self._since_progress(self.now) if self.now is not None else None
        limit = self.progress.threshold
        return since is not None and limit is not None and since >= limit

    def snapshot(self) -> dict[str, Any]:
        now = self.now
        since = self._since_progress(now) if now is not None else None
        training = self.training.as_dict(now, self.stalled)
        training.update(last_progress=self.last_progress, seconds_since_progress=since)
        return {
            "node": self.meta.node,
            "project": self.meta.project,
            "now": now,
            "version": self.meta.version,
            "mode": self.meta.mode,
            "training": training,
            "rules": self.rule_list(),
            "alerts": list(self._alerts),
            "outbox": self.outbox_dict(),
            "series": self.series_dict(),
        }

    def rule_list(self) -> list[dict[str, Any]]:
        return [
            {
                "id": rule,
                "severity": self.severities.get(rule, ""),
                "state": state,
                "since": since,
                "summary": self._summaries.get(rule, ""),
            }
            for rule, (state, since) in sorted(self._rules.items())
        ]

    def outbox_dict(self) -> dict[str, Any]:
        channels = [
            {
                "name": name,
                "pending": c.pending,
                "failing": c.failing,
                "broken": c.broken,
                "last_error": c.last_error,
            }
            for name, c in self._outbox.items()
        ]
        return {"pending": sum(c["pending"] for c in channels), "channels": channels}

    @property
    def deliveries(self) -> Mapping[str, ChannelCounts]:
        return self._outbox

    def series_dict(self) -> dict[str, list[float | None]]:
        empty: list[tuple[float | None, ...]] = [()] * (len(SERIES) + 1)
        columns = list(zip(*self._series, strict=True)) if self._series else empty
        out: dict[str, list[float | None]] = {"t": list(columns[0])}
        for name, column in zip(SERIES, columns[1:], strict=True):
            out[name] = list(column)
        return out

    def latest(self) -> dict[str, float]:
        """The newest sample's series values that are known."""
        if not self._series:
            return {}
        return {k: v for k, v in zip(SERIES, self._series[-1][1:], strict=True) if v is not None}


def _number(value: object) -> float | None:
    """A finite number, or None (JSON has no NaN)."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def _alert(d: Decision, n: int) -> dict[str, Any]:
    raw = f"{d.rule}|{d.group}|{d.t:.6f}|{d.reason.value}|{n}"
    return {
        "t": d.t,
        "rule": d.rule,
        "severity": d.severity.label,
        "reason": d.reason.value,
        "summary": d.summary,
        "key": hashlib.sha256(raw.encode()).hexdigest()[:16],
    }
