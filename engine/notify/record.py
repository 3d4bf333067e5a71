"""The alert record: a decision as JSON-ready data, the one shape every channel renders.

`decision_record` is what `replay --format jsonl` prints for a decision; `alert_record`
adds what delivery needs (an idempotency key, the host and project, advice, context,
values) and is what the outbox keeps and every renderer reads. Delivery's own notices
(a channel failing, `channels test`) are built by `notice_record` with the same keys.
Records read back from the outbox are trusted to have this shape (we wrote them);
renderers still read the optional parts with `.get`, so an older record renders too.
"""

from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TypedDict

from engine.model import Decision, Kind, Value
from engine.vocabulary import EVENTS


class TextsRecord(TypedDict):
    summary: str
    advice: str


class DecisionRecord(TypedDict):
    """A decision as replay prints it: times as ISO text (None when the log had no stamps)."""

    time: str | None
    t: float
    rule: str
    kind: str | None  # None: made up by delivery itself
    severity: str
    reason: str
    group: str
    summary: str
    labels: dict[str, str]
    count: int
    since: str | None
    duration_s: float | None
    source: str | None
    line_no: int | None
    line: str | None
    advice: str  # as written in the pack, its soft line breaks removed
    category: str | None  # the rule's `category` label


class FoldedRecord(TypedDict):
    """An occurrence folded into the alert's notification (`inhibited_by` with `gather`):
    the training's exit, the launcher's own error line, a generic exception."""

    rule: str
    kind: str | None
    severity: str
    t: float
    summary: str
    condition: str
    values: dict[str, Value]  # an exit's code, signal and runtime; not its last lines
    translations: dict[str, str]  # the summary by language tag


class AlertRecord(DecisionRecord):
    """A notification on its way to the channels, as the outbox keeps it."""

    context: list[str]
    action: str | None
    values: dict[str, Value]
    key: str  # the same on every retry and every channel
    host: str
    project: str
    since_t: float | None  # `since` as seconds since the epoch
    condition: str  # what the rule watches, as written (see `Rule.condition`)
    ended_by: str | None  # what ended a resolved state (see `model.ENDINGS`)
    translations: dict[str, TextsRecord]  # summary and advice by language tag
    links: dict[str, str]  # e.g. the dashboard's address, when one is served
    folded: list[FoldedRecord]  # what this one notification stands for besides its cause


def when(t: float, timed: bool) -> str | None:
    """ISO time of a log-time instant, or None when the log carried no timestamps."""
    if not timed:
        return None
    return datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")


def decision_record(d: Decision, timed: bool) -> DecisionRecord:
    return {
        "time": when(d.t, timed),
        "t": d.t,
        "rule": d.rule,
        "kind": d.kind.value if d.kind else None,
        "severity": d.severity.label,
        "reason": d.reason.value,
        "group": d.group,
        "summary": d.summary,
        "labels": dict(d.labels),
        "count": d.count,
        "since": when(d.since, timed) if d.since is not None else None,
        "duration_s": d.duration_s,
        "source": d.source,
        "line_no": d.line_no,
        "line": d.line,
        "advice": d.advice,
        "category": d.labels.get("category"),
    }


_SKIPPED_VALUES = frozenset({"line", "source", "line_no", "rule", "severity", "time"})


class Keys:
    """Idempotency keys of one process's notifications: unique, and the same on every
    retry and channel of one notification."""

    def __init__(self, process: str) -> None:
        self._process = process
        self._sequence = itertools.count(1)

    def __call__(self, decision: Decision, host: str) -> str:
        raw = f"{host}|{self._process}|{next(self._sequence)}|{decision.rule}|{decision.t:.6f}"
        return hashlib.sha256(raw.encode()).hexdigest()[:20]


_keys: list[Keys] = []


def alert_key(decision: Decision, host: str) -> str:
    """A key unique to this notification, from this process's own `Keys` (made at first use:
    the process id and the time it started keep two runs' keys apart)."""
    if not _keys:
        _keys.append(Keys(f"{os.getpid()}-{datetime.now(timezone.utc).timestamp():.6f}"))
    return _keys[0](decision, host)


def alert_record(
    decision: Decision, host: str, project: str, links: Mapping[str, str] | None = None
) -> AlertRecord:
    record = decision_record(decision, timed=True)
    values = {k: v for k, v in decision.values.items() if k not in _SKIPPED_VALUES}
    return {
        **record,
        "context": list(decision.context),
        "action": decision.action.value if decision.action else None,
        "values": values,
        "key": alert_key(decision, host),
        "host": host,
        "project": project,
        "t": decision.t,
        "since_t": decision.since,
        "condition": decision.condition,
        "ended_by": decision.ended_by,
        "translations": {
            tag: {"summary": texts.summary, "advice": texts.advice}
            for tag, texts in decision.translations.items()
        },
        "links": dict(links or {}),
        "folded": [folded_record(f) for f in decision.folded],
    }


def folded_record(d: Decision) -> FoldedRecord:
    return {
        "rule": d.rule,
        "kind": d.kind.value if d.kind else None,
        "severity": d.severity.label,
        "t": d.t,
        "summary": d.summary,
        "condition": d.condition,
        "values": {k: d.values[k] for k in _own_fields(d) if k in d.values},
        "translations": {tag: texts.summary for tag, texts in d.translations.items()},
    }


def _own_fields(d: Decision) -> tuple[str, ...]:
    """An event's own fields, but the long ones (its last lines, a traceback): the metrics
    of the moment are the cause's to show."""
    if d.kind is not Kind.EVENT:
        return ()
    return tuple(k for k in EVENTS.get(d.condition, ()) if k not in ("last_lines", "traceback"))


def notice_record(
    key: str,
    rule: str,
    severity: str,
    t: float,
    summary: str,
    advice: str,
    host: str,
    project: str,
    *,
    group: str = "",
    count: int = 1,
    labels: dict[str, str] | None = None,
) -> AlertRecord:
    """An alert that delivery makes up itself (no rule of a pack stands behind it)."""
    return {
        "time": when(t, True),
        "t": t,
        "rule": rule,
        "kind": None,
        "severity": severity,
        "reason": "first",
        "group": group,
        "summary": summary,
        "labels": labels or {},
        "count": count,
        "since": None,
        "duration_s": None,
        "source": None,
        "line_no": None,
        "line": None,
        "advice": advice,
        "category": (labels or {}).get("category"),
        "context": [],
        "action": None,
        "values": {},
        "key": key,
        "host": host,
        "project": project,
        "since_t": None,
        "condition": "",
        "ended_by": None,
        "translations": {},
        "links": {},
        "folded": [],
    }
