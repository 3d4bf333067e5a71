"""From the pipeline thread to the server thread: the status model fed, immutable views published.

`Publisher` is the pipeline's observer: it runs in the pipeline thread, feeds
the `Status`, and, once `EVERY_S` has passed since the last view (`URGENT_S` when
an alert or news of the training comes), replaces `Latest.view` with a new
immutable `View`: the snapshot already encoded as JSON and scrubbed, and the
totals /metrics needs. The server thread only reads `Latest.view` (one reference,
swapped whole), so nothing it does can hold up evaluation; a failure here is
reported once and the dashboard keeps its last view, while the rules go on.
"""

from __future__ import annotations

import json
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.core.engine import Engine
from engine.model import Decision, Event, LineBlock, Observation
from engine.notify.delivery import ChannelCounts
from engine.web.status import Status

EVERY_S = 0.5  # the most often a view is published without an alert
URGENT_S = 0.05  # ... and with one, or with news of the training:
NEWS = frozenset({"start", "exit", "restart", "gave_up", "patched"})


@dataclass(frozen=True)
class View:
    """One published state: what /api/state, /api/events and /metrics serve."""

    seq: int
    body: bytes  # the snapshot as JSON, secrets scrubbed
    state: Mapping[str, Any]
    lines: int = 0
    alerts: Mapping[tuple[str, str], int] = field(default_factory=dict)
    deliveries: Mapping[str, ChannelCounts] = field(default_factory=dict)
    latest: Mapping[str, float] = field(default_factory=dict)
    news_seq: int = 0  # grows with every alert and every start, exit, restart...


class Latest:
    """The newest view; written by one thread, read by any (a reference swap)."""

    def __init__(self, view: View | None = None) -> None:
        self.view = view


def encode(state: Mapping[str, Any], scrub: Callable[[str], str]) -> bytes:
    return scrub(json.dumps(state, ensure_ascii=False, allow_nan=False, default=str)).encode()


class Publisher:
    def __init__(
        self,
        status: Status,
        engine: Engine,
        latest: Latest,
        scrub: Callable[[str], str],
        notice: Callable[[str], None],
        deliveries: Callable[[], Mapping[str, ChannelCounts]] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.status, self.engine, self.latest = status, engine, latest
        self.scrub, self.notice, self.deliveries, self.clock = scrub, notice, deliveries, clock
        self.patched: Callable[[], Sequence[Mapping[str, Any]]] = list
        self._signals = {name: engine.metrics.get(name) for name in status.progress.signals}
        self._seq = 0
        self._news_seq = 0
        self._published = -1e18
        self._failed = False

    def __call__(self, cause: Observation | LineBlock, decisions: Sequence[Decision]) -> None:
        """The pipeline's observer hook: never raises."""
        try:
            self._observe(cause, decisions)
        except Exception:
            if not self._failed:
                self._failed = True
                self.notice(
                    "dashboard: internal error (rules and training go on):\n"
                    + traceback.format_exc()
                )

    def _observe(self, cause: Observation | LineBlock, decisions: Sequence[Decision]) -> None:
        if isinstance(cause, Event) and cause.name == "patched":
            cause = self._with_detail(cause)
        alert = self.status.observe(cause, decisions)
        t = self.status.now
        if t is None:
            return
        self._check_progress(t)
        if decisions:
            self.status.rule_states(t, self.engine.states())
        news = alert or (isinstance(cause, Event) and cause.name in NEWS)
        if news:
            self._news_seq += 1
        wait = URGENT_S if news else EVERY_S
        if self.clock() - self._published >= wait:
            self.publish()

    def _check_progress(self, t: float) -> None:
        metrics = self.engine.metrics
        for name, before in self._signals.items():
            now = metrics.get(name)
            if now != before:
                self._signals[name] = now
                self.status.progressed(t)

    def _with_detail(self, event: Event) -> Event:
        messages = self.patched()
        detail = messages[-1].get("detail") if messages else None
        return Event(event.t, event.name, {**event.fields, "detail": str(detail or "")})

    def publish(self) -> View:
        status = self.status
        if status.now is not None:
            status.rule_states(status.now, self.engine.states())
        if self.deliveries is not None:
            status.outbox(self.deliveries())
        state = status.snapshot()
        self._seq += 1
        view = View(
            seq=self._seq,
            body=encode(state, self.scrub),
            state=state,
            lines=status.counters.lines,
            alerts=dict(status.counters.alerts),
            deliveries=dict(status.deliveries),
            latest=status.latest(),
            news_seq=self._news_seq,
        )
        self.latest.view = view
        self._published = self.clock()
        return view
