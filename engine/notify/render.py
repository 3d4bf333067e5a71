"""Alert records to messages, per style (console, text, markdown, html, sms, json). Pure.

An alert record (`engine.notify.record.AlertRecord`) is what the outbox keeps.
Each style respects a size limit: a long body is cut with a marker that says
how much was left out; a burst of alerts becomes one digest message.
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from engine.durations import format_duration
from engine.notify.record import AlertRecord

Alert = AlertRecord

LIMITS: Mapping[str, int] = {  # bytes of body per message, below what each robot accepts
    "dingtalk": 19_000,
    "wecombot": 4_000,
    "feishu": 19_000,
    "lark": 19_000,
}
SMS_CHARS = 160
CUT = "\n... (cut to fit: {n} more bytes)"
_SEVERITY_RANK = {"critical": 3, "error": 2, "warning": 1, "info": 0}
_ICONS = {"critical": "🔴", "error": "🟠", "warning": "🟡", "info": "🔵", "resolved": "🟢"}
_HTML_COLOURS = {
    "critical": "#b00020",
    "error": "#d9480f",
    "warning": "#b08800",
    "info": "#1c7ed6",
    "resolved": "#2b8a3e",
}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    format: str  # text | markdown | html
    notify_type: str  # info | success | warning | failure (Apprise's NotifyType values)


def _clock(t: float | None) -> str:
    """Local time with its zone, as the operator reads it: `2025-07-08 19:12:21 CST`."""
    if t is None:
        return "?"
    return datetime.fromtimestamp(t, tz=timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _hm(t: float | None) -> str:
    return _clock(t)[11:16] + _clock(t)[19:] if t is not None else "?"


def _since(alert: Alert) -> float | None:
    value = alert.get("since_t", alert.get("since"))
    return float(value) if isinstance(value, int | float) else None


def _resolved(alert: Alert) -> bool:
    return bool(alert.get("reason") == "resolved")


def _label(alert: Alert) -> str:
    return "RESOLVED" if _resolved(alert) else str(alert["severity"]).upper()


def notify_type(alert: Alert) -> str:
    if _resolved(alert):
        return "success"
    return {"critical": "failure", "error": "failure", "warning": "warning"}.get(
        str(alert["severity"]), "info"
    )


def headline(alert: Alert) -> str:
    """`CRITICAL cuda-oom: summary (and 3 more since 14:02)`; a resolved one says how long."""
    extra = ""
    count = int(alert.get("count") or 1)
    since = _since(alert)
    if alert.get("reason") == "digest":
        extra = f" ({count} more since {_hm(since)})"
    elif count > 1 and since is not None:
        extra = f" (and {count - 1} more since {_hm(since)})"
    lasted = alert.get("duration_s")
    if _resolved(alert) and lasted is not None:
        extra += f" after {format_duration(lasted)}"
    group = f" [{alert['group']}]" if alert.get("group") else ""
    return f"{_label(alert)} {alert['rule']}{group}{extra}: {alert['summary']}"


_HEADLINE_METRICS = (
    "mem_percent",
    "mem_available_gb",
    "swap_percent",
    "disk_free_gb",
    "cpu_percent",
    "proc_rss_gb",
    "gpu_mem_gb",
    "seconds_since_activity",
)


def _metrics(alert: Alert, only: Sequence[str] = ()) -> list[tuple[str, str]]:
    values = alert.get("values") or {}
    out = []
    for key in only or sorted(values):
        if key not in values:
            continue
        value = values[key]
        if isinstance(value, float):
            out.append((key, f"{value:.2f}"))
        elif isinstance(value, int | str) and not isinstance(value, bool):
            out.append((key, str(value)[:200]))
    return out[:40]


def _facts(alert: Alert) -> list[tuple[str, str]]:
    facts = [
        ("time", _clock(alert.get("t"))),
        ("host", str(alert.get("host", ""))),
        ("project", str(alert.get("project", ""))),
        ("rule", str(alert["rule"])),
        ("severity", str(alert["severity"])),
    ]
    if alert.get("group"):
        facts.append(("group", str(alert["group"])))
    if alert.get("source"):
        facts.append(("where", f"{alert['source']}:{alert.get('line_no') or '?'}"))
    if int(alert.get("count") or 1) > 1:
        facts.append(("occurrences", f"{alert['count']} since {_clock(_since(alert))}"))
    lasted = alert.get("duration_s")
    if _resolved(alert) and lasted is not None:
        facts.append(("lasted", format_duration(lasted)))
    labels = alert.get("labels") or {}
    if labels:
        facts.append(("labels", ", ".join(f"{k}={v}" for k, v in sorted(labels.items()))))
    return facts


def _lines(alert: Alert) -> list[str]:
    line = alert.get("line")
    return [*(alert.get("context") or []), *([line] if line else [])]


def _advice(alert: Alert) -> str:
    return "" if _resolved(alert) else str(alert.get("advice") or "").strip()


# --- one style each: the headline, what to do, the log, then the facts ------------------------


def _console(alert: Alert, project: str) -> Message:
    """The headline as the body's first line (Apprise sends no empty body), then the advice."""
    body = headline(alert) + (f"\n{_advice(alert)}" if _advice(alert) else "")
    return Message("", body, "text", notify_type(alert))


def _text(alert: Alert, project: str) -> Message:
    parts = [headline(alert)]
    if _advice(alert):
        parts += ["", "What to do:", _advice(alert)]
    if _lines(alert):
        parts += ["", "Log:", *_lines(alert)]
    parts += ["", *(f"{k}: {v}" for k, v in _facts(alert))]
    if _metrics(alert):
        parts += ["", "Metrics:", *(f"  {k} = {v}" for k, v in _metrics(alert))]
    parts += ["", f"alert id: {alert.get('key', '')}"]
    return Message(f"[{project}] {headline(alert)}", "\n".join(parts), "text", notify_type(alert))


def _markdown(alert: Alert, project: str) -> Message:
    """For chat apps on a phone: short lines, the few facts that are not in the headline."""
    icon = _ICONS["resolved" if _resolved(alert) else str(alert["severity"])]
    parts = [f"### {icon} {headline(alert)}", ""]
    if _advice(alert):
        parts += [f"**What to do:** {_advice(alert)}", ""]
    if _lines(alert):
        parts += [*(f"> {line[:300]}" for line in _lines(alert)[-6:]), ""]
    parts += [f"- **{k}**: {v}" for k, v in _facts(alert) if k not in ("rule", "severity")]
    numbers = _metrics(alert, _HEADLINE_METRICS)
    if numbers:
        parts.append("- **metrics**: " + ", ".join(f"{k}={v}" for k, v in numbers))
    title = f"[{project}] {headline(alert)}"
    return Message(title, "\n".join(parts), "markdown", notify_type(alert))


def _html(alert: Alert, project: str) -> Message:
    e = html.escape
    colour = _HTML_COLOURS["resolved" if _resolved(alert) else str(alert["severity"])]
    body = [f"<h2 style='color:{colour}'>{e(headline(alert))}</h2>"]
    if _advice(alert):
        body.append(f"<h3>What to do</h3><p>{e(_advice(alert))}</p>")
    if _lines(alert):
        body.append(f"<h3>Log</h3><pre>{e(chr(10).join(_lines(alert)))}</pre>")
    rows = "".join(
        f"<tr><th align='left'>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in _facts(alert)
    )
    body.append(f"<table>{rows}</table>")
    if _metrics(alert):
        cells = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in _metrics(alert))
        body.append(f"<h3>Metrics</h3><table>{cells}</table>")
    body.append(f"<p style='color:#888'>alert id: {e(str(alert.get('key', '')))}</p>")
    return Message(f"[{project}] {headline(alert)}", "\n".join(body), "html", notify_type(alert))


def _sms_text(text: str) -> str:
    """At most one SMS; the plain-ASCII '...' keeps the cheaper SMS encoding."""
    return text if len(text) <= SMS_CHARS else text[: SMS_CHARS - 3] + "..."


def _sms(alert: Alert, project: str) -> Message:
    return Message("", _sms_text(f"[{project}] {headline(alert)}"), "text", notify_type(alert))


def _json(alert: Alert, project: str) -> Message:
    body = json.dumps(dict(alert), ensure_ascii=False)
    return Message(headline(alert), body, "text", notify_type(alert))


STYLES = {
    "console": _console,
    "text": _text,
    "markdown": _markdown,
    "html": _html,
    "sms": _sms,
    "json": _json,
}


def fit(message: Message, limit: int | None) -> Message:
    """Cut the body to `limit` bytes (UTF-8), ending with a marker saying how much was cut."""
    data = message.body.encode("utf-8")
    if limit is None or len(data) <= limit:
        return message
    marker_room = len(CUT.format(n=len(data)).encode("utf-8"))
    keep = max(0, limit - marker_room)
    head = data[:keep].decode("utf-8", errors="ignore")
    cut = len(data) - len(head.encode("utf-8"))
    return Message(message.title, head + CUT.format(n=cut), message.format, message.notify_type)


def render(alert: Alert, style: str, project: str, limit: int | None = None) -> Message:
    return fit(STYLES[style](alert, project), limit)


def render_digest(
    alerts: Sequence[Alert], style: str, project: str, limit: int | None = None
) -> Message:
    """Several alerts as one message (a burst merged so a rate limit is kept), worst first,
    so that a cut to the service's size drops the least severe ones."""
    if len(alerts) == 1:
        return render(alerts[0], style, project, limit)
    worst = _worst_type(alerts)
    if style == "json":
        body = json.dumps({"digest": [dict(a) for a in alerts]}, ensure_ascii=False)
        return Message(f"{len(alerts)} alerts", body, "text", worst)
    counts = Counter(_label(a).lower() for a in alerts)
    summary = ", ".join(f"{n} {sev}" for sev, n in sorted(counts.items(), key=_rank))
    title = f"[{project}] {len(alerts)} alerts: {summary}"
    ordered = sorted(alerts, key=lambda a: (-_rank_of(a), float(a.get("t") or 0)))
    lines = [f"{_hm(a.get('t'))} {headline(a)}" for a in ordered]
    if style == "sms":
        return Message("", _sms_text(f"{title}; worst: {headline(ordered[0])}"), "text", worst)
    if style == "html":
        items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
        return fit(
            Message(title, f"<h2>{html.escape(title)}</h2><ul>{items}</ul>", "html", worst), limit
        )
    if style == "markdown":
        body = "\n".join([f"### {title}", "", *(f"- {line}" for line in lines)])
        return fit(Message(title, body, "markdown", worst), limit)
    return fit(Message(title, "\n".join(lines), "text", worst), limit)


def _rank(item: tuple[str, int]) -> int:
    return -_SEVERITY_RANK.get(item[0], -1)


def _rank_of(alert: Alert) -> int:
    return -1 if _resolved(alert) else _SEVERITY_RANK.get(str(alert["severity"]), 0)


def _worst(alerts: Sequence[Alert]) -> Alert:
    return max(alerts, key=_rank_of)


def _worst_type(alerts: Sequence[Alert]) -> str:
    return notify_type(_worst(alerts))
