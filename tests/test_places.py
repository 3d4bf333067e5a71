"""Where rules, channels and state come from, and a channel that cannot be built.

The search order (`engine.places`) from strings and folders; then real `rlswarm-rules`
processes in empty folders: a path given that does not exist is exit 2 for every command,
the line `run` starts with names where each came from, `channels add` in a fresh folder
keeps the terminal and the journal, and a channel with an unset variable leaves the
training running while the terminal, the other channels, the dashboard and /metrics say
which and why (`lint` exit 1, `--strict-channels` exit 2).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from terminal import on_a_terminal
from test_dashboard import Node, scrape, state
from test_dashboard import nodes as nodes  # the fixture

from engine import places
from engine.errors import ConfigError
from engine.notify import channels as channelconf
from engine.packs import yamlio

PHONE = """\
channels:
  - name: console
    url: console://
  - name: journal
    url: jsonl://.rlswarm/alerts.jsonl
  - name: phone
    url: tgram://${TG_TOKEN_UNSET}/123
    min_severity: error
"""


def cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


# --- the search order ----------------------------------------------------------------------


def test_rules_option_then_variable_then_here_then_user_then_shipped(tmp_path: Path) -> None:
    here, user = tmp_path / "node", tmp_path / "config"
    here.mkdir()
    env = {"XDG_CONFIG_HOME": str(user)}
    shipped = places.rules((), env, here)
    assert shipped.source == "built in" and (shipped.paths[0] / "rlswarm.yaml").is_file()
    (user / "rlswarm-rules" / "rules").mkdir(parents=True)
    assert places.rules((), env, here).paths == (user / "rlswarm-rules" / "rules",)
    (here / "rules").mkdir()
    assert places.rules((), env, here).source == "working folder"
    other = tmp_path / "other.yaml"
    other.write_text("rules: []\n")
    from_env = places.rules((), {**env, "RLSWARM_RULES": f"{other}{os.pathsep}{here}"}, here)
    assert from_env.paths == (other, here) and from_env.source == "$RLSWARM_RULES"
    assert places.rules((other,), {**env, "RLSWARM_RULES": str(here)}, here).paths == (other,)


def test_a_path_given_that_does_not_exist_never_falls_back(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as given:
        places.rules((tmp_path / "rulez",), {}, tmp_path)
    assert "rulez: no such file or folder (given by --rules)" in str(given.value.problems[0])
    with pytest.raises(ConfigError):
        places.rules((), {"RLSWARM_RULES": str(tmp_path / "nope")}, tmp_path)
    with pytest.raises(ConfigError):
        places.channels(tmp_path / "chanels.yaml", {}, tmp_path)
    with pytest.raises(ConfigError) as from_env:
        places.channels(None, {"RLSWARM_CHANNELS": str(tmp_path / "x.yaml")}, tmp_path)
    assert "(given by $RLSWARM_CHANNELS)" in str(from_env.value.problems[0])


def test_channels_here_then_user_then_built_in(tmp_path: Path) -> None:
    here, user = tmp_path / "node", tmp_path / "config"
    here.mkdir()
    env = {"XDG_CONFIG_HOME": str(user)}
    assert places.channels(None, env, here).paths == ()
    (user / "rlswarm-rules").mkdir(parents=True)
    (user / "rlswarm-rules" / "channels.yaml").write_text("channels: []\n")
    assert places.channels(None, env, here).source == "user config"
    (here / "channels.yaml").write_text("channels: []\n")
    assert places.channels(None, env, here).paths == (here / "channels.yaml",)
    assert places.state_dir(None, {}, here).paths == (here / ".rlswarm",)
    assert places.state_dir(None, {"RLSWARM_STATE_DIR": "/srv/x"}, here).paths == (Path("/srv/x"),)


def test_every_command_refuses_a_path_that_is_not_there(tmp_path: Path) -> None:
    for args in (
        ("run", "--channels", "chanels.yaml", "--", "true"),
        ("run", "--rules", "rulez", "--", "true"),
        ("watch", "--channels", "chanels.yaml", "x.log"),
        ("channels", "test", "--channels", "chanels.yaml"),
        ("channels", "list", "--channels", "chanels.yaml"),
        ("lint", "--channels", "chanels.yaml"),
        ("replay", "--rules", "rulez", "-"),
    ):
        proc = cli(tmp_path, *args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert "nothing else is used in its place" in proc.stderr, args
    variable = cli(tmp_path, "run", "--", "true", env={"RLSWARM_CHANNELS": "gone.yaml"})
    assert variable.returncode == 2 and "given by $RLSWARM_CHANNELS" in variable.stderr


def test_run_says_where_rules_and_channels_came_from(tmp_path: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "rlswarm-rules"
    config.mkdir(parents=True, exist_ok=True)
    (config / "channels.yaml").write_text("channels:\n  - name: mine\n    url: console://\n")
    try:
        proc = cli(tmp_path, "run", "--no-dashboard", "--", "true")
    finally:
        (config / "channels.yaml").unlink()
    assert proc.returncode == 0, proc.stderr
    shipped = places.shipped_rules()
    packs = len(list(shipped.glob("*.yaml")))
    assert (
        f"rules: {packs} packs from {shipped} (built in); channels: mine from "
        f"{config / 'channels.yaml'} (user config)"
    ) in proc.stderr


# --- channels add --------------------------------------------------------------------------


def test_channels_add_in_a_fresh_folder_keeps_the_terminal_and_the_journal(tmp_path: Path) -> None:
    proc = cli(tmp_path, "channels", "add", "--service", "custom", "--name", "hook",
               "--field", "url=json://127.0.0.1:9/x")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "kept the built-in channel(s) console, journal beside it" in proc.stdout
    channels = channelconf.load(tmp_path / "channels.yaml")
    assert channels.names == ["console", "journal", "hook"]
    assert channels.get("journal") is not None
    assert channels.get("journal").url == "jsonl://.rlswarm/alerts.jsonl"  # type: ignore[union-attr]


def test_channels_add_gives_a_file_without_a_terminal_one(tmp_path: Path) -> None:
    (tmp_path / "channels.yaml").write_text(
        "channels:\n  - name: console\n    url: jsonl://a.jsonl\n"
    )
    proc = cli(tmp_path, "channels", "add", "--service", "custom", "--name", "hook",
               "--field", "url=json://127.0.0.1:9/x")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    channels = channelconf.load(tmp_path / "channels.yaml")
    assert channels.names == ["console", "terminal", "hook"]
    assert channels.get("terminal").url == "console://"  # type: ignore[union-attr]
    again = cli(tmp_path, "channels", "add", "--service", "custom", "--name", "hook2",
                "--field", "url=json://127.0.0.1:9/y")  # fmt: skip
    assert "kept" not in again.stdout
    assert channelconf.load(tmp_path / "channels.yaml").names[-1] == "hook2"


def test_a_variable_that_is_the_whole_url_is_the_url() -> None:
    doc = yamlio.parse("channels:\n  - name: hook\n    url: ${HOOK_URL}\n", "channels.yaml")
    url = "json://user:p%40ss@127.0.0.1:8080/alerts?method=PUT"
    channels = channelconf.parse(doc, {"HOOK_URL": url})
    assert channels.channels[0].url == url
    assert "p%40ss" not in channels.channels[0].privacy
    with pytest.raises(ConfigError):  # as part of a URL, a value is one percent-encoded part
        channelconf.parse(
            yamlio.parse("channels:\n  - name: hook\n    url: json://${HOOK_URL}\n", "c.yaml"),
            {"HOOK_URL": "a b/c"},
        )


# --- a channel that cannot be built --------------------------------------------------------


def test_a_broken_channel_does_not_stop_the_training(tmp_path: Path, nodes: list[Node]) -> None:
    (tmp_path / "channels.yaml").write_text(PHONE)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "boom.yaml").write_text(
        "rules:\n  - id: boom\n    severity: critical\n    log: BOOM\n    channels: [phone]\n"
        "    summary: boom\n    examples:\n      fires: [BOOM]\n"
    )
    node = Node(tmp_path, ["run", "--", sys.executable, "-c",
                           "import time; print('BOOM', flush=True); time.sleep(60)"])  # fmt: skip
    nodes.append(node)
    node.wait_line(r"BROKEN CHANNEL\(S\): phone")
    node.wait_line(r"channels.yaml:7: channel 'phone': \$\{TG_TOKEN_UNSET\} not set")
    base = node.url()
    node.wait_line(r"CRITICAL boom")  # named only a broken channel: sent to the working ones
    box = state(base)["outbox"]["channels"]
    phone = next(c for c in box if c["name"] == "phone")
    assert phone["broken"] and "TG_TOKEN_UNSET" in phone["last_error"]
    metrics = scrape(base)
    assert metrics[("rlswarm_channel_broken", frozenset({("channel", "phone")}))] == 1.0
    assert metrics[("rlswarm_channel_broken", frozenset({("channel", "journal")}))] == 0.0
    assert node.stop() == 130
    journal = [
        json.loads(line)
        for line in (tmp_path / ".rlswarm" / "alerts.jsonl").read_text().splitlines()
    ]
    told = [a for a in journal if a["rule"] == "channel-broken"]
    assert told and "TG_TOKEN_UNSET" in told[0]["advice"]
    assert "boom" in [a["rule"] for a in journal]


def test_lint_reports_it_and_strict_channels_refuses(tmp_path: Path) -> None:
    (tmp_path / "channels.yaml").write_text(PHONE)
    lint = cli(tmp_path, "lint")
    assert lint.returncode == 1
    assert "channels.yaml:7: channel 'phone'" in lint.stdout
    assert cli(tmp_path, "lint", "--no-channels").returncode == 0
    strict = cli(tmp_path, "run", "--strict-channels", "--no-dashboard", "--", "true")
    assert strict.returncode == 2 and "channel 'phone'" in strict.stderr
    listed = cli(tmp_path, "channels", "list")
    assert listed.returncode == 1
    assert "phone        BROKEN: ${TG_TOKEN_UNSET} not set" in listed.stdout
    one = cli(tmp_path, "channels", "test", "console")
    assert one.returncode == 0, one.stderr


# --- NO_COLOR ------------------------------------------------------------------------------


def _on_a_terminal(cwd: Path, env: dict[str, str]) -> bytes:
    """What `run` writes to a terminal (a pseudo-terminal for both streams)."""
    args = [sys.executable, "-m", "engine", "run", "--no-dashboard", "--", "sh", "-c", "echo BOOM"]
    code, out = on_a_terminal(args, cwd, {**os.environ, **env})
    assert code == 0
    return out


def test_no_color_turns_the_terminal_colours_off(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "boom.yaml").write_text(
        "rules:\n  - id: boom\n    severity: critical\n    log: BOOM\n    summary: boom\n"
        "    examples:\n      fires: [BOOM]\n"
    )
    coloured = _on_a_terminal(tmp_path, {"NO_COLOR": ""})  # set but empty: colours stay
    assert b"\x1b[1;31mCRITICAL\x1b[0m boom" in coloured
    plain = _on_a_terminal(tmp_path, {"NO_COLOR": "1"})
    assert b"CRITICAL boom" in plain and b"\x1b[" not in plain.replace(b"BOOM", b"")


# --- RL-Swarm's launcher from the wrong folder ----------------------------------------------


def test_the_launcher_from_another_folder_is_named_as_such(tmp_path: Path) -> None:
    node = tmp_path / "rl-swarm"
    node.mkdir()
    launcher = node / "run_rl_swarm.sh"
    launcher.write_text("#!/bin/sh\necho started\n")
    launcher.chmod(0o755)
    elsewhere = cli(tmp_path, "run", "--no-dashboard", "--", "rl-swarm/run_rl_swarm.sh")
    assert elsewhere.returncode == 2
    assert (
        "rl-swarm/run_rl_swarm.sh must be started from its own folder (it takes the working "
        f"folder as its root); run this from your rl-swarm folder: cd {node} && "
        "rlswarm-rules run -- ./run_rl_swarm.sh"
    ) in elsewhere.stderr
    missing = cli(tmp_path, "run", "--no-dashboard", "--", "bash", "./run_rl_swarm.sh")
    assert missing.returncode == 2
    assert "./run_rl_swarm.sh: no such file here" in missing.stderr
    assert "run this from your rl-swarm folder" in missing.stderr
    there = cli(node, "run", "--no-dashboard", "--", "./run_rl_swarm.sh")
    assert there.returncode == 0 and "started" in there.stdout
    as_given = cli(tmp_path, "run", "--no-preset", "--no-dashboard", "--", str(launcher))
    assert as_given.returncode == 0 and "started" in as_given.stdout


# --- -q and -v -----------------------------------------------------------------------------


def test_every_command_takes_quiet_and_verbose(tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    log.write_text("torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n")
    quiet_lint = cli(tmp_path, "lint", "-q")
    assert quiet_lint.returncode == 0 and quiet_lint.stdout == quiet_lint.stderr == ""
    loud_lint = cli(tmp_path, "lint", "-v")
    assert "rules: " in loud_lint.stderr and "(built in)" in loud_lint.stderr
    replayed = cli(tmp_path, "replay", "-q", str(log))
    assert replayed.returncode == 0
    assert len(replayed.stdout.splitlines()) == 1 and "cuda-oom" in replayed.stdout
    assert replayed.stderr == ""
    tested = cli(tmp_path, "test", "-q")
    assert tested.returncode == 0 and tested.stdout == ""
    assert "ok   " in cli(tmp_path, "test", "-v").stdout
    channels = cli(tmp_path, "channels", "test", "-q")
    assert channels.returncode == 0 and channels.stdout == ""  # the terminal shows its message
    assert "channels from" not in channels.stderr
    assert "(console://)" in cli(tmp_path, "channels", "test", "-v").stdout
    assert "written: console://" in cli(tmp_path, "channels", "list", "-v").stdout
    ran = cli(tmp_path, "run", "-q", "--no-dashboard", "--", "true")
    assert ran.returncode == 0
    assert "rules: " not in ran.stderr and "running: true" not in ran.stderr
    assert "summary: exit code 0" in ran.stderr and "alerts: " not in ran.stderr
    doctor = cli(tmp_path, "doctor", "-v", "--hosts", "127.0.0.1:9", "--timeout", "1s")
    assert "hosts tried: 127.0.0.1:9" in doctor.stderr
    init = cli(tmp_path, "init", "-q", "node")
    assert init.returncode == 0 and init.stdout == ""
    both = cli(tmp_path, "lint", "-q", "-v")
    assert both.returncode == 2 and "-q and -v: give one of them" in both.stderr


def test_the_demo_without_torch_says_what_to_install(tmp_path: Path) -> None:
    """As after `pipx install .` without the `demo` extra: torch cannot be imported."""
    code = (
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'torch':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
        "from engine.cli.main import main\n"
        "main(['run', '--no-dashboard'], prog_name='rlswarm-rules')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    # the interpreter it runs in, not a package name a registry may not have
    assert proc.stderr.startswith(
        "the built-in demo needs torch, not installed beside rlswarm-rules: "
        f"{shlex.quote(sys.executable)} -m pip install torch "
    )
