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
        help="Rule pack file or folder (repeatable). Default: rules/",
    )(func)


def channels_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--channels",
        "channels_file",
        type=click.Path(path_type=Path),
        default=Path("channels.yaml"),
        show_default=True,
        help="Where alerts go; without the file: the terminal and .rlswarm/alerts.jsonl.",
    )(func)


def load_channels(path: Path, project: str = "") -> ChannelSet:
    from engine.authoring import report
    from engine.notify import channels as channelconf

    try:
        channels = channelconf.load(path, project)
    except ConfigError as exc:
        fail([*report.problems_text(exc.problems), "fix channels.yaml (see: rlswarm-rules lint)"])
    for line in report.problems_text(channels.warnings):  # a .env others may read...
        click.echo(line, err=True)
    return channels


def load_rules(paths: Sequence[Path]) -> RuleSet:
    from engine.authoring import report
    from engine.packs import loader as packs

    try:
        return packs.load_strict(paths)
    except ConfigError as exc:
        fail([*report.problems_text(exc.problems), "fix the rule packs (see: rlswarm-rules lint)"])


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
