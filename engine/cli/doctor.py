"""`doctor`: pre-flight checks of the machine and the training environment, and `--fix`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.cli.common import (
    EXIT_FINDINGS,
    QUIET,
    VERBOSE,
    fail,
    say,
    seconds,
    verbosity_options,
)

if TYPE_CHECKING:
    from engine import doctor as doctor_mod


@click.command("doctor")
@click.option(
    "--python",
    "python",
    metavar="PATH",
    help="The training interpreter (default: .venv/bin/python here, else python3 on PATH).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.option(
    "--hosts",
    "hosts",
    multiple=True,
    metavar="HOST[:PORT]",
    help="Check this host instead of the defaults (repeatable; port 443 when omitted).",
)
@click.option(
    "--timeout",
    default="3s",
    show_default=True,
    callback=seconds,
    help="Connect timeout per host; all hosts are tried at once.",
)
@click.option("--fix", is_flag=True, help="Apply the safe fixes of what was found (asks first).")
@click.option("--yes", "-y", is_flag=True, help="With --fix: apply without asking.")
@click.option(
    "--cache-max",
    metavar="SIZE",
    help="With --fix: trim the Hugging Face cache to SIZE (e.g. 20G), even when it is "
    "not worth a warning (default: to 20G when it is).",
)
@verbosity_options
def doctor_command(
    python: str | None,
    fmt: str,
    hosts: tuple[str, ...],
    timeout: float,
    fix: bool,
    yes: bool,
    cache_max: str | None,
    verbosity: int,
) -> None:
    """Pre-flight checks of the machine and the training environment (exit 1 if any is critical).

    -q shows the critical findings and warnings alone; -v also the hosts tried."""
    from engine import doctor
    from engine.model import Severity

    if timeout <= 0:
        raise click.BadParameter("must be more than 0, e.g. 3s", param_hint="--timeout")
    try:
        targets = tuple(doctor.parse_host(h) for h in hosts) or doctor.DEFAULT_TARGETS
        limit = doctor.parse_size(cache_max) if cache_max else None
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    if fix and fmt == "json":
        fail(["--fix shows what it changes as text: leave out --format json"])
    preset_env = _local_preset_env()
    env = _training_env(os.environ, preset_env)
    opts = doctor.Options(python=python, hosts=targets, host_timeout=timeout, env=env)
    try:
        facts, found = doctor.examine(opts)
    except doctor.DoctorError as exc:
        fail([str(exc)])
    say(verbosity, f"hosts tried: {', '.join(map(str, targets))}", VERBOSE)
    if fmt == "json":
        click.echo(json.dumps(doctor.render.as_json(found), indent=2))
    elif verbosity <= QUIET:
        for f in found.findings:
            if f.severity >= Severity.WARNING:
                click.echo(f"{f.severity.label.upper()} {doctor.render.finding_line(f).strip()}")
    else:
        for line in doctor.render.text(found):
            click.echo(line)
    if fix:
        fixes = doctor.plan(facts, doctor.FixOptions(Path.cwd(), limit, preset_env))
        if fixes and _apply(fixes, yes):
            again = _training_env(os.environ, _local_preset_env())
            found = doctor.run(replace(opts, env=again))
            click.echo("")
            click.echo("after the fixes: " + doctor.render.text(found)[-1])
        elif not fixes:
            click.echo("\nnothing here that doctor --fix knows how to fix")
    sys.exit(EXIT_FINDINGS if found.critical else 0)


def _apply(fixes: list[doctor_mod.Fix], yes: bool) -> bool:
    """Show the fixes, ask (unless `yes`), apply them; whether any was applied."""
    from engine.doctor import repair

    click.echo("")
    click.echo(f"doctor --fix will change {len(fixes)} thing(s):")
    for f in fixes:
        click.echo(f"  {f.check}: {f.change}")
        click.echo(f"      undo: {f.undo}")
    if not yes and not _confirmed("Apply these fixes?"):
        click.echo("nothing changed (--yes applies them without asking)")
        return False
    for f in fixes:
        try:
            click.echo(f"  fixed {f.check}: {repair.apply(f)}")
        except (repair.FixFailed, OSError) as exc:
            click.echo(f"  NOT fixed {f.check}: {exc}", err=True)
    return True


def _confirmed(question: str) -> bool:
    try:
        return click.confirm(question, default=False, err=True)
    except click.Abort:  # no one to ask (stdin closed)
        return False


def _local_preset_env() -> dict[str, str | None]:
    """The variables the node folder's preset file gives the training under `run`."""
    from engine.authoring import report
    from engine.errors import ConfigError
    from engine.supervise import preset

    path = Path.cwd() / preset.LOCAL
    if not path.is_file():
        return {}
    try:
        return dict(preset.load(str(path)).env)
    except ConfigError as exc:
        fail(report.problems_text(exc.problems))


def _training_env(env: Mapping[str, str], preset_env: Mapping[str, str | None]) -> dict[str, str]:
    """The environment `run` gives the training: ours, with the preset's variables."""
    out = dict(env)
    for name, value in preset_env.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out
