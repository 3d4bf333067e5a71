"""A rule's regex: compiled without tracebacks or printed warnings, and checked beyond "does it
compile": parser warnings (nested sets), empty matches, and the shapes that make a
backtracking engine take far more than linear time on some lines (`backtracking`).

Such a pattern still runs: the matcher gives every search a time budget and suspends a
pattern that keeps running over it (`engine.match.matcher`). The warning says why, so that
the author can make it specific before the node meets the line that sets it off."""

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
    why = backtracking(parsed, flags) if parsed is not None else None
    if why is not None:
        found.append(
            f"not guaranteed linear-time: {why}; on a line that almost matches it can run for "
            "seconds (each line gets a time budget, and a pattern that keeps running over it "
            "is suspended); make the repeats specific or bounded"
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


def backtracking(parsed: Any, flags: int = 0) -> str | None:
    """Why a backtracking engine may take more than linear time on some line, or None:
    a repeat around a repeat that takes text (`(a+)+`, `(.*a){20}`), alternatives inside a
    repeat that can match the same characters (`(a|aa)+`), or two repeats one after the
    other, nothing required between them, that can take the same characters (`\\d+ ?\\d+`).
    """
    try:
        if _walk(list(parsed), inside_repeat=False, repeated=2):
            return "a repeat inside a repeat (like '(a+)+' or '(.*a){20}')"
        if _ambiguous_alternatives(list(parsed), flags, inside_repeat=False):
            return "alternatives inside a repeat can match the same text (like '(a|aa)+')"
        if _adjacent_overlap(list(parsed), flags):
            return "two repeats in a row can take the same characters (like '\\d+ ?\\d+')"
    except Exception:  # RecursionError, or a shape these walks do not know
        return None
    return None


def _walk(items: list[Any], inside_repeat: bool, repeated: int = 101) -> bool:
    """A repeat of at least `repeated` (or unbounded) times inside another that takes text."""
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            _low, high, body = arg
            unbounded = high == _MAXREPEAT or high >= repeated
            inner = high == _MAXREPEAT or high > 100
            if inner and inside_repeat and _can_repeat_text(list(body)):
                return True
            if _walk(list(body), inside_repeat or unbounded, repeated):
                return True
        elif name == "SUBPATTERN":
            if _walk(list(arg[-1]), inside_repeat, repeated):
                return True
        elif name == "BRANCH":
            if any(_walk(list(branch), inside_repeat, repeated) for branch in arg[1]):
                return True
        elif name in ("ATOMIC_GROUP",) and _walk(list(arg), False, repeated):
            return True
    return False


def _can_repeat_text(body: list[Any]) -> bool:
    """An inner repeat is only dangerous when it consumes characters."""
    return any(str(op) not in ("AT", "GROUPREF") for op, _ in body)


# --- characters a piece of a pattern can start with ---------------------------------------------

_SAMPLE = "".join(map(chr, range(32, 127))) + "\t\n\x1b\u00a0\u00e9\u00df\u0663\u4e2d\u03a9"


def _first(items: list[Any], flags: int) -> frozenset[str] | None:
    """Sample characters the sequence `items` can start with (None: any, or unknown)."""
    for op, arg in items:
        name = str(op)
        if name in ("AT",):
            continue
        if name in ("LITERAL", "NOT_LITERAL", "IN", "ANY"):
            return _chars(op, arg, flags)
        if name == "SUBPATTERN":
            return _first(list(arg[-1]), flags)
        if name in _REPEATS:
            low, _high, body = arg
            head = _first(list(body), flags)
            if low > 0 or head is None:
                return head
            rest = _first(list(items[items.index((op, arg)) + 1 :]), flags)
            return None if rest is None else head | rest
        if name == "BRANCH":
            heads = [_first(list(b), flags) for b in arg[1]]
            if any(h is None for h in heads):
                return None
            return frozenset().union(*(h for h in heads if h is not None))
        return None
    return frozenset()


def _chars(op: Any, arg: Any, flags: int) -> frozenset[str] | None:
    """The sample characters a one-character node matches, asked of `re` itself."""
    node = _sre.SubPattern(_sre.State(), [(op, arg)])
    node.state.flags = flags
    compiled = _compile_node(node, flags)
    if compiled is None:
        return None
    return frozenset(c for c in _SAMPLE if compiled.fullmatch(c))


def _compile_node(node: Any, flags: int) -> re.Pattern[str] | None:
    try:
        from re import _compiler  # type: ignore[attr-defined]

        return _compiler.compile(node, flags)  # type: ignore[no-any-return]
    except Exception:
        return None


def _ambiguous_alternatives(items: list[Any], flags: int, inside_repeat: bool) -> bool:
    for op, arg in items:
        name = str(op)
        if name in _REPEATS:
            _low, high, body = arg
            repeats = high == _MAXREPEAT or high > 1
            if _ambiguous_alternatives(list(body), flags, inside_repeat or repeats):
                return True
        elif name == "SUBPATTERN":
            if _ambiguous_alternatives(list(arg[-1]), flags, inside_repeat):
                return True
        elif name == "BRANCH":
            branches = [list(b) for b in arg[1]]
            if inside_repeat and _overlapping(branches, flags):
                return True
            if any(_ambiguous_alternatives(b, flags, inside_repeat) for b in branches):
                return True
    return False


def _overlapping(branches: list[list[Any]], flags: int) -> bool:
    """Whether two alternatives can start with the same character (or one can be empty)."""
    heads = [_first(b, flags) for b in branches]
    if any(h is None or not h for h in heads):
        return len(branches) > 1
    seen: set[str] = set()
    for head in heads:
        assert head is not None
        if seen & head:
            return True
        seen |= head
    return False


def _adjacent_overlap(items: list[Any], flags: int) -> bool:
    """Two unbounded repeats of one character each, only optional items between them, that
    share a character; looked for in every sequence of the pattern (groups read inline)."""
    previous: frozenset[str] | None = None
    for op, arg in _inline(items):
        name = str(op)
        if name in _REPEATS:
            low, high, body = arg
            nodes = list(body)
            if high == _MAXREPEAT and len(nodes) == 1 and str(nodes[0][0]) in _CHAR_NODES:
                chars = _chars(nodes[0][0], nodes[0][1], flags)
                if chars is not None and previous is not None and chars & previous:
                    return True
                previous = chars if chars is not None else previous
                continue
            if _adjacent_overlap(nodes, flags):
                return True
            if low == 0:
                continue  # optional: what comes after may still meet the repeat before
        elif name == "BRANCH":
            if any(_adjacent_overlap(list(b), flags) for b in arg[1]):
                return True
        elif name == "AT":
            continue
        previous = None
    return False


def _inline(items: list[Any]) -> list[Any]:
    """`items` with the contents of every group in place of the group."""
    out: list[Any] = []
    for op, arg in items:
        if str(op) == "SUBPATTERN":
            out.extend(_inline(list(arg[-1])))
        else:
            out.append((op, arg))
    return out


_CHAR_NODES = frozenset({"LITERAL", "NOT_LITERAL", "IN", "ANY"})
