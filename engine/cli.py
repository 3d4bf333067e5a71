"""The command line: `rlswarm-rules COMMAND`. Each command lives in engine/commands/."""

from __future__ import annotations

import click

from engine.commands.channels import channels_group
from engine.commands.doctor import doctor_command
from engine.commands.rules import lint_command, replay_command, test_command
from engine.commands.run import run_command, watch_command


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="rlswarm-rules")
def main() -> None:
    """Watch long trainings: declarative rules over logs, metrics and process events."""


for command in (
    lint_command,
    test_command,
    replay_command,
    run_command,
    watch_command,
    channels_group,
    doctor_command,
):
    main.add_command(command)


if __name__ == "__main__":  # pragma: no cover
    main()
