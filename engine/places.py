"""Where rules, channels and state are found: one search order, the same for every command.

Rule packs: `--rules` (repeatable), else `$RLSWARM_RULES` (paths separated by `:`), else
`rules/` in the working folder, else `rules/` in the user's config folder
(`$XDG_CONFIG_HOME/rlswarm-rules/`, by default `~/.config/rlswarm-rules/`), else the packs
shipped inside the package.

Channels: `--channels`, else `$RLSWARM_CHANNELS`, else `channels.yaml` in the working
folder, else `channels.yaml` in the user's config folder, else the built-in terminal and
journal channels.

State (the outbox, the journal of the built-in channels, the captured output, kept files):
`--state-dir`, else `$RLSWARM_STATE_DIR`, else `.rlswarm/` in the working folder; never
the user's folder, so that two nodes on one machine never share an outbox.

A path given by an option or a variable must exist (the state folder is made when
missing): a typo is an error, never a quiet fall back to the next place.

May import: errors
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from engine.errors import ConfigError, Problem

RULES_ENV = "RLSWARM_RULES"
CHANNELS_ENV = "RLSWARM_CHANNELS"
STATE_ENV = "RLSWARM_STATE_DIR"
APP = "rlswarm-rules"
RULES_DIR = Path("rules")
CHANNELS_FILE = Path("channels.yaml")
STATE_DIR = Path(".rlswarm")
PACKAGE = Path(__file__).resolve().parent
BUILT_IN = "built in"  # the `source` of what comes with the package


@dataclass(frozen=True)
class Found:
    """Where something was found (`paths`: none for the built-in channels) and what said so:
    the option, the variable, `working folder`, `user config` or `built in`."""

    paths: tuple[Path, ...]
    source: str

    @property
    def path(self) -> Path | None:
        return self.paths[0] if self.paths else None

    def describe(self) -> str:
        """`rules/ (working folder)`: for the line `run` prints at start."""
        if not self.paths:
            return "the built-in defaults"
        return f"{', '.join(str(p) for p in self.paths)} ({self.source})"


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    """The user's config folder for this tool (whether or not it exists)."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or ""
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"
    return root / APP


def shipped_rules() -> Path:
    """The default packs: `engine/rules/` in an installed package, else `rules/` of the
    repository this package is run from (a clone keeps them there)."""
    inside = PACKAGE / "rules"
    return inside if inside.is_dir() else PACKAGE.parent / "rules"


def shipped_schema(name: str) -> Path:
    """The JSON Schema `name` (`rules`, `packtest`, `channels`) inside the package."""
    return PACKAGE / "schema" / f"{name}.schema.json"


def _explicit(paths: Sequence[Path], source: str, what: str) -> Found:
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise ConfigError(
            [
                Problem(str(p), 0, f"no such {what} (given by {source}); nothing else is "
                        "used in its place: fix the path or leave it out", code="io")
                for p in missing
            ]
        )  # fmt: skip
    return Found(tuple(paths), source)


def _from_env(env: Mapping[str, str], name: str) -> list[Path]:
    return [Path(p) for p in env.get(name, "").split(os.pathsep) if p.strip()]


def rules(
    given: Sequence[Path] = (), env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Found:
    """The rule packs to load (see the module's search order); ConfigError when a path
    given by `--rules` or the variable does not exist."""
    env = os.environ if env is None else env
    if given:
        return _explicit(given, "--rules", "file or folder")
    if from_env := _from_env(env, RULES_ENV):
        return _explicit(from_env, f"${RULES_ENV}", "file or folder")
    here = (cwd or Path()) / RULES_DIR
    if here.is_dir():
        return Found((RULES_DIR if cwd is None else here,), "working folder")
    user = config_dir(env) / "rules"
    if user.is_dir():
        return Found((user,), "user config")
    return Found((shipped_rules(),), BUILT_IN)


def channels(
    given: Path | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Found:
    """The channels file (none: the built-in channels); ConfigError when a file given by
    `--channels` or the variable does not exist."""
    env = os.environ if env is None else env
    if given is not None:
        return _explicit([given], "--channels", "file")
    if value := env.get(CHANNELS_ENV, "").strip():
        return _explicit([Path(value)], f"${CHANNELS_ENV}", "file")
    here = (cwd or Path()) / CHANNELS_FILE
    if here.is_file():
        return Found((CHANNELS_FILE if cwd is None else here,), "working folder")
    user = config_dir(env) / CHANNELS_FILE
    if user.is_file():
        return Found((user,), "user config")
    return Found((), BUILT_IN)


LAUNCHER = "run_rl_swarm.sh"


def launcher_problem(command: Sequence[str], cwd: Path | None = None) -> str | None:
    """What is wrong with starting RL-Swarm's launcher this way, if anything: it takes the
    working folder as its root (`ROOT=$PWD`), so it only works started from its own folder."""
    here = (cwd or Path.cwd()).resolve()
    for part in command[:2]:
        if Path(part).name != LAUNCHER:
            continue
        script = here / part
        if not script.is_file():
            return (
                f"{part}: no such file here ({here}); run this from your rl-swarm folder: "
                f"cd ~/rl-swarm && rlswarm-rules run -- ./{LAUNCHER}"
            )
        if script.resolve().parent != here:
            folder = script.resolve().parent
            return (
                f"{part} must be started from its own folder (it takes the working folder as "
                f"its root); run this from your rl-swarm folder: cd {folder} && "
                f"rlswarm-rules run -- ./{LAUNCHER}"
            )
    return None


def state_dir(
    given: Path | None = None, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Found:
    """The state folder (made by whoever writes there first)."""
    env = os.environ if env is None else env
    if given is not None:
        return Found((given,), "--state-dir")
    if value := env.get(STATE_ENV, "").strip():
        return Found((Path(value),), f"${STATE_ENV}")
    return Found((STATE_DIR if cwd is None else cwd / STATE_DIR,), "working folder")
