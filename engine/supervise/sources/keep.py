"""Files kept across restarts: copied aside while the training runs, put back before it starts.

RL-Swarm's launcher deletes the login it got from the browser
(`modal-login/temp-data/*.json`) when it exits, so an unattended restart would
wait forever for a new login. The keeper copies matching files to
`.rlswarm/keep/` whenever they change and restores the ones missing before
each start. `forget` drops them (the copies and the files themselves), so that the
next start asks for a new login.
"""

from __future__ import annotations

import glob
import os
import shutil
from collections.abc import Sequence
from pathlib import Path


class Keeper:
    def __init__(self, patterns: Sequence[str], store: Path, root: Path) -> None:
        self.patterns = list(patterns)
        self.store = store
        self.root = root
        self._seen: dict[str, tuple[float, int]] = {}

    def _matching(self) -> list[Path]:
        found: list[Path] = []
        for pattern in self.patterns:
            found.extend(Path(p) for p in glob.glob(str(self.root / pattern)) if os.path.isfile(p))
        return found

    def save(self) -> int:
        """Copy aside the matching files that are new or changed; returns how many."""
        copied = 0
        for path in self._matching():
            try:
                st = path.stat()
            except OSError:
                continue
            key = str(path)
            if self._seen.get(key) == (st.st_mtime, st.st_size):
                continue
            target = self.store / path.relative_to(self.root)
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                os.chmod(target, 0o600)
            except OSError:
                continue
            self._seen[key] = (st.st_mtime, st.st_size)
            copied += 1
        return copied

    def restore(self) -> list[str]:
        """Put back every kept file that is missing; returns their paths."""
        restored: list[str] = []
        if not self.store.is_dir():
            return restored
        for kept in sorted(p for p in self.store.rglob("*") if p.is_file()):
            original = self.root / kept.relative_to(self.store)
            if original.exists():
                continue
            try:
                original.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(kept, original)
            except OSError:
                continue
            restored.append(str(original.relative_to(self.root)))
        return restored

    def forget(self) -> list[str]:
        """Delete the kept copies and the matching files themselves; returns their paths
        (relative to the root), each once."""
        gone: set[str] = set()
        kept = self.store.rglob("*") if self.store.is_dir() else iter(())
        for path in sorted(p for p in kept if p.is_file()):
            path.unlink(missing_ok=True)
            gone.add(str(path.relative_to(self.store)))
        for path in self._matching():
            path.unlink(missing_ok=True)
            gone.add(str(path.relative_to(self.root)))
        self._seen.clear()
        return sorted(gone)
