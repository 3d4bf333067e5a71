"""The command line: parse options, call one library function, map its result to an exit code.

Exit codes: 0 success, 1 findings (lint errors, failing pack tests), 2 usage or
configuration error (always with a message, never a traceback).
"""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from engine import app, channelconf, delivery, doctor, packs, packtest, report, wizard
from engine import lint as lint_mod
from engine import preset as preset_mod
from engine.channelconf import ChannelSet
from engine.durations import DurationError, parse_duration
from engine.errors import ConfigError
from engine.replay import Progress, replay
from engine.rule import RuleSet
from engine.runner import RunOptions

EXIT_FINDINGS = 1
EXIT_CONFIG = 2


def _fail(lines: Sequence[str], code: int = EXIT_CONFIG) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


def _rules_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--rules",
        "rules",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Rule pack file or folder (repeatable). Default: rules/",
    )(func)


def _channels_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--channels",
        "channels_file",
        type=click.Path(path_type=Path),
        default=Path("channels.yaml"),
        show_default=True,
        help="Where alerts go; without the file: the terminal and .rlswarm/alerts.jsonl.",
    )(func)


def _load_channels(path: Path, project: str = "") -> ChannelSet:
    try:
        return channelconf.load(path, project)
    except ConfigError as exc:
        _fail([*report.problems_text(exc.problems), "fix channels.yaml (see: rlswarm-rules lint)"])


def _preset(
    command: Sequence[str],
    name: str | None,
    off: bool,
    answers: Sequence[str],
    keeps: Sequence[str],
) -> preset_mod.Preset:
    """The preset asked for (or the one the command implies), with the command line's extras."""
    try:
        name = None if off else (name or preset_mod.for_command(command))
        base = preset_mod.load(name) if name else preset_mod.Preset()
        extra = []
        for item in answers:
            if "=>" not in item:
                _fail([f"--answer '{item}': write it as 'REGEX=>TEXT'"])
            prompt, text = item.split("=>", 1)
            extra.append(preset_mod.parse_answer(prompt, text))
        return preset_mod.combine(base, extra, keeps)
    except ConfigError as exc:
        _fail(report.problems_text(exc.problems))


def _load_rules(paths: Sequence[Path]) -> RuleSet:
    try:
        return packs.load_strict(paths)
    except ConfigError as exc:
        _fail([*report.problems_text(exc.problems), "fix the rule packs (see: rlswarm-rules lint)"])


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlswarm-rules")
def main() -> None:
    """Watch long trainings: declarative rules over logs, metrics and process events."""


@main.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--channels",
    "channels_file",
    type=click.Path(path_type=Path),
    default=Path("channels.yaml"),
    show_default=True,
    help="Channels file whose names rules may use.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def lint_command(paths: tuple[Path, ...], channels_file: Path, strict: bool, fmt: str) -> None:
    """Check rule packs and channels.yaml: schema, regexes, expressions, templates, names,
    every rule's examples, and every channel URL (through Apprise)."""
    result = lint_mod.lint(list(paths), channels_file)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for line in report.problems_text(result.problems):
            click.echo(line)
        verdict = (
            "ok" if not result.problems else f"{result.errors} errors, {result.warnings} warnings"
        )
        click.echo(f"{result.rules} rules in {result.files} files: {verdict}", err=True)
    sys.exit(result.exit_code(strict))


@main.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def test_command(paths: tuple[Path, ...]) -> None:
    """Run rule-pack tests (*.test.yaml, or tests/*.yaml in a pack folder)."""
    result = packtest.run(list(paths))
    if result.problems:
        _fail(report.problems_text(result.problems))
    for line in report.test_report_lines(result):
        click.echo(line)
    sys.exit(EXIT_FINDINGS if result.failed else 0)


def _progress_bar(files: Sequence[str]) -> Progress | None:
    if not sys.stderr.isatty() or "-" in files:
        return None
    total = sum(Path(f).stat().st_size for f in files if Path(f).is_file())
    start = time.monotonic()
    shown = [0.0]

    def show(done: int) -> None:
        now = time.monotonic()
        if now - shown[0] < 0.25:
            return
        shown[0] = now
        share = min(done / total, 1.0) if total else 0.0
        bar = "#" * int(share * 30)
        rate = done / max(now - start, 1e-9) / 1e6
        click.echo(
            f"\r  [{bar:<30}] {share:4.0%} {done / 1e6:,.0f} MB {rate:,.0f} MB/s",
            err=True,
            nl=False,
        )

    return show


@main.command("replay")
@click.argument("logs", nargs=-1, required=True)
@_rules_option
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text")
@click.option("--verbose", "-v", is_flag=True, help="Also show suppressed, pending... decisions.")
@click.option("--year", type=int, help="Year for timestamps without one (default: file's mtime).")
@click.option("--project", default="", help="Project name used in templates.")
def replay_command(
    logs: tuple[str, ...],
    rules: tuple[Path, ...],
    fmt: str,
    verbose: bool,
    year: int | None,
    project: str,
) -> None:
    """Backtest the rules over saved logs (`-` for stdin, .gz read as is), in log time."""
    missing = [f for f in logs if f != "-" and not Path(f).is_file()]
    if missing:
        _fail([f"{f}: no such file" for f in missing])
    rule_set = _load_rules(rules)
    started = time.perf_counter()
    progress = _progress_bar(logs)
    try:
        result = replay(
            rule_set,
            logs,
            host=socket.gethostname(),
            project=project,
            year=year,
            keep_all=verbose,
            progress=progress,
        )
    except OSError as exc:
        _fail([f"cannot read log: {exc}"])
    seconds = time.perf_counter() - started
    if progress:
        click.echo("\r" + " " * 70 + "\r", err=True, nl=False)
    if fmt == "jsonl":
        for d in result.decisions:
            click.echo(report.decision_json(d, result.timed))
        click.echo(report.replay_footer(result, seconds), err=True)
        return
    for d in result.decisions:
        click.echo(report.decision_line(d, result.timed))
    click.echo()
    for line in report.tally_table(rule_set, result.tallies):
        click.echo(line)
    click.echo(report.replay_footer(result, seconds))


def _seconds(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command("doctor")
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
    callback=_seconds,
    help="Connect timeout per host; all hosts are tried at once.",
)
def doctor_command(python: str | None, fmt: str, hosts: tuple[str, ...], timeout: float) -> None:
    """Pre-flight checks of the machine and the training environment (exit 1 if any is critical)."""
    if timeout <= 0:
        raise click.BadParameter("must be more than 0, e.g. 3s", param_hint="--timeout")
    try:
        targets = tuple(doctor.parse_host(h) for h in hosts) or doctor.DEFAULT_TARGETS
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--hosts") from None
    try:
        found = doctor.run(doctor.Options(python=python, hosts=targets, host_timeout=timeout))
    except doctor.DoctorError as exc:
        _fail([str(exc)])
    if fmt == "json":
        click.echo(json.dumps(doctor.render.as_json(found), indent=2))
    else:
        for line in doctor.render.text(found):
            click.echo(line)
    sys.exit(EXIT_FINDINGS if found.critical else 0)


@main.command("run", context_settings={"allow_interspersed_args": False})
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@_rules_option
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
    callback=_seconds,
    help="...within this window; running out is a critical alert.",
)
@click.option(
    "--backoff",
    default="10s",
    show_default=True,
    callback=_seconds,
    help="First restart delay; doubles up to 5m.",
)
@click.option(
    "--grace",
    default="10s",
    show_default=True,
    callback=_seconds,
    help="Time the command gets to stop before it is killed.",
)
@click.option(
    "--interval",
    default="10s",
    show_default=True,
    callback=_seconds,
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
@_channels_option
@click.option(
    "--project",
    default="",
    help="Name shown in alerts (default: from channels.yaml, else the host name).",
)
@click.option("--verbose", "-v", is_flag=True, help="Also print decisions that send nothing.")
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
) -> None:
    """Run COMMAND under supervision (after `--`); with none, the built-in demo training."""
    demo = not command
    if demo_fault and not demo:
        _fail(["--demo-fault only applies to the built-in demo (give no COMMAND)"])
    rule_set = _load_rules(app.rule_paths(rules, demo))
    command_line = list(command) or app.demo_command(demo_fault)
    chosen = _preset(command_line, preset_name, no_preset, answers, keeps)
    opts = RunOptions(
        command=command_line,
        preset=chosen,
        restart=restart,
        max_restarts=max_restarts,
        within=within,
        backoff=backoff,
        grace=grace,
        interval=interval,
        watch=list(watch_files),
        patch=not no_patch,
        dry_run=dry_run,
    )
    channels = _load_channels(channels_file, project)
    sys.exit(app.run(rule_set, channels, opts, verbose=verbose))


@main.command("watch")
@click.argument("files", nargs=-1, required=True)
@_rules_option
@click.option(
    "--interval",
    default="10s",
    show_default=True,
    callback=_seconds,
    help="How often host metrics are sampled.",
)
@click.option("--dry-run", is_flag=True, help="Evaluate and print; send nothing.")
@_channels_option
@click.option("--project", default="", help="Name shown in alerts.")
def watch_command(
    files: tuple[str, ...],
    rules: tuple[Path, ...],
    interval: float,
    dry_run: bool,
    channels_file: Path,
    project: str,
) -> None:
    """Follow log files written by a process started elsewhere, from their end."""
    rule_set = _load_rules(rules)
    channels = _load_channels(channels_file, project)
    sys.exit(app.watch(rule_set, channels, files, interval, Path(".rlswarm"), dry_run))


@main.group("channels")
def channels_group() -> None:
    """Show, test and add the channels alerts go to (channels.yaml)."""


@channels_group.command("list")
@_channels_option
def channels_list(channels_file: Path) -> None:
    """Each channel in privacy form (no secrets) with its routing and queue."""
    channels = _load_channels(channels_file)
    pending = _pending_counts()
    click.echo(f"project: {channels.project}   from: {channels.path}")
    for c in channels.channels:
        route = f"min_severity={c.min_severity.label}"
        route += f" fallback={c.fallback}" if c.fallback else ""
        state = "" if c.enabled else " (disabled)"
        queued = pending.get(c.name, 0)
        click.echo(
            f"{c.name:<12} {c.privacy}  {route}{state}" + (f"  {queued} queued" if queued else "")
        )


def _pending_counts() -> dict[str, int]:
    path = Path(".rlswarm") / "outbox.sqlite"
    if not path.exists():
        return {}
    from engine.outbox import Outbox

    box = Outbox(path)
    try:
        return {c: n for (c, state), n in box.counts().items() if state == "pending"}
    finally:
        box.close()


@channels_group.command("test")
@click.argument("name", required=False)
@_channels_option
def channels_test(name: str | None, channels_file: Path) -> None:
    """Send a real test message through each channel (or NAME) and report each result."""
    channels = _load_channels(channels_file)
    chosen = [c for c in channels.channels if name in (None, c.name)]
    if name and not chosen:
        _fail([f"no channel '{name}'; known: {', '.join(channels.names)}"])
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
@_channels_option
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
        _fail(report.problems_text(exc.problems))
    click.echo(f"added channel '{name}' to {channels_file} (url: {url})")
    if secrets:
        click.echo(f"saved {', '.join(secrets)} to {channels_file.parent / '.env'} (git-ignored)")
    if missing:
        click.echo(
            "set these before alerts can go out (environment or .env): " + ", ".join(missing)
        )
    click.echo(f"then check it: rlswarm-rules channels test {name}")


if __name__ == "__main__":  # pragma: no cover
    main()
