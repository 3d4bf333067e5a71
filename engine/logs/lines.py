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
_ANSI_BYTES = re.compile(_ANSI.pattern.encode("ascii"))
_ENDS = re.compile(rb"[\r\n]")


def strip_ansi(text: str) -> str:
    """Remove terminal escape sequences (colours, cursor moves, titles, charset switches)."""
    return _ANSI.sub("", text) if "\x1b" in text else text


def strip_ansi_bytes(data: bytes) -> bytes:
    """`strip_ansi` on undecoded bytes: the same sequences go (they are ASCII, and so is
    everything they can span but the text of a title), so on valid UTF-8 decoding after
    stripping gives what stripping after decoding gives."""
    return _ANSI_BYTES.sub(b"", data) if b"\x1b" in data else data


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
        self._rest = b""  # what `begin` found after the last line end, for `finish` to keep

    def feed(self, data: bytes) -> tuple[list[str], list[int]]:
        texts: list[str] = []
        numbers: list[int] = []
        region = self.begin(data, texts, numbers)
        if region:
            self.lines(region, texts, numbers)
        self.finish()
        return texts, numbers

    def begin(self, data: bytes, texts: list[str], numbers: list[int]) -> bytes:
        """`feed` in three steps: `begin` completes the segment left open by the last chunk
        (into `texts`, `numbers`) and returns the region of whole segments that follows;
        the caller takes it with `lines` (or `skip`s it); `finish` keeps what is left open."""
        start = 0
        self._rest = b""
        if self._pending or self._skipping:  # finish the segment left open by the last chunk
            end = _ENDS.search(data)
            if end is None:
                self._hold(data)
                return b""
            self._hold(data[: end.start()])
            self._emit(texts, numbers)
            self.line_no += end.group() == b"\n"
            start = end.end()
        last = max(data.rfind(b"\n", start), data.rfind(b"\r", start))
        self._rest = data[max(start, last + 1) :]
        return data[start : last + 1] if last >= start else b""

    def lines(self, region: bytes, texts: list[str], numbers: list[int]) -> None:
        """The segments of a region `begin` returned."""
        if not self._bulk(region, texts, numbers):
            self._one_by_one(region, texts, numbers)

    def skip(self, region: bytes, newlines: int | None = None) -> None:
        """Count the lines of a region `begin` returned that the caller took itself (it
        `fits`, holds no title escape, so its segments are those `lines` would give);
        `newlines`: how many `\\n` it holds, where the caller has counted them already."""
        self.line_no += region.count(b"\n") if newlines is None else newlines

    def finish(self) -> None:
        self._hold(self._rest)
        self._rest = b""

    def fits(self, region: bytes) -> bool:
        """Whether no `\\n`-line of `region` is longer than `max_line` bytes (looking at a
        few bytes every `max_line`, not at every line)."""
        limit, size, at = self.max_line, len(region), 0
        while size - at > limit:
            newline = region.rfind(b"\n", at, at + limit + 1)
            if newline < 0:
                return False
            at = newline + 1
        return True

    def _bulk(self, region: bytes, texts: list[str], numbers: list[int]) -> bool:
        """Whole segments ending `region`, in bulk; False when a line is over the cap."""
        if not self.fits(region):
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
