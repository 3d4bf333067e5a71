"""Applying the fixes `fixes.plan` chose: one function per kind, each touching only its target.

Each returns what it did, in words; a fix that cannot be applied raises `FixFailed` with
the reason, and the others are still applied.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from engine.doctor.facts import gib
from engine.doctor.fixes import Fix
from engine.errors import FixFailed

__all__ = ["APPLIERS", "FixFailed", "apply"]


def apply(fix: Fix) -> str:
    return APPLIERS[fix.kind](fix)


def _chmod(fix: Fix) -> str:
    path = Path(fix.target)
    mode = path.stat().st_mode
    path.chmod(mode | (mode & 0o444) >> 2)  # x wherever r
    return f"{path.name} is executable"


def _crlf(fix: Fix) -> str:
    path = Path(fix.target)
    data = path.read_bytes()
    backup = path.with_name(path.name + ".crlf")
    shutil.copy2(path, backup)
    path.write_bytes(data.replace(b"\r\n", b"\n"))
    lines = data.count(b"\r\n")
    return f"{path.name} has Unix line endings ({lines} lines; the original is {backup.name})"


def _pip(fix: Fix) -> str:
    requirement = str(fix.params["requirement"])
    cmd = [fix.target, "-m", "pip", "install", "--disable-pip-version-check", requirement]
    done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise FixFailed(f"{' '.join(cmd)} failed (exit code {done.returncode}): {' '.join(last)}")
    done_line = [s for s in done.stdout.splitlines() if s.startswith("Successfully installed")]
    what = done_line[-1].split(" ", 2)[-1] if done_line else requirement
    return f"installed {what} in {fix.target}"


def _preset_env(fix: Fix) -> str:
    """Add the variables to 'env' in the node folder's preset file (made if missing)."""
    path = Path(fix.target)
    doc = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict) or not isinstance(doc.get("env", {}) or {}, dict):
        raise FixFailed(f"{path}: not a preset with an 'env' mapping; add it by hand")
    env = dict(doc.get("env") or {})
    env.update(fix.params)
    doc["env"] = env
    header = (
        "# The node folder's preset: `rlswarm-rules run` applies it over the built-in one.\n"
        "# env: variables given to the training (null: removed from its environment).\n"
    )
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return f"{path.name}: `run` now gives the training " + ", ".join(
        f"{k}={v}" if v is not None else f"no {k}" for k, v in fix.params.items()
    )


def _trim_cache(fix: Fix) -> str:
    """Delete the least recently used model, dataset and space folders of the hub cache
    until the cache holds at most `max_bytes`."""
    root = Path(fix.target)
    limit = int(str(fix.params["max_bytes"]))
    total = _size(root)
    removed: list[str] = []
    for repo, size in _repos_oldest_first(root):
        if total <= limit:
            break
        shutil.rmtree(repo, ignore_errors=True)
        total -= size
        removed.append(repo.name)
    if total > limit:
        raise FixFailed(
            f"{root} still holds {gib(total)} after deleting every model ({len(removed)}): "
            "what is left is not models; delete it by hand if it is not needed"
        )
    names = ", ".join(removed) or "nothing"
    return f"{root} holds {gib(total)}: deleted {names}"


def _size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def _repos_oldest_first(root: Path) -> list[tuple[Path, int]]:
    """The cached repositories (`hub/models--ORG--NAME`, datasets, spaces) by last use: the
    newest access or change time of their files."""
    hub = root / "hub" if (root / "hub").is_dir() else root
    repos = []
    for repo in hub.glob("*--*"):
        if not repo.is_dir():
            continue
        used, size = 0.0, 0
        for folder, _, files in os.walk(repo):
            for name in files:
                st = os.lstat(os.path.join(folder, name))
                if stat.S_ISREG(st.st_mode):
                    used = max(used, st.st_atime, st.st_mtime)
                    size += st.st_size
        repos.append((used, repo, size))
    return [(repo, size) for _, repo, size in sorted(repos)]


APPLIERS: Mapping[str, Callable[[Fix], str]] = {
    "chmod": _chmod,
    "crlf": _crlf,
    "pip": _pip,
    "preset-env": _preset_env,
    "trim-cache": _trim_cache,
}
