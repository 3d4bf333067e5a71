"""The command line: `rlswarm-rules COMMAND`. Each command lives in engine/cli/.

A command's module is imported when that command runs (or `--help` lists them all), so that
`replay` does not load what `run` and `channels` need.
"""

from __future__ import annotations

import importlib

import click

COMMANDS = {
    "lint": "engine.cli.rules:lint_command",
    "test": "engine.cli.rules:test_command",
    "replay": "engine.cli.rules:replay_command",
    "run": "engine.cli.run:run_command",
    "watch": "engine.cli.run:watch_command",
    "channels": "engine.cli.channels:channels_group",
    "doctor": "engine.cli.doctor:doctor_command",
    "service": "engine.cli.service:service_group",
    "init": "engine.cli.init:init_command",
}


class _Commands(click.Group):
    """The commands of COMMANDS, each imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, name = target.split(":")
        command = getattr(importlib.import_module(module), name)
        assert isinstance(command, click.Command), target
        return command


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlswarm-rules")
def main() -> None:
    """Watch long trainings: declarative rules over logs, metrics and process events."""


if __name__ == "__main__":  # pragma: no cover
    main()
