"""`lint`, `test` and `replay`: checking and backtesting rule packs."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from engine.cli.common import (
    EXIT_FINDINGS,
    NORMAL,
    QUIET,
    VERBOSE,
    fail,
    find_channels,
    find_rules,
    load_rules,
    rules_option,
    say,
    verbosity_options,
)

if TYPE_CHECKING:
    from engine.authoring.replay import Progress
    from engine.places import Found


def _given_or_found(paths: Sequence[Path]) -> Found:
    """The PATHS of `lint` and `test` (each reports one that is missing among its findings),
    else the packs the search order finds."""
    from engine.places import Found

    return Found(tuple(paths), "given") if paths else find_rules(())


@click.command("lint")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--channels",
    "channels_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Channels file to check, whose names rules may use (default: the one `run` "
    "would use: $RLSWARM_CHANNELS, channels.yaml here, ~/.config/rlswarm-rules/).",
)
@click.option(
    "--no-channels",
    is_flag=True,
    help="Check the rule packs alone: no channels file, nor the channel names rules use.",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@verbosity_options
def lint_command(
    paths: tuple[Path, ...],
    channels_file: Path | None,
    no_channels: bool,
    strict: bool,
    fmt: str,
    verbosity: int,
) -> None:
    """Check rule packs (PATHS, default: those `run` would load) and the channels file:
    schema, regexes, expressions, templates, names, every rule's examples, and every
    channel URL (through Apprise)."""
    from engine.authoring import lint as lint_mod
    from engine.authoring import report

    if no_channels and channels_file is not None:
        fail(["--no-channels and --channels: give one of them"])
    found = None if no_channels else find_channels(channels_file)
    rules = _given_or_found(paths)
    result = lint_mod.lint(list(rules.paths), found.path if found else None, not no_channels)
    channels = "not checked (--no-channels)" if found is None else found.describe()
    say(verbosity, f"rules: {rules.describe()}; channels: {channels}", VERBOSE)
    if fmt == "json":
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for line in report.problems_text(result.problems):
            click.echo(line)
        verdict = (
            "ok" if not result.problems else f"{result.errors} errors, {result.warnings} warnings"
        )
        say(verbosity, f"{result.rules} rules in {result.files} files: {verdict}")
    sys.exit(result.exit_code(strict))


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@verbosity_options
def test_command(paths: tuple[Path, ...], verbosity: int) -> None:
    """Run rule-pack tests (*.test.yaml, or tests/*.yaml in a pack folder)."""
    from engine.authoring import packtest, report

    rules = _given_or_found(paths)
    say(verbosity, f"rules: {rules.describe()}", VERBOSE)
    result = packtest.run(list(rules.paths))
    if result.problems:
        fail(report.problems_text(result.problems))
    for outcome in result.outcomes if verbosity >= VERBOSE else ():
        if outcome.passed:
            click.echo(f"ok   {outcome.case.path}:{outcome.case.line}: {outcome.case.name}")
    lines = report.test_report_lines(result)
    for line in lines[:-1] if verbosity <= QUIET else lines:
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


@click.command("replay")
@click.argument("logs", nargs=-1, required=True)
@rules_option
@click.option("--format", "fmt", type=click.Choice(["text", "jsonl"]), default="text")
@verbosity_options
@click.option("--brief", is_flag=True, help="Do not show each alert's advice under it.")
@click.option("--year", type=int, help="Year for timestamps without one (default: file's mtime).")
@click.option("--project", default="", help="Project name used in templates.")
def replay_command(
    logs: tuple[str, ...],
    rules: tuple[Path, ...],
    fmt: str,
    verbosity: int,
    brief: bool,
    year: int | None,
    project: str,
) -> None:
    """Backtest the rules over saved logs (`-` for stdin, .gz read as is), in log time.

    -v also shows suppressed, pending... decisions, and every rule in the summary; -q
    shows the alerts alone (no advice, no summary table, no footer)."""
    from engine.authoring import report
    from engine.authoring.replay import replay

    missing = [f for f in logs if f != "-" and not Path(f).is_file()]
    if missing:
        fail([f"{f}: no such file" for f in missing])
    verbose = verbosity >= VERBOSE
    found = find_rules(rules)
    say(verbosity, f"rules: {found.describe()}", VERBOSE)
    rule_set = load_rules(found.paths)
    started = time.perf_counter()
    progress = _progress_bar(logs) if verbosity >= NORMAL else None
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
        fail([f"cannot read log: {exc}"])
    seconds = time.perf_counter() - started
    if progress:
        click.echo("\r" + " " * 70 + "\r", err=True, nl=False)
    if fmt == "jsonl":
        for d in result.decisions:
            click.echo(report.decision_json(d, result.timed))
        say(verbosity, report.replay_footer(result, seconds))
        return
    for d in result.decisions:
        click.echo(report.decision_line(d, result.timed))
        for line in [] if brief or verbosity <= QUIET else report.advice_lines(d):
            click.echo(line)
    if verbosity <= QUIET:
        return
    click.echo()
    for line in report.tally_table(rule_set, result.tallies, every_rule=verbose):
        click.echo(line)
    click.echo(report.replay_footer(result, seconds))
