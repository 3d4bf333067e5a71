"""Advice as a pack author writes it, without the line breaks of the author's editor.

A block scalar (`advice: |`) keeps every line break the author typed to keep the YAML
narrow. Those are not part of the text: a record, a JSON receiver or a phone should get
paragraphs, and each place that prints the advice wraps it to its own width. `unwrap`
keeps what the author meant: a blank line ends a paragraph, and a line that starts a list
item (`- `, `* `, `1. `), a shell command (`$ `) or an indented block starts a new line;
every other line break joins two lines of one paragraph (with a space, except between
two CJK characters, which are written without one).
"""

from __future__ import annotations

import re

_ITEM = re.compile(r"[-*•]\s|\d{1,2}[.)]\s")
_VERBATIM = re.compile(r"\$\s|>\s|\s{2,}\S")  # a command, a quote, an indented block
_CJK = re.compile(  # CJK characters and punctuation, and the quotes and dashes Chinese text uses
    r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f\u2014\u2018-\u201f\u2026]"
)


def unwrap(text: str) -> str:
    """`text` with soft line breaks removed; paragraphs are separated by one blank line."""
    paragraphs: list[str] = []
    for block in re.split(r"\n[ \t]*\n", text.strip("\n")):
        lines = [line.rstrip() for line in block.split("\n") if line.strip()]
        if lines:
            paragraphs.append(_join(lines))
    return "\n\n".join(paragraphs)


def _join(lines: list[str]) -> str:
    out, kind = lines[0], _kind(lines[0], "text")
    for line in lines[1:]:
        new = _kind(line, kind)
        if new != "more":
            out += "\n" + line
            kind = new
        elif _CJK.match(out[-1:]) and _CJK.match(line.lstrip()[:1]):
            out += line.lstrip()
        else:
            out += " " + line.lstrip()
    return out


def _kind(line: str, previous: str) -> str:
    """What `line` is after a line of kind `previous`: a new `item`, `verbatim` text, or
    `more` of the same paragraph (or item: an indented line after an item continues it)."""
    if _ITEM.match(line):
        return "item"
    if previous == "item" and line[:1].isspace():
        return "more"
    if _VERBATIM.match(line) or previous == "verbatim":
        return "verbatim"
    return "more" if previous != "first" else "text"
