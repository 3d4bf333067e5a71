"""Located problems: every user mistake becomes one of these, never a traceback.

May import: nothing of engine
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Iterable
from dataclasses import dataclass


class Level(enum.Enum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding about an input file, formatted as `path:line: rule 'id': message`."""

    path: str
    line: int
    message: str
    rule: str | None = None
    level: Level = Level.ERROR
    code: str = "invalid"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        who = f" rule '{self.rule}':" if self.rule else ""
        tag = " warning:" if self.level is Level.WARNING else ""
        return f"{where}:{tag}{who} {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "rule": self.rule,
            "level": self.level.value,
            "code": self.code,
            "message": self.message,
        }


class ConfigError(Exception):
    """Input that cannot be used; carries every problem found in one pass."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line))
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a close choice exists, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def errors_only(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.level is Level.ERROR]
