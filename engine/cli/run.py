"""`run` and `watch`: supervising a training, or following logs written elsewhere."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.cli.common import (
    channels_option,
    fail,
    load_channels,
    load_rules,
    rules_option,
    seconds,
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
    from engine.supervise.preset import Preset


def node_and_dashboard(func: Callable[..., Any]) -> Callable[..., Any]:
    """--node and the dashboard's options, shared by `run` and `watch`."""
    options = [
        click.option(
            "--node",
            envvar=NODE_ENV,
            show_envvar=True,
            default="",
            help="This node's name in alerts, the dashboard and /metrics (default: host name).",
        ),
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
    ]
    for option in reversed(options):
        func = option(func)
    return func


def dashboard_options(no_dashboard: bool, port: int, bind: str, token: str) -> DashboardOptions:
    if not no_dashboard and not token and not is_loopback(bind):
        fail(
            [
                f"--dashboard-bind {bind}: anyone who can reach this address would see the "
                "dashboard; set a token with --dashboard-token or RLSWARM_DASHBOARD_TOKEN "
                "(or bind 127.0.0.1 and use an SSH tunnel)"
            ]
        )
    return DashboardOptions(None if no_dashboard else port, bind, token or None)


def node_name(node: str) -> str:
    return node.strip() or socket.gethostname()


def choose_preset(
    command: Sequence[str],
    name: str | None,
    off: bool,
    answers: Sequence[str],
    keeps: Sequence[str],
) -> Preset:
    """The preset asked for (or the one the command implies), with the command line's extras."""
    from engine.authoring import report
    from engine.supervise import preset as preset_mod

    try:
        name = None if off else (name or preset_mod.for_command(command))
        base = preset_mod.load(name) if name else preset_mod.Preset()
        extra = []
        for item in answers:
            if "=>" not in item:
                fail([f"--answer '{item}': write it as 'REGEX=>TEXT'"])
            prompt, text = item.split("=>", 1)
            extra.append(preset_mod.parse_answer(prompt, text))
        return preset_mod.combine(base, extra, keeps)
    except ConfigError as exc:
        fail(report.problems_text(exc.problems))


@click.command("run", context_settings={"allow_interspersed_args": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@rules_option
@click.option(
    "--restart",
    type=click.Choice(["never", "on-failure", "always"]),
    default="never",
    show_default=True,
    help="Restart the command when it exits.",
)
@click.option("--max-restarts", default=5, show_default=True, help="Restart budget...")
@click.option(
    "--within",
    default="1h",
    show_default=True,
    callback=seconds,
    help="...within this window; running out is a critical alert.",
)
@click.option(
    "--backoff",
    default="10s",
    show_default=True,
    callback=seconds,
    help="First restart delay; doubles up to 5m.",
)
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
@click.option(
    "--preset",
    "preset_name",
    metavar="NAME|FILE",
    help="Answers to the launcher's questions, files to keep, logs to follow "
    "(default: 'rlswarm' for run_rl_swarm.sh).",
)
@click.option("--no-preset", is_flag=True, help="Apply no preset, even to run_rl_swarm.sh.")
@click.option(
    "--answer",
    "answers",
    multiple=True,
    metavar="'REGEX=>TEXT'",
    help="Type TEXT and Enter when the output shows REGEX (repeatable).",
)
@click.option(
    "--keep",
    "keeps",
    multiple=True,
    metavar="GLOB",
    help="Keep these files across restarts (put back if deleted).",
)
@click.option(
    "--dry-run", is_flag=True, help="Evaluate and print; write no journal, act on nothing."
)
@click.option(
    "--demo-fault",
    type=click.Choice(["oom", "stall", "crash", "nan"]),
    help="Make the built-in demo misbehave (only without COMMAND).",
)
@channels_option
@click.option(
    "--project",
    default="",
    help="Name shown in alerts (default: from channels.yaml, else the host name).",
)
@click.option("--verbose", "-v", is_flag=True, help="Also print decisions that send nothing.")
@node_and_dashboard
def run_command(
    command: tuple[str, ...],
    rules: tuple[Path, ...],
    restart: str,
    max_restarts: int,
    within: float,
    backoff: float,
    grace: float,
    interval: float,
    watch_files: tuple[str, ...],
    no_patch: bool,
    preset_name: str | None,
    no_preset: bool,
    answers: tuple[str, ...],
    keeps: tuple[str, ...],
    dry_run: bool,
    demo_fault: str | None,
    channels_file: Path,
    project: str,
    verbose: bool,
    node: str,
    dashboard_port: int,
    no_dashboard: bool,
    dashboard_bind: str,
    dashboard_token: str,
) -> None:
    """Run COMMAND under supervision (after `--`); with none, the built-in demo training."""
    from engine.supervise import session as app
    from engine.supervise.supervisor import RestartPolicy, RunOptions

    board = dashboard_options(no_dashboard, dashboard_port, dashboard_bind, dashboard_token)
    demo = not command
    if demo_fault and not demo:
        fail(["--demo-fault only applies to the built-in demo (give no COMMAND)"])
    rule_set = load_rules(app.rule_paths(rules, demo))
    command_line = list(command) or app.demo_command(demo_fault)
    chosen = choose_preset(command_line, preset_name, no_preset, answers, keeps)
    opts = RunOptions(
        command=command_line,
        preset=chosen,
        restart=RestartPolicy(restart, max_restarts, within, backoff),
        grace=grace,
        interval=interval,
        watch=list(watch_files),
        patch=not no_patch,
        dry_run=dry_run,
    )
    channels = load_channels(channels_file, project)
    sys.exit(app.run(rule_set, channels, opts, verbose, node_name(node), board))


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
@click.option("--project", default="", help="Name shown in alerts.")
@node_and_dashboard
def watch_command(
    files: tuple[str, ...],
    rules: tuple[Path, ...],
    interval: float,
    dry_run: bool,
    channels_file: Path,
    project: str,
    node: str,
    dashboard_port: int,
    no_dashboard: bool,
    dashboard_bind: str,
    dashboard_token: str,
) -> None:
    """Follow log files written by a process started elsewhere, from their end."""
    from engine.supervise import session as app

    board = dashboard_options(no_dashboard, dashboard_port, dashboard_bind, dashboard_token)
    rule_set = load_rules(rules)
    channels = load_channels(channels_file, project)
    state_dir = Path(".rlswarm")
    sys.exit(
        app.watch(rule_set, channels, files, interval, state_dir, dry_run, node_name(node), board)
    )
