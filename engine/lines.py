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
        texts: list[str] = []
        numbers: list[int] = []
        start = 0
        if self._pending or self._skipping:  # finish the segment left open by the last chunk
            end = _ENDS.search(data)
            if end is None:
                self._hold(data)
                return texts, numbers
            self._hold(data[: end.start()])
            self._emit(texts, numbers)
            self.line_no += end.group() == b"\n"
            start = end.end()
        last = max(data.rfind(b"\n", start), data.rfind(b"\r", start))
        if last >= start:
            region = data[start : last + 1]
            if not self._bulk(region, texts, numbers):
                self._one_by_one(region, texts, numbers)
            start = last + 1
        self._hold(data[start:])
        return texts, numbers

    def _bulk(self, region: bytes, texts: list[str], numbers: list[int]) -> bool:
        """Whole segments ending `region`, in bulk; False when a line is over the cap."""
        if max(map(len, region.split(b"\n"))) > self.max_line:
            return False
        text = region.decode("utf-8", errors="replace")
        if "\x1b" in text:
            text = strip_ansi(text)  # escape sequences never hold a line end
        lines = text.split("\n")
        first = self.line_no
        self.line_no += len(lines) - 1  # the last piece follows the last \n: empty, or \r-ended
        if "\r" not in text:
            for i, line in enumerate(lines):
                if line:
                    texts.append(line)
                    numbers.append(first + i)
            return True
        for i, line in enumerate(lines):
            for part in line.split("\r") if "\r" in line else (line,):
                if part:
                    texts.append(part)
                    numbers.append(first + i)
        return True

    def _one_by_one(self, region: bytes, texts: list[str], numbers: list[int]) -> None:
        start = 0
        for end in _ENDS.finditer(region):
            self._hold(region[start : end.start()])
            self._emit(texts, numbers)
            self.line_no += end.group() == b"\n"
            start = end.end()

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
