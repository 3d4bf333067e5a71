"""PyYAML's syntax errors in the user's terms: the line to look at and what to write instead.

The messages are written against the pure-Python loader's wording (yaml.SafeLoader);
engine.packs.yamlio reports a document's problems through that loader whichever loader read it
first.
"""

from __future__ import annotations

import re

import yaml

from engine.errors import Problem


def _line(mark: yaml.Mark | None) -> int:
    return mark.line + 1 if mark is not None else 1


_FLOW = {"while parsing a flow mapping": "{", "while parsing a flow sequence": "["}
_SPECIAL = "',', '[', ']', '{', '}' or ': '"
_TAB_START = re.compile(r"found character '\\t' that cannot start any token")
_BAD_START = re.compile(r"found character '(.)' that cannot start any token")
_ESCAPE = re.compile(r"found unknown escape character '(.+)'")


def _explain(exc: yaml.MarkedYAMLError, text: str) -> tuple[int, str]:
    """Where a syntax error is and what to do about it, in the user's terms."""
    problem = str(exc.problem or exc.context or "unknown error")
    mark, context = exc.problem_mark or exc.context_mark, exc.context_mark
    got = problem.rsplit("but got ", 1)[-1]
    if exc.context in _FLOW and context is not None and "but got" in problem:
        expected = problem.split(", but got")[0]
        where = "the file ends" if got == "'<stream end>'" else f"got {got} on line {_line(mark)}"
        if got == "'<stream end>'" or (mark is not None and mark.line > context.line):
            bracket = _FLOW[exc.context]
            return _line(context), f"this '{bracket}' is never closed ({expected}, but {where})"
        if got != "':'":
            return _line(mark), f"{problem}; put a value that contains {_SPECIAL} in quotes"
    if problem == "mapping values are not allowed here" and mark is not None:
        before = _text_line(text, mark.line)[: mark.column]
        if ": " not in before and "- " not in before:
            return _line(
                mark
            ), "this key is indented under a line that already has a value; align it"
    if problem == "mapping values are not allowed here" or got == "':'":
        return _line(mark), f"{problem}; put a value that contains ': ' in quotes"
    if _TAB_START.fullmatch(problem) and mark is not None:
        before = _text_line(text, mark.line)[: mark.column]
        if not before.strip():
            return _line(mark), "a tab indents this line; YAML indents with spaces"
        return _line(mark), "a tab cannot start a value here; use spaces"
    found = _BAD_START.fullmatch(problem)
    if found:
        return _line(mark), f"a value cannot start with '{found[1]}'; put the value in quotes"
    if exc.context == "while scanning a quoted scalar" and "end of stream" in problem:
        return _line(context), "this quoted value is never closed; add the closing quote"
    escape = _ESCAPE.fullmatch(problem)
    if escape:
        bad = "\\" + escape[1]
        fix = f"write '\\{bad}', or use single quotes (best for regexes)"
        return _line(mark), f"'{bad}' is not an escape in a double-quoted value; {fix}"
    return _explain_more(exc, problem, mark, text)


def _text_line(text: str, index: int) -> str:
    """Line `index` (0-based) as PyYAML counts lines."""
    lines = re.split("\r\n|[\r\n\x85\u2028\u2029]", text)
    return lines[index] if index < len(lines) else ""


def _explain_more(
    exc: yaml.MarkedYAMLError, problem: str, mark: yaml.Mark | None, text: str
) -> tuple[int, str]:
    if problem == "expected <block end>, but found ':'":
        return _line(mark), "a key is missing before ':'; write 'name: value'"
    if problem.startswith("expected <block end>"):
        return _line(mark), "this line is indented differently from the lines around it; align it"
    if exc.context == "while scanning a simple key" and exc.context_mark is not None:
        return _line(exc.context_mark), "this line has no ':' after its key; write 'key: value'"
    if exc.context in ("while scanning an alias", "while scanning an anchor"):
        return _line(mark), "a value cannot start with '*' or '&'; put the value in quotes"
    if problem.startswith("expected the node content, but found '<"):
        return _line(mark), "a value is missing here; write one or remove the line"
    if problem == "sequence entries are not allowed here":
        fix = "put it on its own line under its key, or quote a value that starts with '- '"
        return _line(mark), f"a list item ('- ') cannot start here; {fix}"
    if problem.startswith("expected the node content, but found"):
        return _line(
            mark
        ), f"a value cannot start with {problem.rsplit(' ', 1)[-1]}; put it in quotes"
    if problem.startswith("expected '<document start>'"):
        ended = "text after the end of the document ('...'); remove the '...' line"
        directive = "'%' directives are not supported; remove this line"
        if "\n..." in "\n" + text:
            return _line(mark), ended
        lines = text.splitlines()
        return next((i + 1 for i, line in enumerate(lines) if line.startswith("%")), 1), directive
    if (exc.context or "").endswith(" tag") or "tag handle" in problem:
        return _line(mark), "YAML tags ('!name') are not allowed; write the value itself"
    return _line(mark), problem


def syntax_problem(exc: yaml.YAMLError, text: str, path: str) -> Problem:
    last = max(1, len(text.splitlines()))
    if isinstance(exc, yaml.MarkedYAMLError):
        line, message = _explain(exc, text)
    elif isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else 0
        message = f"the character U+{code:04X} is not allowed in YAML; remove it"
    else:
        line, message = 1, str(exc).splitlines()[0]
    return Problem(path, min(line, last), f"not valid YAML: {message}", code="yaml")
