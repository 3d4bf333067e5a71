"""Alert records (``engine.notify.record.AlertRecord``) as alerts of Alertmanager's v2 API
(``PostableAlert``): labels, annotations and the time the alert is active. Pure.

Alertmanager identifies an alert by its labels and keeps it active until its ``endsAt``: a
resolution ends it; a firing stateful rule holds for ``hold`` (its resolution ends it earlier);
a one-off alert (``log``, ``event``) expires after ``expire``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, cast

from engine.notify.plugins import _robot
from engine.notify.record import AlertRecord
from engine.notify.render import render

EXPIRE = 3600.0  # a one-off alert (log, event) stays active this long
HOLD = 24 * 3600.0  # a firing stateful alert (metric, absent): this long, or until resolved
STATEFUL = frozenset({"metric", "absent"})
MARGIN = 2.0  # seconds a resolution's endsAt stays before Alertmanager's now (clock skew)
DESCRIPTION_BYTES = 8_000
MESSAGE_ALERT = "rlswarm-message"
_SEVERITY = {"failure": "error", "warning": "warning", "success": "info", "info": "info"}

Record = Mapping[str, Any]


def rfc3339(t: float) -> str:
    """``2025-07-08T11:12:21.250Z``: the form Alertmanager reads."""
    stamp = datetime.fromtimestamp(t, tz=timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def records_of(body: str) -> list[Record] | None:
    """The alert records in a ``json``-style body (one record, or a digest), else None."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if isinstance(data, dict) and isinstance(data.get("digest"), list):
        data = data["digest"]
    items = data if isinstance(data, list) else [data]
    ok = items and all(isinstance(i, dict) and "rule" in i and "t" in i for i in items)
    return items if ok else None


def stateful(record: Record) -> bool:
    """Whether a resolution will follow this firing: the rule is a ``metric`` or ``absent`` one.

    Records without a ``kind`` are what delivery makes up itself (``delivery-failing``,
    ``channels test``): one-off."""
    return str(record.get("kind")) in STATEFUL


def active_window(record: Record, expire: float, hold: float, now: float) -> tuple[float, float]:
    """(startsAt, endsAt) in Unix seconds; `now` is Alertmanager's clock, as best known.

    Alertmanager lets a resolution end an alert only if its endsAt has passed by its own clock
    (else the longer endsAt of the firing wins), so a resolution ends at its time or, if that is
    not yet past there (a node clock ahead), a little before Alertmanager's now."""
    t = float(record["t"])
    if record.get("reason") == "resolved":
        end = min(t, now - MARGIN)
        lasted = record.get("duration_s")
        start = t - float(lasted) if isinstance(lasted, int | float) else t
        return min(start, end), end
    since = record.get("since_t")
    start = float(since) if isinstance(since, int | float) and since <= t else t
    return start, t + (hold if stateful(record) else expire)


def labels_of(record: Record) -> dict[str, str]:
    """The alert's identity: the rule's own labels, then ours (which win on a clash)."""
    labels = {str(k): str(v) for k, v in (record.get("labels") or {}).items() if str(v)}
    labels.update(
        alertname=str(record["rule"]),
        rule=str(record["rule"]),
        severity=str(record.get("severity") or "info"),
        node=str(record.get("host") or ""),
        project=str(record.get("project") or ""),
    )
    if record.get("group"):
        labels["group"] = str(record["group"])
    return {k: v for k, v in labels.items() if v}


def annotations_of(record: Record, project: str) -> dict[str, str]:
    text = render(cast(AlertRecord, record), "text", project, DESCRIPTION_BYTES).body
    notes = {"summary": str(record.get("summary") or record["rule"]), "description": text}
    if record.get("advice") and record.get("reason") != "resolved":
        notes["advice"] = str(record["advice"]).strip()
    return notes


def alert_of(record: Record, expire: float, hold: float, now: float) -> dict[str, Any]:
    """One postable alert of Alertmanager's v2 API for one alert record."""
    start, end = active_window(record, expire, hold, now)
    return {
        "labels": labels_of(record),
        "annotations": annotations_of(record, str(record.get("project") or "")),
        "startsAt": rfc3339(start),
        "endsAt": rfc3339(end),
    }


def message_alert(title: str, body: str, notify_type: str, now: float, expire: float) -> Any:
    """A message that is not an alert record, as one alert."""
    summary = _robot.one_line(title) or _robot.headline_of(body) or MESSAGE_ALERT
    return {
        "labels": {"alertname": MESSAGE_ALERT, "severity": _SEVERITY.get(notify_type, "info")},
        "annotations": {"summary": summary, "description": _robot.cut_at(body, DESCRIPTION_BYTES)},
        "startsAt": rfc3339(now),
        "endsAt": rfc3339(now + expire),
    }
