"""The training's life as the supervisor's events tell it: start, exit, restart, gave_up, patched.

One small state machine, fed in event order; pure like the rest of the status model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.model import Event


@dataclass
class Training:
    watching: bool = False  # `watch`: nothing is supervised, the state is "watching"
    phase: str = "starting"  # starting | running | crashed | restarting | stopped
    command: str | None = None
    pid: int | None = None
    started: float | None = None
    restarts: int = 0
    exit_code: int | None = None
    fix_applied: bool | None = None
    fix_detail: str | None = None

    @property
    def running(self) -> bool:
        return self.phase == "running"

    def event(self, event: Event) -> None:
        handler = _HANDLERS.get(event.name)
        if handler is not None:
            handler(self, event)

    def _start(self, event: Event) -> None:
        f = event.fields
        self.phase, self.started, self.exit_code = "running", event.t, None
        pid = f.get("pid")
        self.pid = pid if isinstance(pid, int) else None
        self.command = str(f.get("command", "")) or self.command

    def _exit(self, event: Event) -> None:
        code = event.fields.get("code")
        self.exit_code = code if isinstance(code, int) else None
        failed = bool(code) and not event.fields.get("requested")
        self.phase, self.pid = ("crashed" if failed else "stopped"), None

    def _restart(self, event: Event) -> None:
        self.phase = "restarting"
        self.restarts += 1

    def _gave_up(self, event: Event) -> None:
        self.phase = "crashed" if self.exit_code else "stopped"

    def _patched(self, event: Event) -> None:
        f = event.fields
        applied = bool(f.get("applied"))
        if self.fix_applied and not applied:
            return  # one process applied it; another one that did not need it changes nothing
        self.fix_applied = applied
        what = "fix applied" if applied else "no fix needed"
        library = f.get("library") or "accelerate"
        why = f": {f['detail']}" if f.get("detail") else ""
        self.fix_detail = f"{library} {f.get('version', '?')}: {what}{why}"

    def state(self, stalled: bool) -> str:
        if self.watching:
            return "stalled" if stalled else "watching"
        if self.phase == "running" and stalled:
            return "stalled"
        return self.phase

    def as_dict(self, now: float | None, stalled: bool) -> dict[str, Any]:
        uptime = None
        if self.running and self.started is not None and now is not None:
            uptime = max(0.0, now - self.started)
        return {
            "state": self.state(stalled),
            "command": self.command,
            "pid": self.pid,
            "started": self.started,
            "uptime_s": uptime,
            "restarts": self.restarts,
            "exit_code": self.exit_code,
            "fix": {"applied": self.fix_applied, "detail": self.fix_detail},
        }


_HANDLERS = {
    "start": Training._start,
    "exit": Training._exit,
    "restart": Training._restart,
    "gave_up": Training._gave_up,
    "patched": Training._patched,
}
