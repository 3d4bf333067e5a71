"""Following log files written by someone else, the way `tail -F` does.

Files that exist when watching starts are read from their end; files that
appear later are read from their start. Rename-and-create rotation (the old
file is read to its end, then the new one from 0) and copy-truncate (the file
shrinks: read again from 0) are followed. Old lines are never read again.
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import BinaryIO

Chunk = Callable[[str, float, bytes], None]
READ_LIMIT = 1 << 20
FINGERPRINT = 64  # first bytes of a rotated file, to tell it from a new file on a reused inode
REMEMBERED = 64  # rotated files remembered, in case they show up again under a watched name


@dataclass
class _Followed:
    path: str
    handle: BinaryIO
    ident: tuple[int, int]
    offset: int


@dataclass(frozen=True)
class _ReadBefore:
    offset: int
    head: bytes


def _ident(st: os.stat_result) -> tuple[int, int]:
    return st.st_dev, st.st_ino


def _head(handle: BinaryIO, n: int) -> bytes:
    try:
        return os.pread(handle.fileno(), n, 0)
    except OSError:
        return b""


class Tailer:
    def __init__(
        self,
        patterns: Sequence[str],
        on_chunk: Chunk,
        clock: Callable[[], float],
        interval: float = 0.2,
    ) -> None:
        self.patterns = list(patterns)
        self.on_chunk = on_chunk
        self.clock = clock
        self.interval = interval
        self._files: dict[str, _Followed] = {}
        self._done: dict[tuple[int, int], _ReadBefore] = {}  # rotated away, read up to offset
        self._closed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        for path in self._matching():
            self._open(path, at_end=True)

    def _matching(self) -> list[str]:
        found: list[str] = []
        for pattern in self.patterns:
            hits = glob.glob(pattern) if glob.has_magic(pattern) else [pattern]
            found.extend(p for p in hits if os.path.isfile(p))
        return sorted(set(found))

    def _open(self, path: str, at_end: bool) -> None:
        try:
            handle = open(path, "rb")  # noqa: SIM115 - kept open while followed
            st = os.fstat(handle.fileno())
        except OSError:
            return
        if any(f.ident == _ident(st) for f in self._files.values()):
            handle.close()  # the file we follow under its old name: picked up once drained
            return
        offset = st.st_size if at_end else self._offset_before(handle, _ident(st), st.st_size)
        handle.seek(offset)
        self._files[path] = _Followed(path, handle, _ident(st), offset)

    def _offset_before(self, handle: BinaryIO, ident: tuple[int, int], size: int) -> int:
        """Where to go on in a file that appears under a watched name: 0 unless we read it before.

        An inode number is reused once its file is gone, so a remembered file must also
        still start with the bytes it started with.
        """
        before = self._done.pop(ident, None)
        if before is None or before.offset > size or _head(handle, len(before.head)) != before.head:
            return 0
        return before.offset

    def _remember(self, followed: _Followed) -> None:
        """A file renamed away (not deleted: it keeps a name) may come back under a watched name."""
        try:
            if os.fstat(followed.handle.fileno()).st_nlink == 0:
                return  # deleted while open: its inode number will go to some new file
        except OSError:
            return
        head = _head(followed.handle, min(followed.offset, FINGERPRINT))
        self._done[followed.ident] = _ReadBefore(followed.offset, head)
        while len(self._done) > REMEMBERED:
            del self._done[next(iter(self._done))]

    def poll(self) -> None:
        """One pass: read what is new in every followed file, pick up new and rotated files."""
        if self._closed:
            return
        for path in self._matching():
            if path not in self._files:
                self._open(path, at_end=False)
        for path, followed in list(self._files.items()):
            self._follow(path, followed)

    def _follow(self, path: str, followed: _Followed) -> None:
        try:
            st = os.stat(path)
        except OSError:
            st = None
        if st is not None and _ident(st) == followed.ident and st.st_size < followed.offset:
            followed.handle.seek(0)  # copy-truncate: the file was emptied in place
            followed.offset = 0
        self._read(followed)
        if st is None or _ident(st) != followed.ident:  # renamed or deleted: drained, move on
            self._remember(followed)
            followed.handle.close()
            del self._files[path]
            self.on_chunk(path, self.clock(), b"")  # the end of this stream: no line spans two
            if st is not None:
                self._open(path, at_end=False)
                if path in self._files:
                    self._read(self._files[path])

    def _read(self, followed: _Followed) -> None:
        while True:
            try:
                data = followed.handle.read(READ_LIMIT)
            except OSError:
                return
            if not data:
                return
            followed.offset += len(data)
            self.on_chunk(followed.path, self.clock(), data)

    def start(self) -> None:
        def run() -> None:
            while not self._stop.wait(self.interval):
                self.poll()

        self._thread = threading.Thread(target=run, name="tailer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self.poll()
        self._closed = True
        for followed in self._files.values():
            followed.handle.close()
