"""`init [DIR]`: set up a node folder (rules, channels, .env, schemas)."""

from __future__ import annotations

from pathlib import Path

import click

from engine.cli.common import VERBOSE, fail, say, verbosity_options


@click.command("init")
@click.argument("folder", required=False, type=click.Path(path_type=Path, file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite the packs, schemas and channels.yaml.")
@verbosity_options
def init_command(folder: Path | None, force: bool, verbosity: int) -> None:
    """Set up a node folder (DIR, default: here): rules/ with the shipped packs to read and
    change, channels.yaml, .env (mode 600, git-ignored) and the schemas editors use.

    Without -v, the files written are counted, not listed; -q says only what was kept."""
    from engine import nodeinit

    target = folder or Path()
    here = target.resolve() == Path.cwd().resolve()
    try:
        report = nodeinit.init(target, force)
    except OSError as exc:
        fail([f"{target}: cannot set up the folder: {exc.strerror or exc}"])
    shown, cd = ("this folder", "") if here else (str(target), f"cd {target} && ")
    for name in report.written:
        say(verbosity, f"wrote {target / name}", VERBOSE, err=False)
    say(verbosity, f"wrote {len(report.written)} files in {shown}", err=False)
    if report.kept:
        click.echo(
            f"kept as they were: {', '.join(report.kept)} (--force overwrites the packs, "
            "the schemas and channels.yaml, never .env)"
        )
    ready = (
        f"{shown} is ready. Next: {cd}rlswarm-rules channels add (a phone or a mailbox), "
        "rlswarm-rules channels test, then rlswarm-rules run -- ./run_rl_swarm.sh "
        "(from the rl-swarm folder; rules and channels are found here when it is the "
        "working folder, or in ~/.config/rlswarm-rules/)"
    )
    say(verbosity, ready, err=False)
