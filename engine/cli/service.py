"""`service install|uninstall|status`: `run` as a systemd user unit or a launchd agent."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engine.cli.common import EXIT_CONFIG, EXIT_FINDINGS, fail

if TYPE_CHECKING:
    from engine.service import Manager


def _here_system() -> str:
    if sys.platform == "darwin":
        return "macos"
    return "linux" if sys.platform.startswith("linux") else sys.platform


def manager(system: str) -> Manager:
    import getpass
    import os

    from engine import service
    from engine.errors import ServiceError

    config = os.environ.get("XDG_CONFIG_HOME")
    try:
        return service.Manager(
            system, Path.home(), getpass.getuser(), os.getuid(),
            config_home=Path(config) if config else None,
        )  # fmt: skip
    except ServiceError as exc:
        fail([str(exc)])


def node_folder(folder: Path) -> Path:
    path = folder.expanduser().absolute()
    if not path.is_dir():
        fail([f"--dir {folder}: no such folder"])
    return path


def _common(func: Callable[..., Any]) -> Callable[..., Any]:
    """--dir, --name and --system, which the three commands share."""
    func = click.option(
        "--system",
        type=click.Choice(["linux", "macos"]),
        default=_here_system,
        help="A systemd user unit (linux) or a launchd agent (macos); default: this system.",
    )(func)
    func = click.option(
        "--name", default="", help="The service's name (default: rlswarm-rules-FOLDER)."
    )(func)
    return click.option(
        "--dir",
        "folder",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("."),
        help="The node folder `run` starts in (default: here).",
    )(func)


@click.group("service")
def service_group() -> None:
    """Run `run` as a service: started at boot, restarted, logged where the system keeps logs."""


@service_group.command(
    "install", context_settings={"allow_interspersed_args": False, "ignore_unknown_options": True}
)
@_common
@click.option("--print", "show", is_flag=True, help="Print the unit (or agent); install nothing.")
@click.argument("run_args", nargs=-1, type=click.UNPROCESSED)
def install_command(
    folder: Path, name: str, system: str, show: bool, run_args: tuple[str, ...]
) -> None:
    """Write, enable and start a service that runs `rlswarm-rules run RUN_ARGS` in the node
    folder (default RUN_ARGS: --restart always -- ./run_rl_swarm.sh; `--restart always` is
    added to RUN_ARGS that set no restart policy)."""
    import os

    import engine
    from engine import service
    from engine.errors import ServiceError

    workdir = node_folder(folder)
    spec = service.make_spec(
        workdir, run_args, str(Path(sys.executable).absolute()), os.environ, Path.home(),
        Path(engine.__file__).resolve().parents[1], name or None,
    )  # fmt: skip
    command = _command(spec.argv)
    if command and not os.path.isabs(command) and not (workdir / command).exists():
        fail([f"{workdir / command}: no such file; give the node folder with --dir"])
    mgr = manager(system)
    if show:
        click.echo(mgr.render(spec).decode(), nl=False)
        return
    try:
        for line in mgr.install(spec):
            click.echo(line)
    except ServiceError as exc:
        fail([str(exc)])


def _command(argv: tuple[str, ...]) -> str:
    """The command `run` starts (after `--`), if it is a path relative to the node folder."""
    if "--" not in argv:
        return ""
    rest = argv[argv.index("--") + 1 :]
    return rest[0] if rest and "/" in rest[0] else ""


@service_group.command("uninstall")
@_common
def uninstall_command(folder: Path, name: str, system: str) -> None:
    """Stop and disable the service, and remove its unit (or agent) file."""
    from engine import service
    from engine.errors import ServiceError

    try:
        for line in manager(system).uninstall(name or service.service_name(node_folder(folder))):
            click.echo(line)
    except ServiceError as exc:
        fail([str(exc)])


@service_group.command("status")
@_common
def status_command(folder: Path, name: str, system: str) -> None:
    """Whether the service is installed and running (exit 0 running, 1 stopped, 2 none)."""
    from engine import service

    outcome = manager(system).status(name or service.service_name(node_folder(folder)))
    for line in outcome.lines:
        click.echo(line)
    if not outcome.installed:
        sys.exit(EXIT_CONFIG)
    sys.exit(0 if outcome.running else EXIT_FINDINGS)
