"""A size-rotated copy of everything the child printed, under `.rlswarm/logs/`.

The capture never stops or slows the training: when its file cannot be written (a full
disk, a read-only one, a folder removed) the output still passes through, and the capture
says once why it stopped keeping it. It then looks again at most once a `RETRY_S` (one
`statvfs`, no write while the disk has less than `RESUME_FREE` bytes free or is read-only);
when it can write again it notes the gap in the file itself, says so, and goes on.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from engine.errors import why_not_written

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_KEEP = 5
RETRY_S = 1.0
RESUME_FREE = 32 * 1024
PREFIX = "[rlswarm-rules]"
Notice = Callable[[str], None]



class Capture:
    """Appends bytes to `path`; past `max_bytes` it becomes `path.1` (older ones shift up).

    `write` never raises. `notice` gets one line when the capture stops keeping the output
    and one when it resumes (default: a line on our stderr); `failed` is True in between.
    """

    def __init__(
        self,
        path: Path,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
        notice: Notice | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self.notice = notice or self._stderr_notice
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._file: BinaryIO | None = None
        self._closed = False
        self._size = 0
        self.failed = False
        self.lost = 0  # bytes not kept since the capture stopped
        self._why = ""
        self._stopped_at = 0.0  # wall time, for the note in the file
        self._next_try = 0.0
        self._last_seen = 10  # the last byte of the output (a notice starts on a line of its own)
        self._last_kept = 10  # the last byte in the file (the gap's note too)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._open()
        except OSError as exc:
            self._stop(exc, 0)

    def write(self, data: bytes) -> None:
        with self._lock:
            if self._closed:  # output that comes after the end of the run (a leftover's)
                return
            if self.failed and not self._resume():
                self.lost += len(data)
            else:
                self._append(data)
            if data:
                self._last_seen = data[-1]

    def _append(self, data: bytes) -> None:
        try:
            if self._size + len(data) > self.max_bytes and self._size > 0:
                self._rotate()
        except OSError as exc:
            self._stop(exc, len(data))
            return
        left, error = self._write_all(data)
        if error is not None:
            self._stop(error, left)

    def _write_all(self, data: bytes) -> tuple[int, OSError | None]:
        """`data` into the file: how many of its bytes were not written, and why (0, None when
        all were)."""
        assert self._file is not None
        view = memoryview(data)
        while view:
            try:
                written = self._file.write(view)
            except OSError as exc:
                return len(view), exc
            if not written:
                return len(view), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self._size += written
            self._last_kept = view[written - 1]
            view = view[written:]
        return 0, None

    def _stop(self, exc: OSError, left: int) -> None:
        self.failed = True
        self.lost = left
        self._why = why_not_written(exc)
        self._stopped_at = time.time()
        self._next_try = self.monotonic() + RETRY_S
        self.notice(
            f"capture: cannot write {self.path} ({self._why}); the training's output still "
            "passes through but is not kept there until it can be written again"
        )

    def _resume(self) -> bool:
        """Try again, if it is time and the disk has room: True once the file is written to
        again (the gap noted in it)."""
        now = self.monotonic()
        if now < self._next_try:
            return False
        self._next_try = now + RETRY_S
        if not self._has_room():
            return False
        start = "" if self._last_kept == 10 else "\n"
        since = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self._stopped_at))
        note = (
            f"{start}{PREFIX} {self.lost} bytes of output not kept here: {self._why} "
            f"(from {since} to {time.strftime('%H:%M:%S')})\n"
        )
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._open()
        except OSError:
            return False
        if self._write_all(note.encode())[1] is not None:
            return False
        self.failed = False
        self.notice(
            f"capture: writing {self.path} again; {self.lost} bytes of output in between "
            "were not kept (the file says where)"
        )
        self.lost = 0
        return True

    def _has_room(self) -> bool:
        """The file system of the capture's folder (or of its nearest existing ancestor) is
        writable and has `RESUME_FREE` bytes free."""
        folder = self.path.parent
        while not folder.exists() and folder != folder.parent:
            folder = folder.parent
        try:
            fs = os.statvfs(folder)
        except OSError:
            return False
        return not fs.f_flag & os.ST_RDONLY and fs.f_bavail * fs.f_frsize >= RESUME_FREE

    def _open(self) -> None:
        self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        self._size = self._file.tell()

    def _rotate(self) -> None:
        """run.log becomes run.log.1 (older ones shift up, the oldest is dropped); a new one."""
        if self._file is not None:
            self._file.close()
            self._file = None
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._open()

    def _stderr_notice(self, text: str) -> None:
        """A line of ours on stderr, on a line of its own (for a capture given no notice)."""
        start = b"" if self._last_seen == 10 else b"\n"
        try:
            os.write(2, start + f"{PREFIX} {text}\n".encode("utf-8", "replace"))
        except OSError:  # our terminal went away: nothing to say it on
            pass

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self.failed and self.lost:
                self.notice(
                    f"capture: {self.lost} bytes of output at the end were not kept in "
                    f"{self.path} ({self._why})"
                )
            if self._file is not None:
                try:
                    self._file.close()
                except OSError:  # what a full disk left unwritten is lost, not the run
                    pass
                self._file = None

