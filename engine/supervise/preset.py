"""Run presets: answers to a launcher's questions, files to keep across restarts, logs to follow.

A preset is a small YAML file (`engine/supervise/presets/NAME.yaml` for the built-in
ones). `run` applies the `rlswarm` preset by itself when the command is
RL-Swarm's `run_rl_swarm.sh`, and the node folder's `rlswarm-rules.preset.yaml` (`LOCAL`,
which `doctor --fix` writes) over it. `env` holds variables `run` gives the training (None:
removed from its environment).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import ConfigError, Problem
from engine.packs import yamlio

PRESETS = Path(__file__).resolve().parent / "presets"
AUTO = {"run_rl_swarm.sh": "rlswarm"}
_KEYS = {"answers", "keep", "watch", "env"}
LOCAL = "rlswarm-rules.preset.yaml"
Env = tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class Answer:
    prompt: re.Pattern[str]
    text: str


@dataclass(frozen=True)
class Preset:
    name: str = ""
    answers: tuple[Answer, ...] = ()
    keep: tuple[str, ...] = ()
    watch: tuple[str, ...] = ()
    env: Env = ()


@dataclass
class _Reader:
    path: str
    problems: list[Problem] = field(default_factory=list)

    def answers(self, doc: yamlio.Located) -> list[Answer]:
        out = []
        for i, item in enumerate(doc.data.get("answers") or []):
            line = doc.line_of(("answers", i))
            if not isinstance(item, dict) or set(item) != {"prompt", "answer"}:
                self.problems.append(Problem(self.path, line, "an answer is "
                                             "{prompt: REGEX, answer: TEXT}"))  # fmt: skip
                continue
            answer = parse_answer(str(item["prompt"]), str(item["answer"]), self.path, line)
            out.append(answer)
        return out

    def globs(self, doc: yamlio.Located, key: str) -> tuple[str, ...]:
        items = doc.data.get(key) or []
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            self.problems.append(Problem(self.path, doc.line_of((key,)), f"'{key}' is a list "
                                         "of file names or globs"))  # fmt: skip
            return ()
        return tuple(items)


    def env(self, doc: yamlio.Located) -> Env:
        items = doc.data.get("env") or {}
        ok = isinstance(items, dict) and all(
            (isinstance(v, (str, int, float)) and not isinstance(v, bool)) or v is None
            for v in items.values()
        )
        if not ok:
            why = "'env' maps variable names to text, or to null to remove one"
            self.problems.append(Problem(self.path, doc.line_of(("env",)), why))
            return ()
        return tuple((str(k), None if v is None else str(v)) for k, v in items.items())


def parse_answer(prompt: str, text: str, path: str = "--answer", line: int = 0) -> Answer:
    try:
        return Answer(re.compile(prompt), text)
    except re.error as exc:
        raise ConfigError([Problem(path, line, f"bad prompt regex '{prompt}': {exc}")]) from None


def load(name_or_path: str) -> Preset:
    """A built-in preset by name, or a preset file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESETS / f"{name_or_path}.yaml"
        if not path.exists():
            known = ", ".join(sorted(p.stem for p in PRESETS.glob("*.yaml")))
            raise ConfigError([Problem(name_or_path, 0, f"no such preset; built in: {known}")])
    doc = yamlio.read(path)
    reader = _Reader(str(path))
    if not isinstance(doc.data, dict):
        why = "a preset is a mapping (answers, keep, watch, env)"
        raise ConfigError([Problem(str(path), 1, why)])
    for key in set(doc.data) - _KEYS:
        line = doc.line_of((key,))
        reader.problems.append(
            Problem(str(path), line, f"unknown key '{key}' (answers, keep, watch, env)")
        )
    try:
        answers = reader.answers(doc)
    except ConfigError as exc:
        reader.problems.extend(exc.problems)
        answers = []
    preset = Preset(
        path.stem,
        tuple(answers),
        reader.globs(doc, "keep"),
        reader.globs(doc, "watch"),
        reader.env(doc),
    )
    if reader.problems:
        raise ConfigError(reader.problems)
    return preset


def for_command(command: Sequence[str]) -> str | None:
    """The preset `run` applies by itself to this command, if any."""
    return next((AUTO[Path(part).name] for part in command[:2] if Path(part).name in AUTO), None)


def combine(preset: Preset, answers: Sequence[Answer], keep: Sequence[str]) -> Preset:
    """The preset with the command line's answers first (they win) and its extra keeps."""
    return Preset(
        preset.name, (*answers, *preset.answers), (*preset.keep, *keep), preset.watch, preset.env
    )


def with_local(preset: Preset, folder: Path) -> Preset:
    """`preset` with the folder's `LOCAL` preset over it (its answers first, its variables
    winning, its kept and followed files added), when the folder has one."""
    path = folder / LOCAL
    if not path.is_file():
        return preset
    local = load(str(path))
    name = f"{preset.name} + {LOCAL}" if preset.name else LOCAL
    env = dict(preset.env) | dict(local.env)
    return Preset(
        name,
        (*local.answers, *preset.answers),
        (*preset.keep, *(k for k in local.keep if k not in preset.keep)),
        (*preset.watch, *(w for w in local.watch if w not in preset.watch)),
        tuple(env.items()),
    )


def child_env(preset: Preset, env: dict[str, str]) -> dict[str, str]:
    """`env` with the preset's variables set (or removed)."""
    for name, value in preset.env:
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
