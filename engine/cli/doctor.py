"""`doctor`: pre-flight checks of the machine and the training environment."""

from __future__ import annotations

import json
import sys

import click

from engine.cli.common import EXIT_FINDINGS, fail, seconds


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
def doctor_command(python: str | None, fmt: str, hosts: tuple[str, ...], timeout: float) -> None:
    """Pre-flight checks of the machine and the training environment (exit 1 if any is critical)."""
    from engine import doctor

    if timeout <= 0:
        raise click.BadParameter("must be more than 0, e.g. 3s", param_hint="--timeout")
    try:
        targets = tuple(doctor.parse_host(h) for h in hosts) or doctor.DEFAULT_TARGETS
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--hosts") from None
    try:
        found = doctor.run(doctor.Options(python=python, hosts=targets, host_timeout=timeout))
    except doctor.DoctorError as exc:
        fail([str(exc)])
    if fmt == "json":
        click.echo(json.dumps(doctor.render.as_json(found), indent=2))
    else:
        for line in doctor.render.text(found):
            click.echo(line)
    sys.exit(EXIT_FINDINGS if found.critical else 0)
