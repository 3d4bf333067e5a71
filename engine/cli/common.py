"""What the commands share: exit codes, the common options, loading rules and channels.

Commands parse options, call one library function, and map its result to an exit
code: 0 success, 1 findings, 2 usage or configuration error (always with a
message, never a traceback).

Every command module imports only click and this module at the top: the library a command
uses is imported inside the command, so that `--help` and each command load only what they
use (`replay` never loads Apprise, aiohttp or jsonschema; tests/test_imports.py checks it).
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from engine.durations import parse_duration
from engine.errors import ConfigError, DurationError

if TYPE_CHECKING:
    from engine.notify.channels import ChannelSet
    from engine.packs.rule import RuleSet
    from engine.places import Found

EXIT_FINDINGS = 1
EXIT_CONFIG = 2
Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def fail(lines: Sequence[str], code: int = EXIT_CONFIG) -> NoReturn:
    for line in lines:
        click.echo(line, err=True)
    sys.exit(code)


def rules_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--rules",
        "rules",
        multiple=True,
        type=click.Path(path_type=Path),
        help="Rule pack file or folder (repeatable). Default: $RLSWARM_RULES, else rules/ "
        "here, else ~/.config/rlswarm-rules/rules/, else the shipped packs.",
    )(func)


def channels_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--channels",
        "channels_file",
        type=click.Path(path_type=Path),
        default=None,
        help="Where alerts go. Default: $RLSWARM_CHANNELS, else channels.yaml here, else "
        "~/.config/rlswarm-rules/channels.yaml, else the terminal and the journal.",
    )(func)


def state_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--state-dir",
        "state_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="The outbox, the journal, captured output, kept files. Default: "
        "$RLSWARM_STATE_DIR, else .rlswarm/ here.",
    )(func)


def found_or_fail(find: Callable[[], Found]) -> Found:
    """`find()` (an `engine.places` search), or exit 2 with its problems."""
    from engine.authoring import report

    try:
        return find()
    except ConfigError as exc:
        fail(report.problems_text(exc.problems))


def find_rules(given: Sequence[Path]) -> Found:
    from engine import places

    return found_or_fail(lambda: places.rules(given))


def find_channels(given: Path | None) -> Found:
    from engine import places

    return found_or_fail(lambda: places.channels(given))


def find_state(given: Path | None) -> Path:
    from engine import places

    found = places.state_dir(given).path
    assert found is not None
    return found


def load_channels(
    found: Found, project: str = "", lenient: bool = False, state_dir: Path | None = None
) -> ChannelSet:
    """The channels `found` names; exit 2 with every problem when the file cannot be used
    (with `lenient`, only when it cannot be read as a whole: see `engine.notify.channels`)."""
    from engine.authoring import report
    from engine.notify import channels as channelconf

    journal = (state_dir or Path(".rlswarm")) / "alerts.jsonl"
    try:
        channels = channelconf.load(found.path, project, lenient, journal)
    except ConfigError as exc:
        fail([*report.problems_text(exc.problems), f"fix {found.path} (see: rlswarm-rules lint)"])
    for line in report.problems_text(channels.warnings):  # a .env others may read...
        click.echo(line, err=True)
    if channels.path == channelconf.BUILTIN_PATH:
        channels.path = found.describe()
    return channels


def broken_lines(channels: ChannelSet) -> list[str]:
    """What to say, loudly, about each channel that could not be built."""
    from engine.authoring import report

    if not channels.broken:
        return []
    names = ", ".join(channels.broken_names)
    lines = [f"BROKEN CHANNEL(S): {names}: no alert goes there until fixed:"]
    for broken in channels.broken:
        lines += ["  " + line for line in report.problems_text(list(broken.problems))]
    return lines


def load_rules(paths: Sequence[Path]) -> RuleSet:
    from engine.authoring import report
    from engine.packs import loader as packs

    try:
        return packs.load_strict(paths)
    except ConfigError as exc:
        fail([*report.problems_text(exc.problems), "fix the rule packs (see: rlswarm-rules lint)"])


def origin_line(rules: Found, rule_set: RuleSet, channels: ChannelSet, found: Found) -> str:
    """`rules: 3 packs from rules/ (working folder); channels: console, journal from ...`."""
    packs = len(rule_set.files)
    names = ", ".join(c.name for c in channels.channels if c.enabled) or "none"
    return (
        f"rules: {packs} pack{'s' if packs != 1 else ''} from {rules.describe()}; "
        f"channels: {names} from {found.describe()}"
    )


def seconds(ctx: click.Context, param: click.Parameter, value: str) -> float:
    try:
        return parse_duration(value)
    except DurationError as exc:
        raise click.BadParameter(str(exc)) from None


def option_group(name: str, make: Callable[..., object], *options: Decorator) -> Decorator:
    """Add `options` to a command, which receives them as one argument `name`: what `make`
    returns, called with their values (`make`'s parameters are the options' names).

    The options are listed where the group's decorator stands, in the order given; `make`
    runs when the command is invoked, before its body (it may `fail`).
    """
    names = tuple(inspect.signature(make).parameters)

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)  # with the options already added below this one
        def command(**values: Any) -> Any:
            given = {key: values.pop(key) for key in names}
            return func(**values, **{name: make(**given)})

        decorated: Callable[..., Any] = command
        for option in reversed(options):
            decorated = option(decorated)
        return decorated

    return decorate


QUIET, NORMAL, VERBOSE = -1, 0, 1


def _verbosity(quiet: bool, verbose: bool) -> int:
    if quiet and verbose:
        fail(["-q and -v: give one of them"])
    return QUIET if quiet else VERBOSE if verbose else NORMAL


verbosity_options = option_group(
    "verbosity",
    _verbosity,
    click.option("-q", "--quiet", is_flag=True, help="Only results, problems and alerts."),
    click.option("-v", "--verbose", is_flag=True, help="Also the details (see the docs)."),
)
"""Every command's `-q`/`-v`: the command receives `verbosity` (QUIET, NORMAL or VERBOSE)."""


def say(verbosity: int, text: str, at_least: int = NORMAL, err: bool = True) -> None:
    """`text` (on stderr by default) when `verbosity` is at least `at_least`."""
    if verbosity >= at_least:
        click.echo(text, err=err)
