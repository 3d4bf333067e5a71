"""`run` and `watch`: supervising a training, or following logs written elsewhere."""

from __future__ import annotations

import shlex
import socket
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine import places
from engine.cli.common import (
    broken_lines,
    channels_option,
    fail,
    find_channels,
    find_rules,
    find_state,
    load_channels,
    load_rules,
    option_group,
    origin_line,
    rules_option,
    seconds,
    state_option,
    verbosity_options,
)
from engine.errors import ConfigError
from engine.web.dashboard import (
    DEFAULT_BIND,
    DEFAULT_PORT,
    NODE_ENV,
    PORT_ENV,
    TOKEN_ENV,
    DashboardOptions,
    is_loopback,
)

if TYPE_CHECKING:
    from engine.packs.rule import RuleSet
    from engine.places import Found
    from engine.supervise.preset import Preset
    from engine.supervise.supervisor import RestartPolicy
    from engine.supervise.wiring import Alerting


def dashboard_options(
    dashboard_port: int, no_dashboard: bool, dashboard_bind: str, dashboard_token: str
) -> DashboardOptions:
    """The dashboard's four options as one; a bind beyond loopback without a token fails."""
    if not no_dashboard and not dashboard_token and not is_loopback(dashboard_bind):
        fail(
            [
                f"--dashboard-bind {dashboard_bind}: anyone who can reach this address would "
                "see the dashboard; set a token with --dashboard-token or "
                "RLSWARM_DASHBOARD_TOKEN (or bind 127.0.0.1 and use an SSH tunnel)"
            ]
        )
    port = None if no_dashboard else dashboard_port
    return DashboardOptions(port, dashboard_bind, dashboard_token or None)


dashboard_group = option_group(
    "dashboard",
    dashboard_options,
    click.option(
        "--dashboard-port",
        type=click.IntRange(0, 65535),
        envvar=PORT_ENV,
        show_envvar=True,
        default=DEFAULT_PORT,
        show_default=True,
        help="Port of the live dashboard and /metrics (0: any free port).",
    ),
    click.option("--no-dashboard", is_flag=True, help="Serve no dashboard and no /metrics."),
    click.option(
        "--dashboard-bind",
        default=DEFAULT_BIND,
        show_default=True,
        metavar="ADDR",
        help="Address to listen on; any but loopback needs --dashboard-token.",
    ),
    click.option(
        "--dashboard-token",
        envvar=TOKEN_ENV,
        show_envvar=True,
        default="",
        metavar="TOKEN",
        help="Require this token on every request (Bearer header or ?token=).",
    ),
)


def node_and_dashboard(func: Callable[..., Any]) -> Callable[..., Any]:
    """--node and the dashboard's options, shared by `run` and `watch`: the command
    receives `node` and `dashboard` (a `DashboardOptions`)."""
    node = click.option(
        "--node",
        envvar=NODE_ENV,
        show_envvar=True,
        default="",
        help="This node's name in alerts, the dashboard and /metrics (default: host name).",
    )
    return node(dashboard_group(func))


def node_name(node: str) -> str:
    return node.strip() or socket.gethostname()


@dataclass(frozen=True)
class Sources:
    """Where `run` and `watch` take their rules, channels and state from (see engine.places)."""

    rules: Found
    channels: Found
    state_dir: Path
    strict_channels: bool = False  # a channel that cannot be built stops the command


def sources(
    rules: Sequence[Path], channels_file: Path | None, state_dir: Path | None, strict: bool
) -> Sources:
    """Each found by the search order, or exit 2 for a path given that does not exist."""
    return Sources(find_rules(rules), find_channels(channels_file), find_state(state_dir), strict)


def alerting(
    rules: RuleSet,
    where: Sources,
    project: str,
    node: str,
    dashboard: DashboardOptions,
    verbosity: int = 0,
) -> Alerting:
    """What `run` and `watch` hand the session alike (the channels are loaded here: a
    channel that cannot be built is left out and said loudly, unless --strict-channels)."""
    from engine.supervise.wiring import Alerting

    strict = where.strict_channels
    channels = load_channels(where.channels, project, not strict, where.state_dir)
    said = (origin_line(where.rules, rules, channels, where.channels), *broken_lines(channels))
    if verbosity < 0:  # -q: what is broken is still said
        said = said[1:]
    verbose, quiet = verbosity > 0, verbosity < 0
    return Alerting(rules, channels, node_name(node), dashboard, verbose, said, quiet)


def strict_channels_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--strict-channels",
        is_flag=True,
        help="Refuse to start when a channel cannot be built (default: start without it "
        "and say so on the terminal, through the other channels, the dashboard, /metrics).",
    )(func)


def restart_policy(restart: str, max_restarts: int, within: float, backoff: float) -> RestartPolicy:
    from engine.supervise.supervisor import RestartPolicy

    return RestartPolicy(restart, max_restarts, within, backoff)


restart_group = option_group(
    "restart",
    restart_policy,
    click.option(
        "--restart",
        type=click.Choice(["never", "on-failure", "always"]),
        default="never",
        show_default=True,
        help="Restart the command when it exits.",
    ),
    click.option("--max-restarts", default=5, show_default=True, help="Restart budget..."),
    click.option(
        "--within",
        default="1h",
        show_default=True,
        callback=seconds,
        help="...within this window; running out is a critical alert.",
    ),
    click.option(
        "--backoff",
        default="10s",
        show_default=True,
        callback=seconds,
        help="First restart delay; doubles up to 5m.",
    ),
)


@dataclass(frozen=True)
class PresetChoice:
    """The preset options as given; `choose_preset` makes the preset once the command is known."""

    name: str | None = None  # --preset NAME|FILE
    off: bool = False  # --no-preset
    answers: Sequence[str] = ()  # --answer 'REGEX=>TEXT'
    keeps: Sequence[str] = ()  # --keep GLOB
    forget: bool = False  # --forget-login


def preset_choice(
    preset_name: str | None, no_preset: bool, answers: Sequence[str], keeps: Sequence[str],
    forget_login: bool = False,
) -> PresetChoice:  # fmt: skip
    return PresetChoice(preset_name, no_preset, answers, keeps, forget_login)


preset_group = option_group(
    "preset",
    preset_choice,
    click.option(
        "--preset",
        "preset_name",
        metavar="NAME|FILE",
        help="Answers to the launcher's questions, files to keep, logs to follow "
        "(default: 'rlswarm' for run_rl_swarm.sh).",
    ),
    click.option("--no-preset", is_flag=True, help="Apply no preset, even to run_rl_swarm.sh."),
    click.option(
        "--answer",
        "answers",
        multiple=True,
        metavar="'REGEX=>TEXT'",
        help="Type TEXT and Enter when the output shows REGEX (repeatable).",
    ),
    click.option(
        "--keep",
        "keeps",
        multiple=True,
        metavar="GLOB",
        help="Keep these files across restarts (put back if deleted).",
    ),
    click.option(
        "--forget-login",
        is_flag=True,
        help="Delete the kept files first (RL-Swarm's login: the launcher asks for a new one).",
    ),
)


def choose_preset(command: Sequence[str], choice: PresetChoice) -> Preset:
    """The preset asked for (or the one the command implies), with the command line's extras."""
    from engine.authoring import report
    from engine.supervise import preset as preset_mod

    try:
        name = None if choice.off else (choice.name or preset_mod.for_command(command))
        base = preset_mod.load(name) if name else preset_mod.Preset()
        base = base if choice.off else preset_mod.with_local(base, Path.cwd())
        extra = []
        for item in choice.answers:
            if "=>" not in item:
                fail([f"--answer '{item}': write it as 'REGEX=>TEXT'"])
            prompt, text = item.split("=>", 1)
            extra.append(preset_mod.parse_answer(prompt, text))
        return preset_mod.combine(base, extra, choice.keeps)
    except ConfigError as exc:
        fail(report.problems_text(exc.problems))


def _demo_needs() -> list[str]:
    """What the demo training imports that this interpreter (which runs it) cannot find."""
    from importlib.util import find_spec

    missing = []
    for name in ("torch", "accelerate"):
        try:
            found = find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


@click.command("run", context_settings={"allow_interspersed_args": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@rules_option
@restart_group
@click.option(
    "--grace",
    default="10s",
    show_default=True,
    callback=seconds,
    help="Time the command gets to stop before it is killed.",
)
@click.option(
    "--interval",
    default="10s",
    show_default=True,
    callback=seconds,
    help="How often metrics are sampled.",
)
@click.option("--watch", "watch_files", multiple=True, help="Also tail this log file (glob ok).")
@click.option("--no-patch", is_flag=True, help="Do not inject the probe and accelerate fix.")
@preset_group
@click.option(
    "--dry-run", is_flag=True, help="Evaluate and print; write no journal, act on nothing."
)
@click.option(
    "--demo-fault",
    type=click.Choice(["oom", "stall", "crash", "nan"]),
    help="Make the built-in demo misbehave (only without COMMAND).",
)
@channels_option
@strict_channels_option
@state_option
@click.option(
    "--project",
    default="",
    help="Name shown in alerts (default: from channels.yaml, else the host name).",
)
@verbosity_options
@node_and_dashboard
def run_command(
    command: tuple[str, ...],
    rules: tuple[Path, ...],
    restart: RestartPolicy,
    grace: float,
    interval: float,
    watch_files: tuple[str, ...],
    no_patch: bool,
    preset: PresetChoice,
    dry_run: bool,
    demo_fault: str | None,
    channels_file: Path | None,
    strict_channels: bool,
    state_dir: Path | None,
    project: str,
    verbosity: int,
    node: str,
    dashboard: DashboardOptions,
) -> None:
    """Run COMMAND under supervision (after `--`); with none, the built-in demo training.

    -v also prints decisions that send nothing (pending, suppressed...) with their reason;
    -q leaves out the start lines and the summary's details (alerts, problems and the exit
    code are always shown)."""
    from engine.supervise import session as app
    from engine.supervise.supervisor import RunOptions

    demo = not command
    if demo_fault and not demo:
        fail(["--demo-fault only applies to the built-in demo (give no COMMAND)"])
    if demo and (missing := _demo_needs()):
        fail(
            [
                f"the built-in demo needs {' and '.join(missing)}, not installed beside "
                f"rlswarm-rules: {shlex.quote(sys.executable)} -m pip install "
                f"{' '.join(missing)} (with pipx: pipx inject rlswarm-rules torch accelerate); "
                "or supervise your own training: rlswarm-rules run -- ./run_rl_swarm.sh"
            ]
        )
    if not preset.off and (wrong := places.launcher_problem(command)):
        fail([wrong, "(--no-preset starts it as given)"])
    where = sources(rules, channels_file, state_dir, strict_channels)
    rule_set = load_rules(app.rule_paths(where.rules.paths, demo))
    command_line = list(command) or app.demo_command(demo_fault)
    opts = RunOptions(
        command=command_line,
        preset=choose_preset(command_line, preset),
        forget_kept=preset.forget,
        restart=restart,
        grace=grace,
        interval=interval,
        watch=list(watch_files),
        patch=not no_patch,
        dry_run=dry_run,
        state_dir=where.state_dir,
    )
    shared = alerting(rule_set, where, project, node, dashboard, verbosity)
    sys.exit(app.run(shared, opts))


@click.command("watch")
@click.argument("files", nargs=-1, required=True)
@rules_option
@click.option(
    "--interval",
    default="10s",
    show_default=True,
    callback=seconds,
    help="How often host metrics are sampled.",
)
@click.option("--dry-run", is_flag=True, help="Evaluate and print; send nothing.")
@channels_option
@strict_channels_option
@state_option
@click.option("--project", default="", help="Name shown in alerts.")
@verbosity_options
@node_and_dashboard
def watch_command(
    files: tuple[str, ...],
    rules: tuple[Path, ...],
    interval: float,
    dry_run: bool,
    channels_file: Path | None,
    strict_channels: bool,
    state_dir: Path | None,
    project: str,
    verbosity: int,
    node: str,
    dashboard: DashboardOptions,
) -> None:
    """Follow log files written by a process started elsewhere, from their end (-q, -v: as
    for `run`)."""
    from engine.supervise import session as app

    where = sources(rules, channels_file, state_dir, strict_channels)
    rule_set = load_rules(where.rules.paths)
    shared = alerting(rule_set, where, project, node, dashboard, verbosity)
    options = app.WatchOptions(files, interval, dry_run, where.state_dir)
    sys.exit(app.watch(shared, options))
