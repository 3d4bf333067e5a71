"""Checks on a rule's regex beyond "does it compile": empty matches, catastrophic backtracking."""

from __future__ import annotations

import re
from typing import Any

try:  # the parser behind `re`; private, so every use is guarded
    from re import _parser as _sre  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_parse as _sre

_MAXREPEAT = getattr(_sre, "MAXREPEAT", 2**32 - 1)
_REPEATS = {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}


def matches_empty(regex: re.Pattern[str]) -> bool:
    """True when the regex matches the empty string, so it fires on every line."""
    return regex.search("") is not None


def nested_quantifier(pattern: str, flags: int = 0) -> bool:
    """True for shapes like `(a+)+` or `(\\w*\\s?)*`: an unbounded repeat inside another.

    Such regexes can take exponential time on a line that almost matches.
    """
    try:
        parsed = _sre.parse(pattern, flags)
    except Exception:
        return False
    return _walk(list(parsed), inside_repeat=False)


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
