"""Bytes to line observations' text: lenient decoding, `\\r` segments, ANSI stripping, bounds.

Used by replay and by the live sources, so a line means the same thing everywhere.
"""

from __future__ import annotations

import re

DEFAULT_MAX_LINE = 64 * 1024
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (colours, cursor moves, titles)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


class Splitter:
    """Incremental splitter: `feed(bytes)` returns the complete segments seen so far.

    A segment ends at `\\n` or `\\r` (a tqdm redraw is its own segment); empty
    segments are dropped; segments share the number of the `\\n`-line they are
    on. A line longer than `max_line` bytes keeps its head; the rest is
    dropped and counted in `dropped_bytes`, so memory stays bounded.
    """

    def __init__(self, max_line: int = DEFAULT_MAX_LINE, first_line_no: int = 1) -> None:
        self.max_line = max_line
        self.line_no = first_line_no
        self.dropped_bytes = 0
        self.truncated_lines = 0
        self._pending = b""
        self._skipping = False  # inside the dropped tail of an over-long line

    def feed(self, data: bytes) -> tuple[list[str], list[int]]:
        end = data.rfind(b"\n")
        if end < 0:
            self._hold(data)
            return [], []
        head = self._take(data[: end + 1])
        self._pending = b""
        self._hold(data[end + 1 :])
        return self._segments(head)

    def flush(self) -> tuple[list[str], list[int]]:
        """The last, unterminated line (if any), e.g. at end of file."""
        rest, self._pending, self._skipping = self._pending, b"", False
        return self._segments(rest + b"\n") if rest else ([], [])

    def _take(self, complete: bytes) -> bytes:
        if not self._skipping:
            return self._pending + complete
        first = complete.find(b"\n")
        self.dropped_bytes += first
        self._skipping = False
        return self._pending + complete[first:]

    def _hold(self, tail: bytes) -> None:
        if self._skipping:
            self.dropped_bytes += len(tail)
            return
        self._pending += tail
        if len(self._pending) > self.max_line:
            self.dropped_bytes += len(self._pending) - self.max_line
            self._pending = self._pending[: self.max_line]
            self.truncated_lines += 1
            self._skipping = True

    def _segments(self, chunk: bytes) -> tuple[list[str], list[int]]:
        text = chunk.decode("utf-8", errors="replace")
        lines = text.split("\n")
        lines.pop()  # after the final newline
        first = self.line_no
        self.line_no += len(lines)
        if "\r" not in text and "\x1b" not in text and len(chunk) <= self.max_line:
            keep = [i for i, line in enumerate(lines) if line]
            return [lines[i] for i in keep], [first + i for i in keep]
        texts: list[str] = []
        numbers: list[int] = []
        for i, line in enumerate(lines):
            for part in line.split("\r") if "\r" in line else (line,):
                part = self._bound(strip_ansi(part))
                if part:
                    texts.append(part)
                    numbers.append(first + i)
        return texts, numbers

    def _bound(self, text: str) -> str:
        if len(text) <= self.max_line:
            return text
        self.truncated_lines += 1
        self.dropped_bytes += len(text) - self.max_line
        return text[: self.max_line]
