"""Run presets: answers to a launcher's questions, files to keep across restarts, logs to follow.

A preset is a small YAML file (`engine/supervise/presets/NAME.yaml` for the built-in
ones). `run` applies the `rlswarm` preset by itself when the command is
RL-Swarm's `run_rl_swarm.sh`.
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
_KEYS = {"answers", "keep", "watch"}


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
        raise ConfigError([Problem(str(path), 1, "a preset is a mapping (answers, keep, watch)")])
    for key in set(doc.data) - _KEYS:
        line = doc.line_of((key,))
        reader.problems.append(
            Problem(str(path), line, f"unknown key '{key}' (answers, keep, watch)")
        )
    try:
        answers = reader.answers(doc)
    except ConfigError as exc:
        reader.problems.extend(exc.problems)
        answers = []
    preset = Preset(
        path.stem, tuple(answers), reader.globs(doc, "keep"), reader.globs(doc, "watch")
    )
    if reader.problems:
        raise ConfigError(reader.problems)
    return preset


def for_command(command: Sequence[str]) -> str | None:
    """The preset `run` applies by itself to this command, if any."""
    return next((AUTO[Path(part).name] for part in command[:2] if Path(part).name in AUTO), None)


def combine(preset: Preset, answers: Sequence[Answer], keep: Sequence[str]) -> Preset:
    """The preset with the command line's answers first (they win) and its extra keeps."""
    return Preset(preset.name, (*answers, *preset.answers), (*preset.keep, *keep), preset.watch)
