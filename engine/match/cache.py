"""Compiled hyperscan databases kept on disk: a rule set compiles once, not at every start.

Compiling a rule set's patterns costs hyperscan far more than loading the compiled database
back (bench/README.md has the figures). The file's name is a hash of everything the compile
depends on (the expressions, their ids and flags, the mode, hyperscan's version and the
machine); a file that does not load, or that this machine cannot scan with, is compiled
again and replaced. The translation of the patterns into those expressions is kept the same
way, as JSON (`remembered`). The directory is
`$RLSWARM_CACHE`, else `$XDG_CACHE_HOME/rlswarm-rules`, else `~/.cache/rlswarm-rules`;
`RLSWARM_CACHE=off` keeps nothing. Errors (a read-only home, a full disk) only mean
compiling every time.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

KEEP = 64  # files kept; the oldest go first

Expression = tuple[int, str, int]


def default_dir(env: Mapping[str, str] = os.environ) -> Path | None:
    chosen = env.get("RLSWARM_CACHE")
    if chosen is not None:
        return None if chosen in ("", "off") else Path(chosen)
    base = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rlswarm-rules"


def _key(parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _name(hs: Any, mode: int, expressions: Sequence[Expression], base_flags: int) -> str:
    return _key([hs.__version__, platform.machine(), mode, base_flags, list(expressions)]) + ".hsdb"


def remembered(directory: Path | None, parts: Any, make: Callable[[], Any]) -> Any:
    """`make()`, a JSON value, kept in `directory` under a hash of `parts` (everything the
    value depends on) and read back from there next time."""
    if directory is None:
        return make()
    path = directory / (_key(parts) + ".json")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    value = make()
    _store(path, json.dumps(value).encode())
    return value


def database(
    hs: Any,
    directory: Path | None,
    mode: int,
    expressions: Sequence[Expression],
    base_flags: int,
    build: Callable[[], Any],
) -> tuple[Any, bool]:
    """The database `build` compiles, loaded from `directory` when it holds it already;
    and whether it was loaded."""
    if directory is None:
        return build(), False
    path = directory / _name(hs, mode, expressions, base_flags)
    try:
        db = hs.loadb(path.read_bytes(), mode)
        db.scratch = hs.Scratch(db)  # a loaded database comes without one
        db.scan(b"\n", match_event_handler=lambda *_: None)  # this machine can run it
        return db, True
    except Exception:  # missing, unreadable, from another hyperscan or CPU: compile it
        pass
    db = build()
    _store(path, hs.dumpb(db))
    return db, False


def _store(path: Path, blob: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(f".{path.name}.{os.getpid()}")
        part.write_bytes(blob)
        os.replace(part, path)
        kept = sorted(path.parent.glob("*" + path.suffix), key=lambda p: p.stat().st_mtime)
        for old in kept[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
