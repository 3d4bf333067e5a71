"""`${NAME}` references in configuration, filled from the environment or a `.env` file.

`load_env(path)` reads what can be read of a `.env` and says, as located problems
(warnings), what could not: a line that is not UTF-8 (the others are still read), a
`.env` that is a directory or cannot be opened, a file others may read or change.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import Level, Problem

REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$")
_KEY = re.compile(rb"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


@dataclass(frozen=True)
class EnvFile:
    """What a `.env` gave: its values, what could not be read of it, and why."""

    path: Path
    values: dict[str, str] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()  # warnings, located at the file or its line
    unreadable: str | None = None  # why nothing was read ("it is a directory, not a file")
    bad_lines: Mapping[str, int] = field(default_factory=dict)  # name -> its unreadable line

    def why_not_set(self, name: str) -> str:
        """Why `name` may be missing because of this file (or "" when the file is not why)."""
        if self.unreadable:
            return f"{self.path} was not read ({self.unreadable})"
        line = self.bad_lines.get(name)
        if line is not None:
            return f"{self.path}:{line} sets it, but that line is not valid UTF-8"
        return ""


def parse_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines; `#` comments, blank lines, `export` and matching quotes are allowed."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        parsed = _parse_line(line)
        if parsed is not None:
            values[parsed[0]] = parsed[1]
    return values


def _parse_line(line: str) -> tuple[str, str] | None:
    if not line.strip() or line.lstrip().startswith("#"):
        return None
    match = _LINE.match(line)
    if match is None:
        return None
    key, value = match.groups()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    elif " #" in value:
        value = value.split(" #", 1)[0].rstrip()
    return key, value


def load_env(path: Path) -> EnvFile:
    """The `.env` at `path` (none there: no values, no problem). Never raises."""
    try:
        info = path.stat()
    except FileNotFoundError:
        return EnvFile(path)
    except OSError as exc:
        return _unreadable(path, f"it cannot be read ({exc.strerror or exc})")
    kind = next((what for test, what in _KINDS if test(info.st_mode)), None)
    if kind is not None:
        return _unreadable(path, f"it is {kind}, not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _unreadable(path, f"it cannot be read ({exc.strerror or exc})")
    values, problems, bad = _parse_bytes(path, data)
    problems += _mode_problems(path, info.st_mode)
    return EnvFile(path, values, tuple(problems), None, bad)


def _unreadable(path: Path, why: str) -> EnvFile:
    fix = "make it a file of NAME=value lines (chmod 600), or remove it"
    message = f"not read: {why}; {fix}"
    return EnvFile(path, {}, (_warning(path, 0, message),), why)


def _parse_bytes(path: Path, data: bytes) -> tuple[dict[str, str], list[Problem], dict[str, int]]:
    """Each line decoded on its own: one that is not UTF-8 is skipped and said, not the file."""
    values: dict[str, str] = {}
    problems: list[Problem] = []
    bad: dict[str, int] = {}
    data = data.removeprefix(b"\xef\xbb\xbf")
    for number, raw in enumerate(data.splitlines(), start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            key = _KEY.match(raw)
            if key is not None:
                bad[key.group(1).decode("ascii")] = number
            what = f" (sets {key.group(1).decode('ascii')})" if key is not None else ""
            problems.append(
                _warning(
                    path,
                    number,
                    f"this line{what} is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at "
                    f"column {exc.start + 1}) and is skipped; the other lines are read. "
                    "Save the file as UTF-8",
                )
            )
            continue
        parsed = _parse_line(line)
        if parsed is not None:
            values[parsed[0]] = parsed[1]
            bad.pop(parsed[0], None)
    return values, problems, bad


def _mode_problems(path: Path, mode: int) -> list[Problem]:
    """A warning when others than the owner may read or change the file (it holds secrets)."""
    others = mode & 0o077
    if not others:
        return []
    can = []
    if mode & 0o044:
        can.append("read")
    if mode & 0o022:
        can.append("change")
    who = "anyone on this machine" if mode & 0o006 else "its group"
    message = (
        f"mode {stat.S_IMODE(mode):04o} lets {who} {' and '.join(can) or 'use'} this file of "
        f"secrets; make it the owner's alone: chmod 600 {path}"
    )
    return [_warning(path, 0, message)]


def _warning(path: Path, line: int, message: str) -> Problem:
    return Problem(str(path), line, message, level=Level.WARNING, code="env")


def read_env(path: Path) -> dict[str, str]:
    """The values of the `.env` at `path` that could be read (see `load_env` for the rest)."""
    return load_env(path).values


def references(text: str) -> list[str]:
    return REFERENCE.findall(text)


def substitute(text: str, values: Mapping[str, str]) -> tuple[str, list[str]]:
    """`text` with every known `${NAME}` filled in, and the names that were missing."""
    missing: list[str] = []

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name]
        missing.append(name)
        return match.group(0)

    return REFERENCE.sub(fill, text), missing
