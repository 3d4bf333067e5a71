"""Which of the Python processes the probe heard from was the trainer, and how it ended:
read by the pipeline when the training exits (`Trainers.exit_fields`), so that an exit
alert says the trainer's own status beside its launcher's."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from engine.model import Value

Message = dict[str, Any]


@dataclass
class _Process:
    pid: int
    name: str  # its program, as `ps` would show it: `train.py`, `swarm_launcher.py`
    start: float  # when it said hello
    end: float | None = None  # when it said `bye`
    code: int | None = None  # its own exit status, from its `bye`


class Trainers:
    """The Python processes the probe heard from since the last exit, and which of them the
    training's exit is about (`exit_fields`): the last that ended with an error status of
    its own; else the longest-lived (a launcher's `pip install` ends long before its
    trainer, a trainer's workers start after it). A launcher's own exit status (143 after
    its `kill -- -$$`) then comes with the trainer's (1 after a traceback)."""

    def __init__(self) -> None:
        self._seen: dict[int, _Process] = {}

    def hello(self, t: float, message: Message) -> None:
        pid = message.get("pid")
        if not isinstance(pid, int):
            return
        argv = message.get("argv")
        first = argv[0] if isinstance(argv, list) and argv and isinstance(argv[0], str) else ""
        self._seen[pid] = _Process(pid, os.path.basename(first) or "python", t)

    def bye(self, t: float, message: Message) -> None:
        pid, code = message.get("pid"), message.get("code")
        process = self._seen.get(pid) if isinstance(pid, int) else None
        if process is None or process.end is not None:
            return  # a forked child that never said hello, or a second goodbye
        process.end = t
        process.code = code if isinstance(code, int) and not isinstance(code, bool) else None

    def exit_fields(self, t: float) -> dict[str, Value]:
        """`trainer` (`pid 4242, train.py`; "" when no probe spoke) and `trainer_code` (its
        own exit status; None when it never said goodbye: killed by a signal); then forgets
        them, so that the next attempt's processes are its own."""
        processes = list(self._seen.values())
        self._seen = {}
        failed = [p for p in processes if p.end is not None and p.code not in (0, None)]
        if failed:
            chosen = max(failed, key=lambda p: (p.end or t, p.start))
        elif processes:
            chosen = max(processes, key=lambda p: ((p.end or t) - p.start, -p.start))
        else:
            return {"trainer": "", "trainer_code": None}
        return {"trainer": f"pid {chosen.pid}, {chosen.name}", "trainer_code": chosen.code}
