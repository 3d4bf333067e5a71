"""A size-rotated copy of everything the child printed, under `.rlswarm/logs/`."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO

DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_KEEP = 5


class Capture:
    """Appends bytes to `path`; past `max_bytes` it becomes `path.1` (older ones shift up)."""

    def __init__(self, path: Path, max_bytes: int = DEFAULT_MAX_BYTES, keep: int = DEFAULT_KEEP):
        self.path = path
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: BinaryIO = open(path, "ab")  # noqa: SIM115 - closed in close()
        self._size = path.stat().st_size
        self.failed = False

    def write(self, data: bytes) -> None:
        with self._lock:
            if self.failed:
                return
            try:
                if self._size + len(data) > self.max_bytes and self._size > 0:
                    self._rotate()
                self._file.write(data)
                self._file.flush()
                self._size += len(data)
            except OSError:
                self.failed = True  # a full disk must not stop the pass-through

    def _rotate(self) -> None:
        self._file.close()
        for n in range(self.keep - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                older.replace(self.path.with_name(f"{self.path.name}.{n + 1}"))
        self.path.replace(self.path.with_name(f"{self.path.name}.1"))
        self._file = open(self.path, "ab")  # noqa: SIM115
        self._size = 0

    def close(self) -> None:
        with self._lock:
            try:
                self._file.close()
            except OSError:  # what a full disk left in the buffer is lost, not the run
                pass
