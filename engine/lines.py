"""Bytes to line observations' text: lenient decoding, `\\r` segments, ANSI stripping, bounds.

Used by replay and by the live sources, so a line means the same thing everywhere.
"""

from __future__ import annotations

import re

DEFAULT_MAX_LINE = 64 * 1024
# CSI (colours, cursor moves), OSC (titles; ended by BEL or ST), charset selection such as
# `ESC ( B` (what `tput sgr0` emits), and the two-byte escapes such as `ESC 7`.
_ANSI = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[()*+][0-9A-Za-z]|[ -/]*[0-~])"
)
_ENDS = re.compile(rb"[\r\n]")


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (colours, cursor moves, titles, charset switches)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


class Splitter:
    """Incremental splitter: `feed(bytes)` returns the segments completed so far.

    A segment ends at `\\n` or at `\\r` (a tqdm redraw is its own segment, returned
    as soon as its `\\r` arrives); empty segments are dropped; segments share the
    number of the `\\n`-line they are on. A segment longer than `max_line` bytes
    keeps its first `max_line` bytes; the rest is dropped and counted in
    `dropped_bytes`, however the input is chunked, so memory stays bounded.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE, first_line_no: int = 1) -> None:
        self.max_line = max_line
        self.line_no = first_line_no
        self.dropped_bytes = 0
        self.truncated_lines = 0
        self._pending = b""
        self._skipping = False  # inside the dropped tail of an over-long segment

    def feed(self, data: bytes) -> tuple[list[str], list[int]]:
        fast = self._plain_lines(data)
        if fast is not None:
            return fast
        texts: list[str] = []
        numbers: list[int] = []
        last = max(data.rfind(b"\n"), data.rfind(b"\r"))
        if last < 0:
            self._hold(data)
            return texts, numbers
        start = 0
        for match in _ENDS.finditer(data, 0, last + 1):
            self._hold(data[start : match.start()])
            self._emit(texts, numbers)
            if match.group() == b"\n":
                self.line_no += 1
            start = match.end()
        self._hold(data[last + 1 :])
        return texts, numbers

    def _plain_lines(self, data: bytes) -> tuple[list[str], list[int]] | None:
        """The same result, in bulk, for the common chunk: whole lines, no `\r`, no escapes."""
        end = data.rfind(b"\n")
        if self._pending or self._skipping or end < 0 or b"\r" in data or b"\x1b" in data:
            return None
        body = data[:end]
        if max(map(len, body.split(b"\n"))) > self.max_line:
            return None
        lines = body.decode("utf-8", errors="replace").split("\n")
        first = self.line_no
        self.line_no += len(lines)
        self._hold(data[end + 1 :])
        keep = [i for i, line in enumerate(lines) if line]
        if len(keep) == len(lines):
            return lines, list(range(first, first + len(lines)))
        return [lines[i] for i in keep], [first + i for i in keep]

    def flush(self) -> tuple[list[str], list[int]]:
        """The last, unterminated segment (if any), e.g. at the end of a file; it ends its line."""
        texts: list[str] = []
        numbers: list[int] = []
        self._emit(texts, numbers)
        if texts:
            self.line_no += 1
        return texts, numbers

    def _hold(self, piece: bytes) -> None:
        if self._skipping:
            self.dropped_bytes += len(piece)
            return
        room = self.max_line - len(self._pending)
        if len(piece) <= room:
            self._pending += piece
            return
        self._pending += piece[:room]
        self.dropped_bytes += len(piece) - room
        self.truncated_lines += 1
        self._skipping = True

    def _emit(self, texts: list[str], numbers: list[int]) -> None:
        raw, self._pending, self._skipping = self._pending, b"", False
        if not raw:
            return
        text = raw.decode("utf-8", errors="replace")
        if "\x1b" in text:
            text = strip_ansi(text)
        if text:
            texts.append(text)
            numbers.append(self.line_no)
