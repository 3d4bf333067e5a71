"""Saved logs as byte streams, read in blocks: what replay's two readers share."""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Callable
from typing import BinaryIO

BLOCK_BYTES = 1 << 20
STDIN = "-"
Progress = Callable[[int], None]
"""Called with the number of bytes read so far."""


def open_log(name: str) -> BinaryIO:
    """A binary stream of the log: `-` is stdin; gzip (by its magic, a file's or stdin's:
    `gzip -c x.log | replay -`) is unpacked."""
    raw: BinaryIO = sys.stdin.buffer if name == STDIN else open(name, "rb")  # noqa: SIM115
    if isinstance(raw, io.BufferedReader) and raw.peek(2)[:2] == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def read_block(stream: BinaryIO, size: int, name: str) -> bytes:
    """Up to `size` bytes of `stream` (from `open_log`); a gzip stream that is cut short or
    damaged is an OSError that names the log, as a file that cannot be read is."""
    try:
        return stream.read(size)
    except (EOFError, zlib.error) as exc:
        where = "standard input" if name == STDIN else name
        raise OSError(f"{where}: the gzip data is cut short or damaged ({exc})") from None
