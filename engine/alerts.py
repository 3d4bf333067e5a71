"""Where alerts go until channels.yaml delivery exists: the terminal and a JSONL journal."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from engine.durations import format_duration
from engine.model import Decision, Reason, Severity
from engine.report import decision_record, when
from engine.sources.child import Terminal

_COLOURS = {
    Severity.CRITICAL: "\x1b[1;31m",
    Severity.ERROR: "\x1b[31m",
    Severity.WARNING: "\x1b[33m",
    Severity.INFO: "\x1b[36m",
}
PREFIX = "[rlswarm-rules]"


def alert_text(d: Decision, colour: bool) -> str:
    """One alert as our own terminal line(s), clearly set apart from the child's output."""
    label = "RESOLVED" if d.reason is Reason.RESOLVED else d.severity.label.upper()
    if colour:
        label = f"{_COLOURS[d.severity]}{label}\x1b[0m"
    extra = ""
    if d.reason is Reason.DIGEST:
        extra = f" ({d.count} more since {_clock(d.since)})"
    elif d.count > 1:
        extra = f" (and {d.count - 1} more since {_clock(d.since)})"
    if d.duration_s is not None and d.reason is Reason.RESOLVED:
        extra += f" after {format_duration(d.duration_s)}"
    if not d.notifies:
        extra += f" [{d.reason.value}]"
    text = f"{PREFIX} {label} {d.rule}{extra}: {d.summary}"
    if d.advice and d.reason is not Reason.RESOLVED and d.notifies:
        text += "".join(f"\n{PREFIX}   {line}" for line in d.advice.strip().splitlines())
    return text


def _clock(t: float | None) -> str:
    stamp = when(t, True) if t is not None else None
    return stamp[11:19] if stamp else "?"


class ConsoleSink:
    def __init__(self, terminal: Terminal, colour: bool) -> None:
        self.terminal = terminal
        self.colour = colour

    def send(self, decision: Decision) -> None:
        self.terminal.notice(self.terminal.stderr_fd, alert_text(decision, self.colour))


class JsonlSink:
    """Appends one JSON object per alert; the file is the alert journal."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    def send(self, decision: Decision) -> None:
        line = json.dumps(decision_record(decision, timed=True, full=True), ensure_ascii=False)
        with self._lock, open(self.path, "a", encoding="utf-8") as out:
            out.write(line + "\n")
