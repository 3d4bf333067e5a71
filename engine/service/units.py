"""A service's description (`Spec`) and its files: a systemd user unit, a launchd agent.

Pure: the spec is made from values given (the node folder, `run`'s arguments, the
interpreter, the environment), and rendered to text without touching the machine.
"""

from __future__ import annotations

import plistlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_RUN_ARGS = ("--restart", "always", "--", "./run_rl_swarm.sh")
"""`run`'s arguments when none are given: RL-Swarm's launcher, restarted whenever it exits."""
RESTART_AFTER_S = 900
"""When `run` itself fails (its restart budget spent, say), the platform starts it again
this long after (systemd `RestartSec`; launchd `ThrottleInterval`, counted from its start)."""
STOP_TIMEOUT_S = 60
"""How long `run` gets to stop the training (`--grace`, 10 s by default) and deliver the
last alerts before the platform kills what is left."""
PASSED_ENV = ("PATH", "LANG", "LC_ALL", "HF_HOME", "HF_HUB_CACHE")
"""Taken from the environment `service install` runs in: a service starts with almost
none, and the launcher needs the PATH that finds node, yarn and python."""


@dataclass(frozen=True)
class Spec:
    name: str  # the unit's name without `.service`; the launchd label
    workdir: Path  # the node folder: `run` starts there
    argv: tuple[str, ...]  # the interpreter, `-m engine run`, `run`'s arguments
    env: tuple[tuple[str, str], ...]  # variables set for `run`
    log: Path  # launchd only: where stdout and stderr go (systemd: the journal)


def service_name(workdir: Path) -> str:
    """`rlswarm-rules-` and the node folder's name, in the characters unit names allow."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", workdir.name).strip("-.") or "node"
    return f"rlswarm-rules-{slug}"


def run_args(given: Sequence[str]) -> tuple[str, ...]:
    """`run`'s arguments: the default, or those given (options, `--`, the command; or the
    command alone) with `--restart always` first when they set no restart policy."""
    if not given:
        return DEFAULT_RUN_ARGS
    if not given[0].startswith("-"):  # the command alone
        given = ("--", *given)
    options = given[: given.index("--")] if "--" in given else given
    if any(a == "--restart" or a.startswith("--restart=") for a in options):
        return tuple(given)
    return ("--restart", "always", *given)


def make_spec(
    workdir: Path,
    given: Sequence[str],
    python: str,
    env: Mapping[str, str],
    home: Path,
    engine_root: Path,
    name: str | None = None,
) -> Spec:
    """The service for `workdir`. `engine_root` (the folder holding `engine/`) is put on
    PYTHONPATH unless it is an installed package's site-packages."""
    name = name or service_name(workdir)
    variables = [(k, env[k]) for k in PASSED_ENV if env.get(k)]
    if "site-packages" not in engine_root.parts:
        variables.append(("PYTHONPATH", str(engine_root)))
    argv = (python, "-m", "engine", "run", *run_args(given))
    log = home / "Library" / "Logs" / "rlswarm-rules" / f"{name}.log"
    return Spec(name, workdir, argv, tuple(variables), log)


def _sd_escape(text: str) -> str:
    """Backslashes, quotes and specifiers (`%`) as systemd reads them."""
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")


def _sd_word(arg: str) -> str:
    """One word of ExecStart=: quoted when it has to be; `$` doubled (no variable)."""
    escaped = _sd_escape(arg).replace("$", "$$")
    if not arg or re.search(r"[\s\"';]", arg):
        return f'"{escaped}"'
    return escaped


def systemd_unit(spec: Spec) -> str:
    """A systemd user unit (`~/.config/systemd/user/NAME.service`): `run` started at boot (or
    at login, without lingering), restarted when it fails, its output in the journal."""
    env = "".join(f'Environment="{_sd_escape(f"{k}={v}")}"\n' for k, v in spec.env)
    return (
        "# Written by `rlswarm-rules service install`; remove with `rlswarm-rules service\n"
        "# uninstall`. Logs: journalctl --user -u " + f"{spec.name}.service\n"
        "[Unit]\n"
        f"Description=rlswarm-rules run in {_sd_escape(str(spec.workdir))}\n"
        "StartLimitIntervalSec=0\n"
        "\n"
        "[Service]\n"
        "Type=simple\n"
        f"WorkingDirectory={_sd_escape(str(spec.workdir))}\n"
        f"{env}"
        f"ExecStart={' '.join(_sd_word(a) for a in spec.argv)}\n"
        "Restart=on-failure\n"
        f"RestartSec={RESTART_AFTER_S}\n"
        "KillMode=mixed\n"
        f"TimeoutStopSec={STOP_TIMEOUT_S}\n"
        f"SyslogIdentifier={spec.name}\n"
        "\n"
        "[Install]\n"
        "WantedBy=default.target\n"
    )


def launchd_plist(spec: Spec) -> bytes:
    """A launchd agent (`~/Library/LaunchAgents/NAME.plist`): `run` started at login,
    started again when it exits with a failure, its output in `~/Library/Logs`."""
    agent = {
        "Label": spec.name,
        "ProgramArguments": list(spec.argv),
        "WorkingDirectory": str(spec.workdir),
        "EnvironmentVariables": dict(spec.env),
        "RunAtLoad": True,
        "KeepAlive": {"SuccessfulExit": False},
        "ThrottleInterval": RESTART_AFTER_S,
        "ExitTimeOut": STOP_TIMEOUT_S,
        "ProcessType": "Standard",
        "StandardOutPath": str(spec.log),
        "StandardErrorPath": str(spec.log),
    }
    return plistlib.dumps(agent, sort_keys=False)
