"""Installing, removing and asking about the service: the file, and the platform's tools.

`Manager` writes the unit (or agent) file and runs `systemctl --user`, `loginctl` and
`launchctl` through the `Runner` it is given, so that what it asks of the platform can be
seen and checked where there is no user service manager to ask.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ServiceError
from engine.service.units import Spec, launchd_plist, systemd_unit

Runner = Callable[[Sequence[str]], tuple[int, str]]
"""Runs a command: its exit code and its output (stdout and stderr together)."""
SYSTEMS = ("linux", "macos")


def run_command(argv: Sequence[str]) -> tuple[int, str]:
    try:
        done = subprocess.run(
            list(argv), stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
    except OSError as exc:
        return 127, f"{argv[0]}: {exc.strerror}"
    return done.returncode, (done.stdout + done.stderr).strip()


@dataclass(frozen=True)
class Outcome:
    """What `status` found: installed or not, running or not, and the platform's words."""

    installed: bool
    running: bool
    lines: Sequence[str]


class Manager:
    def __init__(
        self, system: str, home: Path, user: str, uid: int,
        runner: Runner = run_command, config_home: Path | None = None,
    ) -> None:  # fmt: skip
        if system not in SYSTEMS:
            raise ServiceError(f"no service support for {system} (only Linux and macOS)")
        self.system = system
        self.home = home
        self.user = user
        self.uid = uid
        self.runner = runner
        self.config_home = config_home or home / ".config"

    def path(self, name: str) -> Path:
        """Where the unit file (or agent) of service `name` is."""
        if self.system == "linux":
            return self.config_home / "systemd" / "user" / f"{name}.service"
        return self.home / "Library" / "LaunchAgents" / f"{name}.plist"

    def render(self, spec: Spec) -> bytes:
        if self.system == "linux":
            return systemd_unit(spec).encode()
        return launchd_plist(spec)

    # --- install ------------------------------------------------------------------------------

    def install(self, spec: Spec) -> list[str]:
        """Write the file, enable and start the service; what to tell the user."""
        path = self.path(spec.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.render(spec))
        try:
            if self.system == "linux":
                return [f"wrote {path}", *self._install_systemd(spec)]
            return [f"wrote {path}", *self._install_launchd(spec, path)]
        except ServiceError:
            path.unlink(missing_ok=True)  # nothing installed: nothing left behind
            raise

    def _install_systemd(self, spec: Spec) -> list[str]:
        unit = f"{spec.name}.service"
        self._must(["systemctl", "--user", "daemon-reload"])
        self._must(["systemctl", "--user", "enable", unit])
        self._must(["systemctl", "--user", "restart", unit])  # an older one: the new unit
        lines = [
            f"enabled and started {unit}: `run` in {spec.workdir}, started again "
            "15 minutes after it fails",
            f"logs: journalctl --user -u {unit} -f (and {spec.workdir}/.rlswarm/logs/run.log)",
        ]
        code, out = self.runner(["loginctl", "show-user", self.user, "--property=Linger"])
        if code != 0 or out.strip() != "Linger=yes":
            lines.append(
                "it starts when you log in; to start it at boot without a login (a VPS, a "
                f"server), once: sudo loginctl enable-linger {self.user}"
            )
        else:
            lines.append(f"lingering is on for {self.user}: it starts at boot without a login")
        return lines

    def _install_launchd(self, spec: Spec, path: Path) -> list[str]:
        spec.log.parent.mkdir(parents=True, exist_ok=True)
        self.runner(["launchctl", "bootout", f"gui/{self.uid}/{spec.name}"])  # an older one
        self._must(["launchctl", "bootstrap", f"gui/{self.uid}", str(path)])
        return [
            f"loaded and started {spec.name}: `run` in {spec.workdir}, started at login and "
            "again when it fails",
            f"logs: tail -f '{spec.log}' (and {spec.workdir}/.rlswarm/logs/run.log)",
        ]

    # --- uninstall ----------------------------------------------------------------------------

    def uninstall(self, name: str) -> list[str]:
        """Stop and disable the service, remove its file; what to tell the user."""
        path = self.path(name)
        if not path.exists():
            raise ServiceError(f"no service {name}: {path} does not exist")
        if self.system == "linux":
            self._must(["systemctl", "--user", "disable", "--now", f"{name}.service"])
            path.unlink()
            self._must(["systemctl", "--user", "daemon-reload"])
        else:
            self.runner(["launchctl", "bootout", f"gui/{self.uid}/{name}"])  # if loaded
            path.unlink()
        return [f"stopped and removed {name} ({path})"]

    # --- status -------------------------------------------------------------------------------

    def status(self, name: str) -> Outcome:
        path = self.path(name)
        if not path.exists():
            return Outcome(False, False, [f"no service {name}: {path} does not exist"])
        if self.system == "linux":
            unit = f"{name}.service"
            code, out = self.runner(["systemctl", "--user", "status", "--no-pager", unit])
            logs = f"logs: journalctl --user -u {unit} -f"
            return Outcome(True, code == 0, [f"unit: {path}", out, logs])
        code, out = self.runner(["launchctl", "print", f"gui/{self.uid}/{name}"])
        running = code == 0 and "state = running" in out
        logs = f"logs: tail -f '{self.home}/Library/Logs/rlswarm-rules/{name}.log'"
        return Outcome(True, running, [f"agent: {path}", out, logs])

    def _must(self, argv: Sequence[str]) -> None:
        code, out = self.runner(argv)
        if code != 0:
            hint = ""
            if argv[0] == "systemctl":
                hint = (
                    "; is there a user service manager (a systemd Linux, logged in as this "
                    "user, not through su or sudo)?"
                )
            raise ServiceError(f"{' '.join(argv)} failed (exit code {code}): {out}{hint}")
