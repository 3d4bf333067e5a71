"""Located problems, and the one tree of this project's exceptions.

Every user mistake becomes a `Problem` (`path:line: rule 'id': what and the fix`), never a
traceback; a `ConfigError` carries every problem found in one pass; `why_not_written`
says why a write failed in the same words wherever it failed. The exceptions:

    RlswarmError              any error of ours: catch this one to catch them all
    ├── ConfigError           input that cannot be used; carries every located Problem
    ├── DurationError         a duration that cannot be read ('5 minutes'); also a ValueError
    ├── ExprError             a condition that cannot be compiled; also a ValueError
    ├── TemplateError         a summary or advice text that cannot be compiled; also a ValueError
    ├── RuleProblem           one problem of one key of a rule being compiled (becomes a Problem)
    ├── DoctorError           `doctor` cannot run (no interpreter to inspect)
    ├── FixFailed             a fix of `doctor --fix` could not be applied (the others are)
    ├── DashboardError        the dashboard cannot listen (port taken, address not available)
    ├── ServiceError          `service` cannot install or control the unit (no systemctl...)
    ├── OutboxClosed          the outbox was closed: a sender still running ends there
    └── Declined              a fast path declines an input: the reference path takes it
        ├── Untranslatable    a regex node the hyperscan translation does not know
        └── Unsure            a YAML text that libyaml may read differently from PyYAML

May import: nothing of engine
"""

from __future__ import annotations

import difflib
import enum
import errno
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


class RlswarmError(Exception):
    """The base of every exception this project raises on purpose."""


class ConfigError(RlswarmError):
    """Input that cannot be used; carries every problem found in one pass."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line))
        super().__init__("\n".join(str(p) for p in self.problems))


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a close choice exists, else an empty string."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


class DurationError(RlswarmError, ValueError):
    """A duration that cannot be read; the message says what is accepted."""


class ExprError(RlswarmError, ValueError):
    """The expression cannot be used; the message says why and how to fix it."""


class TemplateError(RlswarmError, ValueError):
    """The template cannot be used; the message says why and how to fix it."""


class RuleProblem(RlswarmError):
    """One problem with one key (or deeper place, `where`) of the rule being compiled."""

    def __init__(
        self,
        key: str | tuple[str | int, ...] | None,
        message: str,
        level: Level = Level.ERROR,
    ) -> None:
        super().__init__(message)
        self.where: tuple[str | int, ...] = (
            () if key is None else (key,) if isinstance(key, str) else key
        )
        self.message = message
        self.level = level


class DoctorError(RlswarmError):
    """A usage problem (no interpreter to inspect): a message, exit code 2."""


class FixFailed(RlswarmError):
    """A fix of `doctor --fix` could not be applied: the message says why."""


class ServiceError(RlswarmError):
    """`service` cannot do what it was asked (no such node folder, systemctl fails): a message,
    exit code 2."""


class OutboxClosed(RlswarmError):
    """The outbox was closed: nothing is read or written any more (`engine.notify.outbox`)."""


class DashboardError(RlswarmError):
    """The dashboard could not start (port taken, address not available...)."""


class Declined(RlswarmError):
    """A fast path declines an input; the caller takes the reference path instead."""


class Untranslatable(Declined):
    """A parse-tree node the hyperscan translator does not know; the pattern falls back to
    Python's regex."""


class Unsure(Declined):
    """libyaml may read this document differently from the reference loader."""


_NOT_WRITTEN = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOENT: "its folder is gone",
}


def why_not_written(exc: BaseException) -> str:
    """Why a write failed, as a person says it (`the disk is full`, `the file system is
    read-only`...), for an OSError or an sqlite3 error alike; else the error's own words."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    text = str(exc)
    if name.startswith("SQLITE_FULL") or "disk is full" in text:
        return _NOT_WRITTEN[errno.ENOSPC]
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return _NOT_WRITTEN[errno.EROFS]
    known = _NOT_WRITTEN.get(getattr(exc, "errno", None) or 0)
    return known or getattr(exc, "strerror", None) or text or type(exc).__name__

