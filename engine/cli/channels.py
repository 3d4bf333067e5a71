"""`channels list|test|add`: the channels alerts go to."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import click

from engine.cli.common import EXIT_FINDINGS, channels_option, fail, load_channels
from engine.errors import ConfigError
from engine.notify import wizard


@click.group("channels")
def channels_group() -> None:
    """Show, test and add the channels alerts go to (channels.yaml)."""


@channels_group.command("list")
@channels_option
def channels_list(channels_file: Path) -> None:
    """Each channel in privacy form (no secrets) with its routing and queue."""
    from engine.notify.outbox import pending_in

    channels = load_channels(channels_file)
    pending, trouble = pending_in(Path(".rlswarm") / "outbox.sqlite")
    if trouble:
        click.echo(f"{trouble}: what is queued is not shown", err=True)
    click.echo(f"project: {channels.project}   from: {channels.path}")
    for c in channels.channels:
        route = f"min_severity={c.min_severity.label}"
        route += f" fallback={c.fallback}" if c.fallback else ""
        state = "" if c.enabled else " (disabled)"
        queued = pending.get(c.name, 0)
        click.echo(
            f"{c.name:<12} {c.privacy}  {route}{state}" + (f"  {queued} queued" if queued else "")
        )


def _shown(channels_file: Path, name: str, url: str) -> str:
    """The URL as written, with its secrets masked: those the channel resolves to when it
    does, else every part that looks like a credential."""
    from engine.notify import channels as channelconf

    try:
        channel = channelconf.load(channels_file).get(name)
    except ConfigError:  # a variable still to be set: the secrets are not known yet
        channel = None
    return channelconf.shown_written(url, channel.secrets if channel else ())


@channels_group.command("test")
@click.argument("name", required=False)
@channels_option
def channels_test(name: str | None, channels_file: Path) -> None:
    """Send a real test message through each channel (or NAME) and report each result."""
    from engine.notify import delivery

    channels = load_channels(channels_file)
    chosen = [c for c in channels.channels if name in (None, c.name)]
    if name and not chosen:
        fail([f"no channel '{name}'; known: {', '.join(channels.names)}"])
    failed = 0
    for channel, ok, error in delivery.test_channels(channels, chosen, socket.gethostname()):
        click.echo(f"{channel.name:<12} {'ok' if ok else 'FAILED: ' + error}")
        failed += not ok
    sys.exit(EXIT_FINDINGS if failed else 0)


@channels_group.command("add")
@click.option("--service", type=click.Choice([s.id for s in wizard.SERVICES]), help="Service.")
@click.option("--name", help="Channel name (default: the service's).")
@click.option("--min-severity", type=click.Choice(["info", "warning", "error", "critical"]))
@click.option(
    "--field",
    "fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="A field's value (repeatable); secret ones go to .env, never channels.yaml.",
)
@channels_option
def channels_add(
    service: str | None,
    name: str | None,
    min_severity: str | None,
    fields: tuple[str, ...],
    channels_file: Path,
) -> None:
    """Add a channel: interactively, or with --service and --field for scripts."""
    interactive = service is None
    if interactive:
        for line in wizard.describe():
            click.echo(line)
        service = click.prompt(
            "service", type=click.Choice([s.id for s in wizard.SERVICES]), show_choices=False
        )
    chosen = wizard.BY_ID[str(service)]
    values = dict(f.split("=", 1) for f in fields if "=" in f)
    for field in chosen.fields:
        if field.key not in values and interactive:
            hint = f" (e.g. {field.example})" if field.example else ""
            extra = " [Enter to set it later]" if field.secret else ""
            values[field.key] = click.prompt(
                f"{field.prompt}{hint}{extra}",
                default="",
                hide_input=field.secret,
                show_default=False,
            )
    name = name or (click.prompt("channel name", default=chosen.id) if interactive else chosen.id)
    severity = min_severity or chosen.min_severity
    url, secrets = wizard.build_url(chosen, values)
    try:
        missing = wizard.add_channel(channels_file, name, url, severity, secrets)
    except ConfigError as exc:
        from engine.authoring import report

        fail(report.problems_text(exc.problems))
    shown = _shown(channels_file, name, url)
    click.echo(f"added channel '{name}' to {channels_file} (url: {shown})")
    if secrets:
        click.echo(f"saved {', '.join(secrets)} to {channels_file.parent / '.env'} (git-ignored)")
    if missing:
        click.echo(
            "set these before alerts can go out (environment or .env): " + ", ".join(missing)
        )
    click.echo(f"then check it: rlswarm-rules channels test {name}")
