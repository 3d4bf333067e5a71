"""`service`: the systemd unit passes `systemd-analyze verify` and its command line runs;
the launchd agent reads back with plistlib and its command line runs; install, uninstall
and status ask the platform exactly what they should (no user service manager runs here,
so those commands are recorded, and the one real `systemctl --user` fails cleanly)."""

from __future__ import annotations

import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from engine import service
from engine.errors import ServiceError

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = "#!/bin/bash\necho \"node up in $PWD with $RLSWARM_TEST\"\n"
RUN_ARGS = ["--restart", "never", "--no-dashboard", "--", "./run_rl_swarm.sh"]


@pytest.fixture
def node(tmp_path: Path) -> Path:
    """A node folder whose name needs systemd's quoting and escaping."""
    folder = tmp_path / "rl swarm 100%"
    folder.mkdir()
    launcher = folder / "run_rl_swarm.sh"
    launcher.write_text(LAUNCHER)
    launcher.chmod(0o755)
    return folder


def spec_for(node: Path, args: Sequence[str] = RUN_ARGS) -> service.Spec:
    env = {"PATH": os.environ["PATH"], "RLSWARM_TEST": "not passed", "LANG": "C.UTF-8"}
    return service.make_spec(node, args, sys.executable, env, node.parent / "home", ROOT)


def unit_values(text: str) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            values.setdefault(key, []).append(value)
    return values


def systemd_words(value: str) -> list[str]:
    """An ExecStart= or Environment= value as systemd splits it (quotes, backslashes, and
    `$$` and `%%` for a plain `$` and `%`; enough for what `systemd_unit` writes)."""
    return [w.replace("$$", "$").replace("%%", "%") for w in shlex.split(value)]


def test_the_unit_is_what_systemd_expects(node: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("no systemd-analyze here (.ci/run installs Debian's systemd)")
    spec = spec_for(node, ["--rules", "rules/$HOME%n.yaml", *RUN_ARGS])
    unit = tmp_path / f"{spec.name}.service"
    unit.write_text(service.systemd_unit(spec))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    assert (done.returncode, done.stdout + done.stderr) == (0, "")
    assert spec.name == "rlswarm-rules-rl-swarm-100"


def test_the_units_command_line_runs(node: Path) -> None:
    values = unit_values(service.systemd_unit(spec_for(node)))
    assert values["Restart"] == ["on-failure"]
    assert values["WantedBy"] == ["default.target"]
    [workdir] = [v.replace("%%", "%") for v in values["WorkingDirectory"]]
    env = dict(systemd_words(v)[0].split("=", 1) for v in values["Environment"])
    assert set(env) == {"PATH", "LANG", "PYTHONPATH"}  # what the service needs, no more
    [exec_start] = values["ExecStart"]
    argv = systemd_words(exec_start)
    assert argv == [sys.executable, "-m", "engine", "run", *RUN_ARGS]
    done = subprocess.run(
        argv, cwd=workdir, env={**env, "HOME": str(node.parent)}, stdin=subprocess.DEVNULL,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"node up in {node} with \n"
    assert (node / ".rlswarm" / "logs" / "run.log").is_file()


def test_the_agent_reads_back_and_its_command_line_runs(node: Path) -> None:
    spec = spec_for(node)
    agent = plistlib.loads(service.launchd_plist(spec))
    assert agent["Label"] == "rlswarm-rules-rl-swarm-100"
    assert agent["RunAtLoad"] is True
    assert agent["KeepAlive"] == {"SuccessfulExit": False}  # started again when it fails
    log = str(node.parent / "home" / "Library" / "Logs" / "rlswarm-rules" / f"{spec.name}.log")
    assert agent["StandardOutPath"] == agent["StandardErrorPath"] == log
    done = subprocess.run(
        agent["ProgramArguments"], cwd=agent["WorkingDirectory"],
        env={**agent["EnvironmentVariables"], "HOME": str(node.parent)},
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"node up in {node} with \n"


@pytest.mark.parametrize(
    "given,expected",
    [
        ([], ["--restart", "always", "--", "./run_rl_swarm.sh"]),
        (["./start.sh", "-x"], ["--restart", "always", "--", "./start.sh", "-x"]),
        (["--rules", "r", "--", "./a.sh"], ["--restart", "always", "--rules", "r", "--", "./a.sh"]),
        (["--restart=on-failure", "--", "./a.sh", "--restart"], ["--restart=on-failure", "--",
                                                               "./a.sh", "--restart"]),
    ],
)  # fmt: skip
def test_run_gets_a_restart_policy(given: list[str], expected: list[str]) -> None:
    assert list(service.units.run_args(given)) == expected


class Recorder:
    """Stands for systemctl, loginctl and launchctl: records each command, answers from a
    table (exit code, output) by the command's first words."""

    def __init__(self, answers: dict[str, tuple[int, str]] | None = None) -> None:
        self.commands: list[list[str]] = []
        self.answers = answers or {}

    def __call__(self, argv: Sequence[str]) -> tuple[int, str]:
        self.commands.append(list(argv))
        key = next((k for k in self.answers if " ".join(argv).startswith(k)), None)
        return self.answers[key] if key else (0, "")


def test_install_uninstall_and_status_with_systemd(node: Path, tmp_path: Path) -> None:
    runner = Recorder({"loginctl": (0, "Linger=no"), "systemctl --user status": (3, "inactive")})
    mgr = service.Manager("linux", tmp_path / "home", "me", 1000, runner, tmp_path / "config")
    spec = spec_for(node)
    lines = mgr.install(spec)
    unit = tmp_path / "config" / "systemd" / "user" / "rlswarm-rules-rl-swarm-100.service"
    assert unit.read_text() == service.systemd_unit(spec)
    assert runner.commands == [
        ["systemctl", "--user", "daemon-reload"],
        ["systemctl", "--user", "enable", "rlswarm-rules-rl-swarm-100.service"],
        ["systemctl", "--user", "restart", "rlswarm-rules-rl-swarm-100.service"],
        ["loginctl", "show-user", "me", "--property=Linger"],
    ]
    assert lines[0] == f"wrote {unit}"
    assert "once: sudo loginctl enable-linger me" in lines[-1]
    assert "logs: journalctl --user -u rlswarm-rules-rl-swarm-100.service -f" in lines[2]
    status = mgr.status(spec.name)
    assert (status.installed, status.running) == (True, False)
    runner.commands.clear()
    mgr.uninstall(spec.name)
    assert runner.commands == [
        ["systemctl", "--user", "disable", "--now", "rlswarm-rules-rl-swarm-100.service"],
        ["systemctl", "--user", "daemon-reload"],
    ]
    assert not unit.exists()
    assert mgr.status(spec.name).installed is False
    with pytest.raises(ServiceError, match="does not exist"):
        mgr.uninstall(spec.name)


def test_lingering_is_reported_when_on(node: Path, tmp_path: Path) -> None:
    mgr = service.Manager("linux", tmp_path, "me", 1000, Recorder({"loginctl": (0, "Linger=yes")}))
    assert mgr.install(spec_for(node))[-1] == (
        "lingering is on for me: it starts at boot without a login"
    )


def test_install_uninstall_and_status_with_launchd(node: Path, tmp_path: Path) -> None:
    home = node.parent / "home"
    runner = Recorder({"launchctl print": (0, "state = running\n")})
    mgr = service.Manager("macos", home, "me", 501, runner)
    spec = spec_for(node)
    mgr.install(spec)
    agent = home / "Library" / "LaunchAgents" / "rlswarm-rules-rl-swarm-100.plist"
    assert plistlib.loads(agent.read_bytes())["ProgramArguments"] == list(spec.argv)
    assert spec.log.parent.is_dir()
    assert runner.commands == [
        ["launchctl", "bootout", "gui/501/rlswarm-rules-rl-swarm-100"],
        ["launchctl", "bootstrap", "gui/501", str(agent)],
    ]
    assert mgr.status(spec.name).running is True
    runner.commands.clear()
    mgr.uninstall(spec.name)
    assert runner.commands == [["launchctl", "bootout", "gui/501/rlswarm-rules-rl-swarm-100"]]
    assert not agent.exists()


def cli(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_RUNTIME_DIR": str(home / "no-runtime"),  # no user service manager to reach
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={home / 'no-bus'}",
    }
    return subprocess.run(
        [sys.executable, "-m", "engine", "service", *args], cwd=cwd, env=env,
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_cli_prints_the_unit_and_refuses_a_missing_launcher(node: Path, tmp_path: Path) -> None:
    shown = cli(["install", "--print", "--system", "linux"], node, tmp_path)
    assert shown.returncode == 0, shown.stderr
    values = unit_values(shown.stdout)
    assert systemd_words(values["ExecStart"][0])[3:] == [
        "run", "--restart", "always", "--", "./run_rl_swarm.sh"
    ]  # fmt: skip
    shown = cli(["install", "--print", "--system", "macos", "--name", "n1"], node, tmp_path)
    assert plistlib.loads(shown.stdout.encode())["Label"] == "n1"
    missing = cli(["install", "--print", "--", "./start.sh"], node, tmp_path)
    assert missing.returncode == 2
    assert missing.stderr == f"{node}/start.sh: no such file; give the node folder with --dir\n"


@pytest.mark.skipif(shutil.which("systemctl") is None, reason="no systemctl here")
def test_cli_install_without_a_user_manager_fails_cleanly(node: Path, tmp_path: Path) -> None:
    done = cli(["install", "--system", "linux"], node, tmp_path)
    assert done.returncode == 2
    assert "systemctl --user daemon-reload failed" in done.stderr
    assert "is there a user service manager" in done.stderr
    assert "Traceback" not in done.stderr
    assert list((tmp_path / ".config" / "systemd" / "user").iterdir()) == []  # taken back
    status = cli(["status", "--dir", str(node), "--system", "linux"], tmp_path, tmp_path)
    assert status.returncode == 2
    assert status.stdout.startswith("no service rlswarm-rules-rl-swarm-100: ")
    removed = cli(["uninstall", "--system", "linux"], node, tmp_path)
    assert removed.returncode == 2 and "does not exist" in removed.stderr
