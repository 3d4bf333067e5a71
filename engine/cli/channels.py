"""`channels list|test|add`: the channels alerts go to."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import click

from engine.cli.common import (
    EXIT_FINDINGS,
    NORMAL,
    QUIET,
    VERBOSE,
    channels_option,
    fail,
    find_channels,
    find_state,
    load_channels,
    say,
    state_option,
    verbosity_options,
)
from engine.errors import ConfigError
from engine.notify import wizard


@click.group("channels")
def channels_group() -> None:
    """Show, test and add the channels alerts go to (channels.yaml)."""


@channels_group.command("list")
@channels_option
@state_option
@verbosity_options
def channels_list(channels_file: Path | None, state_dir: Path | None, verbosity: int) -> None:
    """Each channel in privacy form (no secrets) with its routing and queue (-q: without the
    header line; -v: also the URL as written, with its ${NAME} references)."""
    from engine.notify import channels as channelconf
    from engine.notify.outbox import pending_in

    folder = find_state(state_dir)
    channels = load_channels(find_channels(channels_file), lenient=True, state_dir=folder)
    pending, trouble = pending_in(folder / "outbox.sqlite")
    if trouble:
        click.echo(f"{trouble}: what is queued is not shown", err=True)
    say(verbosity, f"project: {channels.project}   from: {channels.path}", err=False)
    for c in channels.channels:
        route = f"min_severity={c.min_severity.label}"
        route += f" fallback={c.fallback}" if c.fallback else ""
        state = "" if c.enabled else " (disabled)"
        queued = pending.get(c.name, 0)
        click.echo(
            f"{c.name:<12} {c.privacy}  {route}{state}" + (f"  {queued} queued" if queued else "")
        )
        say(verbosity, f"{'':<12} written: {channelconf.shown_written(c.written, c.secrets)}",
            VERBOSE, err=False)  # fmt: skip
    for b in channels.broken:
        click.echo(f"{b.name:<12} BROKEN: {b.why}")
    if channels.broken:
        sys.exit(EXIT_FINDINGS)


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
@state_option
@verbosity_options
def channels_test(
    name: str | None, channels_file: Path | None, state_dir: Path | None, verbosity: int
) -> None:
    """Send a real test message through each channel (or NAME) and report each result (-q:
    the failures alone; -v: each channel's URL too, secrets masked)."""
    from engine.notify import delivery

    found = find_channels(channels_file)
    channels = load_channels(found, lenient=True, state_dir=find_state(state_dir))
    say(verbosity, f"channels from {found.describe()}")
    chosen = [c for c in channels.channels if name in (None, c.name)]
    broken = [b for b in channels.broken if name in (None, b.name)]
    if name and not chosen and not broken:
        known = ", ".join([*channels.names, *channels.broken_names])
        fail([f"no channel '{name}'; known: {known}"])
    failed = 0
    for channel, ok, error in delivery.test_channels(channels, chosen, socket.gethostname()):
        url = f"  ({channel.privacy})" if verbosity >= VERBOSE else ""
        say(verbosity, f"{channel.name:<12} {'ok' if ok else 'FAILED: ' + error}{url}",
            NORMAL if ok else QUIET, err=False)  # fmt: skip
        failed += not ok
    for b in broken:
        click.echo(f"{b.name:<12} FAILED: not built: {b.why}")
        failed += 1
    sys.exit(EXIT_FINDINGS if failed else 0)


def _add_target(given: Path | None) -> Path:
    """The file `channels add` writes: the one given (made if missing), else the one `run`
    would use, else channels.yaml here."""
    from engine import places

    if given is not None:
        if not given.parent.is_dir():
            fail([f"{given}: no such folder {given.parent} (given by --channels)"])
        return given
    return find_channels(None).path or places.CHANNELS_FILE


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
@verbosity_options
def channels_add(
    service: str | None,
    name: str | None,
    min_severity: str | None,
    fields: tuple[str, ...],
    channels_file: Path | None,
    verbosity: int,
) -> None:
    """Add a channel: interactively, or with --service and --field for scripts (-q: only what
    was added and what is still to be set; -v: also the entry as written)."""
    _add_target(channels_file)  # a wrong --channels fails before the questions
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
    target = _add_target(channels_file)
    try:
        added = wizard.add_channel(target, name, url, severity, secrets)
    except ConfigError as exc:
        from engine.authoring import report

        fail(report.problems_text(exc.problems))
    shown = _shown(target, name, url)
    click.echo(f"added channel '{name}' to {target} (url: {shown})")
    say(verbosity, wizard.entry_text(name, url, severity).rstrip(), VERBOSE, err=False)
    if added.kept:
        say(verbosity, f"kept the built-in channel(s) {', '.join(added.kept)} beside it", err=False)
    if secrets:
        saved = f"saved {', '.join(secrets)} to {target.parent / '.env'} (git-ignored)"
        say(verbosity, saved, err=False)
    missing = added.missing
    if missing:
        click.echo(
            "set these before alerts can go out (environment or .env): " + ", ".join(missing)
        )
    say(verbosity, f"then check it: rlswarm-rules channels test {name}", err=False)
