"""`rlswarm-rules service`: `run` as a service of the user's that starts at boot and restarts.

    spec = service.make_spec(Path("~/rl-swarm").expanduser(), [])   # run's arguments
    text = service.systemd_unit(spec)          # or service.launchd_plist(spec)
    service.Manager("linux").install(spec)     # writes it, enables and starts it

`units` renders a systemd user unit (Linux) or a launchd agent (macOS) from a `Spec`, and
is pure; `manager` writes and removes the file and runs `systemctl --user`, `loginctl`
or `launchctl` through a runner it is given. See docs/running.md.

May import: errors
"""

from __future__ import annotations

from engine.service.manager import Manager, Outcome, Runner, run_command
from engine.service.units import (
    DEFAULT_RUN_ARGS,
    Spec,
    launchd_plist,
    make_spec,
    service_name,
    systemd_unit,
)

__all__ = [
    "DEFAULT_RUN_ARGS",
    "Manager",
    "Outcome",
    "Runner",
    "Spec",
    "launchd_plist",
    "make_spec",
    "run_command",
    "service_name",
    "systemd_unit",
]
