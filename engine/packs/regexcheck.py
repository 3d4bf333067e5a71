"""A rule's regex: compiled without tracebacks or printed warnings, and checked beyond "does it
compile": parser warnings (nested sets), empty matches, catastrophic backtracking."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

try:  # the parser behind `re`; private, so every use is guarded
    from re import _parser as _sre  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse as _sre

_MAXREPEAT = getattr(_sre, "MAXREPEAT", 2**32 - 1)
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


_SET_CHARS = {  # the character re's FutureWarning is about, by the warning's wording
    "nested set": "[",
    "set difference": "-",
    "set intersection": "&",
    "set symmetric difference": "~",
    "set union": "|",
}
_POSSIBLE = re.compile(r"Possible (?P<what>.+) at position (?P<at>\d+)")


@dataclass(frozen=True)
class Compiled:
    """The regex, or why it does not compile; and the warnings about it, each with its fix."""

    regex: re.Pattern[str] | None
    error: str | None = None
    warnings: tuple[str, ...] = ()


def compile_regex(pattern: str, flags: int = 0) -> Compiled:
    """`re.compile` with every failure as a message (re.error, too large, too deep), and
    every warning: the parser's, empty matches, nested quantifiers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            regex = re.compile(pattern, flags)
        except (RecursionError, MemoryError):
            return Compiled(None, "the regular expression is nested too deeply; simplify it")
        except (re.error, OverflowError, ValueError, TypeError) as exc:
            return Compiled(None, f"bad regular expression: {exc}")
    parsed, found = _parse(pattern, flags)  # once, for both checks
    if matches_empty(regex):
        found.append("the regex matches an empty line, so it fires on every line")
    if parsed is not None and nested_quantifier(parsed):
        found.append(
            "nested quantifiers (like '(a+)+') can backtrack for a very long time on some "
            "lines; make the inner or outer repeat bounded or specific"
        )
    return Compiled(regex, None, tuple(found))


def _parse(pattern: str, flags: int = 0) -> tuple[Any, list[str]]:
    """re's parse tree of `pattern` (None when it does not parse) and the warnings `re` would
    print for it (even when it is cached), with the fix."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            parsed = _sre.parse(pattern, flags)
        except Exception:  # RecursionError on very deep patterns, or one that does not parse
            return None, []
    return parsed, [_with_fix(str(w.message)) for w in caught]


def _with_fix(message: str) -> str:
    found = _POSSIBLE.fullmatch(message)
    if not found or found["what"] not in _SET_CHARS:
        return message
    char = _SET_CHARS[found["what"]]
    text = f"possible {found['what']} at position {found['at']}"
    return f"{text}; write '\\{char}' for a literal '{char}' inside a character class"


def matches_empty(regex: re.Pattern[str]) -> bool:
    """True when the regex matches the empty string, so it fires on every line."""
    return regex.search("") is not None


def nested_quantifier(parsed: Any) -> bool:
    """True for shapes like `(a+)+` or `(\\w*\\s?)*` in re's parse tree: an unbounded repeat
    inside another. Such regexes can take exponential time on a line that almost matches.
    """
    try:
        return _walk(list(parsed), inside_repeat=False)
    except Exception:  # RecursionError on very deep patterns, or a shape the walk does not know
        return False


def _walk(items: list[Any], inside_repeat: bool) -> bool:
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            _low, high, body = arg
            unbounded = high == _MAXREPEAT or high > 100
            if unbounded and inside_repeat and _can_repeat_text(list(body)):
                return True
            if _walk(list(body), inside_repeat or unbounded):
                return True
        elif name == "SUBPATTERN":
            if _walk(list(arg[-1]), inside_repeat):
                return True
        elif name == "BRANCH":
            if any(_walk(list(branch), inside_repeat) for branch in arg[1]):
                return True
        elif name in ("ATOMIC_GROUP",) and _walk(list(arg), False):
            return True
    return False


def _can_repeat_text(body: list[Any]) -> bool:
    """An inner repeat is only dangerous when it consumes characters."""
    return any(str(op) not in ("AT", "GROUPREF") for op, _ in body)
